package simulate

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/journeys/journeys/schemas"
)

// Dataset is a generated period of traffic and its ground truth. The truth
// fields are computed from Events alone (see the package doc for their exact
// definitions), never from the profiles the events were generated with.
type Dataset struct {
	// Config is the effective configuration (defaults applied).
	Config Config
	// Customers in id order; each holds its slice of Events.
	Customers []Customer
	// Events of all customers, customer by customer, each in time order.
	Events []Event

	TotalEvents int
	Calls       int
	Purchases   int
	// Revenue is the sum of all purchases' revenue, in EUR.
	Revenue float64
	// Orders has one entry per purchase, in Events order.
	Orders []Order
	// ExpectedFlags is the number of purchases with 3 or more calls in the
	// 14 days before them since the customer's previous purchase.
	ExpectedFlags int
	// CallsBeforePurchase[n] is the number of purchases whose journey holds
	// n calls; index 5 counts 5 or more.
	CallsBeforePurchase [6]int
	// PerCustomer maps Customer.Key() to what is expected of that customer.
	PerCustomer map[string]Expectation

	// Profiles maps Customer.Key() to the customer's expected customers
	// row (every customer, browsers included).
	Profiles map[string]CustomerProfile
	// IdeaStatus maps each idea id to its latest status: that of its
	// latest idea_status_changed, "under review" before the first.
	IdeaStatus map[string]string
	// NPSAnswers are all NPS survey answers in time order.
	NPSAnswers []NPSAnswer
}

// Order is the ground truth of one purchase.
type Order struct {
	CustomerID string // Customer.Key()
	MessageID  string
	OrderID    string
	At         time.Time
	Channel    string
	Revenue    float64
	// CallsInJourney counts the customer's calls after their previous
	// purchase (or from their first event) and before this one.
	CallsInJourney int
	// CallsIn14Days counts those of CallsInJourney at most 14 days before
	// the purchase.
	CallsIn14Days int
	// Flagged is CallsIn14Days >= FlagThreshold.
	Flagged bool
}

// Expectation is what the pipeline should report about one customer.
type Expectation struct {
	Events    int
	Calls     int
	Purchases int
	Flags     int
	// Journeys is Purchases, plus one if any event follows the last
	// purchase (or the customer never bought): journeys end at a purchase,
	// and no customer is idle 30 days inside the period.
	Journeys int
}

// Generate builds the traffic for cfg. It is deterministic: the same Config
// (Start included) gives the same Dataset, message ids included. Customer i's
// events depend only on Seed, i and their profile, so adding customers keeps
// the earlier ones' events. Generate panics if cfg.Validate() fails.
func Generate(cfg Config) *Dataset {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		panic("simulate.Generate: " + err.Error())
	}
	profiles := assignProfiles(cfg.Customers, rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6a6f75726e657973)))
	ds := &Dataset{Config: cfg, Customers: make([]Customer, cfg.Customers)}
	ordinal := map[Profile]int{}
	bounds := make([]int, 0, cfg.Customers+1)
	for i, p := range profiles {
		r := rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(i)+1))
		b := newBuilder(cfg, r, i+1, p)
		b.plan(ordinal[p])
		ordinal[p]++
		b.run()
		b.engage(cfg.Seed, i+1)
		ds.Customers[i] = b.c
		bounds = append(bounds, len(ds.Events))
		ds.Events = append(ds.Events, b.events...)
	}
	bounds = append(bounds, len(ds.Events))
	for i := range ds.Customers {
		ds.Customers[i].Events = ds.Events[bounds[i]:bounds[i+1]:bounds[i+1]]
	}
	ds.setTruth(computeTruth(ds.Events))
	et := computeEngagement(ds.Events)
	ds.Profiles, ds.IdeaStatus, ds.NPSAnswers = et.profiles, et.ideas, et.nps
	return ds
}

// mix is the share of each non-browser profile; browsers take the rest.
var mix = []struct {
	profile Profile
	share   float64
}{
	{ProfileRegistered, 0.10},
	{ProfileBuyer, 0.25},
	{ProfileFrustratedCaller, 0.06},
	{ProfileStaleCaller, 0.04},
	{ProfilePostPurchaseCaller, 0.05},
	{ProfileRepeatBuyer, 0.05},
}

