package dashboards

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Result is what a panel query returned, with its column names: panels are
// read by the names Grafana shows, not by position.
type Result struct {
	Columns []string
	Rows    [][]any
}

// Run runs an expanded panel query and reads every row, each value as the
// driver scans its column type.
func Run(ctx context.Context, conn driver.Conn, sql string) (Result, error) {
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		return Result{}, err
	}
	defer rows.Close()
	r := Result{Columns: rows.Columns()}
	types := rows.ColumnTypes()
	for rows.Next() {
		dest := make([]any, len(types))
		for i, ct := range types {
			dest[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(dest...); err != nil {
			return Result{}, fmt.Errorf("scan: %w", err)
		}
		row := make([]any, len(dest))
		for i, d := range dest {
			row[i] = reflect.ValueOf(d).Elem().Interface()
		}
		r.Rows = append(r.Rows, row)
	}
	return r, rows.Err()
}

// Column is the position of the column called name, or -1.
func (r Result) Column(name string) int {
	for i, c := range r.Columns {
		if c == name {
			return i
		}
	}
	return -1
}

// Value is the value of column name in row, or nil when either is missing.
func (r Result) Value(row int, name string) any {
	i := r.Column(name)
	if i < 0 || row >= len(r.Rows) {
		return nil
	}
	return r.Rows[row][i]
}

// String is Value as text: a string as it is, any other value as fmt
// prints it, nothing as "".
func (r Result) String(row int, name string) string {
	switch v := r.Value(row, name).(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

// Time is Value as a time in UTC; the zero time when it is not one.
func (r Result) Time(row int, name string) time.Time {
	v, _ := r.Value(row, name).(time.Time)
	return v.UTC()
}

// Float is Value as a number: any integer or float (a Nullable one's value,
// 0 for NULL), or a numeric string; 0 otherwise.
func (r Result) Float(row int, name string) float64 {
	v := reflect.ValueOf(r.Value(row, name))
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return 0
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(v.Uint())
	case reflect.Float32, reflect.Float64:
		return v.Float()
	case reflect.String:
		f, _ := strconv.ParseFloat(v.String(), 64)
		return f
	}
	return 0
}
