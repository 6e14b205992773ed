package dashboards

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

//go:embed *.json provisioning
var files embed.FS

// PrometheusType is the plugin type of Prometheus data sources; panels and
// targets of that type carry PromQL in expr instead of SQL.
const PrometheusType = "prometheus"

// ClickHouseType is the plugin type of the ClickHouse data source
// (grafana-clickhouse-datasource), whose panels carry SQL.
const ClickHouseType = "grafana-clickhouse-datasource"

// DataSourceRef is how a panel or target names its data source.
type DataSourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// Dashboard is one embedded Grafana dashboard, with the fields Journeys
// checks and runs.
type Dashboard struct {
	// File is the embedded file name, e.g. "cx-overview.json".
	File          string
	UID           string
	Title         string
	SchemaVersion int
	Panels        []Panel
	Variables     []Variable
}

// DefinesVariable tells whether the dashboard has a template variable of
// that name.
func (d Dashboard) DefinesVariable(name string) bool {
	for _, v := range d.Variables {
		if v.Name == name {
			return true
		}
	}
	return false
}

// Panel is one panel; rows nest their collapsed panels in Panels.
type Panel struct {
	ID         int            `json:"id"`
	Type       string         `json:"type"`
	Title      string         `json:"title"`
	Datasource *DataSourceRef `json:"datasource"`
	Targets    []Target       `json:"targets"`
	Panels     []Panel        `json:"panels"`
}

// Target is one query of a panel: raw SQL for the ClickHouse plugin, or
// PromQL in Expr for a Prometheus data source.
type Target struct {
	RefID      string         `json:"refId"`
	Datasource *DataSourceRef `json:"datasource"`
	EditorType string         `json:"editorType"`
	QueryType  string         `json:"queryType"`
	// Format is the plugin's result format: 0 time series, 1 table.
	Format *int   `json:"format"`
	RawSQL string `json:"rawSql"`
	// Expr is a Prometheus target's PromQL.
	Expr string `json:"expr"`
}

// isPrometheus tells whether a target, whose panel uses panelDS, queries
// Prometheus.
func (t Target) isPrometheus(panelDS *DataSourceRef) bool {
	ds := t.Datasource
	if ds == nil {
		ds = panelDS
	}
	return ds != nil && ds.Type == PrometheusType
}

// Variable is a dashboard template variable with its saved current value.
type Variable struct {
	Name string
	// Type is Grafana's variable type: custom, query, textbox, datasource…
	Type string
	// Query is a custom variable's options, a data source variable's plugin
	// type, a textbox's default, or a query variable's SQL.
	Query string
	// Datasource is where a query variable runs its SQL.
	Datasource *DataSourceRef
	IncludeAll bool
	Multi      bool
	// AllValue, when set, replaces the variable verbatim when All is chosen.
	AllValue string
	// Current holds the saved selection; AllSelected is "$__all".
	Current []string
	Options []string
}

// AllSelected is Grafana's value for "All" in a variable's selection.
const AllSelected = "$__all"

// Query is one panel target, ready to expand and run.
type Query struct {
	PanelID    int
	PanelTitle string
	RefID      string
	// RawSQL is the target's SQL as saved, with template variables and
	// plugin macros.
	RawSQL string
	// Format is the plugin's result format: 0 time series, 1 table.
	Format int
	vars   []Variable
}

// VariablePanelID is the PanelID of the queries VariableQueries returns.
const VariablePanelID = 0

// With returns the query with a template variable set to values instead of
// its saved default, as when a user picks them or a link sets
// var-<name>=… in the dashboard URL. It panics on a variable the dashboard
// does not define: that is a mistake in the caller.
func (q Query) With(name string, values ...string) Query {
	vars := make([]Variable, len(q.vars))
	copy(vars, q.vars)
	for i := range vars {
		if vars[i].Name == name {
			vars[i].Current = values
			q.vars = vars
			return q
		}
	}
	panic(fmt.Sprintf("dashboards: query %q sets variable %q, which the dashboard does not define", q.PanelTitle, name))
}

// Expand returns the SQL Grafana would send to ClickHouse over r with the
// dashboard's template variables at their saved defaults.
func (q Query) Expand(r TimeRange) (string, error) {
	sql, err := ConditionalAll(q.RawSQL, q.vars)
	if err == nil {
		sql, err = Interpolate(sql, q.vars)
	}
	if err != nil {
		return "", fmt.Errorf("panel %d %q target %s: %w", q.PanelID, q.PanelTitle, q.RefID, err)
	}
	out, err := Expand(sql, r)
	if err != nil {
		return "", fmt.Errorf("panel %d %q target %s: %w", q.PanelID, q.PanelTitle, q.RefID, err)
	}
	return out, nil
}

// PromQuery is one Prometheus target of a panel.
type PromQuery struct {
	PanelID    int
	PanelTitle string
	RefID      string
	Expr       string
}

// Metrics returns the metric names the query selects.
func (q PromQuery) Metrics() ([]string, error) {
	names, err := PromQLMetrics(q.Expr)
	if err != nil {
		return nil, fmt.Errorf("panel %d %q target %s: %w", q.PanelID, q.PanelTitle, q.RefID, err)
	}
	return names, nil
}

