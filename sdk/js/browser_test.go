package sdkjs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/journeys/journeys/schemas"
	"github.com/journeys/journeys/sdk/internal/sdktest"
	sdkjs "github.com/journeys/journeys/sdk/js"
)

// browser is the headless Chromium every browser test opens tabs in;
// browserErr says why there is none. A missing Chromium fails the tests:
// scripts/deps.sh installs it.
var (
	browser    context.Context
	browserErr error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "journeys-chromium-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cancel := startBrowser(dir)
	code := m.Run()
	cancel()
	os.RemoveAll(dir)
	os.Exit(code)
}

func chromiumPath() (string, error) {
	for _, name := range []string{os.Getenv("JOURNEYS_CHROMIUM"), "chromium", "/usr/bin/chromium", "chromium-browser"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("chromium not found: install Debian's chromium (scripts/deps.sh does) or set JOURNEYS_CHROMIUM")
}

func startBrowser(dir string) (cancel func()) {
	path, err := chromiumPath()
	if err != nil {
		browserErr = err
		return func() {}
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(dir),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		// Timers of a tab in the background must keep their pace: the
		// tests open several tabs at once.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	if err := chromedp.Do(ctx); err != nil {
		browserErr = fmt.Errorf("start %s: %w", path, err)
	}
	browser = ctx
	return func() { cancelCtx(); cancelAlloc() }
}

// snippet is the loader of sdk/README.md: it queues calls until /sdk.js
// has loaded, then the SDK replays them.
const snippet = `!function(w,d,s){var j=w.journeys=w.journeys||[];if(j.init)return;` +
	`["init","page","track","identify","alias","reset","consent","optOut","flush"].forEach(function(m){` +
	`j[m]=function(){j.push([m].concat([].slice.call(arguments)))}});` +
	`s=d.createElement("script");s.async=1;s.src="/sdk.js";d.head.appendChild(s)}(window,document);`

// shop serves a test site beside ingest: /app/* is a single-page app that
// loads the SDK with opts, /away a page without it.
func shop(t *testing.T, opts string, head string) *sdktest.Env {
	t.Helper()
	if browserErr != nil {
		t.Fatal(browserErr)
	}
	env := sdktest.Start(t)
	env.Mux.Handle("GET /sdk.js", sdkjs.Handler())
	env.Mux.HandleFunc("GET /app/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><head><title>Test shop</title>%s<script>%s
journeys.init(%q, %s); journeys.page();</script></head><body>shop</body></html>`, head, snippet, sdktest.WriteKey, opts)
	})
	env.Mux.HandleFunc("GET /away", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>elsewhere</title>elsewhere`)
	})
	return env
}

// profile is a fresh browser context (own cookies and storage) for one
// test: tests share one host, 127.0.0.1, and cookies ignore the port.
func profile(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	must(t, chromedp.Do(ctx))
	return ctx
}

// tab opens a new tab in the profile; closing it (the returned func) is
// closing a tab.
func tab(t *testing.T, profile context.Context) (context.Context, func()) {
	t.Helper()
	ctx, cancel := chromedp.NewContext(profile, chromedp.WithListener(func(ev any) {
		switch ev := ev.(type) {
		case *cdpruntime.EventExceptionThrown:
			if d := ev.ExceptionDetails; d.Exception != nil {
				t.Logf("page exception: %s %s", d.Text, d.Exception.Description)
			}
		case *cdpruntime.EventConsoleAPICalled:
			for _, a := range ev.Args {
				t.Logf("console.%s: %s", ev.Type, a.Value)
			}
		}
	}))
	ctx, cancelTimeout := context.WithTimeout(ctx, 45*time.Second)
	closed := false
	closeTab := func() {
		if !closed {
			closed = true
			cancel()
			cancelTimeout()
		}
	}
	t.Cleanup(closeTab)
	return ctx, closeTab
}

// open loads url in the tab and waits for the SDK to have loaded.
func open(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	must(t, chromedp.Do(ctx, chromedp.Navigate(url)))
	waitJS(t, ctx, "SDK loaded", `!!(window.journeys && window.journeys.VERSION)`)
}

// js evaluates expr in the page, awaiting a promise, into out (may be nil).
func js(t *testing.T, ctx context.Context, expr string, out any) {
	t.Helper()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	must(t, err)
	if out != nil && len(raw) > 0 {
		must(t, json.Unmarshal(raw, out))
	}
}

