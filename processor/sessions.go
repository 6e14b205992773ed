package processor

import "github.com/journeys/journeys/schemas"

// The sessionizer takes a customer's touchpoints in event-time order. A
// touchpoint that comes after later ones (reordered, or forwarded from an
// id merged into the customer) would join whatever session is open, on
// whatever day, so the days it falls on are sessionized again from
// ClickHouse with it in place: the rows come out as a replay, which
// rebuilds whole days, writes them.

// resessionize drops what the sessionizer holds of customer c and runs h,
// c's touchpoints of whole days in event-time order ending with their
// latest day, through it again; every session row goes to out.
func (p *Processor) resessionize(c string, h []schemas.Touchpoint, out *output) {
	p.session.Forget(c)
	for i := range h {
		if row, ok := p.session.Apply(&h[i]); ok {
			out.addSession(row)
		}
	}
}

// sessionizeInOrder places the new touchpoints of customer c, at their
// index in out.touchpoints by message id, among days (c's stored
// touchpoints of their days and of c's latest day), sessionizes those days
// again, and gives each new touchpoint its session.
func (p *Processor) sessionizeInOrder(c string, days []schemas.Touchpoint, fresh map[string]int, out *output) {
	if len(fresh) == 0 {
		return
	}
	h := make([]schemas.Touchpoint, 0, len(days)+len(fresh))
	for _, tp := range days {
		if _, ok := fresh[tp.MessageID]; !ok {
			h = append(h, tp)
		}
	}
	for _, i := range fresh {
		h = append(h, out.touchpoints[i])
	}
	h = inEventOrder(h)
	p.resessionize(c, h, out)
	for _, tp := range h {
		if i, ok := fresh[tp.MessageID]; ok {
			out.touchpoints[i].SessionID = tp.SessionID
		}
	}
}
