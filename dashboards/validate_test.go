package dashboards

import (
	"strings"
	"testing"
	"time"
)

func TestEmbeddedDashboardsAreValid(t *testing.T) {
	ds, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) == 0 {
		t.Fatal("no dashboards embedded")
	}
	uids := map[string]string{}
	for _, d := range ds {
		if err := Validate(d); err != nil {
			t.Errorf("%s: %v", d.File, err)
		}
		if other, dup := uids[d.UID]; dup {
			t.Errorf("%s and %s share uid %q", d.File, other, d.UID)
		}
		uids[d.UID] = d.File
		if len(d.Queries())+len(d.PromQueries()) == 0 {
			t.Errorf("%s has no queries", d.File)
		}
	}
}

func TestCXOverviewHasThePanelsCXTeamsExpect(t *testing.T) {
	ds, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	var cx *Dashboard
	for i := range ds {
		if ds[i].File == "cx-overview.json" {
			cx = &ds[i]
		}
	}
	if cx == nil {
		t.Fatal("cx-overview.json not embedded")
	}
	want := map[string]int{ // title → format
		"Touchpoints per channel": 0,
		"Journeys by status":      1,
		"Conversion rate":         1,
		"Friction flags by rule":  0,
		"Calls before purchase":   1,
	}
	for _, q := range cx.Queries() {
		f, ok := want[q.PanelTitle]
		if !ok {
			continue
		}
		if q.Format != f {
			t.Errorf("panel %q format %d, want %d", q.PanelTitle, q.Format, f)
		}
		delete(want, q.PanelTitle)
	}
	for title := range want {
		t.Errorf("panel %q missing", title)
	}
}

func TestPipelineHealthHasTheOperatorsPanels(t *testing.T) {
	ds, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	var ph *Dashboard
	for i := range ds {
		if ds[i].File == "pipeline-health.json" {
			ph = &ds[i]
		}
	}
	if ph == nil {
		t.Fatal("pipeline-health.json not embedded")
	}
	if len(ph.Queries()) != 0 {
		t.Errorf("pipeline health has %d SQL queries; it reads Prometheus only", len(ph.Queries()))
	}
	want := map[string]string{ // title → a metric it must show
		"Ingest requests by status code":                        "journeys_ingest_requests_total",
		"Ingest events accepted and rejected by reason":         "journeys_ingest_events_rejected_total",
		"Kafka consumer lag":                                    "journeys_processor_consumer_lag_records",
		"Processor throughput":                                  "journeys_processor_events_total",
		"ClickHouse insert latency":                             "journeys_processor_insert_duration_seconds_bucket",
		"ClickHouse insert failures and offset commit failures": "journeys_processor_insert_failures_total",
	}
	for _, q := range ph.PromQueries() {
		names, err := q.Metrics()
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if want[q.PanelTitle] == n {
				delete(want, q.PanelTitle)
			}
		}
	}
	for title, metric := range want {
		t.Errorf("panel %q showing %s missing", title, metric)
	}
}

func TestDataSourcesProvisionTheDashboardsUID(t *testing.T) {
	srcs, err := DataSources()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range srcs {
		if s.UID != "journeys-clickhouse" {
			continue
		}
		if s.Type != "grafana-clickhouse-datasource" {
			t.Errorf("type %q", s.Type)
		}
		for k, v := range map[string]any{"host": "clickhouse", "port": 9000, "protocol": "native", "defaultDatabase": "journeys"} {
			if s.JSONData[k] != v {
				t.Errorf("jsonData.%s = %v, want %v", k, s.JSONData[k], v)
			}
		}
		return
	}
	t.Fatal("journeys-clickhouse not provisioned")
}

