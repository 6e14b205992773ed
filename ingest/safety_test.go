package ingest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"unicode/utf8"
)

// FuzzUnsafeJSON holds unsafeJSON to what it promises on any valid JSON:
// it does not panic, and what it lets through is UTF-8 with every number
// a float64 can hold. Seeds: the hostile corpus.
func FuzzUnsafeJSON(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "hostile", "*"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil && len(b) < 64<<10 {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"a":"\ud83d\ude00","b":[1,2.5e10,-0.0],"c":"\u00e9"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		err := unsafeJSON(b)
		if err != nil || !json.Valid(b) {
			return
		}
		if !utf8.Valid(b) {
			t.Fatalf("let through invalid UTF-8: %q", b)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		for {
			tok, err := dec.Token()
			if err != nil {
				break
			}
			if n, ok := tok.(json.Number); ok {
				if _, err := strconv.ParseFloat(string(n), 64); err != nil {
					t.Fatalf("let through the number %s: %v", n, err)
				}
			}
			if s, ok := tok.(string); ok && bytes.ContainsRune([]byte(s), utf8.RuneError) && !bytes.Contains(b, []byte(`\ufffd`)) && !bytes.Contains(b, []byte("\uFFFD")) {
				t.Fatalf("let through a string that decodes to U+FFFD: %q", b)
			}
		}
	})
}

// BenchmarkUnsafeJSON is the cost the check adds to each event of the
// benchmarks' browser shape (compare with BenchmarkHandler's ns/event).
func BenchmarkUnsafeJSON(b *testing.B) {
	ev := []byte(benchEvent(1))
	b.SetBytes(int64(len(ev)))
	b.ReportAllocs()
	for b.Loop() {
		if err := unsafeJSON(ev); err != nil {
			b.Fatal(err)
		}
	}
}
