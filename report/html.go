package report

import (
	"context"
	"embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/journeys/journeys/dashboards"
)

//go:embed report.html.tmpl
var templates embed.FS

var pageTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"half":   func(v any) float64 { return toFloat(v) / 2 },
	"bottom": func(r Rect) float64 { return r.Y + r.H },
	"right":  func(r Rect) float64 { return r.X + r.W },
}).ParseFS(templates, "report.html.tmpl"))

func toFloat(v any) float64 {
	switch v := v.(type) {
	case int:
		return float64(v)
	case float64:
		return v
	}
	return 0
}

// Range is the period an HTML report covers, both ends included (the
// dashboards' $__timeFilter).
type Range struct {
	From, To time.Time
}

// Day is 24 hours: the report buckets its charts by UTC day.
const Day = 24 * time.Hour

// Overview is what the HTML report shows: the CX overview and friction
// dashboards' panels over one range, read with the dashboards' own SQL.
type Overview struct {
	Range Range
	// Touchpoints and Customers count touchpoints in the range and the
	// customers they belong to.
	Touchpoints, Customers uint64
	// Journeys started in the range, by status now.
	Open, Converted, Abandoned uint64
	// ConversionRate is converted / closed (converted + abandoned) of the
	// journeys started in the range.
	ConversionRate float64
	// Purchases are converted journeys that ended in the range;
	// MedianTimeToPurchase is over them (zero when there are none).
	Purchases            uint64
	MedianTimeToPurchase time.Duration
	// WithFriction of JourneysStarted have a flag (not retracted).
	WithFriction, JourneysStarted uint64
	FrictionShare                 float64
	// Days are the UTC days of the range; the per-day series have one
	// value per day.
	Days                  []time.Time
	TouchpointsPerChannel []Series
	JourneysPerDay        []Series // started, converted, abandoned
	FlagsByRule           []Bar    // most flags first
	// CallsBeforePurchase[i] counts purchases (converted journeys ended in
	// the range) with i calls before them; the last bucket is 5 or more.
	CallsBeforePurchase [6]uint64
	SmoothVsFriction    []JourneyKind
	// OpenFriction is the customers with flags on an open journey, worst
	// first, whatever the range: it is about now.
	OpenFriction []CustomerFriction
}

// JourneyKind is a row of smooth journeys against journeys with friction.
type JourneyKind struct {
	Kind                 string // "smooth" or "with friction"
	Closed, Converted    uint64
	ConversionRate       float64
	MedianTimeToPurchase time.Duration
	Revenue              float64
}

// CustomerFriction is a customer with open friction.
type CustomerFriction struct {
	CustomerID      string
	Critical, Flags uint64
	Rules           string
	LastFlag        time.Time
}

// maxOpenFriction is how many customers with open friction the report
// lists; the rest are counted.
const maxOpenFriction = 15

