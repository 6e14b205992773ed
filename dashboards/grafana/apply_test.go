package grafana

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/journeys/journeys/dashboards"
)

// embedded counts the objects Apply manages.
func embedded(t *testing.T) (sources, boards, rules, groups int) {
	t.Helper()
	ss, err := dashboards.DataSources()
	if err != nil {
		t.Fatal(err)
	}
	ds, err := dashboards.Load()
	if err != nil {
		t.Fatal(err)
	}
	gs, err := dashboards.AlertRuleGroups()
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gs {
		rules += len(g.Rules)
	}
	return len(ss), len(ds), rules, len(gs)
}

func actions(p Plan) map[string]Action {
	out := map[string]Action{}
	for _, c := range p {
		out[c.Kind+"/"+c.UID] = c.Action
	}
	return out
}

func TestApply(t *testing.T) {
	nSources, nBoards, nRules, nGroups := embedded(t)
	total := 1 + nSources + nBoards + nRules + nGroups
	cases := []struct {
		name string
		// before runs against the fake before the apply under test.
		before func(t *testing.T, f *fakeGrafana, url string)
		dryRun bool
		// want: how many objects get each action; changed: the kind/uid
		// expected to be updated.
		want       map[Action]int
		changed    []string
		wantWrites int
	}{
		{name: "first apply creates everything and sets each group's interval",
			want:       map[Action]int{Create: total - nGroups, Update: nGroups},
			changed:    []string{"rule-group/journeys-cx"},
			wantWrites: total},
		{name: "second apply changes nothing",
			before: applied,
			want:   map[Action]int{Unchanged: total}, wantWrites: 0},
		{name: "a dashboard edited in Grafana is put back, nothing else is touched",
			before: func(t *testing.T, f *fakeGrafana, url string) {
				applied(t, f, url)
				f.mu.Lock()
				f.dash["journeys-pipeline-health"]["dashboard"].(map[string]any)["title"] = "edited by hand"
				f.mu.Unlock()
			},
			want: map[Action]int{Update: 1, Unchanged: total - 1}, changed: []string{"dashboard/journeys-pipeline-health"}, wantWrites: 1},
		{name: "a changed alert threshold and data source are updated",
			before: func(t *testing.T, f *fakeGrafana, url string) {
				applied(t, f, url)
				f.mu.Lock()
				f.rules["journeys-data-freshness"]["for"] = "1h"
				f.ds["journeys-prometheus"]["url"] = "http://elsewhere:9090"
				f.mu.Unlock()
			},
			want:    map[Action]int{Update: 2, Unchanged: total - 2},
			changed: []string{"alert-rule/journeys-data-freshness", "datasource/journeys-prometheus"}, wantWrites: 2},
		{name: "a group interval changed in Grafana is put back, its rules kept",
			before: func(t *testing.T, f *fakeGrafana, url string) {
				applied(t, f, url)
				f.mu.Lock()
				f.groups["journeys/journeys-cx"] = 30
				f.mu.Unlock()
			},
			want:    map[Action]int{Update: 1, Unchanged: total - 1},
			changed: []string{"rule-group/journeys-cx"}, wantWrites: 1},
		{name: "a dashboard moved to another folder is moved back",
			before: func(t *testing.T, f *fakeGrafana, url string) {
				applied(t, f, url)
				f.mu.Lock()
				f.folder["other"] = map[string]any{"uid": "other", "title": "Other", "version": float64(1)}
				f.dash["journeys-cx-overview"]["folderUid"] = "other"
				f.mu.Unlock()
			},
			want: map[Action]int{Update: 1, Unchanged: total - 1}, changed: []string{"dashboard/journeys-cx-overview"}, wantWrites: 1},
		{name: "dry run on an empty Grafana plans every creation and writes nothing",
			dryRun: true,
			want:   map[Action]int{Create: total}, wantWrites: 0},
		{name: "dry run after an edit plans the update and writes nothing",
			before: func(t *testing.T, f *fakeGrafana, url string) {
				applied(t, f, url)
				f.mu.Lock()
				f.dash["journeys-cx-overview"]["dashboard"].(map[string]any)["panels"] = []any{}
				f.mu.Unlock()
			},
			dryRun: true,
			want:   map[Action]int{Update: 1, Unchanged: total - 1}, changed: []string{"dashboard/journeys-cx-overview"}, wantWrites: 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, srv := newFakeGrafana(t, "secret")
			if c.before != nil {
				c.before(t, f, srv.URL)
			}
			writesBefore := len(f.Writes())
			plan, err := Apply(context.Background(), Config{URL: srv.URL, Token: "secret", DryRun: c.dryRun})
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if len(plan) != total {
				t.Fatalf("plan has %d objects, want %d:\n%v", len(plan), total, plan)
			}
			for a, n := range c.want {
				if plan.Count(a) != n {
					t.Errorf("%d to %s, want %d; plan:\n%v", plan.Count(a), a, n, plan)
				}
			}
			acts := actions(plan)
			for _, k := range c.changed {
				if acts[k] != Update {
					t.Errorf("%s: %s, want update", k, acts[k])
				}
			}
			if w := f.Writes()[writesBefore:]; len(w) != c.wantWrites {
				t.Errorf("%d writes, want %d: %v", len(w), c.wantWrites, w)
			}
			if !c.dryRun {
				// Whatever happened, applying once more must find nothing to do.
				again, err := Apply(context.Background(), Config{URL: srv.URL, Token: "secret"})
				if err != nil {
					t.Fatal(err)
				}
				if again.Count(Unchanged) != total {
					t.Errorf("apply after apply is not a no-op:\n%v", again)
				}
			}
		})
	}
}

