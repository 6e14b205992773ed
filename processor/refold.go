package processor

import (
	"context"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/journeys/journeys/schemas"
	"github.com/journeys/journeys/store"
)

// A touchpoint older than its customer's latest, but within the lateness,
// counts as if it had come on time: the customer's journeys are folded
// again from ClickHouse with it in event-time order, and what the new fold
// says differs from the stored rows is rewritten. Rewritten rows take their
// version from the offset of the newest record that caused the refold, so
// they replace every row written before it (see journey's Version); a row
// the new fold no longer has (a journey whose touchpoints moved, a flag
// whose pattern no longer holds) is rewritten with retracted = 1.

// refoldPlan is what to read back to refold some customers.
type refoldPlan struct {
	// from is, per customer, the start of the first journey the new
	// touchpoints can change; rows from it on are compared.
	from map[string]time.Time
	// scope holds the stored journeys that start at or after from.
	scope map[string][]string
	// journeys to fold: those ending within the rules' horizon before
	// from, of customers.
	customers []string
	journeys  []string
}

// planRefold picks, per customer, what the touchpoints from tmin on can
// change: the journey that time falls into, or the one before it, which a
// touchpoint within the inactivity timeout of its end would have kept open.
func (p *Processor) planRefold(spans []store.JourneySpan, tmin map[string]time.Time) refoldPlan {
	plan := refoldPlan{from: map[string]time.Time{}, scope: map[string][]string{}}
	depth := max(p.engine.Horizon(), 24*time.Hour)
	timeout := p.engine.Config().InactivityTimeout
	for c, t := range tmin {
		plan.from[c] = t
	}
	for lo := 0; lo < len(spans); {
		hi := lo + 1
		for hi < len(spans) && spans[hi].CustomerID == spans[lo].CustomerID {
			hi++
		}
		customer := spans[lo:hi]
		lo = hi
		c := customer[0].CustomerID
		t, ok := tmin[c]
		if !ok {
			continue
		}
		from := t
		for _, sp := range customer {
			if !sp.End.Before(t.Add(-timeout)) {
				from = minTime(from, sp.Start)
				break
			}
		}
		plan.from[c] = from
		plan.customers = append(plan.customers, c)
		for _, sp := range customer {
			if !sp.End.Before(from.Add(-depth)) {
				plan.journeys = append(plan.journeys, sp.JourneyID)
			}
			if !sp.Start.Before(from) {
				plan.scope[c] = append(plan.scope[c], sp.JourneyID)
			}
		}
	}
	return plan
}

// refold folds again the customers whose touchpoints in news (per customer,
// in event-time order) are older than what their journeys hold, and adds to
// out the rows that changed. wm is the batch's watermark: absences and idle
// journeys are settled at it, as the batch's expire does for everyone else.
func (p *Processor) refold(ctx context.Context, news map[string][]schemas.Touchpoint, wm time.Time, out *output) error {
	if len(news) == 0 {
		return nil
	}
	customers := make([]string, 0, len(news))
	tmin := make(map[string]time.Time, len(news))
	for c, tps := range news {
		customers = append(customers, c)
		tmin[c] = tps[0].Timestamp
	}
	sort.Strings(customers)
	var (
		plan     refoldPlan
		history  map[string][]schemas.Touchpoint
		journeys map[string]schemas.Journey
		flags    map[string]schemas.FrictionFlag
		days     map[string][]schemas.Touchpoint
	)
	loc := p.sessionLocation()
	var cds []store.CustomerDay
	for c, tps := range news {
		for i := range tps {
			cds = append(cds, store.CustomerDay{CustomerID: c, Day: dayOf(tps[i].Timestamp, loc)})
		}
	}
	err := p.retry(ctx, "refold reordered touchpoints", func() error {
		spans, err := p.sink.JourneySpans(ctx, customers)
		if err != nil {
			return err
		}
		plan = p.planRefold(spans, tmin)
		if history, err = p.sink.JourneyTouchpoints(ctx, plan.customers, plan.journeys); err != nil {
			return err
		}
		if journeys, flags, err = p.storedRows(ctx, customers); err != nil {
			return err
		}
		days, err = p.sink.DayHistory(ctx, cds, loc.String())
		return err
	})
	if err != nil {
		return err
	}
	for _, c := range customers {
		var trigger int64
		for _, tp := range news[c] {
			trigger = max(trigger, tp.KafkaOffset)
		}
		p.refoldCustomer(c, plan.from[c], plan.scope[c], history[c], news[c], days[c], trigger, journeys, flags, wm, out)
		p.metrics.events.WithLabelValues("applied").Add(float64(len(news[c])))
	}
	return nil
}