func TestValidateFindsBrokenDashboards(t *testing.T) {
	const good = `{"uid":"u","title":"T","schemaVersion":39,"panels":[
	  {"id":1,"type":"stat","title":"A","datasource":{"type":"grafana-clickhouse-datasource","uid":"journeys-clickhouse"},
	   "targets":[{"refId":"A","format":1,"rawSql":"SELECT 1 WHERE $__timeFilter(t)"}]}]}`
	cases := []struct {
		name   string
		json   string
		errHas string
	}{
		{name: "a well-formed dashboard passes", json: good},
		{name: "schemaVersion missing",
			json:   strings.Replace(good, `"schemaVersion":39,`, "", 1),
			errHas: "schemaVersion is missing"},
		{name: "datasource uid not provisioned",
			json:   strings.Replace(good, `"uid":"journeys-clickhouse"`, `"uid":"elsewhere"`, 1),
			errHas: `datasource uid "elsewhere" is not provisioned`},
		{name: "target without SQL",
			json:   strings.Replace(good, `"rawSql":"SELECT 1 WHERE $__timeFilter(t)"`, `"rawSql":""`, 1),
			errHas: "rawSql is empty"},
		{name: "duplicate panel ids",
			json: strings.Replace(good, `]}]}`, `]},
			  {"id":1,"type":"stat","title":"B","datasource":{"type":"grafana-clickhouse-datasource","uid":"journeys-clickhouse"},
			   "targets":[{"refId":"A","format":1,"rawSql":"SELECT 2"}]}]}`, 1),
			errHas: `id also used by "A"`},
		{name: "macro that 18.16 cannot run",
			json:   strings.Replace(good, `$__timeFilter(t)`, `$__timeInterval(t) > 0`, 1),
			errHas: "$__timeInterval"},
		{name: "format missing",
			json:   strings.Replace(good, `"format":1,`, "", 1),
			errHas: "format must be"},
	}
	const prom = `{"uid":"p","title":"P","schemaVersion":39,
	  "templating":{"list":[{"name":"ds","type":"datasource","query":"prometheus","current":{"value":"journeys-prometheus"}}]},
	  "panels":[{"id":1,"type":"timeseries","title":"A","datasource":{"type":"prometheus","uid":"${ds}"},
	   "targets":[{"refId":"A","datasource":{"type":"prometheus","uid":"${ds}"},"expr":"sum(rate(journeys_ingest_requests_total[$__rate_interval]))"}]}]}`
	cases = append(cases, []struct {
		name   string
		json   string
		errHas string
	}{
		{name: "a Prometheus panel through a data source variable passes", json: prom},
		{name: "a Prometheus target without PromQL",
			json:   strings.Replace(prom, `"expr":"sum(rate(journeys_ingest_requests_total[$__rate_interval]))"`, `"expr":""`, 1),
			errHas: "expr is empty"},
		{name: "PromQL that does not parse",
			json:   strings.Replace(prom, `[$__rate_interval]))`, `[$__rate_interval])`, 1),
			errHas: "parse promql"},
		{name: "data source variable not defined",
			json:   strings.ReplaceAll(prom, `"${ds}"`, `"${other}"`),
			errHas: `"${other}" names no data source variable`},
		{name: "data source variable saved on a uid that is not provisioned",
			json:   strings.Replace(prom, `"value":"journeys-prometheus"`, `"value":"prom-elsewhere"`, 1),
			errHas: `saved value "prom-elsewhere" is not a provisioned prometheus data source`},
		{name: "data source variable saved on the ClickHouse uid",
			json:   strings.Replace(prom, `"value":"journeys-prometheus"`, `"value":"journeys-clickhouse"`, 1),
			errHas: `saved value "journeys-clickhouse" is not a provisioned prometheus data source`},
		{name: "Prometheus uid given as a ClickHouse panel",
			json:   strings.Replace(good, `{"type":"grafana-clickhouse-datasource","uid":"journeys-clickhouse"}`, `{"type":"grafana-clickhouse-datasource","uid":"journeys-prometheus"}`, 1),
			errHas: `has type "grafana-clickhouse-datasource", provisioned as "prometheus"`},
	}...)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := Parse([]byte(c.json))
			if err != nil {
				t.Fatal(err)
			}
			err = Validate(d)
			if c.errHas == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.errHas) {
				t.Fatalf("Validate = %v, want error with %q", err, c.errHas)
			}
		})
	}
}

