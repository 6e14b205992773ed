package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/journeys/journeys/report"
)

// charts is how many <svg> charts the HTML report draws.
const charts = 4

// The HTML report of a simulated month shows the simulator's ground truth,
// and opens in a headless Chromium with nothing fetched and every chart
// drawn. JOURNEYS_UPDATE_SCREENSHOT=1 saves the page as docs/report.png.
func TestHTMLReportOfASimulatedMonth(t *testing.T) {
	ds, s := simulated(t, 300)
	ctx := context.Background()
	r, err := report.ResolveRange(ctx, s.Conn(), "", "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !r.From.Equal(ds.Config.Start) {
		t.Errorf("default range starts %s, want the simulated month's first day %s", r.From, ds.Config.Start)
	}
	o, err := report.LoadOverview(ctx, s.Conn(), r)
	if err != nil {
		t.Fatal(err)
	}

	if o.Touchpoints != uint64(ds.TotalEvents) {
		t.Errorf("touchpoints = %d, want %d", o.Touchpoints, ds.TotalEvents)
	}
	if o.Customers != uint64(len(ds.PerCustomer)) {
		t.Errorf("customers = %d, want %d", o.Customers, len(ds.PerCustomer))
	}
	if o.Purchases != uint64(ds.Purchases) || o.Converted != uint64(ds.Purchases) {
		t.Errorf("purchases %d, converted journeys %d, want the %d purchases sent", o.Purchases, o.Converted, ds.Purchases)
	}
	for i, want := range ds.CallsBeforePurchase {
		if o.CallsBeforePurchase[i] != uint64(want) {
			t.Errorf("calls before purchase %v, the simulator generated %v (0..5+)", o.CallsBeforePurchase, ds.CallsBeforePurchase)
			break
		}
	}
	var repeated float64
	for _, b := range o.FlagsByRule {
		if b.Label == "repeated_calls_before_purchase" {
			repeated = b.Value
		}
	}
	if repeated != float64(ds.ExpectedFlags) {
		t.Errorf("repeated_calls_before_purchase flags = %v, want %d", repeated, ds.ExpectedFlags)
	}
	var converted uint64
	for _, k := range o.SmoothVsFriction {
		converted += k.Converted
	}
	if converted != uint64(ds.Purchases) {
		t.Errorf("smooth + friction converted = %d, want %d", converted, ds.Purchases)
	}
	var perDay float64
	for _, sr := range o.TouchpointsPerChannel {
		for _, v := range sr.Values {
			perDay += v
		}
	}
	if perDay != float64(ds.TotalEvents) {
		t.Errorf("touchpoints per channel per day sum to %v, want %d", perDay, ds.TotalEvents)
	}

	generated := r.To.Add(time.Hour).Truncate(time.Hour) // any fixed time: the page must not read the clock
	var page, again bytes.Buffer
	if err := o.WriteHTML(&page, generated); err != nil {
		t.Fatal(err)
	}
	if err := o.WriteHTML(&again, generated); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(page.Bytes(), again.Bytes()) {
		t.Error("two renderings of the same data differ")
	}
	text := html.UnescapeString(page.String())
	// The numbers are in the page: each histogram bar's tooltip.
	for i, label := range []string{"0", "1", "2", "3", "4", "5+"} {
		want := fmt.Sprintf("<title>%s: %s</title>", label, withCommas(ds.CallsBeforePurchase[i]))
		if !strings.Contains(text, want) {
			t.Errorf("the page has no calls-before-purchase bar %s", want)
		}
	}
	if want := "<dd>" + withCommas(ds.TotalEvents) + "</dd>"; !strings.Contains(text, want) {
		t.Errorf("the page does not show the %d touchpoints (%s)", ds.TotalEvents, want)
	}
	for _, banned := range []string{"<script", "<link", "@import", "url(", "src="} {
		if strings.Contains(page.String(), banned) {
			t.Errorf("the page holds %q: it must need nothing from outside", banned)
		}
	}

	file := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(file, page.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	checkInChromium(t, "file://"+file)
}

// checkInChromium opens the report in headless Chromium: the file must be
// the only request, and every chart must have a bar or line of non-zero
// size.
func checkInChromium(t *testing.T, url string) {
	path, err := exec.LookPath("chromium")
	if p := os.Getenv("JOURNEYS_CHROMIUM"); p != "" {
		path, err = p, nil
	}
	if err != nil {
		t.Fatalf("chromium not found: install Debian's chromium (scripts/deps.sh does) or set JOURNEYS_CHROMIUM: %v", err)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("hide-scrollbars", true),
	)
	defer cancelAlloc()
	var mu sync.Mutex
	var requests []string
	ctx, cancel := chromedp.NewContext(alloc, chromedp.WithListener(func(ev any) {
		if ev, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			requests = append(requests, ev.Request.URL)
			mu.Unlock()
		}
	}))
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	defer cancelTimeout()

	if err := chromedp.Do(ctx, chromedp.EmulateViewport(800, 900), chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s in %s: %v", url, path, err)
	}
	type chart struct {
		Label string `json:"label"`
		Marks int    `json:"marks"` // bars and lines of non-zero size
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]chart](`[...document.querySelectorAll('svg')].map(svg => ({
		label: svg.getAttribute('aria-label'),
		marks: [...svg.querySelectorAll('.bar, .line')].filter(e => {
			const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 }).length }))`))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != charts {
		t.Errorf("%d svg charts, want %d: %v", len(got), charts, got)
	}
	for _, c := range got {
		if c.Marks == 0 {
			t.Errorf("chart %q has no bar or line with a size", c.Label)
		}
	}
	resources, err := chromedp.Run(ctx, chromedp.Evaluate[int](`performance.getEntriesByType('resource').length`))
	if err != nil {
		t.Fatal(err)
	}
	if resources != 0 {
		t.Errorf("the page loaded %d resources, want none", resources)
	}
	mu.Lock()
	if len(requests) == 0 {
		t.Error("no request seen: the network listener is not listening")
	}
	for _, u := range requests {
		if u != url {
			t.Errorf("the page requested %s: it must load nothing but itself", u)
		}
	}
	mu.Unlock()

	if os.Getenv("JOURNEYS_UPDATE_SCREENSHOT") == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("../../docs/report.png", png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote docs/report.png (%d bytes)", len(png))
}

func withCommas(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