// assignProfiles gives exact quotas (at least one of each profile from 20
// customers on) in shuffled order, so small datasets still hold every case.
func assignProfiles(n int, r *rand.Rand) []Profile {
	out := make([]Profile, 0, n)
	for _, m := range mix {
		k := int(math.Round(m.share * float64(n)))
		if k == 0 && n >= 20 {
			k = 1
		}
		k = min(k, n-len(out))
		for range k {
			out = append(out, m.profile)
		}
	}
	for len(out) < n {
		out = append(out, ProfileBrowser)
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// builder generates one customer's events: plan schedules activities (a web
// session, a call, a purchase…) at times, run plays them in time order.
type builder struct {
	r        *rand.Rand
	start    time.Time // first day of the period
	end      time.Time // end of the period (exclusive)
	w0, wEnd int       // the customer's active days, offsets from start
	c        Customer
	ua       string
	loggedIn bool
	orders   int
	acts     []activity
	events   []Event
	last     time.Time
}

type activity struct {
	at  time.Time
	run func(at time.Time) time.Time // emits events from at on; returns the end
}

// maxWindowDays keeps every customer's activity inside 28 days, so no
// customer has a 30-day gap even when the period is longer than a month.
const maxWindowDays = 28

func newBuilder(cfg Config, r *rand.Rand, n int, p Profile) *builder {
	wl := min(cfg.Days, maxWindowDays)
	w0 := r.IntN(cfg.Days - wl + 1)
	var anon [8]byte
	binary.BigEndian.PutUint64(anon[:], r.Uint64())
	return &builder{
		r:     r,
		start: cfg.Start,
		end:   cfg.Start.AddDate(0, 0, cfg.Days),
		w0:    w0,
		wEnd:  w0 + wl - 1,
		ua:    userAgents[r.IntN(len(userAgents))],
		c: Customer{
			ID:          fmt.Sprintf("c-%06d", n),
			AnonymousID: "anon-" + hex.EncodeToString(anon[:]),
			Identified:  p != ProfileBrowser,
			Profile:     p,
		},
	}
}

// plan schedules the activities of the customer's profile. ordinal is the
// customer's index among those of the same profile; variants cycle on it so
// that every variant appears once there are a few customers of a profile.
func (b *builder) plan(ordinal int) {
	switch b.c.Profile {
	case ProfileBrowser:
		for range 1 + b.r.IntN(4) {
			b.schedule(b.between(b.w0, b.wEnd), b.browseSession)
		}
	case ProfileRegistered:
		for range 2 + b.r.IntN(4) {
			b.schedule(b.between(b.w0, b.wEnd), b.browseSession)
		}
		if b.r.Float64() < 0.5 {
			b.schedule(b.between(b.w0, b.wEnd), b.email)
		}
		if b.r.Float64() < 0.3 {
			b.scheduleCall(b.between(b.w0, b.wEnd), false)
		}
		if b.r.Float64() < 0.2 {
			b.schedule(b.between(b.w0, b.wEnd), b.chat)
		}
	case ProfileBuyer:
		p := b.between(b.w0+2, b.wEnd)
		b.buy(b.w0, p, ordinal%3, 10, false)
	case ProfileFrustratedCaller:
		p := b.between(b.w0+5, b.wEnd)
		b.buy(b.w0, p, 3+ordinal%4, 12, true)
	case ProfileStaleCaller:
		p := b.between(b.w0+16, b.wEnd)
		// Day-based offsets of 15+ days keep the stale call over 14 days
		// before the purchase whatever the times of day.
		back := b.offset(15, min(20, p-b.w0))
		b.scheduleCall(max(p-back, b.w0), false)
		b.buy(b.w0, p, []int{2, 0, 1}[ordinal%3], 12, false)
	case ProfilePostPurchaseCaller:
		p := b.between(b.w0+2, b.wEnd-3)
		b.buy(b.w0, p, ordinal%2, 10, false)
		for range 1 + ordinal%3 {
			b.scheduleAfterPurchase(b.between(p+1, min(p+10, b.wEnd)))
		}
	case ProfileRepeatBuyer:
		p1 := b.between(b.w0+3, b.wEnd-4)
		p2 := min(p1+b.offset(3, min(12, b.wEnd-p1)), b.wEnd)
		b.buy(b.w0, p1, []int{3, 0, 1}[ordinal%3], 12, false)
		b.buy(p1+1, p2, []int{2, 1, 0}[ordinal%3], 12, false)
	}
	if b.c.Identified && b.r.Float64() < 0.3 {
		b.schedule(b.between(b.w0, b.wEnd), b.email)
	}
}

// buy schedules a purchase on day p with calls on the days before it (from
// day lo on, at most back days back) and a few web sessions in between.
func (b *builder) buy(lo, p, calls, back int, frustrated bool) {
	channel := schemas.ChannelWeb
	switch x := b.r.Float64(); {
	case calls > 0 && x < 0.3:
		channel = schemas.ChannelPhone
	case x >= 0.8:
		channel = schemas.ChannelStore
	}
	for range 1 + b.r.IntN(3) {
		b.schedule(b.between(lo, p-1), b.browseSession)
	}
	earlier := calls
	if channel == schemas.ChannelPhone {
		earlier-- // the last call is the one the customer buys in
	}
	for range earlier {
		b.scheduleCall(b.between(max(lo, p-back), p-1), frustrated)
	}
	at := b.dayTime(p)
	switch channel {
	case schemas.ChannelWeb:
		b.acts = append(b.acts, activity{at, b.checkoutSession})
	case schemas.ChannelStore:
		b.acts = append(b.acts, activity{at, func(t time.Time) time.Time {
			return b.purchase(t, schemas.ChannelStore)
		}})
	case schemas.ChannelPhone:
		b.acts = append(b.acts, activity{at, func(t time.Time) time.Time {
			t = b.call(t, "order", frustrated)
			return b.purchase(t.Add(-b.dur(30*time.Second, 3*time.Minute)), schemas.ChannelPhone)
		}})
	}
}

func (b *builder) schedule(day int, run func(time.Time) time.Time) {
	b.acts = append(b.acts, activity{b.dayTime(day), run})
}

// scheduleCall schedules a call, often right after the help pages.
func (b *builder) scheduleCall(day int, frustrated bool) {
	topic := callTopics[b.r.IntN(len(callTopics))]
	helpFirst := 0.4
	if frustrated {
		helpFirst = 0.75
	}
	withHelp := b.r.Float64() < helpFirst
	b.schedule(day, func(t time.Time) time.Time {
		if withHelp {
			t = b.helpSession(t, topic).Add(b.dur(2*time.Minute, 15*time.Minute))
		}
		return b.call(t, topic, frustrated)
	})
}

func (b *builder) scheduleAfterPurchase(day int) {
	topic := []string{"delivery", "returns", "order"}[b.r.IntN(3)]
	withOrders := b.r.Float64() < 0.6
	b.schedule(day, func(t time.Time) time.Time {
		if withOrders {
			t = b.session(t, []page{pgAccount, pgOrders, helpPage(topic), pgContact}).
				Add(b.dur(2*time.Minute, 20*time.Minute))
		}
		return b.call(t, topic, false)
	})
}

// run plays the activities in time order. An activity planned before the
// previous one ended starts a few minutes after it.
func (b *builder) run() {
	sort.SliceStable(b.acts, func(i, j int) bool { return b.acts[i].at.Before(b.acts[j].at) })
	var end time.Time
	for _, a := range b.acts {
		at := a.at
		if !end.IsZero() && at.Before(end) {
			at = end.Add(b.dur(5*time.Minute, 40*time.Minute))
		}
		end = a.run(at)
	}
}

// between is a uniform day in [lo, hi] within the customer's window; an
// empty range gives lo (clamped), for periods too short for a profile.
func (b *builder) between(lo, hi int) int {
	if hi > lo {
		lo += b.r.IntN(hi - lo + 1)
	}
	return min(max(lo, b.w0), b.wEnd)
}

// offset is a uniform number of days in [lo, hi], or lo if hi < lo.
func (b *builder) offset(lo, hi int) int {
	if hi > lo {
		return lo + b.r.IntN(hi-lo+1)
	}
	return lo
}

// dayTime is a random moment between 08:00 and 20:00 UTC on day d.
func (b *builder) dayTime(d int) time.Time {
	return b.start.AddDate(0, 0, d).Add(8*time.Hour + b.dur(0, 12*time.Hour))
}

// dur is a uniform duration in [lo, hi), at millisecond resolution.
func (b *builder) dur(lo, hi time.Duration) time.Duration {
	ms := int64((hi - lo) / time.Millisecond)
	if ms <= 0 {
		return lo
	}
	return lo + time.Duration(b.r.Int64N(ms))*time.Millisecond
}

// emit stamps e with ids and a time strictly after the customer's previous
// event, appends it, and returns the time used.
func (b *builder) emit(t time.Time, e Event) time.Time {
	if !t.After(b.last) {
		t = b.last.Add(b.dur(time.Millisecond, 500*time.Millisecond))
	}
	b.last = t
	e.Timestamp = t
	e.MessageID = b.uuid()
	if b.c.Identified {
		e.UserID = b.c.ID
	}
	if e.Channel == schemas.ChannelWeb {
		e.AnonymousID = b.c.AnonymousID
	}
	if e.Context == nil {
		e.Context = map[string]any{}
	}
	e.Context["library"] = map[string]any{"name": "journeys-simulate", "version": "1"}
	b.events = append(b.events, e)
	return t
}

func (b *builder) uuid() string {
	var u uuid.UUID
	binary.BigEndian.PutUint64(u[:8], b.r.Uint64())
	binary.BigEndian.PutUint64(u[8:], b.r.Uint64())
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return u.String()
}

// session emits page views a little apart, logging in first on the first
// web visit of an identified customer; it returns the last view's time.
func (b *builder) session(t time.Time, pages []page) time.Time {
	if b.c.Identified && !b.loggedIn {
		b.loggedIn = true
		pages = append([]page{pgHome, pgLogin, identifyPage, pgAccount}, pages...)
	}
	for i, p := range pages {
		if i > 0 {
			t = t.Add(b.dur(20*time.Second, 4*time.Minute))
		}
		if p == identifyPage {
			t = b.emit(t, Event{
				Type:    schemas.TypeIdentify,
				Channel: schemas.ChannelWeb,
				Traits:  map[string]any{"email": b.c.ID + "@example.com", "plan": "member"},
				Context: map[string]any{"userAgent": b.ua, "locale": "nl-NL"},
			})
			continue
		}
		t = b.page(t, p)
	}
	return t
}

func (b *builder) page(t time.Time, p page) time.Time {
	return b.emit(t, Event{
		Type:       schemas.TypePage,
		Name:       p.title,
		Channel:    schemas.ChannelWeb,
		Properties: map[string]any{"path": p.path, "title": p.title},
		Context: map[string]any{
			"page":      map[string]any{"path": p.path, "url": siteURL + p.path, "title": p.title},
			"userAgent": b.ua,
			"locale":    "nl-NL",
		},
	})
}

func (b *builder) browseSession(t time.Time) time.Time {
	var pages []page
	if b.r.Float64() < 0.6 {
		pages = append(pages, pgHome)
	}
	if b.r.Float64() < 0.5 {
		pages = append(pages, pgProducts)
	}
	for range 1 + b.r.IntN(4) {
		pages = append(pages, productPages[b.r.IntN(len(productPages))])
	}
	if b.r.Float64() < 0.15 {
		pages = append(pages, pgCart)
	}
	if b.r.Float64() < 0.1 {
		pages = append(pages, pgHelp, helpPage(callTopics[b.r.IntN(len(callTopics))]))
	}
	return b.session(t, pages)
}

// helpSession reads the help pages on topic and ends on the contact page.
func (b *builder) helpSession(t time.Time, topic string) time.Time {
	pages := []page{pgHelp, helpPage(topic)}
	if b.r.Float64() < 0.4 {
		pages = append(pages, pgFAQ)
	}
	return b.session(t, append(pages, pgContact))
}

func (b *builder) checkoutSession(t time.Time) time.Time {
	t = b.session(t, []page{productPages[b.r.IntN(len(productPages))], pgCart, pgCheckout})
	t = b.purchase(t.Add(b.dur(30*time.Second, 3*time.Minute)), schemas.ChannelWeb)
	return b.page(t.Add(b.dur(time.Second, 3*time.Second)), pgConfirmation)
}

// call emits an inbound call at t and returns when it ended.
func (b *builder) call(t time.Time, topic string, frustrated bool) time.Time {
	wait := 15 + b.r.IntN(240)
	transfers := b.r.IntN(2)
	if frustrated {
		wait = 60 + b.r.IntN(900)
		transfers = b.r.IntN(4)
	}
	duration := 60 + b.r.IntN(900)
	t = b.emit(t, Event{
		Type:    schemas.TypeTrack,
		Event:   schemas.EventCall,
		Channel: schemas.ChannelPhone,
		Properties: map[string]any{
			"wait_seconds":     wait,
			"duration_seconds": duration,
			"topic":            topic,
			"direction":        "inbound",
			"transfers":        transfers,
		},
	})
	return t.Add(time.Duration(wait+duration) * time.Second)
}

func (b *builder) purchase(t time.Time, channel string) time.Time {
	b.orders++
	cents := 1500 + b.r.IntN(48500)
	return b.emit(t, Event{
		Type:    schemas.TypeTrack,
		Event:   schemas.EventPurchase,
		Channel: channel,
		Properties: map[string]any{
			"order_id": fmt.Sprintf("o-%s-%d", b.c.ID[2:], b.orders),
			"revenue":  float64(cents) / 100,
			"currency": "EUR",
			"items":    1 + b.r.IntN(3),
		},
	})
}

func (b *builder) email(t time.Time) time.Time {
	return b.emit(t, Event{
		Type:    schemas.TypeTrack,
		Event:   EventEmail,
		Channel: schemas.ChannelEmail,
		Properties: map[string]any{
			"campaign":  []string{"newsletter", "spring_sale", "new_arrivals"}[b.r.IntN(3)],
			"action":    "opened",
			"direction": "outbound",
		},
	})
}

func (b *builder) chat(t time.Time) time.Time {
	return b.emit(t, Event{
		Type:    schemas.TypeTrack,
		Event:   EventChat,
		Channel: schemas.ChannelChat,
		Properties: map[string]any{
			"topic":            callTopics[b.r.IntN(len(callTopics))],
			"duration_seconds": 60 + b.r.IntN(600),
			"direction":        "inbound",
		},
	})
}

const siteURL = "https://shop.example.com"

type page struct{ path, title string }

var (
	pgHome         = page{"/", "Home"}
	pgProducts     = page{"/products", "All products"}
	pgCart         = page{"/cart", "Cart"}
	pgCheckout     = page{"/checkout", "Checkout"}
	pgConfirmation = page{"/checkout/confirmation", "Order confirmation"}
	pgLogin        = page{"/login", "Log in"}
	pgAccount      = page{"/account", "My account"}
	pgOrders       = page{"/account/orders", "My orders"}
	pgHelp         = page{"/help", "Help"}
	pgFAQ          = page{"/help/faq", "Frequently asked questions"}
	pgContact      = page{"/help/contact", "Contact us"}
	// identifyPage marks where session emits the identify call.
	identifyPage = page{"", "identify"}

	productPages = []page{
		{"/products/espresso-machine-pro", "Espresso machine Pro"},
		{"/products/milk-frother", "Milk frother"},
		{"/products/burr-grinder", "Burr grinder"},
		{"/products/descaler-3-pack", "Descaler, 3 pack"},
		{"/products/travel-mug", "Travel mug"},
		{"/products/coffee-beans-1kg", "Coffee beans, 1 kg"},
	}
	callTopics = []string{"delivery", "product_question", "payment", "returns", "account"}
	userAgents = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36",
		"Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
	}
)

func helpPage(topic string) page {
	switch topic {
	case "delivery":
		return page{"/help/delivery", "Delivery and shipping"}
	case "returns":
		return page{"/help/returns", "Returns"}
	case "payment":
		return page{"/help/payment", "Payment"}
	case "account":
		return page{"/help/account", "Your account"}
	}
	return pgFAQ
}
