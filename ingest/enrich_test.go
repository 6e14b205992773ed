package ingest

import (
	"encoding/json"
	"fmt"
	"testing"
)

func TestWithDevice(t *testing.T) {
	const chrome = `Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36`
	tests := []struct {
		name string
		ctx  string
		want []string // keys added, in order; nil: the context is kept as it is
	}{
		{name: "all three added", ctx: `{"userAgent":"` + chrome + `"}`, want: []string{"device", "os", "browser"}},
		{name: "a sender's own device and os win", ctx: `{"userAgent":"` + chrome + `","device":{"model":"x"},"os":{"name":"iOS"}}`, want: []string{"browser"}},
		{name: "a mention anywhere counts", ctx: `{"userAgent":"` + chrome + `","page":{"title":"browser"}}`, want: []string{"device", "os"}},
		{name: "all present", ctx: `{"userAgent":"` + chrome + `","device":{},"os":{},"browser":{}}`},
		{name: "no user agent", ctx: `{"locale":"de"}`},
		{name: "empty user agent", ctx: `{"userAgent":""}`},
		{name: "user agent not a string", ctx: `{"userAgent":7}`},
		{name: "escaped user agent", ctx: `{"userAgent":"Mozilla\/5.0 \"x\""}`, want: []string{"device", "os", "browser"}},
		{name: "spaces before the closing brace", ctx: "{\"userAgent\" : \"" + chrome + "\" \n}", want: []string{"device", "os", "browser"}},
	}
	for _, cached := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/cached=%v", tt.name, cached), func(t *testing.T) {
				u := &userAgents{}
				if cached {
					u.cache = newUACache(2)
				}
				for range 2 { // the second time from the request's last parse
					got := u.withDevice(json.RawMessage(tt.ctx))
					if tt.want == nil {
						if string(got) != tt.ctx {
							t.Fatalf("context %s changed to %s", tt.ctx, got)
						}
						continue
					}
					var before, after map[string]json.RawMessage
					_ = json.Unmarshal([]byte(tt.ctx), &before)
					if err := json.Unmarshal(got, &after); err != nil {
						t.Fatalf("context %s: %v", got, err)
					}
					for _, k := range tt.want {
						if _, ok := after[k]; !ok {
							t.Errorf("%s not added: %s", k, got)
						}
					}
					if len(after) != len(before)+len(tt.want) {
						t.Errorf("context %s, want %v added to %s", got, tt.want, tt.ctx)
					}
				}
			})
		}
	}
}

func TestUACacheIsBounded(t *testing.T) {
	c := newUACache(2)
	for _, ua := range []string{"a/1", "b/1", "a/1", "c/1"} {
		c.parts(ua)
	}
	if _, ok := c.byUA["b/1"]; ok || len(c.byUA) != 2 || c.order.Len() != 2 {
		t.Errorf("cache holds %v, want a/1 and c/1 (b/1 least recently used)", c.byUA)
	}
}
