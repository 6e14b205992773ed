package modernch

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/journeys/journeys/dashboards"
)

// fixedNow replaces now() by the dataset's now, the same on both versions.
func fixedNow(sql string) string {
	return strings.ReplaceAll(sql, "now()", fmt.Sprintf("toDateTime(%d)", now.Unix()))
}

// TestQueriesAgreeAcrossVersions writes one dataset into both versions and
// runs on it every dashboard query, every alert query, then every query of
// the store and the report (which ends by deleting a customer: last).
func TestQueriesAgreeAcrossVersions(t *testing.T) {
	p := newPair(t)
	insertDataset(t, p)
	t.Run("dashboards", func(t *testing.T) { dashboardQueriesAgree(t, p) })
	t.Run("alerts", func(t *testing.T) { alertQueriesAgree(t, p) })
	t.Run("store", func(t *testing.T) { storeQueriesAgree(t, p) })
}

// dashboardQueriesAgree runs every ClickHouse query of every dashboard
// (variables and panels, with the plugin's macros expanded as dashboards
// does for Grafana) on ClickHouse 26 and 18.16 over the same data: each must
// run on both, return rows on 18.16 with the saved variables, and return the
// same columns and rows on 26. Each panel runs again with each selectable
// variable set to its first value(s) instead of the saved ones.
func dashboardQueriesAgree(t *testing.T, p pair) {
	ds, err := dashboards.Load()
	if err != nil {
		t.Fatal(err)
	}
	r := dashboards.TimeRange{From: base.Add(-24 * time.Hour), To: base.Add(48 * time.Hour), Interval: time.Hour}
	n := 0
	for _, d := range ds {
		type choice struct {
			variable string
			values   []string
		}
		choices := []choice{{}} // the saved selection
		for _, v := range d.Variables {
			switch {
			case v.Name == "customer_id":
			case v.Type == "custom":
				var values []string
				for _, o := range v.Options {
					if o != dashboards.AllSelected && len(values) < 2 {
						values = append(values, o)
					}
				}
				if len(values) == 0 {
					t.Errorf("%s variable %s has no options", d.File, v.Name)
					continue
				}
				choices = append(choices, choice{v.Name, values})
			case v.Type == "query":
				tb := p.same(t, d.File+" variable "+v.Name, v.Query)
				if len(tb.Rows) == 0 {
					t.Errorf("%s variable %s has no values on 18.16", d.File, v.Name)
					continue
				}
				choices = append(choices, choice{v.Name, []string{fmt.Sprint(tb.Rows[0][0])}})
			}
		}
		for _, c := range choices {
			for _, q := range append(d.VariableQueries(), d.Queries()...) {
				if d.DefinesVariable("customer_id") {
					q = q.With("customer_id", "c1")
				}
				what := fmt.Sprintf("%s panel %d %q %s", d.File, q.PanelID, q.PanelTitle, q.RefID)
				if c.variable != "" {
					if !strings.Contains(q.RawSQL, "$"+c.variable) && !strings.Contains(q.RawSQL, "${"+c.variable) {
						continue
					}
					q = q.With(c.variable, c.values...)
					what += fmt.Sprintf(" with %s = %q", c.variable, c.values)
				}
				sql, err := q.Expand(r)
				if err != nil {
					t.Fatal(err)
				}
				rows := p.same(t, what, fixedNow(sql))
				if c.variable == "" && len(rows.Rows) == 0 {
					t.Errorf("%s returned no rows on 18.16: the dataset proves nothing of it\n%s", what, sql)
				}
				n++
			}
		}
	}
	if n < 40 {
		t.Errorf("only %d dashboard queries ran", n)
	}
	t.Logf("%d dashboard queries agree", n)
}

// alertQueriesAgree runs every Grafana alert rule's
// ClickHouse query on both versions; the dataset crosses each rule's
// threshold, so each returns a non-zero value, the same on both.
func alertQueriesAgree(t *testing.T, p pair) {
	groups, err := dashboards.AlertRuleGroups()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range groups {
		for _, rule := range g.Rules {
			for _, q := range rule.Data {
				if q.DatasourceUID == dashboards.ExpressionUID {
					continue
				}
				what := fmt.Sprintf("%s rule %s step %s", g.File, rule.UID, q.RefID)
				rows := p.same(t, what, fixedNow(q.SQL()))
				if !hasNonZero(rows) {
					t.Errorf("%s: no non-zero value on 18.16 (%v): the dataset does not reach the rule", what, rows.Rows)
				}
				n++
			}
		}
	}
	if n == 0 {
		t.Fatal("no alert rule queries")
	}
	t.Logf("%d alert queries agree", n)
}

func hasNonZero(t Table) bool {
	for _, row := range t.Rows {
		for _, c := range row {
			if n, ok := c.(Number); ok && n.Float != 0 {
				return true
			}
		}
	}
	return false
}