// refoldCustomer folds history (stored, reaching the horizon before from)
// and news (not stored yet) of customer c, and adds to out what differs
// from the stored rows from from on; scope lists the stored journeys that
// start at or after from. days are c's stored touchpoints of the days of
// news and of c's latest day: the sessions of those days are rebuilt with
// news in event-time order. Rows written take their version from trigger,
// the offset of the newest record that caused the fold.
func (p *Processor) refoldCustomer(c string, from time.Time, scope []string, history, news, days []schemas.Touchpoint, trigger int64,
	storedJ map[string]schemas.Journey, storedF map[string]schemas.FrictionFlag, wm time.Time, out *output) {
	out.deriveProfile(c)
	merged := append(slices.Clone(history), news...)
	sort.SliceStable(merged, func(i, j int) bool {
		a, b := &merged[i], &merged[j]
		if !a.Timestamp.Equal(b.Timestamp) {
			return a.Timestamp.Before(b.Timestamp)
		}
		return a.MessageID < b.MessageID
	})
	res := p.engine.Restore(c, merged, from)
	tickFlags, closed := p.engine.Settle(c, wm)

	// Touchpoints: the new ones, and stored ones whose journey changed.
	stored := make(map[string]*schemas.Touchpoint, len(history))
	for i := range history {
		stored[history[i].MessageID] = &history[i]
	}
	fresh := map[string]int{} // new touchpoints' index in out.touchpoints
	for _, tp := range res.Touchpoints {
		old, ok := stored[tp.MessageID]
		if ok {
			if old.JourneyID == tp.JourneyID {
				continue
			}
			tp.SessionID = old.SessionID
			tp.Version = max(old.Version+1, uint64(trigger)+1)
			p.metrics.rewrites.WithLabelValues("touchpoints", "changed").Inc()
		} else {
			fresh[tp.MessageID] = len(out.touchpoints)
			if tp.Timestamp.After(p.maxEventTime) {
				p.maxEventTime = tp.Timestamp
			}
		}
		out.touchpoints = append(out.touchpoints, tp)
	}
	p.sessionizeInOrder(c, days, fresh, out)

	// Journeys: rows that differ from the stored ones, and retractions of
	// stored journeys from `from` on that the new fold does not have.
	base := uint64(trigger+1) * 4
	rows := map[string]schemas.Journey{}
	var order []string
	for _, j := range append(res.Journeys, closed...) {
		if _, ok := rows[j.JourneyID]; !ok {
			order = append(order, j.JourneyID)
		}
		rows[j.JourneyID] = j
	}
	for _, id := range order {
		j := rows[id]
		st, ok := storedJ[id]
		if ok && !st.Retracted && sameJourney(st, j) {
			continue
		}
		j.Version = base + statusBits(j.Status)
		if ok {
			p.metrics.rewrites.WithLabelValues("journeys", "changed").Inc()
		}
		out.addJourneys([]schemas.Journey{j})
	}
	for _, id := range scope {
		st, ok := storedJ[id]
		if _, kept := rows[id]; kept || !ok || st.Retracted {
			continue
		}
		st.Retracted, st.Version = true, base+3
		out.addJourneys([]schemas.Journey{st})
		p.metrics.rewrites.WithLabelValues("journeys", "retracted").Inc()
	}

	// Flags: likewise.
	found := map[string]schemas.FrictionFlag{}
	for _, f := range append(res.Flags, tickFlags...) {
		found[f.FlagID] = f
	}
	for _, f := range sortedFlags(found) {
		st, ok := storedF[f.FlagID]
		if ok && !st.Retracted && sameFlag(st, f) {
			continue
		}
		f.Version = uint64(trigger) + 1
		if ok {
			p.metrics.rewrites.WithLabelValues("friction_flags", "changed").Inc()
		}
		out.flags = append(out.flags, f)
	}
	inScope := map[string]bool{}
	for _, id := range scope {
		inScope[id] = true
	}
	// occurred_at is stored in whole seconds.
	after := from.Truncate(time.Second).Add(time.Second)
	for _, st := range sortedFlags(storedF) {
		if st.CustomerID != c || st.Retracted {
			continue
		}
		if _, ok := found[st.FlagID]; ok || !(inScope[st.JourneyID] || !st.OccurredAt.Before(after)) {
			continue
		}
		st.Retracted, st.Version = true, uint64(trigger)+1
		out.flags = append(out.flags, st)
		p.metrics.rewrites.WithLabelValues("friction_flags", "retracted").Inc()
	}
}

