package pipeline_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/journeys/journeys/store"
)

// The friction dashboard's base counts read help_page_views and
// inbound_contact_touchpoints (migration 0009), the engagement dashboard
// engagement_touchpoints (0010): copies of the touchpoint rows that
// qualify, made by materialized views on every write. They equal the
// filtered touchpoints FINAL only if a rewrite never changes what the views
// select on (channel, event, type, timestamp, the properties path and
// direction, and for engagement the properties as a whole). Here the
// processor rewrites touchpoints both ways it does: an identity merge
// re-stores an anonymous visitor's help page, chat and survey answer under
// the user, and a touchpoint arriving before an earlier one moves the
// customer's touchpoints (a review among them) to another journey; each
// rewritten copy is counted once.
func TestRewrittenTouchpointsKeepWhatTheSubsetsSelectOn(t *testing.T) {
	s, url := startPipeline(t)
	// Every touchpoint row written, kept: touchpoints itself may merge a
	// rewrite away before the test looks.
	for _, ddl := range []string{
		"CREATE TABLE touchpoint_writes ENGINE = MergeTree() ORDER BY message_id AS SELECT * FROM touchpoints WHERE 0",
		"CREATE MATERIALIZED VIEW touchpoint_writes_mv TO touchpoint_writes AS SELECT * FROM touchpoints",
	} {
		if err := s.Conn().Exec(t.Context(), ddl); err != nil {
			t.Fatalf("%s: %v", ddl, err)
		}
	}
	help := func(id, user string, at time.Time) map[string]any {
		return ev(id, user, "page", "", at, map[string]any{"path": "/help/returns"})
	}
	chat := func(id, user, direction string, at time.Time) map[string]any {
		return ev(id, user, "track", "chat", at, map[string]any{"topic": "returns", "direction": direction})
	}
	// zoe browses anonymously, then identifies; max's second touchpoint
	// arrives first.
	send(t, url,
		anonymous(help("zoe-help", "", day(0)), "anon-zoe"),
		anonymous(chat("zoe-chat", "", "inbound", day(0).Add(5*time.Minute)), "anon-zoe"),
		anonymous(page("zoe-pricing", "", day(0).Add(10*time.Minute)), "anon-zoe"),
		anonymous(ev("zoe-survey", "", "track", "survey_response", day(0).Add(15*time.Minute), map[string]any{"survey": "nps-q1", "kind": "nps", "score": 10, "scale_max": 10}), "anon-zoe"),
		help("max-help-2", "max", day(0).Add(2*time.Hour)),
		chat("max-chat-out", "max", "outbound", day(0).Add(2*time.Hour+time.Minute)),
		ev("max-review", "max", "track", "review", day(0).Add(2*time.Hour+2*time.Minute), map[string]any{"rating": 4, "platform": "trustpilot"}),
	)
	waitTouchpoints(t, s, 7)
	send(t, url, help("max-help-1", "max", day(0)), chat("max-chat-in", "max", "inbound", day(0).Add(time.Minute)))
	send(t, url, identify("zoe-identify", "anon-zoe", "zoe", day(0).Add(time.Hour)))
	// A materialized view gets an insert's rows just after the table does:
	// wait for the copies too.
	rewritten := []string{"zoe-help", "zoe-chat", "zoe-survey", "max-help-2", "max-chat-out", "max-review"}
	eventually(t, 60*time.Second, "zoe's visits under zoe, max's touchpoints in one journey, both rewritten", func() (bool, string) {
		zoe := finalCount(t, s, "touchpoints", "customer_id = 'zoe' AND message_id IN ('zoe-help', 'zoe-chat', 'zoe-pricing', 'zoe-survey')")
		maxTouchpoints := finalCount(t, s, "touchpoints", "customer_id = 'max'")
		maxJourneys := count(t, s, "SELECT uniqExact(journey_id) FROM (SELECT * FROM touchpoints FINAL) WHERE customer_id = 'max'")
		// Both kinds of rewrite happened: the checks below are about something.
		rows := count(t, s, "SELECT count() FROM (SELECT message_id FROM touchpoint_writes WHERE has(?, message_id) GROUP BY message_id HAVING uniqExact(customer_id, journey_id, version) >= 2)", rewritten)
		return zoe == 4 && maxTouchpoints == 5 && maxJourneys == 1 && rows == uint64(len(rewritten)),
			fmt.Sprintf("%d of zoe's visits under zoe, max's %d touchpoints in %d journeys, %d of %v written twice", zoe, maxTouchpoints, maxJourneys, rows, rewritten)
	})
	if n := count(t, s, `SELECT count() FROM (
    SELECT message_id
    FROM touchpoint_writes
    GROUP BY message_id
    HAVING uniqExact(channel, event, type, timestamp, timestamp_ms, properties) > 1)`); n != 0 {
		t.Errorf("%d touchpoints were rewritten with another channel, event, type, time or properties", n)
	}

	checkSubset(t, s, "help_page_views", "concat(message_id, ' ', customer_id, ' ', session_id, ' ', toString(timestamp), ' ', toString(late))",
		`channel = 'web' AND event = 'page' AND startsWith(visitParamExtractString(properties, 'path'), '/help')`,
		"max-help-1 max|max-help-2 max|zoe-help zoe")
	checkSubset(t, s, "inbound_contact_touchpoints", "concat(message_id, ' ', customer_id, ' ', toString(timestamp), ' ', toString(late))",
		`event IN ('call', 'chat', 'email', 'ticket') AND visitParamExtractString(properties, 'direction') != 'outbound'`,
		"max-chat-in max|zoe-chat zoe")
	// The engagement copies: each rewritten answer and review once, under
	// its latest customer, and the NPS panel's count of answers is one.
	checkSubset(t, s, "engagement_touchpoints", "concat(message_id, ' ', customer_id, ' ', event, ' ', toString(timestamp_ms), ' ', properties, ' ', toString(late))",
		`event IN ('survey_response', 'review', 'referral', 'idea_submitted', 'idea_status_changed', 'community_answer')`,
		"max-review max|zoe-survey zoe")
	if n := count(t, s, "SELECT count() FROM engagement_touchpoints FINAL WHERE event = 'survey_response' AND visitParamExtractString(properties, 'kind') = 'nps'"); n != 1 {
		t.Errorf("engagement_touchpoints FINAL counts zoe's NPS answer %d times, want once", n)
	}
}

