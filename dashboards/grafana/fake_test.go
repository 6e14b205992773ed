package grafana

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeGrafana implements the part of Grafana's HTTP API that Apply uses,
// as documented (https://grafana.com/docs/grafana/latest/developers/http_api/):
// folders, data sources by uid, dashboards by uid and /api/dashboards/db,
// and the alerting provisioning API. It checks the method, path, bearer
// token and body shape of every request, and like Grafana it adds fields
// of its own (ids, versions, query defaults) to what it stores.
type fakeGrafana struct {
	t      *testing.T
	token  string
	mu     sync.Mutex
	folder map[string]map[string]any
	ds     map[string]map[string]any
	// secrets holds the secureJsonData each data source was last sent;
	// like Grafana, the fake never returns it.
	secrets map[string]any
	dash    map[string]map[string]any // uid → {"dashboard":…, "folderUid":…}
	rules   map[string]map[string]any
	// groups holds each rule group's interval in seconds, by
	// "folderUid/title". A rule written into a new group creates the group
	// at Grafana's default interval (1m).
	groups map[string]int64
	writes []string // "METHOD path" of every write
	nextID int
}

func newFakeGrafana(t *testing.T, token string) (*fakeGrafana, *httptest.Server) {
	f := &fakeGrafana{t: t, token: token, folder: map[string]map[string]any{}, ds: map[string]map[string]any{},
		dash: map[string]map[string]any{}, rules: map[string]map[string]any{}, groups: map[string]int64{}, secrets: map[string]any{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeGrafana) Writes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.writes...)
}

func reply(w http.ResponseWriter, code int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(body)
}

