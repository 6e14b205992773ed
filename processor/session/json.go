package session

import "github.com/tidwall/gjson"

// jsonString reads a string at a path of object keys, or "". It runs for
// every page view, so it reads the one value in place (gjson) rather than
// decoding the whole document.
func jsonString(doc string, path ...string) string {
	if doc == "" {
		return ""
	}
	r := gjson.Get(doc, gjsonPath(path))
	if r.Type != gjson.String {
		return ""
	}
	return r.Str
}

// gjsonPath joins keys into a gjson path, escaping the characters gjson
// gives a meaning to.
func gjsonPath(keys []string) string {
	var b []byte
	for i, k := range keys {
		if i > 0 {
			b = append(b, '.')
		}
		for j := 0; j < len(k); j++ {
			switch c := k[j]; c {
			case '.', '*', '?', '|', '#', '@', '\\', '!', '=', '<', '>', '%':
				b = append(b, '\\', c)
			default:
				b = append(b, c)
			}
		}
	}
	return string(b)
}
