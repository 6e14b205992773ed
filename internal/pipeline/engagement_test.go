package pipeline_test

import (
	"math"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/journeys/journeys/simulate"
)

// checkEngagement holds the engagement dashboard to the simulator's ground
// truth. The hand-built customers contribute nothing and answer no survey,
// so tiers above buyer, NPS, ideas and contributions are the simulator's.
func checkEngagement(t *testing.T, panel func(file, title string) table, ds *simulate.Dataset) {
	const f = "engagement.json"
	tiers := map[string]float64{}
	var reviews, referrals, ideas, answers float64
	for _, p := range ds.Profiles {
		tiers[p.Tier]++
		reviews += float64(p.Reviews)
		referrals += float64(p.Referrals)
		ideas += float64(p.Ideas)
		answers += float64(p.CommunityAnswers)
	}
	got := panel(f, "Customers by engagement tier").sumBy("tier", "customers")
	for _, tier := range []string{"engaged", "loyal", "satisfied"} {
		if got[tier] != tiers[tier] || got[tier] == 0 {
			t.Errorf("%s customers = %v, the simulator has %v", tier, got[tier], tiers[tier])
		}
	}
	since := panel(f, "Customers reaching their tier per week").sumBy("tier", "customers")
	for _, tier := range []string{"engaged", "loyal", "satisfied"} {
		if since[tier] != tiers[tier] {
			t.Errorf("customers reaching %s over the weeks = %v, want %v", tier, since[tier], tiers[tier])
		}
	}

	// NPS and answers per week (Monday, UTC).
	type week struct{ pro, pas, det float64 }
	weeks := map[time.Time]*week{}
	for _, a := range ds.NPSAnswers {
		d := a.At.UTC().Truncate(24 * time.Hour)
		d = d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
		w := weeks[d]
		if w == nil {
			w = &week{}
			weeks[d] = w
		}
		switch {
		case a.Score >= 9:
			w.pro++
		case a.Score >= 7:
			w.pas++
		default:
			w.det++
		}
	}
	nps := panel(f, "NPS per week")
	perWeek := panel(f, "Survey answers per week")
	if len(nps.Rows) != len(weeks) || len(perWeek.Rows) != len(weeks) {
		t.Errorf("NPS weeks %d, answer weeks %d, the simulator has %d", len(nps.Rows), len(perWeek.Rows), len(weeks))
	}
	for i := range nps.Rows {
		w := weeks[nps.time(i, "time").UTC()]
		if w == nil {
			t.Errorf("NPS for week %s without answers", nps.time(i, "time"))
			continue
		}
		want := math.Round(1000*(w.pro-w.det)/(w.pro+w.pas+w.det)) / 10
		if got := nps.float(i, "nps"); math.Abs(got-want) > 0.051 {
			t.Errorf("NPS of week %s = %v, want %v", nps.time(i, "time"), got, want)
		}
	}
	for i := range perWeek.Rows {
		w := weeks[perWeek.time(i, "time").UTC()]
		if w == nil || perWeek.float(i, "promoters") != w.pro || perWeek.float(i, "passives") != w.pas || perWeek.float(i, "detractors") != w.det {
			t.Errorf("answers of week %s = %v, want %+v", perWeek.time(i, "time"), perWeek.Rows[i], w)
		}
	}

	status := map[string]float64{}
	for _, s := range ds.IdeaStatus {
		status[s]++
	}
	if got := panel(f, "Community ideas by status").sumBy("status", "ideas"); !reflect.DeepEqual(got, status) {
		t.Errorf("ideas by status = %v, the simulator has %v", got, status)
	}

	c := panel(f, "Contributions per week")
	if c.sum("reviews") != reviews || c.sum("referrals") != referrals || c.sum("ideas") != ideas || c.sum("community_answers") != answers {
		t.Errorf("contributions %v %v %v %v, want %v %v %v %v", c.sum("reviews"), c.sum("referrals"), c.sum("ideas"), c.sum("community_answers"), reviews, referrals, ideas, answers)
	}

	type contributor struct {
		id string
		n  int
	}
	var top []contributor
	for id, p := range ds.Profiles {
		if n := p.Reviews + p.Referrals + p.Ideas + p.CommunityAnswers; n > 0 {
			top = append(top, contributor{id, n})
		}
	}
	sort.Slice(top, func(i, j int) bool {
		if top[i].n != top[j].n {
			return top[i].n > top[j].n
		}
		return top[i].id < top[j].id
	})
	tc := panel(f, "Top contributors")
	if want := min(20, len(top)); len(tc.Rows) != want {
		t.Fatalf("top contributors: %d rows, want %d", len(tc.Rows), want)
	}
	for i := range tc.Rows {
		if tc.str(i, "customer_id") != top[i].id || tc.float(i, "contributions") != float64(top[i].n) {
			t.Errorf("top contributor %d = %s (%v), want %s (%d)", i, tc.str(i, "customer_id"), tc.float(i, "contributions"), top[i].id, top[i].n)
		}
	}
}