func waitJS(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var ok bool
		js(t, ctx, expr, &ok)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s stayed false", what, expr)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// queued is what the page's localStorage holds: events per queue key.
const queued = `Object.keys(localStorage).filter(k => k.startsWith('jny_q_')).map(k => JSON.parse(localStorage[k]).length)`

func named(evs []schemas.Event) []string {
	var out []string
	for _, ev := range evs {
		if ev.Type == "page" {
			var p struct{ Path string }
			json.Unmarshal(ev.Properties, &p)
			out = append(out, "page "+p.Path)
		} else {
			out = append(out, ev.Type+" "+ev.Event)
		}
	}
	return out
}

func count(evs []schemas.Event, name string) int {
	n := 0
	for _, s := range named(evs) {
		if s == name {
			n++
		}
	}
	return n
}

func TestBrowserPageViewsTrackAndIdentify(t *testing.T) {
	env := shop(t, `{flushInterval: 100}`, "")
	ctx, _ := tab(t, profile(t))
	open(t, ctx, env.URL+"/app/home?utm_source=news&utm_medium=email&utm_campaign=spring")
	// A router that rewrites the entry it starts on, navigates, rewrites the
	// new entry's query, calls page() itself, and goes back.
	js(t, ctx, `history.replaceState({}, '', location.href)`, nil)
	js(t, ctx, `history.pushState({}, '', '/app/pricing'); journeys.page()`, nil)
	waitJS(t, ctx, "pricing counted", `new Promise(r => setTimeout(() => r(true), 50))`)
	js(t, ctx, `history.replaceState({}, '', '/app/pricing?plan=yearly')`, nil)
	js(t, ctx, `new Promise(r => { addEventListener('popstate', () => setTimeout(() => r(true), 20), {once: true}); history.back() })`, nil)
	js(t, ctx, `journeys.track('checkout_started', {cart_id: 'cart-1', value: 49.5}); journeys.identify('u-42', {plan: 'pro'}); journeys.flush()`, nil)

	evs := env.WaitEvents(t, 10*time.Second, "3 page views, a track and an identify", func(evs []schemas.Event) bool {
		return count(evs, "identify ") == 1
	})
	time.Sleep(300 * time.Millisecond) // room for a page view that should not come
	evs = env.Events()
	want := map[string]int{"page /app/home": 2, "page /app/pricing": 1, "track checkout_started": 1, "identify ": 1}
	for name, n := range want {
		if got := count(evs, name); got != n {
			t.Errorf("%q arrived %d times, want %d; all:\n%s", name, got, n, sdktest.Describe(evs))
		}
	}
	if len(evs) != 5 {
		t.Errorf("%d events, want 5:\n%s", len(evs), sdktest.Describe(evs))
	}

	var cookie string
	js(t, ctx, `(document.cookie.match(/jny_aid=([^;]+)/) || [])[1] || ''`, &cookie)
	for _, ev := range evs {
		if ev.AnonymousID != cookie || cookie == "" {
			t.Errorf("%s anonymousId %q, cookie %q", ev.Type, ev.AnonymousID, cookie)
		}
		var c struct {
			Campaign map[string]string
			Library  struct{ Name string }
			Page     struct{ Path string }
		}
		json.Unmarshal(ev.Context, &c)
		if c.Campaign["source"] != "news" || c.Campaign["medium"] != "email" || c.Campaign["name"] != "spring" {
			t.Errorf("%s context.campaign = %v", ev.Type, c.Campaign)
		}
		if c.Library.Name != "journeys.js" || c.Page.Path == "" {
			t.Errorf("%s context = %s", ev.Type, ev.Context)
		}
		if ev.Source != "key-1" {
			t.Errorf("source %q", ev.Source)
		}
	}
	for _, ev := range evs {
		var p struct{ Path, Referrer string }
		json.Unmarshal(ev.Properties, &p)
		if ev.Type == "page" && p.Path == "/app/pricing" && !strings.HasSuffix(p.Referrer, "/app/home?utm_source=news&utm_medium=email&utm_campaign=spring") {
			t.Errorf("SPA page view referrer = %q, want the previous URL", p.Referrer)
		}
		if ev.Type == "identify" && ev.UserID != "u-42" {
			t.Errorf("identify userId = %q", ev.UserID)
		}
		if ev.Type == "track" && ev.Channel != "web" {
			t.Errorf("checkout_started channel = %q", ev.Channel)
		}
	}
	for _, r := range env.Gate.Requests() {
		if !strings.HasPrefix(r.ContentType, "text/plain") || r.Path != "/v1/batch" {
			t.Errorf("request %s with Content-Type %q", r.Path, r.ContentType)
		}
	}
}

func TestBrowserEventsQueuedAtExitArrive(t *testing.T) {
	// A flush interval of a minute: only the exit can send these events.
	env := shop(t, `{flushInterval: 60000}`, "")

	t.Run("navigating away", func(t *testing.T) {
		ctx, _ := tab(t, profile(t))
		open(t, ctx, env.URL+"/app/cart")
		js(t, ctx, `journeys.track('checkout_started', {cart_id: 'c-1'}); journeys.track('email', {action: 'clicked'})`, nil)
		waitJS(t, ctx, "events queued", queued+`.reduce((a, b) => a + b, 0) == 3`)
		must(t, chromedp.Do(ctx, chromedp.Navigate(env.URL+"/away")))
		env.WaitEvents(t, 10*time.Second, "events sent at exit", func(evs []schemas.Event) bool {
			return count(evs, "track email") == 1 && count(evs, "track checkout_started") == 1 && count(evs, "page /app/cart") == 1
		})
		reqs := env.Gate.Requests()
		if len(reqs) != 1 || reqs[0].Events != 3 || reqs[0].FetchMode != "no-cors" || !strings.HasPrefix(reqs[0].ContentType, "text/plain") {
			t.Errorf("requests %+v, want one beacon (no-cors, text/plain) of 3 events", reqs)
		}
	})

	t.Run("closing the tab", func(t *testing.T) {
		ctx, closeTab := tab(t, profile(t))
		open(t, ctx, env.URL+"/app/basket")
		js(t, ctx, `journeys.track('chat', {topic: 'delivery'})`, nil)
		waitJS(t, ctx, "events queued", queued+`.reduce((a, b) => a + b, 0) == 2`)
		closeTab()
		env.WaitEvents(t, 10*time.Second, "events sent as the tab closed", func(evs []schemas.Event) bool {
			return count(evs, "track chat") == 1 && count(evs, "page /app/basket") == 1
		})
	})
}

func TestBrowserQueueSurvivesReloadWhileDown(t *testing.T) {
	env := shop(t, `{flushInterval: 100}`, "")
	env.Gate.SetDown(true, "1")
	ctx, _ := tab(t, profile(t))
	open(t, ctx, env.URL+"/app/shop")
	js(t, ctx, `journeys.track('checkout_started', {cart_id: 'c-7'}); journeys.track('purchase', {order_id: 'o-7', revenue: 10, currency: 'EUR'})`, nil)
	if err := sdktest.Until(10*time.Second, func() bool { return env.Gate.Count(503) >= 2 }); err != nil {
		t.Fatalf("no retries while down: %v", env.Gate.Requests())
	}
	reqs := env.Gate.Requests()
	if gap := reqs[1].At.Sub(reqs[0].At); gap < 900*time.Millisecond {
		t.Errorf("retry %s after a 503 with Retry-After: 1", gap)
	}
	firstIDs := reqs[0].IDs

	must(t, chromedp.Do(ctx, chromedp.Reload()))
	waitJS(t, ctx, "SDK loaded", `!!(window.journeys && window.journeys.VERSION)`)
	// The new page adopts the old page's queue and adds its own page view.
	if err := sdktest.Until(10*time.Second, func() bool {
		var q []int
		js(t, ctx, queued, &q)
		return len(q) == 1 && q[0] == 4
	}); err != nil {
		var keys string
		js(t, ctx, `JSON.stringify(Object.entries(localStorage).map(([k, v]) => k + '=' + (k.includes('dbg') ? v : v.slice(0, 60))))`, &keys)
		var dbg string
		js(t, ctx, `(() => { try { const id = Object.keys(localStorage).filter(k => k.startsWith('jny_q_'))[0].slice(6); const v = JSON.parse(localStorage['jny_q_' + id]); return 'ok ' + v.length + ' ' + typeof v.filter } catch (e) { return 'err ' + e } })()`, &dbg)
		t.Fatalf("want one queue of 4 events; storage %s; %s", keys, dbg)
	}
	before := env.Gate.Count(503)
	if err := sdktest.Until(10*time.Second, func() bool { return env.Gate.Count(503) > before }); err != nil {
		t.Fatal("the reloaded page did not retry")
	}

	env.Gate.SetDown(false, "")
	evs := env.WaitEvents(t, 15*time.Second, "the queue drained", func(evs []schemas.Event) bool { return len(evs) >= 4 })
	time.Sleep(300 * time.Millisecond)
	evs = env.Events()
	if dup := sdktest.Duplicates(evs); len(dup) > 0 || len(evs) != 4 {
		t.Errorf("%d events (want 4), duplicate messageIds %v:\n%s", len(evs), dup, sdktest.Describe(evs))
	}
	if count(evs, "page /app/shop") != 2 || count(evs, "track purchase") != 1 {
		t.Errorf("want 2 page views (load, reload) and the purchase:\n%s", sdktest.Describe(evs))
	}
	arrived := map[string]bool{}
	for _, ev := range evs {
		arrived[ev.MessageID] = true
	}
	for _, id := range firstIDs {
		if !arrived[id] {
			t.Errorf("messageId %s of the first attempt never arrived: retries changed it", id)
		}
	}
	waitJS(t, ctx, "queue emptied", queued+`.length == 0`)
}

func TestBrowserTwoTabsNeverSendOneQueue(t *testing.T) {
	env := shop(t, `{flushInterval: 100, lease: 1500}`, "")
	env.Gate.SetDown(true, "")
	p := profile(t)
	a, closeA := tab(t, p)
	open(t, a, env.URL+"/app/a")
	js(t, a, `journeys.track('email', {action: 'opened'})`, nil)
	waitJS(t, a, "tab A queued", `JSON.stringify(`+queued+`) == '[2]'`)
	b, _ := tab(t, p)
	open(t, b, env.URL+"/app/b")
	js(t, b, `journeys.track('chat', {topic: 'returns'})`, nil)
	// B sees A's live lease and leaves A's queue alone.
	waitJS(t, b, "two queues", `JSON.stringify(`+queued+`.sort()) == '[2,2]'`)
	time.Sleep(1500 * time.Millisecond)
	var qs []int
	js(t, b, queued, &qs)
	if len(qs) != 2 {
		t.Fatalf("queues %v while both tabs live, want two of 2", qs)
	}
	// A closes while ingest is down: B adopts its queue.
	closeA()
	waitJS(t, b, "B adopted A's queue", `JSON.stringify(`+queued+`) == '[4]'`)
	env.Gate.SetDown(false, "")
	env.WaitEvents(t, 15*time.Second, "both tabs' events", func(evs []schemas.Event) bool { return len(evs) >= 4 })
	time.Sleep(500 * time.Millisecond)
	evs := env.Events()
	if dup := sdktest.Duplicates(evs); len(dup) > 0 || len(evs) != 4 {
		t.Errorf("%d events (want 4), duplicates %v:\n%s", len(evs), dup, sdktest.Describe(evs))
	}
}

func TestBrowserConsentOptOutAndDoNotTrack(t *testing.T) {
	t.Run("nothing is stored or sent before consent; opt-out stops and clears", func(t *testing.T) {
		env := shop(t, `{flushInterval: 100, requireConsent: true}`, "")
		ctx, _ := tab(t, profile(t))
		open(t, ctx, env.URL+"/app/news")
		js(t, ctx, `journeys.track('email', {action: 'clicked'})`, nil)
		time.Sleep(500 * time.Millisecond)
		var stored string
		js(t, ctx, `Object.keys(localStorage).join(',') + '|' + document.cookie`, &stored)
		if n := env.Gate.Count(0); n != 0 || stored != "|" {
			t.Fatalf("before consent: %d requests, storage and cookies %q", n, stored)
		}
		js(t, ctx, `journeys.consent(true)`, nil)
		env.WaitEvents(t, 10*time.Second, "events held until consent", func(evs []schemas.Event) bool {
			return count(evs, "page /app/news") == 1 && count(evs, "track email") == 1
		})

		js(t, ctx, `journeys.optOut(); journeys.track('email', {action: 'opened'}); journeys.page(); journeys.flush()`, nil)
		sent := env.Gate.Count(0)
		time.Sleep(500 * time.Millisecond)
		js(t, ctx, `Object.keys(localStorage).filter(k => k != 'jny_consent').join(',') + '|' + document.cookie`, &stored)
		if stored != "jny_out|" {
			t.Errorf("after opt-out storage and cookies %q, want only jny_out", stored)
		}
		open(t, ctx, env.URL+"/app/news?again=1")
		js(t, ctx, `journeys.track('email', {action: 'replied'})`, nil)
		time.Sleep(500 * time.Millisecond)
		if n := env.Gate.Count(0); n != sent {
			t.Errorf("%d requests after opt-out", n-sent)
		}
		if evs := env.Events(); len(evs) != 2 {
			t.Errorf("%d events, want the 2 sent before opt-out:\n%s", len(evs), sdktest.Describe(evs))
		}
	})

	t.Run("Do Not Track is honoured when configured", func(t *testing.T) {
		env := shop(t, `{flushInterval: 100, respectDNT: true}`,
			`<script>Object.defineProperty(navigator, 'doNotTrack', {get: () => '1'})</script>`)
		ctx, _ := tab(t, profile(t))
		open(t, ctx, env.URL+"/app/dnt")
		js(t, ctx, `journeys.track('email', {action: 'clicked'}); journeys.flush()`, nil)
		time.Sleep(500 * time.Millisecond)
		var stored string
		js(t, ctx, `Object.keys(localStorage).join(',') + '|' + document.cookie`, &stored)
		if n := env.Gate.Count(0); n != 0 || stored != "|" {
			t.Errorf("with Do Not Track: %d requests, storage and cookies %q", n, stored)
		}
	})
}
