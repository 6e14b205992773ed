package session

import "testing"

func TestJSONString(t *testing.T) {
	cases := []struct {
		name, doc string
		path      []string
		want      string
	}{
		{"top-level key", `{"path":"/pricing","title":"P"}`, []string{"path"}, "/pricing"},
		{"nested key", `{"page":{"path":"/help/contact"}}`, []string{"page", "path"}, "/help/contact"},
		{"escapes are decoded", `{"path":"/caf\u00e9/\"x\""}`, []string{"path"}, `/café/"x"`},
		{"a key holding a dot is one key", `{"a.b":"yes","a":{"b":"no"}}`, []string{"a.b"}, "yes"},
		{"a key holding gjson's wildcard is literal", `{"p*":"star","px":"x"}`, []string{"p*"}, "star"},
		{"missing key", `{"title":"P"}`, []string{"path"}, ""},
		{"a number is not a string", `{"path":42}`, []string{"path"}, ""},
		{"an object is not a string", `{"page":{"path":"/x"}}`, []string{"page"}, ""},
		{"path through a non-object", `{"page":"/x"}`, []string{"page", "path"}, ""},
		{"empty document", ``, []string{"path"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := jsonString(c.doc, c.path...); got != c.want {
				t.Errorf("jsonString(%s, %q) = %q, want %q", c.doc, c.path, got, c.want)
			}
		})
	}
}
