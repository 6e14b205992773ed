package dashboards

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"time"

	"gopkg.in/yaml.v3"
)

// DataSourcesDir is the embedded folder of the data source provisioning
// files: the ClickHouse and the Prometheus data sources the dashboards use.
const DataSourcesDir = "provisioning/datasources"

// ProvisionedDataSource is one data source from the provisioning YAML.
type ProvisionedDataSource struct {
	Name      string         `yaml:"name"`
	Type      string         `yaml:"type"`
	UID       string         `yaml:"uid"`
	Access    string         `yaml:"access"`
	URL       string         `yaml:"url"`
	IsDefault bool           `yaml:"isDefault"`
	JSONData  map[string]any `yaml:"jsonData"`
	// SecureJSONData holds secrets (passwords); Grafana never returns them.
	SecureJSONData map[string]string `yaml:"secureJsonData"`
	// File is the provisioning file it came from.
	File string `yaml:"-"`
}

// eachYAML parses every embedded *.yaml file of dir, in file name order,
// into a T and hands it to fn with the file's name.
func eachYAML[T any](dir string, fn func(name string, doc T) error) error {
	names, err := fs.Glob(files, dir+"/*.yaml")
	if err != nil {
		return fmt.Errorf("list %s: %w", dir, err)
	}
	sort.Strings(names)
	for _, name := range names {
		body, err := files.ReadFile(name)
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		var doc T
		if err := yaml.Unmarshal(body, &doc); err != nil {
			return fmt.Errorf("parse %s: %w", name, err)
		}
		if err := fn(name, doc); err != nil {
			return err
		}
	}
	return nil
}

// DataSources parses every embedded data source provisioning file, in file
// name order.
func DataSources() ([]ProvisionedDataSource, error) {
	var out []ProvisionedDataSource
	uids := map[string]string{}
	type doc struct {
		APIVersion  int                     `yaml:"apiVersion"`
		DataSources []ProvisionedDataSource `yaml:"datasources"`
	}
	err := eachYAML(DataSourcesDir, func(name string, doc doc) error {
		for _, d := range doc.DataSources {
			if d.UID == "" || d.Type == "" {
				return fmt.Errorf("%s: data source %q needs a uid and a type", name, d.Name)
			}
			if other, dup := uids[d.UID]; dup {
				return fmt.Errorf("%s: data source uid %q also provisioned in %s", name, d.UID, other)
			}
			uids[d.UID] = name
			d.File = name
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s provisions no data source", DataSourcesDir)
	}
	return out, nil
}

// Validate checks a dashboard's structure: uid, title and schemaVersion
// present; panel ids unique; every panel and target data source provisioned
// with a matching type, directly or through a data source variable whose
// saved value is; every target has a refId unique in its panel; a SQL
// target has SQL, a known format, and variables and macros that expand; a
// Prometheus target has PromQL that parses. Variables have unique names; a
// query variable has a provisioned data source and SQL that expands; a
// variable offering All says what All stands for (an allValue or saved
// options).
func Validate(d Dashboard) error {
	sources, err := DataSources()
	if err != nil {
		return err
	}
	known := make(map[string]string, len(sources))
	for _, s := range sources {
		known[s.UID] = s.Type
	}
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if d.UID == "" {
		fail("uid is empty")
	}
	if d.Title == "" {
		fail("title is empty")
	}
	if d.SchemaVersion == 0 {
		fail("schemaVersion is missing")
	}
	dsVars := map[string]Variable{}
	for _, v := range d.Variables {
		if v.Type != "datasource" {
			continue
		}
		dsVars[v.Name] = v
		if len(v.Current) != 1 {
			fail("variable %s: saved value must be one data source uid, is %v", v.Name, v.Current)
		} else if typ, ok := known[v.Current[0]]; !ok || typ != v.Query {
			fail("variable %s: saved value %q is not a provisioned %s data source", v.Name, v.Current[0], v.Query)
		}
	}
	checkDS := func(where string, ref *DataSourceRef) {
		if ref == nil {
			fail("%s: no datasource", where)
			return
		}
		if m := templateRefRE.FindStringSubmatch(ref.UID); m != nil && m[0] == ref.UID {
			name := m[1] + m[3] + m[5]
			v, ok := dsVars[name]
			switch {
			case !ok:
				fail("%s: datasource uid %q names no data source variable", where, ref.UID)
			case ref.Type != v.Query:
				fail("%s: datasource type %q, but variable %s picks %q data sources", where, ref.Type, name, v.Query)
			}
			return
		}
		typ, ok := known[ref.UID]
		switch {
		case !ok:
			fail("%s: datasource uid %q is not provisioned in %s", where, ref.UID, DataSourcesDir)
		case ref.Type != "" && ref.Type != typ:
			fail("%s: datasource %q has type %q, provisioned as %q", where, ref.UID, ref.Type, typ)
		}
	}
	probe := TimeRange{From: time.Unix(0, 0), To: time.Unix(86400, 0), Interval: time.Minute}
	names := map[string]bool{}
	for _, v := range d.Variables {
		where := fmt.Sprintf("variable %s", v.Name)
		if names[v.Name] {
			fail("%s: defined twice", where)
		}
		names[v.Name] = true
		if v.IncludeAll && v.AllValue == "" && len(v.Options) == 0 {
			// Grafana then substitutes every option, and a query
			// variable saves none: the SQL would get an empty IN ().
			fail("%s: includes All but has no allValue and no saved options", where)
		}
		if v.Type != "query" {
			continue
		}
		checkDS(where, v.Datasource)
	}
	for _, q := range d.VariableQueries() {
		if q.RawSQL == "" {
			fail("%s: query is empty", q.PanelTitle)
			continue
		}
		if _, err := q.Expand(probe); err != nil {
			errs = append(errs, err)
		}
	}
	ids := map[int]string{}
	var walk func([]Panel)
	walk = func(ps []Panel) {
		for _, p := range ps {
			where := fmt.Sprintf("panel %d %q", p.ID, p.Title)
			if p.ID == 0 {
				fail("%s: id is missing", where)
			} else if other, dup := ids[p.ID]; dup {
				fail("%s: id also used by %q", where, other)
			} else {
				ids[p.ID] = p.Title
			}
			if p.Type != "row" {
				checkDS(where, p.Datasource)
				if len(p.Targets) == 0 {
					fail("%s: no targets", where)
				}
			}
			refs := map[string]bool{}
			for _, t := range p.Targets {
				tw := fmt.Sprintf("%s target %q", where, t.RefID)
				if t.RefID == "" {
					fail("%s: refId is empty", tw)
				} else if refs[t.RefID] {
					fail("%s: refId repeated", tw)
				}
				refs[t.RefID] = true
				if t.Datasource != nil {
					checkDS(tw, t.Datasource)
				}
				if t.isPrometheus(p.Datasource) {
					if t.Expr == "" {
						fail("%s: expr is empty", tw)
					} else if _, err := PromQLMetrics(t.Expr); err != nil {
						fail("%s: %v", tw, err)
					}
					continue
				}
				if t.RawSQL == "" {
					fail("%s: rawSql is empty", tw)
					continue
				}
				if t.Format == nil || (*t.Format != 0 && *t.Format != 1) {
					fail("%s: format must be 0 (time series) or 1 (table)", tw)
				}
				q := Query{PanelID: p.ID, PanelTitle: p.Title, RefID: t.RefID, RawSQL: t.RawSQL, vars: d.Variables}
				if _, err := q.Expand(probe); err != nil {
					errs = append(errs, err)
				}
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("dashboard %s (%s): %w", d.UID, d.File, err)
	}
	return nil
}
