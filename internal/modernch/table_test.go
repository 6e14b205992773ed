package modernch

import (
	"math"
	"testing"
	"time"
)

func TestSameCell(t *testing.T) {
	at := time.Date(2024, 3, 10, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		a, b any
		same bool
	}{
		{"equal integers", Number{Int: "3", Float: 3}, Number{Int: "3", Float: 3}, true},
		{"integers apart", Number{Int: "3", Float: 3}, Number{Int: "4", Float: 4}, false},
		{"64-bit integers differing below a float's precision", Number{Int: "18446744073709551615", Float: 1.8446744073709552e19}, Number{Int: "18446744073709551614", Float: 1.8446744073709552e19}, false},
		{"an integer and the same float", Number{Int: "6000", Float: 6000}, Number{Float: 6000}, true},
		{"floats a rounding apart", Number{Float: 0.1 + 0.2}, Number{Float: 0.3}, true},
		{"floats apart", Number{Float: 0.5}, Number{Float: 0.5001}, false},
		{"NaN and NaN", Number{Float: math.NaN()}, Number{Float: math.NaN()}, true},
		{"NaN and 0", Number{Float: math.NaN()}, Number{Float: 0}, false},
		{"NULL and empty string", nil, "", false},
		{"NULL and NULL", nil, nil, true},
		{"strings", "web", "web", true},
		{"a string and a number", "3", Number{Int: "3", Float: 3}, false},
		{"equal times", at, at.In(time.FixedZone("x", 3600)), true},
		{"times apart", at, at.Add(time.Second), false},
		{"equal arrays", []any{"a", Number{Int: "1", Float: 1}}, []any{"a", Number{Int: "1", Float: 1}}, true},
		{"arrays of other lengths", []any{"a"}, []any{"a", "b"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := SameCell(c.a, c.b); got != c.same {
				t.Errorf("SameCell(%v, %v) = %v, want %v", c.a, c.b, got, c.same)
			}
		})
	}
}

func TestJSONCellReadsChDBValuesAsClickHouseGoScansThem(t *testing.T) {
	for _, c := range []struct {
		typ  string
		json any
		goes any
	}{
		{"UInt64", "18446744073709551615", uint64(math.MaxUint64)},
		{"Int16", "-1", int16(-1)},
		{"Float64", "nan", math.NaN()},
		{"Float64", "inf", math.Inf(1)},
		{"Float64", "0.6666666666666666", 2.0 / 3.0},
		{"Nullable(String)", nil, (*string)(nil)},
		{"LowCardinality(String)", "web", "web"},
		{"DateTime", "2024-03-10 09:00:00", time.Date(2024, 3, 10, 9, 0, 0, 0, time.Local)},
		{"DateTime('UTC')", "2024-03-10 09:00:00", time.Date(2024, 3, 10, 9, 0, 0, 0, time.UTC)},
		{"Date", "2024-03-10", time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC)},
		{"Array(String)", []any{"a", "b"}, []string{"a", "b"}},
	} {
		got, err := jsonCell(c.json, c.typ)
		if err != nil {
			t.Errorf("%s %v: %v", c.typ, c.json, err)
			continue
		}
		if want := GoCell(c.goes); !SameCell(got, want) {
			t.Errorf("%s %v: cell %v, clickhouse-go's value %v gives %v", c.typ, c.json, got, c.goes, want)
		}
	}
	if _, err := jsonCell("x", "Map(String, String)"); err == nil {
		t.Error("a type modernch does not read gave no error")
	}
}