// applied runs one real apply, as an earlier deployment would have.
func applied(t *testing.T, f *fakeGrafana, url string) {
	t.Helper()
	if _, err := Apply(context.Background(), Config{URL: url, Token: f.token}); err != nil {
		t.Fatalf("setup apply: %v", err)
	}
}

func TestApplyCreatesWhatGrafanaNeeds(t *testing.T) {
	f, srv := newFakeGrafana(t, "secret")
	if _, err := Apply(context.Background(), Config{URL: srv.URL, Token: "secret", Folder: "CX Team"}); err != nil {
		t.Fatal(err)
	}
	if f.folder["cx-team"]["title"] != "CX Team" {
		t.Errorf("folder: %v", f.folder)
	}
	for uid, d := range f.dash {
		if d["folderUid"] != "cx-team" {
			t.Errorf("dashboard %s in folder %v", uid, d["folderUid"])
		}
	}
	r := f.rules["journeys-friction-spike"]
	if r["folderUID"] != "cx-team" || r["ruleGroup"] != "journeys-cx" || r["for"] != "10m0s" && r["for"] != "10m" {
		t.Errorf("friction spike rule: folder %v group %v for %v", r["folderUID"], r["ruleGroup"], r["for"])
	}
	sql := r["data"].([]any)[0].(map[string]any)["model"].(map[string]any)["rawSql"].(string)
	if !strings.Contains(sql, "FROM friction_flags FINAL") {
		t.Errorf("rule SQL not sent: %q", sql)
	}
	if iv := f.groups["cx-team/journeys-cx"]; iv != 300 {
		t.Errorf("group journeys-cx evaluated every %d s, want 300 (5m, as provisioned)", iv)
	}
	if len(f.rules) == 0 || f.rules["journeys-friction-spike"]["ruleGroup"] != "journeys-cx" {
		t.Errorf("rules lost when the group's interval was set: %v", f.rules)
	}
	if f.ds["journeys-clickhouse"]["type"] != "grafana-clickhouse-datasource" || f.ds["journeys-prometheus"]["url"] != "http://prometheus:9090" {
		t.Errorf("data sources: %v", f.ds)
	}
}

