package processor

import (
	"context"
	"sort"

	"github.com/journeys/journeys/processor/profile"
	"github.com/journeys/journeys/schemas"
	"github.com/journeys/journeys/store"
)

// writeProfiles derives the customers rows of the customers from their
// touchpoints as stored and writes them. Deriving from ClickHouse, rather
// than adding a batch's touchpoints to a row held in memory, keeps the row
// exact whatever happened before: a replay after a crash between inserts,
// a take-over, a refold that moved touchpoints, or touchpoints forwarded
// from a merged id; the same stored touchpoints always give the same row.
// It runs after the touchpoints insert, so the batch's own are read back.
func (p *Processor) writeProfiles(ctx context.Context, customers map[string]struct{}) error {
	ids := make([]string, 0, len(customers))
	for c := range customers {
		ids = append(ids, c)
	}
	sort.Strings(ids)
	sums, tps, err := p.sink.ProfileInputs(ctx, ids, profile.Events)
	if err != nil {
		return err
	}
	rows := make([]schemas.Customer, 0, len(ids))
	for _, c := range ids {
		// A customer none of whose touchpoints is stored under them
		// (all forwarded to a user) gets no row.
		if sum, ok := sums[c]; ok {
			rows = append(rows, profile.BuildFrom(c, summary(sum), tps[c]))
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