// LoadOverview runs the dashboards' queries over r.
func LoadOverview(ctx context.Context, conn driver.Conn, r Range) (*Overview, error) {
	all, err := dashboards.Load()
	if err != nil {
		return nil, err
	}
	tr := dashboards.TimeRange{From: r.From, To: r.To, Interval: Day}
	o := &Overview{Range: r}
	for d := r.From.UTC().Truncate(Day); !d.After(r.To); d = d.Add(Day) {
		o.Days = append(o.Days, d)
	}
	panel := func(file, title string) (table, error) {
		sql, err := panelQuery(all, file, title, tr)
		if err != nil {
			return table{}, err
		}
		tb, err := fetch(ctx, conn, sql)
		if err != nil {
			return table{}, fmt.Errorf("%s panel %q: %w", file, title, err)
		}
		return tb, nil
	}
	const cx, friction = "cx-overview.json", "friction.json"

	// The dashboards have no panel for these two: the same filter, expanded
	// the same way.
	sql, err := dashboards.Expand(`SELECT count() AS touchpoints, uniqExact(customer_id) AS customers
FROM touchpoints FINAL WHERE $__timeFilter(timestamp)`, tr)
	if err != nil {
		return nil, err
	}
	tb, err := fetch(ctx, conn, sql)
	if err != nil {
		return nil, fmt.Errorf("count touchpoints: %w", err)
	}
	o.Touchpoints, o.Customers = uint64(tb.float(0, "touchpoints")), uint64(tb.float(0, "customers"))

	if tb, err = panel(cx, "Journeys by status"); err != nil {
		return nil, err
	}
	for i := range tb.Rows {
		n := uint64(tb.float(i, "journeys"))
		switch tb.str(i, "status") {
		case "open":
			o.Open = n
		case "converted":
			o.Converted = n
		case "abandoned":
			o.Abandoned = n
		}
	}
	if tb, err = panel(cx, "Conversion rate"); err != nil {
		return nil, err
	}
	o.ConversionRate = tb.float(0, "conversion_rate")
	if tb, err = panel(cx, "Median time to purchase"); err != nil {
		return nil, err
	}
	o.Purchases = uint64(tb.float(0, "purchases"))
	o.MedianTimeToPurchase = seconds(tb.float(0, "median_time_to_purchase"), o.Purchases)
	if tb, err = panel(cx, "Journeys with friction"); err != nil {
		return nil, err
	}
	o.WithFriction, o.JourneysStarted = uint64(tb.float(0, "with_friction")), uint64(tb.float(0, "journeys"))
	o.FrictionShare = tb.float(0, "friction_share")

	if tb, err = panel(cx, "Touchpoints per channel"); err != nil {
		return nil, err
	}
	o.TouchpointsPerChannel = o.perDay(tb, "channel", "touchpoints", nil)
	if tb, err = panel(cx, "Journeys started, converted and abandoned"); err != nil {
		return nil, err
	}
	o.JourneysPerDay = o.perDay(tb, "series", "journeys", []string{"started", "converted", "abandoned"})

	if tb, err = panel(cx, "Calls before purchase"); err != nil {
		return nil, err
	}
	for i := range tb.Rows {
		b := tb.str(i, "calls_before_purchase")
		for k, label := range callBuckets {
			if b == label {
				o.CallsBeforePurchase[k] = uint64(tb.float(i, "journeys"))
			}
		}
	}
	if tb, err = panel(cx, "Smooth journeys vs journeys with friction"); err != nil {
		return nil, err
	}
	for i := range tb.Rows {
		converted := uint64(tb.float(i, "converted"))
		o.SmoothVsFriction = append(o.SmoothVsFriction, JourneyKind{
			Kind: tb.str(i, "journeys_kind"), Closed: uint64(tb.float(i, "closed")), Converted: converted,
			ConversionRate:       tb.float(i, "conversion_rate"),
			MedianTimeToPurchase: seconds(tb.float(i, "median_time_to_purchase"), converted),
			Revenue:              tb.float(i, "purchase_revenue"),
		})
	}

	if tb, err = panel(friction, "Flags by rule and severity"); err != nil {
		return nil, err
	}
	byRule := map[string]float64{}
	for i := range tb.Rows {
		byRule[tb.str(i, "rule")] += tb.float(i, "flags")
	}
	for rule, n := range byRule {
		o.FlagsByRule = append(o.FlagsByRule, Bar{Label: rule, Value: n})
	}
	sort.Slice(o.FlagsByRule, func(i, j int) bool {
		a, b := o.FlagsByRule[i], o.FlagsByRule[j]
		return a.Value > b.Value || a.Value == b.Value && a.Label < b.Label
	})
	if tb, err = panel(friction, "Customers with open friction, worst first"); err != nil {
		return nil, err
	}
	for i := range tb.Rows {
		o.OpenFriction = append(o.OpenFriction, CustomerFriction{
			CustomerID: tb.str(i, "customer_id"), Critical: uint64(tb.float(i, "critical")), Flags: uint64(tb.float(i, "flags")),
			Rules: tb.str(i, "rules"), LastFlag: tb.time(i, "last_flag"),
		})
	}
	return o, nil
}

var callBuckets = [6]string{"0", "1", "2", "3", "4", "5+"}

// seconds is a duration of s seconds, zero when it is over no rows (the
// quantile of nothing is NaN).
func seconds(s float64, n uint64) time.Duration {
	if n == 0 || math.IsNaN(s) {
		return 0
	}
	return time.Duration(s * float64(time.Second))
}

// perDay turns a time series panel's rows (time, name, value) into one
// series per name with a value per day of the range; order names the
// series first, in that order, the others follow sorted.
func (o *Overview) perDay(tb table, nameCol, valueCol string, order []string) []Series {
	index := map[int64]int{}
	for i, d := range o.Days {
		index[d.Unix()] = i
	}
	values := map[string][]float64{}
	for _, name := range order {
		values[name] = make([]float64, len(o.Days))
	}
	var names []string
	for i := range tb.Rows {
		name := tb.str(i, nameCol)
		if values[name] == nil {
			values[name] = make([]float64, len(o.Days))
			names = append(names, name)
		}
		if d, ok := index[tb.time(i, "time").Truncate(Day).Unix()]; ok {
			values[name][d] += tb.float(i, valueCol)
		}
	}
	sort.Strings(names)
	var out []Series
	for _, name := range append(order, names...) {
		out = append(out, Series{Name: name, Values: values[name]})
	}
	return out
}

