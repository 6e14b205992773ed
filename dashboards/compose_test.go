package dashboards

import (
	"os"
	"os/exec"
	"path"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

type composeService struct {
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Volumes []string `yaml:"volumes"`
}

func loadCompose(t *testing.T) map[string]composeService {
	t.Helper()
	body, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Services map[string]composeService `yaml:"services"`
	}
	if err := yaml.Unmarshal(body, &doc); err != nil {
		t.Fatalf("parse docker-compose.yml: %v", err)
	}
	return doc.Services
}

// mounts maps container path → host path of a service's bind mounts.
func mounts(s composeService) map[string]string {
	out := map[string]string{}
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && strings.HasPrefix(parts[0], "./") {
			out[parts[1]] = strings.TrimPrefix(parts[0], "./")
		}
	}
	return out
}

func flagValue(cmd []string, name string) string {
	for i, a := range cmd {
		if a == name && i+1 < len(cmd) {
			return cmd[i+1]
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

// The compose Prometheus must load the tested rules and scrape the
// services where compose tells them to serve metrics, under the job names
// the rules' up{job=...} alerts use.
func TestComposePrometheusScrapesTheServicesAndLoadsTheRules(t *testing.T) {
	bin := promtool(t)
	if out, err := exec.Command(bin, "check", "config", "--syntax-only", "prometheus/prometheus.yml").CombinedOutput(); err != nil {
		t.Fatalf("promtool check config: %v\n%s", err, out)
	}
	svcs := loadCompose(t)
	prom, ok := svcs["prometheus"]
	if !ok {
		t.Fatal("docker-compose.yml has no prometheus service")
	}
	m := mounts(prom)
	confPath := flagValue(prom.Command, "--config.file")
	if m[confPath] != "dashboards/prometheus/prometheus.yml" {
		t.Fatalf("prometheus --config.file %q is not dashboards/prometheus/prometheus.yml (mounts %v)", confPath, m)
	}
	body, err := os.ReadFile("prometheus/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	var conf struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(body, &conf); err != nil {
		t.Fatal(err)
	}
	var rules []string
	for _, f := range conf.RuleFiles {
		rules = append(rules, "dashboards/"+strings.TrimPrefix(m[f], "dashboards/"))
	}
	if len(rules) != 1 || rules[0] != "dashboards/"+prometheusRules {
		t.Errorf("rule_files %v are mounted from %v, want dashboards/%s", conf.RuleFiles, rules, prometheusRules)
	}
	jobs := map[string][]string{}
	for _, sc := range conf.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			jobs[sc.JobName] = append(jobs[sc.JobName], st.Targets...)
		}
	}
	for _, c := range []struct{ job, service string }{
		{"journeys-ingest", "ingest"},
		{"journeys-processor", "process"},
	} {
		svc, ok := svcs[c.service]
		if !ok {
			t.Errorf("compose has no %s service", c.service)
			continue
		}
		listen := flagValue(svc.Command, "--metrics-listen")
		_, port, _ := strings.Cut(listen, ":")
		want := c.service + ":" + port
		if port == "" || len(jobs[c.job]) != 1 || jobs[c.job][0] != want {
			t.Errorf("job %s scrapes %v, want [%s] (the %s service's --metrics-listen %q)", c.job, jobs[c.job], want, c.service, listen)
		}
	}
	// The rules' up{job=...} selectors name jobs that exist.
	jobRE := regexp.MustCompile(`job="([^"]+)"`)
	for _, r := range loadPrometheusRules(t) {
		for _, mm := range jobRE.FindAllStringSubmatch(r.Expr, -1) {
			if _, ok := jobs[mm[1]]; !ok {
				t.Errorf("alert %s names job %q that prometheus.yml does not scrape", r.Alert, mm[1])
			}
		}
	}
}

// Grafana in compose must see every dashboard and the provisioning of data
// sources, dashboards and alerting.
func TestComposeGrafanaMountsEveryDashboardAndTheProvisioning(t *testing.T) {
	g, ok := loadCompose(t)["grafana"]
	if !ok {
		t.Fatal("docker-compose.yml has no grafana service")
	}
	m := mounts(g)
	hosts := map[string]string{}
	for c, h := range m {
		hosts[h] = c
	}
	ds, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		c, ok := hosts["dashboards/"+d.File]
		if !ok || path.Dir(c) != "/etc/grafana/dashboards/journeys" {
			t.Errorf("%s is not mounted into /etc/grafana/dashboards/journeys (mounts %v)", d.File, m)
		}
	}
	for _, dir := range []string{"datasources", "dashboards", "alerting"} {
		if m["/etc/grafana/provisioning/"+dir] != "dashboards/provisioning/"+dir {
			t.Errorf("provisioning/%s not mounted at /etc/grafana/provisioning/%s", dir, dir)
		}
	}
}