func TestValidateChecksVariables(t *testing.T) {
	const good = `{"uid":"u","title":"T","schemaVersion":39,
	  "templating":{"list":[
	    {"name":"rule","type":"query","datasource":{"type":"grafana-clickhouse-datasource","uid":"journeys-clickhouse"},
	     "query":"SELECT DISTINCT rule FROM friction_flags WHERE $__timeFilter(occurred_at)","multi":true,"includeAll":true,"allValue":"'__all'",
	     "current":{"value":["$__all"]},"options":[]},
	    {"name":"customer_id","type":"textbox","query":"c-1","current":{"value":"c-1"}}]},
	  "panels":[{"id":1,"type":"table","title":"A","datasource":{"type":"grafana-clickhouse-datasource","uid":"journeys-clickhouse"},
	   "targets":[{"refId":"A","format":1,"rawSql":"SELECT 1 WHERE customer_id = ${customer_id:singlequote} AND ('__all' IN (${rule:singlequote}) OR rule IN (${rule:singlequote}))"}]}]}`
	cases := []struct {
		name   string
		json   string
		errHas string
	}{
		{name: "a query variable and a textbox pass", json: good},
		{name: "query variable on a data source that is not provisioned",
			json: strings.Replace(good, `"uid":"journeys-clickhouse"},
	     "query"`, `"uid":"elsewhere"},
	     "query"`, 1),
			errHas: `variable rule: datasource uid "elsewhere" is not provisioned`},
		{name: "query variable without SQL",
			json:   strings.Replace(good, `"query":"SELECT DISTINCT rule FROM friction_flags WHERE $__timeFilter(occurred_at)"`, `"query":""`, 1),
			errHas: "variable rule: query is empty"},
		{name: "query variable with a macro 18.16 cannot run",
			json:   strings.Replace(good, `$__timeFilter(occurred_at)`, `$__timeFilter_ms(occurred_at)`, 1),
			errHas: `"variable rule"`},
		{name: "All without an allValue on a query variable, whose options are not saved",
			json:   strings.Replace(good, `"allValue":"'__all'",`, "", 1),
			errHas: "includes All but has no allValue and no saved options"},
		{name: "panel using a variable the dashboard lacks",
			json:   strings.Replace(good, `"name":"customer_id"`, `"name":"customer"`, 1),
			errHas: `"customer_id" is not defined`},
		{name: "variable defined twice",
			json:   strings.Replace(good, `"name":"customer_id"`, `"name":"rule"`, 1),
			errHas: "variable rule: defined twice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := Parse([]byte(c.json))
			if err != nil {
				t.Fatal(err)
			}
			err = Validate(d)
			if c.errHas == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.errHas) {
				t.Fatalf("Validate = %v, want error with %q", err, c.errHas)
			}
		})
	}
}

func TestQueryVariablesAndOverrides(t *testing.T) {
	d, err := Parse([]byte(`{"uid":"u","title":"T","schemaVersion":39,
	  "templating":{"list":[
	    {"name":"rule","type":"query","query":{"refId":"var","queryType":"sql","rawSql":"SELECT DISTINCT rule FROM friction_flags"},
	     "multi":true,"includeAll":true,"allValue":"'__all'","current":{"value":["$__all"]}},
	    {"name":"severity","type":"query","query":"","definition":"SELECT 'critical'"},
	    {"name":"customer_id","type":"textbox","query":"","current":{"value":""}}]},
	  "panels":[{"id":1,"type":"table","title":"Timeline","targets":[{"refId":"A","format":1,
	    "rawSql":"WHERE customer_id = ${customer_id:singlequote} AND ('__all' IN (${rule:singlequote}) OR rule IN (${rule:singlequote}))"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	vq := d.VariableQueries()
	if len(vq) != 2 || vq[0].RawSQL != "SELECT DISTINCT rule FROM friction_flags" || vq[0].PanelTitle != "variable rule" ||
		vq[1].RawSQL != "SELECT 'critical'" {
		t.Fatalf("variable queries = %+v; want the object's rawSql, then the definition of an empty query", vq)
	}
	r := TimeRange{From: time.Unix(0, 0), To: time.Unix(60, 0)}
	q := d.Queries()[0]
	cases := []struct {
		name string
		q    Query
		want string
	}{
		{"saved defaults", q, `WHERE customer_id = '' AND ('__all' IN ('__all') OR rule IN ('__all'))`},
		{"a customer from a data link, quoted and escaped", q.With("customer_id", "c-1'x"),
			`WHERE customer_id = 'c-1\'x' AND ('__all' IN ('__all') OR rule IN ('__all'))`},
		{"two rules picked", q.With("rule", "a", "b"),
			`WHERE customer_id = '' AND ('__all' IN ('a','b') OR rule IN ('a','b'))`},
	}
	for _, c := range cases {
		got, err := c.q.Expand(r)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
	if got, _ := q.Expand(r); got != cases[0].want {
		t.Errorf("With changed the query it was called on: %s", got)
	}
}