func (f *fakeGrafana) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		reply(w, http.StatusUnauthorized, map[string]any{"message": "Invalid API key"})
		return
	}
	var body map[string]any
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			f.t.Errorf("%s %s: Content-Type %q, want application/json", r.Method, r.URL.Path, ct)
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			f.t.Errorf("%s %s: body is not a JSON object: %v", r.Method, r.URL.Path, err)
			reply(w, http.StatusBadRequest, map[string]any{"message": "bad request data"})
			return
		}
		f.writes = append(f.writes, r.Method+" "+r.URL.Path)
	}
	bad := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		f.t.Errorf("%s %s: %s", r.Method, r.URL.Path, msg)
		reply(w, http.StatusBadRequest, map[string]any{"message": msg})
	}
	need := func(keys ...string) bool {
		for _, k := range keys {
			if v, ok := body[k]; !ok || v == nil || v == "" {
				bad("body lacks %q: %v", k, body)
				return false
			}
		}
		return true
	}
	notFound := func(what string) { reply(w, http.StatusNotFound, map[string]any{"message": what + " not found"}) }
	f.nextID++
	id := float64(f.nextID)
	p := r.URL.Path
	switch {
	// Folders: GET/PUT /api/folders/:uid, POST /api/folders.
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/api/folders/"):
		if fo, ok := f.folder[strings.TrimPrefix(p, "/api/folders/")]; ok {
			reply(w, 200, fo)
		} else {
			notFound("folder")
		}
	case r.Method == http.MethodPost && p == "/api/folders":
		if need("uid", "title") {
			body["id"], body["version"] = id, float64(1)
			f.folder[body["uid"].(string)] = body
			reply(w, 200, body)
		}
	case r.Method == http.MethodPut && strings.HasPrefix(p, "/api/folders/"):
		uid := strings.TrimPrefix(p, "/api/folders/")
		fo, ok := f.folder[uid]
		if !ok {
			notFound("folder")
			return
		}
		if need("title") {
			fo["title"], fo["version"] = body["title"], fo["version"].(float64)+1
			reply(w, 200, fo)
		}
	// Data sources: GET/PUT /api/datasources/uid/:uid, POST /api/datasources.
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/api/datasources/uid/"):
		if d, ok := f.ds[strings.TrimPrefix(p, "/api/datasources/uid/")]; ok {
			reply(w, 200, d)
		} else {
			notFound("data source")
		}
	case r.Method == http.MethodPost && p == "/api/datasources":
		if need("uid", "name", "type", "access") {
			f.secrets[body["uid"].(string)] = body["secureJsonData"]
			delete(body, "secureJsonData") // never returned
			body["id"], body["version"], body["orgId"], body["readOnly"] = id, float64(1), float64(1), false
			f.ds[body["uid"].(string)] = body
			reply(w, 200, map[string]any{"datasource": body, "id": id, "message": "Datasource added", "name": body["name"]})
		}
	case r.Method == http.MethodPut && strings.HasPrefix(p, "/api/datasources/uid/"):
		uid := strings.TrimPrefix(p, "/api/datasources/uid/")
		old, ok := f.ds[uid]
		if !ok {
			notFound("data source")
			return
		}
		if need("name", "type", "access") {
			if sec, ok := body["secureJsonData"]; ok {
				f.secrets[uid] = sec
			}
			delete(body, "secureJsonData")
			body["uid"], body["id"], body["version"], body["orgId"] = uid, old["id"], old["version"].(float64)+1, float64(1)
			f.ds[uid] = body
			reply(w, 200, map[string]any{"datasource": body, "id": old["id"], "message": "Datasource updated", "name": body["name"]})
		}
	// Dashboards: GET /api/dashboards/uid/:uid, POST /api/dashboards/db.
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/api/dashboards/uid/"):
		d, ok := f.dash[strings.TrimPrefix(p, "/api/dashboards/uid/")]
		if !ok {
			notFound("dashboard")
			return
		}
		reply(w, 200, map[string]any{"dashboard": d["dashboard"], "meta": map[string]any{"folderUid": d["folderUid"], "slug": "x", "version": d["dashboard"].(map[string]any)["version"]}})
	case r.Method == http.MethodPost && p == "/api/dashboards/db":
		if !need("dashboard", "folderUid", "overwrite") {
			return
		}
		d, ok := body["dashboard"].(map[string]any)
		if !ok || d["uid"] == nil || d["title"] == nil {
			bad("dashboard must be an object with uid and title")
			return
		}
		if d["id"] != nil {
			bad("dashboard id %v set: Grafana would look the dashboard up by id", d["id"])
			return
		}
		if _, ok := f.folder[body["folderUid"].(string)]; !ok {
			bad("folder %v does not exist", body["folderUid"])
			return
		}
		uid := d["uid"].(string)
		version := float64(1)
		if old, ok := f.dash[uid]; ok {
			version = old["dashboard"].(map[string]any)["version"].(float64) + 1
		}
		d["id"], d["version"] = id, version
		f.dash[uid] = map[string]any{"dashboard": d, "folderUid": body["folderUid"]}
		reply(w, 200, map[string]any{"id": id, "uid": uid, "url": "/d/" + uid, "status": "success", "version": version, "slug": "x"})
	// Alert rules: GET/PUT /api/v1/provisioning/alert-rules/:uid, POST /api/v1/provisioning/alert-rules.
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/api/v1/provisioning/alert-rules/"):
		if rule, ok := f.rules[strings.TrimPrefix(p, "/api/v1/provisioning/alert-rules/")]; ok {
			reply(w, 200, rule)
		} else {
			notFound("alert rule")
		}
	case (r.Method == http.MethodPost && p == "/api/v1/provisioning/alert-rules") ||
		(r.Method == http.MethodPut && strings.HasPrefix(p, "/api/v1/provisioning/alert-rules/")):
		if !need("uid", "title", "ruleGroup", "folderUID", "condition", "data", "noDataState", "execErrState", "for", "orgID") {
			return
		}
		uid := body["uid"].(string)
		if r.Method == http.MethodPut {
			if strings.TrimPrefix(p, "/api/v1/provisioning/alert-rules/") != uid {
				bad("uid in path and body differ")
				return
			}
			if _, ok := f.rules[uid]; !ok {
				notFound("alert rule")
				return
			}
		}
		if _, ok := f.folder[body["folderUID"].(string)]; !ok {
			bad("folder %v does not exist", body["folderUID"])
			return
		}
		for _, q := range body["data"].([]any) {
			qm := q.(map[string]any)
			dsUID, _ := qm["datasourceUid"].(string)
			if _, ok := f.ds[dsUID]; !ok && dsUID != "__expr__" {
				bad("query %v: data source %q does not exist", qm["refId"], dsUID)
				return
			}
			if m, ok := qm["model"].(map[string]any); ok {
				m["intervalMs"], m["maxDataPoints"] = float64(1000), float64(43200) // Grafana's defaults
			} else {
				bad("query %v has no model", qm["refId"])
				return
			}
		}
		body["id"], body["provenance"], body["updated"] = id, "api", "2026-01-01T00:00:00Z"
		f.rules[uid] = body
		if g := body["folderUID"].(string) + "/" + body["ruleGroup"].(string); f.groups[g] == 0 {
			f.groups[g] = 60
		}
		code := 200
		if r.Method == http.MethodPost {
			code = 201
		}
		reply(w, code, body)
	// Rule groups: GET/PUT /api/v1/provisioning/folder/:folderUid/rule-groups/:group.
	// A PUT replaces the group: its interval, and its rules by those listed.
	case strings.HasPrefix(p, "/api/v1/provisioning/folder/") && strings.Contains(p, "/rule-groups/"):
		folderUID, group, _ := strings.Cut(strings.TrimPrefix(p, "/api/v1/provisioning/folder/"), "/rule-groups/")
		key := folderUID + "/" + group
		interval, ok := f.groups[key]
		if !ok {
			notFound("alert rule group")
			return
		}
		if r.Method == http.MethodPut {
			if !need("title", "interval", "rules") {
				return
			}
			iv, _ := body["interval"].(float64)
			if iv <= 0 || int64(iv)%10 != 0 || body["title"] != group {
				bad("interval %v is not a positive multiple of 10 s, or title %v is not the group %s", body["interval"], body["title"], group)
				return
			}
			keep := map[string]bool{}
			for _, rr := range body["rules"].([]any) {
				rule := rr.(map[string]any)
				uid, _ := rule["uid"].(string)
				if _, known := f.rules[uid]; !known || rule["ruleGroup"] != group || rule["folderUID"] != folderUID {
					bad("rule %v is not a rule of group %s in folder %s", rule["uid"], group, folderUID)
					return
				}
				keep[uid] = true
			}
			for uid, rule := range f.rules {
				if rule["folderUID"] == folderUID && rule["ruleGroup"] == group && !keep[uid] {
					delete(f.rules, uid)
				}
			}
			f.groups[key] = int64(iv)
			interval = int64(iv)
		} else if r.Method != http.MethodGet {
			f.t.Errorf("unexpected request %s %s", r.Method, p)
			return
		}
		var rules []any
		for _, rule := range f.rules {
			if rule["folderUID"] == folderUID && rule["ruleGroup"] == group {
				rules = append(rules, rule)
			}
		}
		reply(w, 200, map[string]any{"title": group, "folderUid": folderUID, "interval": interval, "rules": rules})
	default:
		f.t.Errorf("unexpected request %s %s", r.Method, p)
		notFound("route")
	}
}
