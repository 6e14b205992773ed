// Package grafana pushes the Journeys Grafana setup — data sources, a
// folder, every embedded dashboard and the ClickHouse alert rules — to an
// existing Grafana through its HTTP API (grafana-openapi-client-go).
// Apply reads each object first and writes only what is missing or
// differs, so running it twice changes nothing the second time; with
// DryRun it only reads and reports the plan.
package grafana

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/go-openapi/runtime"
	"github.com/go-openapi/strfmt"
	goapi "github.com/grafana/grafana-openapi-client-go/client"
	gprov "github.com/grafana/grafana-openapi-client-go/client/provisioning"
	"github.com/grafana/grafana-openapi-client-go/models"

	"github.com/journeys/journeys/dashboards"
)

// DefaultFolder is the folder title of the dashboards and alert rules.
const DefaultFolder = "Journeys"

// Config says where to apply and how.
type Config struct {
	// URL is Grafana's base URL, e.g. http://127.0.0.1:3000.
	URL string
	// Token is a service account token (sent as a Bearer token).
	Token string
	// Folder is the title of the folder for dashboards and alert rules;
	// its uid is derived from it ("Journeys" → "journeys"). Empty means
	// DefaultFolder.
	Folder string
	// DataSources points the data sources at this Grafana's ClickHouse
	// and Prometheus; its zero value keeps docker-compose's hosts.
	DataSources DataSourceAddrs
	// DryRun reads and plans, and writes nothing.
	DryRun bool
	// HTTPClient, if set, carries the requests (tests, proxies).
	HTTPClient *http.Client
}

// Validate names what is missing.
func (c Config) Validate() error {
	if c.URL == "" {
		return errors.New("grafana url is required")
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("grafana url %q: want http(s)://host[:port][/path]", c.URL)
	}
	if c.Token == "" {
		return errors.New("grafana token is required (a service account token with Editor or Admin role)")
	}
	return c.DataSources.Validate()
}

// Action is what Apply did, or would do, to one object.
type Action string

const (
	Create    Action = "create"
	Update    Action = "update"
	Unchanged Action = "unchanged"
)

// Change is one object of the plan.
type Change struct {
	Kind   string // folder, datasource, dashboard, alert-rule, rule-group
	UID    string
	Title  string
	Action Action
}

func (c Change) String() string {
	return fmt.Sprintf("%-9s %-10s %-32s %s", c.Action, c.Kind, c.UID, c.Title)
}

// Plan lists every object in the order Apply handles them.
type Plan []Change

// Count returns how many changes have action a.
func (p Plan) Count(a Action) int {
	n := 0
	for _, c := range p {
		if c.Action == a {
			n++
		}
	}
	return n
}

// WriteText prints the plan, one object a line, and a summary.
func (p Plan) WriteText(w io.Writer, dryRun bool) error {
	for _, c := range p {
		if _, err := fmt.Fprintln(w, c); err != nil {
			return err
		}
	}
	verb := "applied"
	if dryRun {
		verb = "dry run, nothing written"
	}
	_, err := fmt.Fprintf(w, "%s: %d to create, %d to update, %d unchanged\n", verb, p.Count(Create), p.Count(Update), p.Count(Unchanged))
	return err
}

// ErrUnauthorized is wrapped by Apply's error when Grafana refuses the token.
var ErrUnauthorized = errors.New("grafana refused the token")

type applier struct {
	cfg       Config
	api       *goapi.GrafanaHTTPAPI
	ctx       context.Context
	folderUID string
	plan      Plan
}

