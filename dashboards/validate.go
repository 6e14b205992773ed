package dashboards

import (
	"errors"
	"fmt"
	"time"

	"gopkg.in/yaml.v3"
)

// DataSourcesFile is the embedded provisioning file of the data sources
// the dashboards may use.
const DataSourcesFile = "provisioning/datasources/clickhouse.yaml"

// ProvisionedDataSource is one data source from the provisioning YAML.
type ProvisionedDataSource struct {
	Name     string         `yaml:"name"`
	Type     string         `yaml:"type"`
	UID      string         `yaml:"uid"`
	JSONData map[string]any `yaml:"jsonData"`
}

// DataSources parses the embedded data source provisioning file.
func DataSources() ([]ProvisionedDataSource, error) {
	body, err := files.ReadFile(DataSourcesFile)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", DataSourcesFile, err)
	}
	var doc struct {
		APIVersion  int                     `yaml:"apiVersion"`
		DataSources []ProvisionedDataSource `yaml:"datasources"`
	}
	if err := yaml.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("parse %s: %w", DataSourcesFile, err)
	}
	if len(doc.DataSources) == 0 {
		return nil, fmt.Errorf("%s provisions no data source", DataSourcesFile)
	}
	return doc.DataSources, nil
}

// Validate checks a dashboard's structure: uid, title and schemaVersion
// present; panel ids unique; every panel and target data source provisioned
// with a matching type; every target has a refId unique in its panel, SQL,
// a known format, and SQL whose variables and macros expand.
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
	checkDS := func(where string, ref *DataSourceRef) {
		if ref == nil {
			fail("%s: no datasource", where)
			return
		}
		typ, ok := known[ref.UID]
		switch {
		case !ok:
			fail("%s: datasource uid %q is not provisioned in %s", where, ref.UID, DataSourcesFile)
		case ref.Type != "" && ref.Type != typ:
			fail("%s: datasource %q has type %q, provisioned as %q", where, ref.UID, ref.Type, typ)
		}
	}
	probe := TimeRange{From: time.Unix(0, 0), To: time.Unix(86400, 0), Interval: time.Minute}
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
