package report

import (
	"context"
	"fmt"
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

// table is a panel query's result (dashboards.Result), read by column name.
type table struct{ dashboards.Result }

func fetch(ctx context.Context, conn driver.Conn, sql string) (table, error) {
	r, err := dashboards.Run(ctx, conn, sql)
	return table{r}, err
}

func (tb table) str(row int, name string) string     { return tb.String(row, name) }
func (tb table) time(row int, name string) time.Time { return tb.Time(row, name) }
func (tb table) float(row int, name string) float64  { return tb.Float(row, name) }
