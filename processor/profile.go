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

// writeProfiles writes the customers rows of the customers: from memory
// for those whose touchpoints came in order, derived from their stored
// touchpoints for the others (it runs after the touchpoints insert, so the
// batch's own are read back). The same stored touchpoints always give the
// same row, so a replay after a crash between inserts, a take-over, a
// refold or touchpoints forwarded from a merged id all end in the row an
// uninterrupted run writes.
func (p *Processor) writeProfiles(ctx context.Context, customers, derive map[string]struct{}) error {
	ids := make([]string, 0, len(customers))
	var fromStore []string
	for c := range customers {
		ids = append(ids, c)
		if _, ok := derive[c]; ok || p.profiles[c] == nil {
			fromStore = append(fromStore, c)
		}
	}
	sort.Strings(ids)
	sort.Strings(fromStore)
	if len(fromStore) > 0 {
		sums, tps, err := p.sink.ProfileInputs(ctx, fromStore, profile.Events)
		if err != nil {
			return err
		}
		for _, c := range fromStore {
			// A customer none of whose touchpoints is stored under them
			// (all forwarded to a user) gets no row.
			sum, ok := sums[c]
			if !ok {
				delete(p.profiles, c)
				continue
			}
			row := profile.BuildFrom(c, summary(sum), tps[c])
			p.profiles[c] = &row
		}
	}
	rows := make([]schemas.Customer, 0, len(ids))
	for _, c := range ids {
		if pr := p.profiles[c]; pr != nil {
			rows = append(rows, *pr)
		}
	}
	return p.sink.InsertCustomers(ctx, rows)
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
