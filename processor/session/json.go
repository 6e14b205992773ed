package session

import "encoding/json"

// jsonString reads a string at a path of object keys, or "".
func jsonString(doc string, path ...string) string {
	if doc == "" {
		return ""
	}
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		return ""
	}
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[k]
	}
	s, _ := v.(string)
	return s
}