// PromQueries lists the Prometheus targets of every panel, nested ones
// included, in panel order.
func (d Dashboard) PromQueries() []PromQuery {
	var out []PromQuery
	var walk func([]Panel)
	walk = func(ps []Panel) {
		for _, p := range ps {
			for _, t := range p.Targets {
				if t.isPrometheus(p.Datasource) {
					out = append(out, PromQuery{PanelID: p.ID, PanelTitle: p.Title, RefID: t.RefID, Expr: t.Expr})
				}
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// Queries lists the SQL targets of every panel, nested ones included, in
// panel order; Prometheus targets are in PromQueries.
func (d Dashboard) Queries() []Query {
	var out []Query
	var walk func([]Panel)
	walk = func(ps []Panel) {
		for _, p := range ps {
			for _, t := range p.Targets {
				if t.isPrometheus(p.Datasource) {
					continue
				}
				q := Query{PanelID: p.ID, PanelTitle: p.Title, RefID: t.RefID, RawSQL: t.RawSQL, vars: d.Variables}
				if t.Format != nil {
					q.Format = *t.Format
				}
				out = append(out, q)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// VariableQueries lists the SQL of the dashboard's query variables, in
// order, as Queries with PanelID VariablePanelID, PanelTitle "variable
// <name>" and table format. Grafana runs them with the dashboard's time
// range and the other variables' values, as Expand does.
func (d Dashboard) VariableQueries() []Query {
	var out []Query
	for _, v := range d.Variables {
		if v.Type != "query" {
			continue
		}
		out = append(out, Query{PanelID: VariablePanelID, PanelTitle: "variable " + v.Name, RefID: v.Name, RawSQL: v.Query, Format: 1, vars: d.Variables})
	}
	return out
}

// Load parses every embedded dashboard, sorted by file name.
func Load() ([]Dashboard, error) {
	names, err := fs.Glob(files, "*.json")
	if err != nil {
		return nil, fmt.Errorf("list embedded dashboards: %w", err)
	}
	sort.Strings(names)
	out := make([]Dashboard, 0, len(names))
	for _, name := range names {
		body, err := files.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read dashboard %s: %w", name, err)
		}
		d, err := Parse(body)
		if err != nil {
			return nil, fmt.Errorf("dashboard %s: %w", name, err)
		}
		d.File = path.Base(name)
		out = append(out, d)
	}
	return out, nil
}

// JSON returns the embedded file of a dashboard, as Grafana reads it.
func JSON(file string) ([]byte, error) {
	return files.ReadFile(file)
}

// Parse reads a Grafana dashboard JSON document.
func Parse(body []byte) (Dashboard, error) {
	var raw struct {
		UID           string  `json:"uid"`
		Title         string  `json:"title"`
		SchemaVersion int     `json:"schemaVersion"`
		Panels        []Panel `json:"panels"`
		Templating    struct {
			List []struct {
				Name       string          `json:"name"`
				Type       string          `json:"type"`
				Datasource *DataSourceRef  `json:"datasource"`
				Query      json.RawMessage `json:"query"`
				Definition string          `json:"definition"`
				IncludeAll bool            `json:"includeAll"`
				Multi      bool            `json:"multi"`
				AllValue   *string         `json:"allValue"`
				Current    struct {
					Value json.RawMessage `json:"value"`
				} `json:"current"`
				Options []struct {
					Value json.RawMessage `json:"value"`
				} `json:"options"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return Dashboard{}, fmt.Errorf("parse dashboard json: %w", err)
	}
	d := Dashboard{UID: raw.UID, Title: raw.Title, SchemaVersion: raw.SchemaVersion, Panels: raw.Panels}
	for _, v := range raw.Templating.List {
		tv := Variable{Name: v.Name, Type: v.Type, Datasource: v.Datasource, IncludeAll: v.IncludeAll, Multi: v.Multi}
		if v.AllValue != nil {
			tv.AllValue = *v.AllValue
		}
		// The ClickHouse plugin reads a query variable's SQL from a plain
		// string (its legacy form, and what these dashboards save) or from
		// the rawSql of an object (its newer variable editor).
		var q string
		var obj struct {
			RawSQL string `json:"rawSql"`
		}
		switch {
		case json.Unmarshal(v.Query, &q) == nil:
			tv.Query = q
		case json.Unmarshal(v.Query, &obj) == nil:
			tv.Query = obj.RawSQL
		}
		if tv.Query == "" && tv.Type == "query" {
			tv.Query = v.Definition
		}
		cur, err := stringOrList(v.Current.Value)
		if err != nil {
			return Dashboard{}, fmt.Errorf("variable %s current value: %w", v.Name, err)
		}
		tv.Current = cur
		for _, o := range v.Options {
			vals, err := stringOrList(o.Value)
			if err != nil {
				return Dashboard{}, fmt.Errorf("variable %s option: %w", v.Name, err)
			}
			tv.Options = append(tv.Options, vals...)
		}
		if len(tv.Options) == 0 && tv.Type == "custom" {
			for _, o := range strings.Split(tv.Query, ",") {
				if o = strings.TrimSpace(o); o != "" {
					tv.Options = append(tv.Options, o)
				}
			}
		}
		d.Variables = append(d.Variables, tv)
	}
	return d, nil
}

func stringOrList(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, fmt.Errorf("want a string or a list of strings: %w", err)
	}
	return many, nil
}
