package processor

import (
	"context"
	"sort"

	"github.com/journeys/journeys/processor/profile"
	"github.com/journeys/journeys/schemas"
	"github.com/journeys/journeys/store"
)

// addToProfile folds a touchpoint applied in order into its customer's
// profile held in memory. A customer the engine did not hold before it has
// no history (the take-over and restoreUnknown rebuild everyone who has),
// so their profile starts empty. Anything else the memory cannot answer
// exactly (a profile not held, a touchpoint not after the latest) is
// derived from ClickHouse at write time.
func (p *Processor) addToProfile(tp *schemas.Touchpoint, held bool, out *output) {
	c := tp.CustomerID
	out.touchProfile(c)
	if _, ok := out.derive[c]; ok {
		return
	}
	pr, ok := p.profiles[c]
	switch {
	case ok && tp.Timestamp.After(pr.LastSeen):
	case !ok && !held:
		fresh := profile.New(c)
		pr = &fresh
		p.profiles[c] = pr
	default:
		out.deriveProfile(c)
		return
	}
	profile.Add(pr, tp)
}

// snapshotProfiles splits the customers rows a batch writes: copies of
// those held in memory for the customers whose touchpoints came in order,
// taken now because the next batch may fold more into them while this one
// is written; the others are derived from their stored touchpoints at
// write time.
func (p *Processor) snapshotProfiles(out *output) {
	out.memRows, out.fromStore = out.memRows[:0], out.fromStore[:0]
	for c := range out.profiles {
		_, derive := out.derive[c]
		if pr := p.profiles[c]; !derive && pr != nil {
			out.memRows = append(out.memRows, *pr)
		} else {
			out.fromStore = append(out.fromStore, c)
		}
	}
	sort.Strings(out.fromStore)
}

// writeProfiles writes a batch's customers rows: the in-memory copies, and
// rows derived from the stored touchpoints of out.fromStore (it runs after
// the touchpoints insert, so the batch's own are read back). The same
// stored touchpoints always give the same row, so a replay after a crash
// between inserts, a take-over, a refold or touchpoints forwarded from a
// merged id all end in the row an uninterrupted run writes. It reads and
// writes only out: it may run while the next batch is applied.
func (p *Processor) writeProfiles(ctx context.Context, out *output) error {
	rows := make([]schemas.Customer, 0, len(out.memRows)+len(out.fromStore))
	rows = append(rows, out.memRows...)
	if len(out.fromStore) > 0 {
		sums, tps, err := p.store.ProfileInputs(ctx, out.fromStore, profile.Events)
		if err != nil {
			return err
		}
		out.derived = make(map[string]*schemas.Customer, len(out.fromStore))
		for _, c := range out.fromStore {
			// A customer none of whose touchpoints is stored under them
			// (all forwarded to a user) gets no row.
			sum, ok := sums[c]
			if !ok {
				out.derived[c] = nil
				continue
			}
			row := profile.BuildFrom(c, summary(sum), tps[c])
			out.derived[c] = &row
			rows = append(rows, row)
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].CustomerID < rows[j].CustomerID })
	return p.store.InsertCustomers(ctx, rows)
}

// adoptProfiles holds the rows a finished write derived. A customer the
// batch being applied has already folded a touchpoint into (over the row
// from before) gets derived again after that batch's write.
func (p *Processor) adoptProfiles(written *output) {
	for c, row := range written.derived {
		if p.preparing != nil {
			if _, touched := p.preparing.profiles[c]; touched {
				p.preparing.deriveProfile(c)
			}
		}
		if row == nil {
			delete(p.profiles, c)
		} else {
			p.profiles[c] = row
		}
	}
}

// retractedProfiles are the rows that say the customer ids were merged
// into users: their touchpoints count in the users' rows from now on; bit
// 62 puts the row above any row derived before. An id with no touchpoint
// under it gets no row (most anonymous ids of identified customers). Known
// limit: a merge done again after a crash, once the user's processor has
// stored the forwarded touchpoints, finds none and leaves the id's old row
// unretracted.
func (p *Processor) retractedProfiles(ctx context.Context, ids []string) ([]schemas.Customer, error) {
	sums, tps, err := p.sink.ProfileInputs(ctx, ids, profile.Events)
	if err != nil {
		return nil, err
	}
	var rows []schemas.Customer
	for _, c := range ids {
		sum, ok := sums[c]
		if !ok {
			continue
		}
		row := profile.BuildFrom(c, summary(sum), tps[c])
		row.Retracted, row.Version = true, row.Version|retractedBit
		rows = append(rows, row)
	}
	return rows, nil
}

func summary(s store.ProfileSummary) profile.Summary {
	return profile.Summary{First: s.First, Last: s.Last, Touchpoints: s.Touchpoints, Version: s.Version}
}