// Apply makes Grafana hold the embedded setup and returns the plan it
// carried out (or, with DryRun, would carry out).
func Apply(ctx context.Context, cfg Config) (Plan, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Folder == "" {
		cfg.Folder = DefaultFolder
	}
	u, _ := url.Parse(cfg.URL)
	tc := &goapi.TransportConfig{
		Host:     u.Host,
		BasePath: strings.TrimSuffix(u.Path, "/") + "/api",
		Schemes:  []string{u.Scheme},
		APIKey:   cfg.Token,
		Client:   cfg.HTTPClient,
	}
	a := &applier{cfg: cfg, api: goapi.NewHTTPClientWithConfig(strfmt.Default, tc), ctx: ctx, folderUID: FolderUID(cfg.Folder)}
	sources, err := dashboards.DataSources()
	if err != nil {
		return nil, err
	}
	boards, err := dashboards.Load()
	if err != nil {
		return nil, err
	}
	groups, err := dashboards.AlertRuleGroups()
	if err != nil {
		return nil, err
	}
	if err := dashboards.ValidateAlertRules(groups); err != nil {
		return nil, err
	}
	if err := a.folder(); err != nil {
		return a.plan, err
	}
	for _, s := range sources {
		if err := a.dataSource(s); err != nil {
			return a.plan, err
		}
	}
	for _, d := range boards {
		if err := a.dashboard(d); err != nil {
			return a.plan, err
		}
	}
	for _, g := range groups {
		for _, r := range g.Rules {
			if err := a.alertRule(g, r); err != nil {
				return a.plan, err
			}
		}
		if err := a.ruleGroup(g); err != nil {
			return a.plan, err
		}
	}
	return a.plan, nil
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// FolderUID derives a folder's uid from its title.
func FolderUID(title string) string {
	return strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(title), "-"), "-")
}

func (a *applier) withCtx(op *runtime.ClientOperation) { op.Context = a.ctx }

