package report

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/journeys/journeys/dashboards"
)

// panelQuery is the SQL of a dashboard panel's first target, expanded over
// r as Grafana would send it: the HTML report runs the dashboards' own
// queries so that it and Grafana show the same numbers.
func panelQuery(all []dashboards.Dashboard, file, title string, r dashboards.TimeRange) (string, error) {
	for _, d := range all {
		if d.File != file {
			continue
		}
		for _, q := range d.Queries() {
			if q.PanelTitle == title {
				return q.Expand(r)
			}
		}
		return "", fmt.Errorf("dashboard %s has no panel %q", file, title)
	}
	return "", fmt.Errorf("no dashboard %s", file)
}

// table is a query's result with columns looked up by name: panel queries
// are read by the names Grafana shows, not by position.
type table struct {
	cols []string
	rows [][]any
}

func fetch(ctx context.Context, conn driver.Conn, sql string) (table, error) {
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		return table{}, err
	}
	defer rows.Close()
	tb := table{cols: rows.Columns()}
	types := rows.ColumnTypes()
	for rows.Next() {
		dest := make([]any, len(types))
		for i, ct := range types {
			dest[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(dest...); err != nil {
			return table{}, fmt.Errorf("scan: %w", err)
		}
		row := make([]any, len(dest))
		for i, d := range dest {
			row[i] = reflect.ValueOf(d).Elem().Interface()
		}
		tb.rows = append(tb.rows, row)
	}
	return tb, rows.Err()
}

func (tb table) value(row int, name string) any {
	for i, c := range tb.cols {
		if c == name && row < len(tb.rows) {
			return tb.rows[row][i]
		}
	}
	return nil
}

func (tb table) str(row int, name string) string {
	switch v := tb.value(row, name).(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

func (tb table) time(row int, name string) time.Time {
	v, _ := tb.value(row, name).(time.Time)
	return v.UTC()
}

func (tb table) float(row int, name string) float64 {
	v := reflect.ValueOf(tb.value(row, name))
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