// storedRows loads the stored journeys and flags of the customers
// (retracted ones too), by id.
func (p *Processor) storedRows(ctx context.Context, customers []string) (map[string]schemas.Journey, map[string]schemas.FrictionFlag, error) {
	js, err := p.sink.CustomerJourneys(ctx, customers)
	if err != nil {
		return nil, nil, err
	}
	fs, err := p.sink.CustomerFlags(ctx, customers)
	if err != nil {
		return nil, nil, err
	}
	journeys := make(map[string]schemas.Journey, len(js))
	for _, j := range js {
		journeys[j.JourneyID] = j
	}
	flags := make(map[string]schemas.FrictionFlag, len(fs))
	for _, f := range fs {
		flags[f.FlagID] = f
	}
	return journeys, flags, nil
}

// statusBits are the low bits of a journey version: open, converted,
// abandoned, and 3 for a retraction.
func statusBits(status string) uint64 {
	switch status {
	case schemas.JourneyConverted:
		return 1
	case schemas.JourneyAbandoned:
		return 2
	}
	return 0
}

// sameJourney compares a stored row with a new one as ClickHouse keeps it:
// times in whole seconds, version aside.
func sameJourney(a, b schemas.Journey) bool {
	sec := func(t time.Time) int64 { return t.Unix() }
	return a.CustomerID == b.CustomerID && sec(a.StartedAt) == sec(b.StartedAt) && sec(a.EndedAt) == sec(b.EndedAt) &&
		a.Status == b.Status && a.Touchpoints == b.Touchpoints && slices.Equal(a.Channels, b.Channels) &&
		slices.Equal(a.Path, b.Path) && slices.Equal(a.ChannelSequence, b.ChannelSequence) && a.FrictionCount == b.FrictionCount && a.Revenue == b.Revenue
}

// sameFlag compares a stored flag with a new one, detection time and
// version aside.
func sameFlag(a, b schemas.FrictionFlag) bool {
	return a.Rule == b.Rule && a.CustomerID == b.CustomerID && a.JourneyID == b.JourneyID &&
		a.OccurredAt.Unix() == b.OccurredAt.Unix() && a.Severity == b.Severity &&
		slices.Equal(a.Evidence, b.Evidence) && a.Details == b.Details
}

func sortedFlags(m map[string]schemas.FrictionFlag) []schemas.FrictionFlag {
	out := make([]schemas.FrictionFlag, 0, len(m))
	for _, f := range m {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b schemas.FrictionFlag) int { return strings.Compare(a.FlagID, b.FlagID) })
	return out
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