// apiErr gives an API error its context, and names an auth failure.
func apiErr(what string, err error) error {
	var coded interface{ IsCode(int) bool }
	if errors.As(err, &coded) && (coded.IsCode(http.StatusUnauthorized) || coded.IsCode(http.StatusForbidden)) {
		return fmt.Errorf("%s: %w (401/403): check --token and that its service account may edit dashboards, data sources and alert rules: %v", what, ErrUnauthorized, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func notFound(err error) bool {
	var coded interface{ IsCode(int) bool }
	return errors.As(err, &coded) && coded.IsCode(http.StatusNotFound)
}

func (a *applier) record(kind, uid, title string, act Action) {
	a.plan = append(a.plan, Change{Kind: kind, UID: uid, Title: title, Action: act})
}

func (a *applier) folder() error {
	uid, title := a.folderUID, a.cfg.Folder
	got, err := a.api.Folders.GetFolderByUID(uid, a.withCtx)
	switch {
	case notFound(err):
		a.record("folder", uid, title, Create)
		if a.cfg.DryRun {
			return nil
		}
		if _, err := a.api.Folders.CreateFolder(&models.CreateFolderCommand{UID: uid, Title: title}, a.withCtx); err != nil {
			return apiErr("create folder "+uid, err)
		}
		return nil
	case err != nil:
		return apiErr("read folder "+uid, err)
	}
	if got.Payload.Title == title {
		a.record("folder", uid, title, Unchanged)
		return nil
	}
	a.record("folder", uid, title, Update)
	if a.cfg.DryRun {
		return nil
	}
	_, err = a.api.Folders.UpdateFolder(uid, &models.UpdateFolderCommand{Title: title, Version: got.Payload.Version, Overwrite: true}, a.withCtx)
	if err != nil {
		return apiErr("update folder "+uid, err)
	}
	return nil
}

func (a *applier) dataSource(s dashboards.ProvisionedDataSource) error {
	s, forceUpdate := a.cfg.DataSources.apply(s)
	jsonData, err := normalize(s.JSONData)
	if err != nil {
		return fmt.Errorf("data source %s json data: %w", s.UID, err)
	}
	access := s.Access
	if access == "" {
		access = "proxy"
	}
	got, err := a.api.Datasources.GetDataSourceByUID(s.UID, a.withCtx)
	switch {
	case notFound(err):
		a.record("datasource", s.UID, s.Name, Create)
		if a.cfg.DryRun {
			return nil
		}
		_, err := a.api.Datasources.AddDataSource(&models.AddDataSourceCommand{
			UID: s.UID, Name: s.Name, Type: s.Type, URL: s.URL, Access: models.DsAccess(access),
			IsDefault: s.IsDefault, JSONData: jsonData, SecureJSONData: s.SecureJSONData,
		}, a.withCtx)
		if err != nil {
			return apiErr("create data source "+s.UID, err)
		}
		return nil
	case err != nil:
		return apiErr("read data source "+s.UID, err)
	}
	p := got.Payload
	gotJSON, err := normalize(p.JSONData)
	if err != nil {
		return fmt.Errorf("data source %s json data from grafana: %w", s.UID, err)
	}
	if p.Name == s.Name && p.Type == s.Type && p.URL == s.URL && string(p.Access) == access &&
		p.IsDefault == s.IsDefault && subset(jsonData, gotJSON) && !forceUpdate {
		a.record("datasource", s.UID, s.Name, Unchanged)
		return nil
	}
	a.record("datasource", s.UID, s.Name, Update)
	if a.cfg.DryRun {
		return nil
	}
	_, err = a.api.Datasources.UpdateDataSourceByUID(s.UID, &models.UpdateDataSourceCommand{
		UID: s.UID, Name: s.Name, Type: s.Type, URL: s.URL, Access: models.DsAccess(access),
		IsDefault: s.IsDefault, JSONData: jsonData, SecureJSONData: s.SecureJSONData, Version: p.Version,
	}, a.withCtx)
	if err != nil {
		return apiErr("update data source "+s.UID, err)
	}
	return nil
}

// dashboardVolatile are the keys Grafana sets itself on save.
var dashboardVolatile = []string{"id", "version"}

func (a *applier) dashboard(d dashboards.Dashboard) error {
	body, err := dashboards.JSON(d.File)
	if err != nil {
		return err
	}
	var want map[string]any
	if err := json.Unmarshal(body, &want); err != nil {
		return fmt.Errorf("dashboard %s: %w", d.File, err)
	}
	for _, k := range dashboardVolatile {
		delete(want, k)
	}
	got, err := a.api.Dashboards.GetDashboardByUID(d.UID, a.withCtx)
	act := Create
	switch {
	case notFound(err):
	case err != nil:
		return apiErr("read dashboard "+d.UID, err)
	default:
		have, err := normalize(got.Payload.Dashboard)
		if err != nil {
			return fmt.Errorf("dashboard %s from grafana: %w", d.UID, err)
		}
		m, _ := have.(map[string]any)
		folder := ""
		if got.Payload.Meta != nil {
			folder = got.Payload.Meta.FolderUID
		}
		act = Update
		if m != nil && folder == a.folderUID && subset(any(want), any(m)) {
			act = Unchanged
		}
	}
	a.record("dashboard", d.UID, d.Title, act)
	if a.cfg.DryRun || act == Unchanged {
		return nil
	}
	_, err = a.api.Dashboards.PostDashboard(&models.SaveDashboardCommand{
		Dashboard: want, FolderUID: a.folderUID, Overwrite: true, Message: "journeys grafana apply",
	}, a.withCtx)
	if err != nil {
		return apiErr("save dashboard "+d.UID, err)
	}
	return nil
}

func (a *applier) alertRule(g dashboards.AlertRuleGroup, r dashboards.AlertRule) error {
	want, err := a.provisionedRule(g, r)
	if err != nil {
		return err
	}
	got, err := a.api.Provisioning.GetAlertRule(r.UID, a.withCtx)
	act := Create
	switch {
	case notFound(err):
	case err != nil:
		return apiErr("read alert rule "+r.UID, err)
	default:
		act = Update
		if sameRule(want, got.Payload) {
			act = Unchanged
		}
	}
	a.record("alert-rule", r.UID, r.Title, act)
	if a.cfg.DryRun || act == Unchanged {
		return nil
	}
	if act == Create {
		if _, err := a.api.Provisioning.PostAlertRule(gprov.NewPostAlertRuleParams().WithBody(want), a.withCtx); err != nil {
			return apiErr("create alert rule "+r.UID, err)
		}
		return nil
	}
	if _, err := a.api.Provisioning.PutAlertRule(gprov.NewPutAlertRuleParams().WithUID(r.UID).WithBody(want), a.withCtx); err != nil {
		return apiErr("update alert rule "+r.UID, err)
	}
	return nil
}

func (a *applier) provisionedRule(g dashboards.AlertRuleGroup, r dashboards.AlertRule) (*models.ProvisionedAlertRule, error) {
	forDur, err := time.ParseDuration(r.For)
	if err != nil {
		return nil, fmt.Errorf("alert rule %s: for %q: %w", r.UID, r.For, err)
	}
	orgID := g.OrgID
	if orgID == 0 {
		orgID = 1
	}
	f := strfmt.Duration(forDur)
	rule := &models.ProvisionedAlertRule{
		UID: r.UID, Title: ptr(r.Title), Condition: ptr(r.Condition), FolderUID: ptr(a.folderUID),
		RuleGroup: ptr(g.Name), OrgID: &orgID, For: &f,
		NoDataState: ptr(r.NoDataState), ExecErrState: ptr(r.ExecErrState),
		Labels: r.Labels, Annotations: r.Annotations, IsPaused: r.IsPaused,
	}
	for _, q := range r.Data {
		model, err := normalize(q.Model)
		if err != nil {
			return nil, fmt.Errorf("alert rule %s step %s: %w", r.UID, q.RefID, err)
		}
		aq := &models.AlertQuery{RefID: q.RefID, DatasourceUID: q.DatasourceUID, Model: model}
		if q.DatasourceUID != dashboards.ExpressionUID || q.RelativeTimeRange.From != 0 {
			aq.RelativeTimeRange = &models.RelativeTimeRange{From: models.Duration(q.RelativeTimeRange.From), To: models.Duration(q.RelativeTimeRange.To)}
		}
		rule.Data = append(rule.Data, aq)
	}
	return rule, nil
}

// sameRule compares what Apply sets; fields Grafana adds (ids, provenance,
// updated, defaults inside query models) do not count.
func sameRule(want, got *models.ProvisionedAlertRule) bool {
	if got == nil || deref(got.Title) != deref(want.Title) || deref(got.Condition) != deref(want.Condition) ||
		deref(got.FolderUID) != deref(want.FolderUID) || deref(got.RuleGroup) != deref(want.RuleGroup) ||
		deref(got.NoDataState) != deref(want.NoDataState) || deref(got.ExecErrState) != deref(want.ExecErrState) ||
		got.IsPaused != want.IsPaused || got.For == nil || *got.For != *want.For ||
		!equalMaps(got.Labels, want.Labels) || !equalMaps(got.Annotations, want.Annotations) ||
		len(got.Data) != len(want.Data) {
		return false
	}
	for i, w := range want.Data {
		g := got.Data[i]
		if g == nil || g.RefID != w.RefID || g.DatasourceUID != w.DatasourceUID {
			return false
		}
		var gr, wr models.RelativeTimeRange
		if g.RelativeTimeRange != nil {
			gr = *g.RelativeTimeRange
		}
		if w.RelativeTimeRange != nil {
			wr = *w.RelativeTimeRange
		}
		if gr != wr {
			return false
		}
		gm, err := normalize(g.Model)
		if err != nil || !subset(w.Model, gm) {
			return false
		}
	}
	return true
}

func equalMaps(a, b map[string]string) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}

// normalize turns v into what encoding/json decodes it to, so that values
// from YAML and from Grafana's JSON compare equal.
func normalize(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// subset reports whether every key of want's top-level object is in got
// with an equal value (Grafana adds keys of its own); other values must be
// equal.
func subset(want, got any) bool {
	w, wok := want.(map[string]any)
	g, gok := got.(map[string]any)
	if !wok || !gok {
		return reflect.DeepEqual(want, got)
	}
	for k, wv := range w {
		gv, ok := g[k]
		if !ok && wv == nil {
			continue
		}
		if !ok || !reflect.DeepEqual(wv, gv) {
			return false
		}
	}
	return true
}

func ptr[T any](v T) *T { return &v }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
