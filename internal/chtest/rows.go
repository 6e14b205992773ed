package chtest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/journeys/journeys/store"
)

// Snapshot is what FINAL queries show of the result tables, rendered as
// sorted lines so that two runs can be compared as text. detected_at is left
// out: it is wall-clock time.
func Snapshot(t testing.TB, s *store.Store) string {
	t.Helper()
	return Render(t, s,
		`SELECT concat('tp ', message_id, ' ', customer_id, ' ', event, ' ', channel, ' ', toString(timestamp_ms), ' ', journey_id, ' ', session_id) FROM touchpoints FINAL`,
		`SELECT concat('s ', session_id, ' ', customer_id, ' ', channel, ' ', toString(touchpoints), ' ', toString(page_views), ' ', entry_page, ' ', exit_page, ' ', toString(started_at), ' ', toString(ended_at)) FROM sessions FINAL`,
		`SELECT concat('j ', journey_id, ' ', customer_id, ' ', status, ' ', toString(touchpoints), ' ', arrayStringConcat(path, '>'), ' ', arrayStringConcat(channels, ','), ' ', toString(friction_count), ' ', toString(revenue), ' ', toString(started_at), ' ', toString(ended_at)) FROM journeys FINAL`,
		`SELECT concat('f ', flag_id, ' ', rule, ' ', customer_id, ' ', journey_id, ' ', severity, ' ', arrayStringConcat(evidence, ','), ' ', toString(occurred_at)) FROM friction_flags FINAL`,
		CustomerRows(true))
}

// CustomerRows renders the customers table (FINAL); a retracted row (a
// merged id) only as retracted, since what it counted moved to the user.
func CustomerRows(times bool) string {
	t := ""
	if times {
		t = `, ' ', toString(first_seen), ' ', toString(last_seen), ' ', toString(tier_since)`
	}
	return `SELECT if(retracted = 1, concat('c ', customer_id, ' retracted'), concat('c ', customer_id, ' ', toString(touchpoints), ' ', toString(purchases), ' ', toString(revenue), ' ', toString(surveys), ' ', toString(positive_surveys), ' ', toString(last_nps), ' ', toString(last_survey_positive), ' ', toString(reviews), ' ', toString(referrals), ' ', toString(ideas), ' ', toString(community_answers), ' ', tier` + t + `)) FROM customers FINAL`
}

// Structure is Snapshot without event times: for runs whose senders set
// sentAt, where ingest's clock-skew correction moves each timestamp by the
// few milliseconds the request took. Journey and flag ids derive from
// message ids, so equal structures mean equal journeys and flags.
func Structure(t testing.TB, s *store.Store) string {
	t.Helper()
	return Render(t, s,
		`SELECT concat('tp ', message_id, ' ', customer_id, ' ', event, ' ', channel, ' ', journey_id, ' ', session_id) FROM touchpoints FINAL`,
		`SELECT concat('s ', session_id, ' ', customer_id, ' ', channel, ' ', toString(touchpoints), ' ', toString(page_views), ' ', entry_page, ' ', exit_page) FROM sessions FINAL`,
		`SELECT concat('j ', journey_id, ' ', customer_id, ' ', status, ' ', toString(touchpoints), ' ', arrayStringConcat(path, '>'), ' ', arrayStringConcat(channels, ','), ' ', toString(friction_count), ' ', toString(revenue), ' retracted=', toString(retracted)) FROM journeys FINAL`,
		`SELECT concat('f ', flag_id, ' ', rule, ' ', customer_id, ' ', journey_id, ' ', severity, ' ', arrayStringConcat(evidence, ','), ' retracted=', toString(retracted)) FROM friction_flags FINAL`,
		CustomerRows(false))
}

// Render runs queries that each return one string column and gives their
// rows as sorted lines.
func Render(t testing.TB, s *store.Store, queries ...string) string {
	t.Helper()
	var lines []string
	for _, q := range queries {
		rows, err := s.Conn().Query(context.Background(), q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		for rows.Next() {
			var l string
			if err := rows.Scan(&l); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, l)
		}
		rows.Close()
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// LineDiff lists the lines only one of two renderings has, "+ " for got's
// and "- " for want's, at most 30 of them.
func LineDiff(got, want string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	g, w := in(got), in(want)
	var out []string
	for l := range g {
		if !w[l] {
			out = append(out, "+ "+l)
		}
	}
	for l := range w {
		if !g[l] {
			out = append(out, "- "+l)
		}
	}
	sort.Strings(out)
	if len(out) > 30 {
		out = append(out[:30], fmt.Sprintf("… %d more", len(out)-30))
	}
	return strings.Join(out, "\n")
}