func TestApplyRefusedTokenIsAClearError(t *testing.T) {
	for _, dry := range []bool{false, true} {
		f, srv := newFakeGrafana(t, "secret")
		plan, err := Apply(context.Background(), Config{URL: srv.URL, Token: "wrong", DryRun: dry})
		if !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("dry run %v: err = %v, want ErrUnauthorized", dry, err)
		}
		if !strings.Contains(err.Error(), "--token") || !strings.Contains(err.Error(), "folder journeys") {
			t.Errorf("error does not say what to check and where: %v", err)
		}
		if len(plan) != 0 || len(f.Writes()) != 0 {
			t.Errorf("plan %v, writes %v after a refused token", plan, f.Writes())
		}
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name   string
		cfg    Config
		errHas string
	}{
		{"complete", Config{URL: "http://grafana:3000", Token: "t"}, ""},
		{"no url", Config{Token: "t"}, "url is required"},
		{"url without scheme", Config{URL: "grafana:3000", Token: "t"}, "want http(s)://"},
		{"no token", Config{URL: "https://g.example.com/grafana"}, "token is required"},
		{"clickhouse port out of range", Config{URL: "http://g:3000", Token: "t", DataSources: DataSourceAddrs{ClickHousePort: 70000}}, "clickhouse port 70000"},
		{"prometheus url without scheme", Config{URL: "http://g:3000", Token: "t", DataSources: DataSourceAddrs{PrometheusURL: "prom:9090"}}, `prometheus url "prom:9090"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.cfg.Validate()
			if c.errHas == "" && err != nil || c.errHas != "" && (err == nil || !strings.Contains(err.Error(), c.errHas)) {
				t.Fatalf("Validate = %v, want %q", err, c.errHas)
			}
		})
	}
}

func TestApplyPointsDataSourcesAtTheGivenServers(t *testing.T) {
	f, srv := newFakeGrafana(t, "secret")
	addrs := DataSourceAddrs{ClickHouseHost: "ch.internal", ClickHousePort: 9440, ClickHouseUser: "grafana",
		ClickHousePassword: "pw", PrometheusURL: "https://prom.internal:9090"}
	apply := func(d DataSourceAddrs) Plan {
		t.Helper()
		plan, err := Apply(context.Background(), Config{URL: srv.URL, Token: "secret", DataSources: d})
		if err != nil {
			t.Fatal(err)
		}
		return plan
	}
	apply(addrs)
	ch := f.ds["journeys-clickhouse"]["jsonData"].(map[string]any)
	if ch["host"] != "ch.internal" || ch["port"] != float64(9440) || ch["username"] != "grafana" || ch["defaultDatabase"] != "journeys" {
		t.Errorf("clickhouse data source json data: %v", ch)
	}
	if pw := f.secrets["journeys-clickhouse"].(map[string]any)["password"]; pw != "pw" {
		t.Errorf("clickhouse password sent: %v", pw)
	}
	if u := f.ds["journeys-prometheus"]["url"]; u != "https://prom.internal:9090" {
		t.Errorf("prometheus url: %v", u)
	}
	// A password cannot be read back, so giving one again updates the
	// data source, and only it; without one, nothing changes.
	if acts := actions(apply(addrs)); acts["datasource/journeys-clickhouse"] != Update || acts["datasource/journeys-prometheus"] != Unchanged {
		t.Errorf("second apply with a password: %v", acts)
	}
	addrs.ClickHousePassword = ""
	if plan := apply(addrs); plan.Count(Unchanged) != len(plan) {
		t.Errorf("apply without a password after one with it is not a no-op:\n%v", plan)
	}
	// Back to the provisioned (compose) hosts.
	if acts := actions(apply(DataSourceAddrs{})); acts["datasource/journeys-clickhouse"] != Update || acts["datasource/journeys-prometheus"] != Update {
		t.Errorf("apply with the provisioned addresses: %v", acts)
	}
	if ch := f.ds["journeys-clickhouse"]["jsonData"].(map[string]any); ch["host"] != "clickhouse" {
		t.Errorf("clickhouse host after going back: %v", ch["host"])
	}
}
