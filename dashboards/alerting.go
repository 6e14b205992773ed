package dashboards

import (
	"errors"
	"fmt"
	"time"
)

// AlertingDir is the embedded folder of Grafana alert rule provisioning.
const AlertingDir = "provisioning/alerting"

// ExpressionUID is the data source uid of Grafana's server-side expressions
// (reduce, threshold, math) in alert rules.
const ExpressionUID = "__expr__"

// AlertRuleGroup is one group of Grafana alert rules, as in Grafana's file
// provisioning: evaluated together every Interval, in the folder Folder.
type AlertRuleGroup struct {
	OrgID    int64       `yaml:"orgId"`
	Name     string      `yaml:"name"`
	Folder   string      `yaml:"folder"`
	Interval string      `yaml:"interval"`
	Rules    []AlertRule `yaml:"rules"`
	// File is the provisioning file it came from.
	File string `yaml:"-"`
}

// AlertRule is one Grafana alert rule: queries and expressions in Data, the
// refId whose result decides in Condition.
type AlertRule struct {
	UID          string            `yaml:"uid"`
	Title        string            `yaml:"title"`
	Condition    string            `yaml:"condition"`
	Data         []AlertQuery      `yaml:"data"`
	NoDataState  string            `yaml:"noDataState"`
	ExecErrState string            `yaml:"execErrState"`
	For          string            `yaml:"for"`
	Labels       map[string]string `yaml:"labels"`
	Annotations  map[string]string `yaml:"annotations"`
	IsPaused     bool              `yaml:"isPaused"`
}

// AlertQuery is one step of a rule: a data source query or an expression.
type AlertQuery struct {
	RefID             string `yaml:"refId"`
	RelativeTimeRange struct {
		From int64 `yaml:"from"`
		To   int64 `yaml:"to"`
	} `yaml:"relativeTimeRange"`
	DatasourceUID string         `yaml:"datasourceUid"`
	Model         map[string]any `yaml:"model"`
}

// SQL returns a ClickHouse query step's SQL, or "" for an expression.
func (q AlertQuery) SQL() string {
	s, _ := q.Model["rawSql"].(string)
	return s
}

// AlertRuleGroups parses every embedded alert rule provisioning file.
func AlertRuleGroups() ([]AlertRuleGroup, error) {
	var out []AlertRuleGroup
	type doc struct {
		APIVersion int              `yaml:"apiVersion"`
		Groups     []AlertRuleGroup `yaml:"groups"`
	}
	err := eachYAML(AlertingDir, func(name string, doc doc) error {
		for _, g := range doc.Groups {
			g.File = name
			out = append(out, g)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ValidateAlertRules checks what Grafana would refuse or evaluate wrongly:
// an evaluation interval Grafana accepts, unique uids, a condition naming a
// step, data sources that are provisioned (or expressions), expressions
// that name existing steps, SQL present.
func ValidateAlertRules(groups []AlertRuleGroup) error {
	sources, err := DataSources()
	if err != nil {
		return err
	}
	known := map[string]bool{ExpressionUID: true}
	for _, s := range sources {
		known[s.UID] = true
	}
	var errs []error
	uids := map[string]bool{}
	for _, g := range groups {
		if g.Name == "" || g.Folder == "" || g.Interval == "" {
			errs = append(errs, fmt.Errorf("%s: group %q needs a name, folder and interval", g.File, g.Name))
		} else if _, err := g.IntervalSeconds(); err != nil {
			errs = append(errs, fmt.Errorf("%s: group %q: %w", g.File, g.Name, err))
		}
		for _, r := range g.Rules {
			fail := func(format string, args ...any) {
				errs = append(errs, fmt.Errorf("%s: rule %q: %s", g.File, r.UID, fmt.Sprintf(format, args...)))
			}
			if r.UID == "" || r.Title == "" {
				fail("uid and title are required")
			}
			if uids[r.UID] {
				fail("uid repeated")
			}
			uids[r.UID] = true
			refs := map[string]bool{}
			for _, q := range r.Data {
				refs[q.RefID] = true
			}
			if !refs[r.Condition] {
				fail("condition %q names no step", r.Condition)
			}
			for _, q := range r.Data {
				if !known[q.DatasourceUID] {
					fail("step %s: datasource uid %q is not provisioned", q.RefID, q.DatasourceUID)
				}
				if q.DatasourceUID == ExpressionUID {
					if e, _ := q.Model["expression"].(string); !refs[e] {
						fail("step %s: expression %q names no step", q.RefID, e)
					}
				} else if q.SQL() == "" {
					fail("step %s: rawSql is empty", q.RefID)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// IntervalSeconds is the group's evaluation interval in seconds, as
// Grafana's API takes it. Grafana evaluates on a 10 s tick, so the interval
// must be a positive multiple of 10 s.
func (g AlertRuleGroup) IntervalSeconds() (int64, error) {
	d, err := time.ParseDuration(g.Interval)
	if err != nil {
		return 0, fmt.Errorf("interval %q: %w", g.Interval, err)
	}
	if d <= 0 || d%(10*time.Second) != 0 {
		return 0, fmt.Errorf("interval %q: want a positive multiple of 10s (Grafana's evaluation tick)", g.Interval)
	}
	return int64(d / time.Second), nil
}
