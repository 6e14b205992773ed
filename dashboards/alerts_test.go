package dashboards

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"github.com/journeys/journeys/ingest"
	"github.com/journeys/journeys/processor"
)

const (
	prometheusRules     = "alerts/prometheus-rules.yaml"
	prometheusRulesTest = "alerts/prometheus-rules_test.yaml"
)

// promtool returns the path of promtool; `make test` installs it
// (scripts/deps.sh), and without it the rules are untested: a failure.
func promtool(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"promtool", "/usr/bin/promtool"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Fatal("promtool not found: install Debian's prometheus package (scripts/deps.sh does)")
	return ""
}

func TestPrometheusRulesPassPromtool(t *testing.T) {
	bin := promtool(t)
	for _, args := range [][]string{
		{"check", "rules", prometheusRules},
		{"test", "rules", prometheusRulesTest},
	} {
		t.Run(strings.Join(args[:2], " "), func(t *testing.T) {
			out, err := exec.Command(bin, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			if !strings.Contains(string(out), "SUCCESS") {
				t.Fatalf("promtool %s did not report SUCCESS:\n%s", strings.Join(args, " "), out)
			}
		})
	}
}

// The rules test must exercise every alert: one that no test names could
// be broken without promtool noticing.
func TestEveryPrometheusAlertHasAUnitTest(t *testing.T) {
	rules := loadPrometheusRules(t)
	body, err := os.ReadFile(prometheusRulesTest)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string `yaml:"alertname"`
				ExpAlerts []any  `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	if err := yaml.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range doc.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	for _, r := range rules {
		if !fires[r.Alert] {
			t.Errorf("alert %s: no test where it fires", r.Alert)
		}
		if !quiet[r.Alert] {
			t.Errorf("alert %s: no test where it stays quiet", r.Alert)
		}
	}
}

type promRule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	Annotations map[string]string `yaml:"annotations"`
}

func loadPrometheusRules(t *testing.T) []promRule {
	t.Helper()
	body, err := os.ReadFile(prometheusRules)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Groups []struct {
			Rules []promRule `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(body, &doc); err != nil {
		t.Fatalf("parse %s: %v", prometheusRules, err)
	}
	var out []promRule
	for _, g := range doc.Groups {
		out = append(out, g.Rules...)
	}
	if len(out) == 0 {
		t.Fatalf("%s has no rules", prometheusRules)
	}
	return out
}

// recordingRegisterer registers on a real registry and remembers the metric
// names of every collector registered.
type recordingRegisterer struct {
	*prometheus.Registry
	mu    sync.Mutex
	names map[string]bool
}

var fqNameRE = regexp.MustCompile(`fqName: "([^"]+)"`)

func (r *recordingRegisterer) Register(c prometheus.Collector) error {
	if err := r.Registry.Register(c); err != nil {
		return err
	}
	ch := make(chan *prometheus.Desc, 16)
	go func() { c.Describe(ch); close(ch) }()
	r.mu.Lock()
	defer r.mu.Unlock()
	for d := range ch {
		if m := fqNameRE.FindStringSubmatch(d.String()); m != nil {
			r.names[m[1]] = true
		}
	}
	return nil
}

func (r *recordingRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

// registeredMetrics builds the real ingest handler and processor and
// returns the metric names they register.
func registeredMetrics(t *testing.T) map[string]bool {
	t.Helper()
	reg := &recordingRegisterer{Registry: prometheus.NewRegistry(), names: map[string]bool{}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pub := ingest.NewKafkaPublisher(ingest.KafkaConfig{Brokers: []string{"127.0.0.1:1"}})
	defer pub.Close()
	if _, err := ingest.NewHandler(ingest.Config{WriteKeys: []string{"k"}}, pub, reg, log); err != nil {
		t.Fatalf("ingest handler: %v", err)
	}
	cfg := processor.DefaultConfig()
	cfg.Brokers = []string{"127.0.0.1:1"}
	if _, err := processor.New(cfg, nil, nil, reg, log); err != nil {
		t.Fatalf("processor: %v", err)
	}
	if !reg.names["journeys_ingest_requests_total"] || !reg.names["journeys_processor_events_total"] {
		t.Fatalf("recorded metric names look wrong: %v", reg.names)
	}
	return reg.names
}

// metricExists accepts a registered name, a histogram's series
// (_bucket, _sum, _count) and Prometheus's own up.
func metricExists(name string, registered map[string]bool) bool {
	if name == "up" || registered[name] {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && registered[base] {
			return true
		}
	}
	return false
}

// A renamed or removed metric must break the build, not silence an alert
// or blank a panel.
func TestAlertsAndPrometheusPanelsUseRegisteredMetrics(t *testing.T) {
	registered := registeredMetrics(t)
	uses := map[string][]string{} // metric → where
	for _, r := range loadPrometheusRules(t) {
		names, err := PromQLMetrics(r.Expr)
		if err != nil {
			t.Errorf("alert %s: %v", r.Alert, err)
			continue
		}
		if len(names) == 0 {
			t.Errorf("alert %s selects no metric", r.Alert)
		}
		for _, n := range names {
			uses[n] = append(uses[n], "alert "+r.Alert)
		}
	}
	ds, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	promQueries := 0
	for _, d := range ds {
		for _, q := range d.PromQueries() {
			promQueries++
			names, err := q.Metrics()
			if err != nil {
				t.Errorf("%s: %v", d.File, err)
				continue
			}
			for _, n := range names {
				uses[n] = append(uses[n], fmt.Sprintf("%s panel %q", d.File, q.PanelTitle))
			}
		}
	}
	if promQueries == 0 {
		t.Error("no dashboard has Prometheus queries")
	}
	var missing []string
	for n, where := range uses {
		if !metricExists(n, registered) {
			missing = append(missing, fmt.Sprintf("%s (used by %s)", n, strings.Join(where, ", ")))
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("metric not registered by ingest or processor: %s", m)
	}
}

func TestPromQLMetrics(t *testing.T) {
	cases := []struct {
		name, expr string
		want       []string
		errHas     string
	}{
		{name: "names inside functions and aggregations",
			expr: `sum by (table) (rate(journeys_processor_insert_failures_total[5m])) / sum(rate(journeys_processor_batches_total[5m]))`,
			want: []string{"journeys_processor_batches_total", "journeys_processor_insert_failures_total"}},
		{name: "Grafana's rate interval is filled in",
			expr: `histogram_quantile(0.99, sum by (le) (rate(journeys_processor_insert_duration_seconds_bucket[$__rate_interval])))`,
			want: []string{"journeys_processor_insert_duration_seconds_bucket"}},
		{name: "a __name__ matcher counts as a name",
			expr: `{__name__="journeys_ingest_in_flight_bytes"}`,
			want: []string{"journeys_ingest_in_flight_bytes"}},
		{name: "a dashboard variable is refused", expr: `up{job="$job"}`, errHas: "template variable"},
		{name: "broken PromQL is refused", expr: `sum(rate(x[5m])`, errHas: "parse promql"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := PromQLMetrics(c.expr)
			if c.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), c.errHas) {
					t.Fatalf("err = %v, want %q", err, c.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}