// checkSubset compares a subset table under FINAL with touchpoints FINAL
// filtered by where, on the row expression row, and checks which messages
// and customers it holds (want: "message customer" joined by |). It waits a
// little: the views of one insert are fed one after the other.
func checkSubset(t *testing.T, s *store.Store, table, row, where, want string) {
	t.Helper()
	rowsOf := func(q string) string {
		var out string
		if err := s.Conn().QueryRow(t.Context(), "SELECT arrayStringConcat(arraySort(groupArray(r)), '|') FROM ("+q+")").Scan(&out); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return out
	}
	eventually(t, 10*time.Second, table+" equal to the filtered touchpoints FINAL", func() (bool, string) {
		got := rowsOf(fmt.Sprintf("SELECT %s AS r FROM (SELECT * FROM %s FINAL)", row, table))
		plain := rowsOf(fmt.Sprintf("SELECT %s AS r FROM (SELECT * FROM touchpoints FINAL) WHERE %s", row, where))
		ids := rowsOf(fmt.Sprintf("SELECT concat(message_id, ' ', customer_id) AS r FROM (SELECT * FROM %s FINAL)", table))
		return got == plain && ids == want, fmt.Sprintf("%s FINAL:\n%s\ntouchpoints FINAL where %s:\n%s\nmessages and customers %s, want %s", table, got, where, plain, ids, want)
	})
}
