package processor

import (
	"context"
	"fmt"

	"github.com/journeys/journeys/schemas"
)

// Forgotten customers (GDPR erasure; package forget). The processor follows
// the suppression list: a record of a forgotten id (as customer, user,
// anonymous id, or the id a forwarded record was merged from) is dropped
// before it is applied or replayed, and a merge record naming one is
// ignored, so a replay from offset 0 brings nothing back. When the list
// grows, before the next batch is applied, the processor discards what it
// holds of the newly forgotten customers and deletes their rows again:
// the batch it had in flight when they were forgotten may have written
// some after the forget request deleted theirs.

// ForgetList is the suppression list the processor follows.
// *forget.List implements it.
type ForgetList interface {
	// Forgotten reports whether any of the non-empty ids is forgotten.
	Forgotten(ids ...string) bool
	// Added returns the hashes of the ids forgotten since position from,
	// and the position to ask from next time.
	Added(from int) (hashes []string, next int)
	// WaitLoaded returns once the list holds what the topic held when it
	// started following it.
	WaitLoaded(ctx context.Context) error
}

// loadForgetList waits for the list and takes what it holds as known: the
// forget requests before this processor started deleted those rows, and it
// holds no state yet.
func (p *Processor) loadForgetList(ctx context.Context) error {
	if p.forgotten == nil {
		return nil
	}
	if err := p.forgotten.WaitLoaded(ctx); err != nil {
		return err
	}
	_, p.forgetPos = p.forgotten.Added(0)
	return nil
}

// CustomerDeleter deletes the rows of customers by the hashes of their
// ids. *store.Store implements it.
type CustomerDeleter interface {
	DeleteCustomers(ctx context.Context, hashes []string) error
}

// FollowForgetList makes the processor drop the records of forgotten
// customers and delete their rows through del when it learns of them. Call
// it before Run; Run waits for the list to be loaded before consuming.
func (p *Processor) FollowForgetList(list ForgetList, del CustomerDeleter) {
	p.forgotten, p.deleter = list, del
}

// forgottenRecord reports whether a decoded record concerns a forgotten
// customer, and counts it.
func (p *Processor) forgottenRecord(tp *schemas.Touchpoint, id recordIdentity) bool {
	if p.forgotten == nil {
		return false
	}
	ids := [4]string{tp.CustomerID, tp.UserID, tp.AnonymousID, id.mergedFrom}
	if !p.forgotten.Forgotten(ids[:]...) {
		return false
	}
	p.metrics.events.WithLabelValues("forgotten").Inc()
	return true
}

// forgottenLink reports whether a merge record links a forgotten id.
func (p *Processor) forgottenLink(l link) bool {
	if p.forgotten == nil || !p.forgotten.Forgotten(l.From, l.Into) {
		return false
	}
	p.metrics.events.WithLabelValues("forgotten").Inc()
	return true
}

// learnForgotten takes in the ids forgotten since the last batch: the
// state held for them goes, and their rows are deleted again. It first
// waits for the write in flight (pipeline.go), so every row this processor
// wrote for them before is in ClickHouse by then, and it writes none after.
func (p *Processor) learnForgotten(ctx context.Context, g *generation) error {
	if p.forgotten == nil {
		return nil
	}
	hashes, next := p.forgotten.Added(p.forgetPos)
	if len(hashes) == 0 {
		return nil
	}
	if err := p.settle(); err != nil {
		return err
	}
	gone := func(id string) bool { return p.forgotten.Forgotten(id) }
	n := p.engine.ForgetWhere(gone)
	p.session.ForgetWhere(gone)
	for c := range p.profiles {
		if gone(c) {
			delete(p.profiles, c)
		}
	}
	for from, into := range p.ids.redirects {
		if gone(from) || gone(into) {
			delete(p.ids.redirects, from)
		}
	}
	if g != nil {
		g.pending = dropForgotten(g.pending, func(j schemas.Journey) bool { return gone(j.CustomerID) })
		g.pendingSessions = dropForgotten(g.pendingSessions, func(s schemas.Session) bool { return gone(s.CustomerID) })
		for c := range g.dormant {
			if gone(c) {
				delete(g.dormant, c)
			}
		}
	}
	if p.deleter != nil {
		if err := p.retry(ctx, "delete forgotten customers", func() error {
			return p.deleter.DeleteCustomers(ctx, hashes)
		}); err != nil {
			return fmt.Errorf("delete %d forgotten ids: %w", len(hashes), err)
		}
	}
	p.forgetPos = next
	p.metrics.forgotten.Add(float64(n))
	p.log.Info("forgotten customers dropped", "ids", len(hashes), "customers_held", n)
	return nil
}

func dropForgotten[T any](rows []T, gone func(T) bool) []T {
	keep := rows[:0]
	for _, r := range rows {
		if !gone(r) {
			keep = append(keep, r)
		}
	}
	return keep
}
