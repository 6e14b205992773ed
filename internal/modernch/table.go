package modernch

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Table is a query's result with each value as a cell that both versions'
// results can be compared by: nil (NULL), a string, a Number, a time.Time in
// UTC, or a []any of cells (an array).
type Table struct {
	Columns []string
	Rows    [][]any
}

// Number is a numeric cell. Int holds the exact decimal text of an integer
// (64-bit ids must not round through a float); Float holds the value.
type Number struct {
	Int   string
	Float float64
}

func (n Number) String() string {
	if n.Int != "" {
		return n.Int
	}
	return strconv.FormatFloat(n.Float, 'g', -1, 64)
}

// jsonCell turns a value of chDB's JSONCompact output, decoded with
// UseNumber, into a cell, by its ClickHouse type.
func jsonCell(v any, typ string) (any, error) {
	typ = unwrap(unwrap(typ, "LowCardinality"), "Nullable")
	if v == nil {
		return nil, nil
	}
	if inner, ok := strings.CutPrefix(typ, "Array("); ok {
		elems, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("%v is not an array of %s", v, typ)
		}
		inner = strings.TrimSuffix(inner, ")")
		out := make([]any, len(elems))
		for i, e := range elems {
			c, err := jsonCell(e, inner)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	}
	text := fmt.Sprint(v) // a json.Number, or a string (quoted 64-bit integers, nan, dates)
	switch {
	case typ == "String" || strings.HasPrefix(typ, "FixedString") || strings.HasPrefix(typ, "Enum"):
		return text, nil
	case typ == "Bool":
		if b, ok := v.(bool); ok && b {
			return Number{Int: "1", Float: 1}, nil
		}
		return Number{Int: "0", Float: 0}, nil
	case strings.HasPrefix(typ, "Int") || strings.HasPrefix(typ, "UInt"):
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, fmt.Errorf("%s value %q: %w", typ, text, err)
		}
		return Number{Int: text, Float: f}, nil
	case strings.HasPrefix(typ, "Float") || strings.HasPrefix(typ, "Decimal"):
		if text == "nan" || text == "-nan" {
			return Number{Float: math.NaN()}, nil
		}
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, fmt.Errorf("%s value %q: %w", typ, text, err)
		}
		return Number{Float: f}, nil
	case typ == "Date" || typ == "Date32":
		return time.Parse("2006-01-02", text)
	case strings.HasPrefix(typ, "DateTime"):
		loc := time.Local
		if _, tz, ok := strings.Cut(typ, "'"); ok {
			l, err := time.LoadLocation(strings.TrimSuffix(tz, "')"))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", typ, err)
			}
			loc = l
		}
		t, err := time.ParseInLocation("2006-01-02 15:04:05", text, loc)
		return t.UTC(), err
	}
	return nil, fmt.Errorf("type %s (value %v) is not handled by modernch", typ, v)
}

// unwrap strips a type wrapper such as Nullable(…).
func unwrap(typ, wrapper string) string {
	if inner, ok := strings.CutPrefix(typ, wrapper+"("); ok {
		return strings.TrimSuffix(inner, ")")
	}
	return typ
}

// GoCell turns a value as clickhouse-go scans it into a cell.
func GoCell(v any) any {
	if v == nil {
		return nil
	}
	if t, ok := v.(time.Time); ok {
		return t.UTC()
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer:
		if rv.IsNil() {
			return nil
		}
		return GoCell(rv.Elem().Interface())
	case reflect.String:
		return rv.String()
	case reflect.Bool:
		if rv.Bool() {
			return Number{Int: "1", Float: 1}
		}
		return Number{Int: "0", Float: 0}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return Number{Int: strconv.FormatInt(rv.Int(), 10), Float: float64(rv.Int())}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return Number{Int: strconv.FormatUint(rv.Uint(), 10), Float: float64(rv.Uint())}
	case reflect.Float32, reflect.Float64:
		return Number{Float: rv.Float()}
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = GoCell(rv.Index(i).Interface())
		}
		return out
	}
	return fmt.Sprintf("unhandled %T %v", v, v)
}

// SameCell reports whether two cells hold the same value: integers exactly,
// other numbers to a relative 1e-9 (two versions may add floats in another
// order), NaN equal to NaN.
func SameCell(a, b any) bool {
	switch a := a.(type) {
	case Number:
		b, ok := b.(Number)
		if !ok {
			return false
		}
		if a.Int != "" && b.Int != "" {
			return a.Int == b.Int
		}
		if math.IsNaN(a.Float) || math.IsNaN(b.Float) {
			return math.IsNaN(a.Float) && math.IsNaN(b.Float)
		}
		return a.Float == b.Float || math.Abs(a.Float-b.Float) <= 1e-9*math.Max(math.Abs(a.Float), math.Abs(b.Float))
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !SameCell(a[i], b[i]) {
				return false
			}
		}
		return true
	case time.Time:
		b, ok := b.(time.Time)
		return ok && a.Equal(b)
	}
	return a == b
}

// Diff describes how got differs from want, or is "" when both have the
// same columns and the same rows in the same order.
func Diff(got, want Table) string {
	var out []string
	if !reflect.DeepEqual(got.Columns, want.Columns) {
		out = append(out, fmt.Sprintf("columns %q, want %q", got.Columns, want.Columns))
	}
	if len(got.Rows) != len(want.Rows) {
		out = append(out, fmt.Sprintf("%d rows, want %d", len(got.Rows), len(want.Rows)))
	}
	for i := 0; i < len(got.Rows) && i < len(want.Rows); i++ {
		if !sameRow(got.Rows[i], want.Rows[i]) {
			out = append(out, fmt.Sprintf("row %d: %v, want %v", i+1, got.Rows[i], want.Rows[i]))
		}
	}
	return strings.Join(out, "\n")
}

func sameRow(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !SameCell(a[i], b[i]) {
			return false
		}
	}
	return true
}