// Charts are the report's charts, in page order: the CX overview's, then
// the friction dashboard's.
func (o *Overview) Charts() (overview, friction []Chart) {
	days := make([]string, len(o.Days))
	for i, d := range o.Days {
		days[i] = d.Format("Jan 2")
	}
	calls := make([]Bar, len(callBuckets))
	for i, label := range callBuckets {
		calls[i] = Bar{Label: label, Value: float64(o.CallsBeforePurchase[i])}
	}
	overview = []Chart{
		LineChart("touchpoints-per-channel", "Touchpoints per channel per day",
			"Where do customers reach us, and is one channel growing or falling off?", days, o.TouchpointsPerChannel),
		LineChart("journeys-per-day", "Journeys started, converted and abandoned per day",
			"Are journeys turning into purchases, or stalling until they are abandoned?", days, o.JourneysPerDay),
		BarChart("calls-before-purchase", "Calls before purchase",
			"How many phone calls did each purchase take? Many calls mean the website did not answer the customer's question.", calls),
	}
	friction = []Chart{
		HBarChart("flags-by-rule", "Friction flags by rule",
			"Where do journeys hurt most? Each flag is a rule that fired on a customer's journey.", o.FlagsByRule),
	}
	return overview, friction
}

// WriteHTML renders the report as one self-contained HTML page: inline
// CSS and SVG, no script, nothing fetched. generatedAt, when not zero, is
// printed under the title; nothing else in the page depends on the clock.
func (o *Overview) WriteHTML(w io.Writer, generatedAt time.Time) error {
	ov, fr := o.Charts()
	render := func(cs []Chart) ([]template.HTML, error) {
		var out []template.HTML
		for _, c := range cs {
			svg, err := c.SVG()
			if err != nil {
				return nil, err
			}
			out = append(out, svg)
		}
		return out, nil
	}
	type kindRow struct {
		Kind, Closed, Converted, ConversionRate, MedianTimeToPurchase, Revenue, RevenuePerPurchase string
	}
	type customerRow struct {
		CustomerID, Critical, Flags, Rules, LastFlag string
	}
	type number struct{ Name, Value string }
	page := struct {
		From, To, GeneratedAt string
		Numbers               []number
		Overview, Friction    []template.HTML
		SmoothVsFriction      []kindRow
		OpenFriction          []customerRow
		MoreOpenFriction      int
	}{
		From: o.Range.From.UTC().Format("2006-01-02 15:04"),
		To:   o.Range.To.UTC().Format("2006-01-02 15:04"),
		Numbers: []number{
			{"Touchpoints", formatCount(float64(o.Touchpoints))},
			{"Customers", formatCount(float64(o.Customers))},
			{"Journeys converted", formatCount(float64(o.Converted))},
			{"Journeys open", formatCount(float64(o.Open))},
			{"Journeys abandoned", formatCount(float64(o.Abandoned))},
			{"Conversion rate", formatPercent(o.ConversionRate)},
			{"Median time to purchase", formatDuration(o.MedianTimeToPurchase, o.Purchases)},
			{"Journeys with friction", formatPercent(o.FrictionShare)},
		},
	}
	if !generatedAt.IsZero() {
		page.GeneratedAt = generatedAt.UTC().Format("2006-01-02 15:04 MST")
	}
	var err error
	if page.Overview, err = render(ov); err != nil {
		return err
	}
	if page.Friction, err = render(fr); err != nil {
		return err
	}
	for _, k := range o.SmoothVsFriction {
		perPurchase := 0.0
		if k.Converted > 0 {
			perPurchase = k.Revenue / float64(k.Converted)
		}
		page.SmoothVsFriction = append(page.SmoothVsFriction, kindRow{
			Kind: k.Kind, Closed: formatCount(float64(k.Closed)), Converted: formatCount(float64(k.Converted)),
			ConversionRate: formatPercent(k.ConversionRate), MedianTimeToPurchase: formatDuration(k.MedianTimeToPurchase, k.Converted),
			Revenue: formatMoney(k.Revenue), RevenuePerPurchase: formatMoney(perPurchase),
		})
	}
	for i, c := range o.OpenFriction {
		if i == maxOpenFriction {
			page.MoreOpenFriction = len(o.OpenFriction) - i
			break
		}
		page.OpenFriction = append(page.OpenFriction, customerRow{
			CustomerID: c.CustomerID, Critical: formatCount(float64(c.Critical)), Flags: formatCount(float64(c.Flags)),
			Rules: c.Rules, LastFlag: c.LastFlag.Format("2006-01-02 15:04"),
		})
	}
	return pageTemplate.ExecuteTemplate(w, "page", page)
}

func formatPercent(f float64) string { return fmt.Sprintf("%.1f %%", 100*f) }

// formatDuration writes a time to purchase the way people say it: days,
// else hours, else minutes; "–" over no purchases.
func formatDuration(d time.Duration, n uint64) string {
	switch {
	case n == 0:
		return "–"
	case d >= 2*Day:
		return fmt.Sprintf("%.1f days", d.Hours()/24)
	case d >= time.Hour:
		return fmt.Sprintf("%.1f h", d.Hours())
	default:
		return fmt.Sprintf("%.0f min", d.Minutes())
	}
}

// formatMoney writes an amount with thousands separators and cents; the
// report sums revenue across currencies as the dashboards do.
func formatMoney(v float64) string {
	cents := int64(math.Round(v * 100))
	s := formatCount(float64(cents / 100))
	return fmt.Sprintf("%s.%02d", s, abs(cents%100))
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
