package pipeline_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/journeys/journeys/simulate"
	"github.com/journeys/journeys/store"
)

// The customers table after a simulated month equals the simulator's ground
// truth, customer by customer and field by field. (That a replay, a restart,
// a kill in a group, reordering and identity merges leave the same rows is
// checked by every test that compares snapshot or structure: both include
// the customers table.)
func TestCustomersMatchTheGroundTruth(t *testing.T) {
	ds, s := simulated(t, 300)
	eventually(t, 30*time.Second, "a customers row per customer", func() (bool, string) {
		n := count(t, s, "SELECT count() FROM customers FINAL WHERE retracted = 0")
		return n == uint64(len(ds.Profiles)), fmt.Sprintf("%d of %d", n, len(ds.Profiles))
	})
	checkCustomers(t, s, ds)
}

func checkCustomers(t *testing.T, s *store.Store, ds *simulate.Dataset) {
	t.Helper()
	rows, err := s.Conn().Query(context.Background(), `SELECT customer_id, touchpoints, purchases, revenue, surveys, positive_surveys,
       last_nps, reviews, referrals, ideas, community_answers, tier, first_seen, last_seen, tier_since
FROM customers FINAL WHERE retracted = 0`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := 0
	tiers := map[string]int{}
	for rows.Next() {
		var (
			id, tier                                     string
			tps, buys, surveys, pos, rev, ref, ideas, ca uint32
			revenue                                      float64
			nps                                          int16
			first, last, since                           time.Time
		)
		if err := rows.Scan(&id, &tps, &buys, &revenue, &surveys, &pos, &nps, &rev, &ref, &ideas, &ca, &tier, &first, &last, &since); err != nil {
			t.Fatal(err)
		}
		seen++
		tiers[tier]++
		want, ok := ds.Profiles[id]
		if !ok {
			t.Errorf("customer %s is not in the ground truth", id)
			continue
		}
		got := simulate.CustomerProfile{FirstSeen: first.UTC(), LastSeen: last.UTC(), Touchpoints: int(tps), Purchases: int(buys),
			Revenue: math.Round(revenue*100) / 100, Surveys: int(surveys), PositiveSurveys: int(pos), LastNPS: int(nps),
			Reviews: int(rev), Referrals: int(ref), Ideas: int(ideas), CommunityAnswers: int(ca), Tier: tier, TierSince: since.UTC()}
		// Ingest corrects each timestamp for the clock skew of the
		// request (a few ms), which can move it across a second.
		for _, p := range [][2]*time.Time{{&got.FirstSeen, &want.FirstSeen}, {&got.LastSeen, &want.LastSeen}, {&got.TierSince, &want.TierSince}} {
			if d := p[0].Sub(*p[1]); d > -2*time.Second && d < 2*time.Second {
				*p[0] = *p[1]
			}
		}
		if got != want {
			t.Errorf("customer %s:\n got  %+v\n want %+v", id, got, want)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if seen != len(ds.Profiles) {
		t.Errorf("%d customers rows, the ground truth has %d", seen, len(ds.Profiles))
	}
	for _, tier := range []string{"engaged", "loyal", "satisfied", "buyer", "prospect"} {
		if tiers[tier] == 0 {
			t.Errorf("no %s customer: %v", tier, tiers)
		}
	}
}
