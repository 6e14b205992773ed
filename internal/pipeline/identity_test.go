package pipeline_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/journeys/journeys/internal/chtest"
	"github.com/journeys/journeys/schemas"
	"github.com/journeys/journeys/store"
)

// partitionOf is the partition of the touchpoints topic (three partitions in
// the embedded broker) that ingest's hash balancer gives a key.
func partitionOf(key string) int {
	return (&kafka.Hash{}).Balance(kafka.Message{Key: []byte(key)}, 0, 1, 2)
}

// anonymous turns an event of the wire format into one sent before the
// customer identified: anonymousId only.
func anonymous(e map[string]any, anonID string) map[string]any {
	delete(e, "userId")
	e["anonymousId"] = anonID
	return e
}

func identify(id, anonID, user string, at time.Time) map[string]any {
	e := ev(id, user, "identify", "", at, nil)
	e["anonymousId"] = anonID
	e["traits"] = map[string]any{"email": user + "@example.com"}
	return e
}

func alias(id, previousID, user string, at time.Time) map[string]any {
	e := ev(id, user, "alias", "", at, nil)
	e["previousId"] = previousID
	return e
}

// stitchCase is a customer who browses anonymously on one or more devices,
// identifies, then calls and buys with their user id only.
type stitchCase struct {
	name    string
	user    string
	devices []string // anonymous ids, or the previous id of an alias
	link    func(id, from, user string, at time.Time) map[string]any
}

var stitchCases = []stitchCase{
	{"identify links an anonymous visitor", "ida", []string{"anon-ida-web"}, identify},
	{"two devices of one user", "teo", []string{"anon-teo-laptop", "anon-teo-tablet"}, identify},
	{"alias links a previous id", "ali", []string{"anon-ali-web"}, func(id, from, user string, at time.Time) map[string]any {
		return alias(id, from, user, at)
	}},
}

// before is what each case sends before the customer is known: two page
// views per device, then the identify or alias of each device.
func (c stitchCase) before() (anon, links []map[string]any) {
	for i, d := range c.devices {
		at := day(0).Add(time.Duration(i) * time.Hour)
		anon = append(anon,
			anonymous(page(fmt.Sprintf("%s-p1", d), "", at), d),
			anonymous(page(fmt.Sprintf("%s-p2", d), "", at.Add(10*time.Minute)), d))
		links = append(links, c.link(fmt.Sprintf("%s-link", d), d, c.user, day(1).Add(time.Duration(i)*time.Hour)))
	}
	return anon, links
}

// after is what the customer sends once known: a call and a purchase.
func (c stitchCase) after() []map[string]any {
	return []map[string]any{call(c.user+"-call", c.user, day(2)), purchase(c.user+"-buy", c.user, day(3))}
}

// touchpoints is how many touchpoints the case makes.
func (c stitchCase) touchpoints() int { return 3*len(c.devices) + 2 }

// finalCount counts rows of a table's FINAL view that match cond. The
// condition is applied outside the FINAL subquery: beside FINAL it may be
// evaluated before the collapse and see a replaced row.
func finalCount(t *testing.T, s *store.Store, table, cond string, args ...any) uint64 {
	t.Helper()
	return count(t, s, "SELECT count() FROM (SELECT * FROM "+table+" FINAL) WHERE "+cond, args...)
}

// sendStitchTraffic sends every case's traffic in three phases: anonymous
// visits, the links, and (once the anonymous touchpoints were re-stored
// under their user) the calls and purchases. The wait keeps the test
// independent of how the engine places a touchpoint older than the
// journey's latest: the forwarded visits join the user's open journey
// whatever the engine does with their order.
func sendStitchTraffic(t *testing.T, s *store.Store, url string, cases []stitchCase) {
	t.Helper()
	var anon, links, after []map[string]any
	total := 0
	for _, c := range cases {
		a, l := c.before()
		anon, links, after = append(anon, a...), append(links, l...), append(after, c.after()...)
		total += c.touchpoints()
	}
	send(t, url, anon...)
	waitTouchpoints(t, s, uint64(len(anon)))
	send(t, url, links...)
	for _, c := range cases {
		eventually(t, 60*time.Second, c.user+"'s anonymous touchpoints under the user", func() (bool, string) {
			n := finalCount(t, s, "touchpoints", "customer_id = ?", c.user)
			return n == uint64(3*len(c.devices)), fmt.Sprintf("%d touchpoints under %s\n%s", n, c.user, identitySnapshot(t, s))
		})
	}
	send(t, url, after...)
	waitTouchpoints(t, s, uint64(total))
	for _, c := range cases {
		eventually(t, 60*time.Second, c.user+"'s journey converted and profile written", func() (bool, string) {
			n := finalCount(t, s, "journeys", "customer_id = ? AND status = 'converted' AND retracted = 0", c.user)
			p := finalCount(t, s, "customers", "customer_id = ? AND purchases = 1 AND retracted = 0", c.user)
			return n == 1 && p == 1, identitySnapshot(t, s)
		})
	}
}

func TestIdentityStitchingMakesOneJourneyAcrossDevicesAndChannels(t *testing.T) {
	s, url := startPipeline(t)
	for _, c := range stitchCases {
		for _, d := range c.devices {
			if partitionOf(d) == partitionOf(c.user) {
				t.Fatalf("%s and %s hash to partition %d; the test needs them apart", d, c.user, partitionOf(d))
			}
		}
	}
	sendStitchTraffic(t, s, url, stitchCases)
	checkStitched(t, s, stitchCases)
	total := 0
	for _, c := range stitchCases {
		total += c.touchpoints()
	}

	// The sender retries everything: FINAL shows the same rows.
	before := identitySnapshot(t, s)
	var all []map[string]any
	for _, c := range stitchCases {
		a, l := c.before()
		all = append(append(append(all, a...), l...), c.after()...)
	}
	send(t, url, all...)
	send(t, url, page("marker", "zed", day(4)))
	waitTouchpoints(t, s, uint64(total+1))
	// The marker proves the re-sent batch was applied on its partition;
	// the forwarding of re-sent anonymous records goes through another
	// round of the topic, so give it time to do harm if it would.
	time.Sleep(2 * time.Second)
	var after []string
	for _, l := range splitLines(identitySnapshot(t, s)) {
		if !containsWord(l, "zed") {
			after = append(after, l)
		}
	}
	if got := joinLines(after); got != before {
		t.Errorf("re-sent traffic changed what FINAL shows:\n%s", chtest.LineDiff(got, before))
	}
}

// checkStitched checks what stitching must give whatever the engine does
// with the order of touchpoints older than a journey's latest.
func checkStitched(t *testing.T, s *store.Store, cases []stitchCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if n := finalCount(t, s, "journeys", "customer_id = ? AND retracted = 0", c.user); n != 1 {
				t.Errorf("%s has %d journeys, want one:\n%s", c.user, n, identitySnapshot(t, s))
			}
			n := finalCount(t, s, "journeys", "customer_id = ? AND retracted = 0 AND status = 'converted' AND touchpoints = ? AND has(channels, 'web') AND has(channels, 'phone')",
				c.user, c.touchpoints())
			if n != 1 {
				t.Errorf("%s's journey should be converted with %d touchpoints on web and phone:\n%s", c.user, c.touchpoints(), identitySnapshot(t, s))
			}
			for _, d := range c.devices {
				if n := finalCount(t, s, "journeys", "customer_id = ? AND retracted = 0", d); n != 0 {
					t.Errorf("%s keeps %d journeys not retracted", d, n)
				}
				if n := finalCount(t, s, "journeys", "customer_id = ? AND retracted = 1", d); n != 1 {
					t.Errorf("%s has %d retracted journeys, want its one", d, n)
				}
				if n := finalCount(t, s, "touchpoints", "customer_id = ?", d); n != 0 {
					t.Errorf("%s keeps %d touchpoints", d, n)
				}
				// Re-stored under the user, above the anonymous row's
				// version, from the user's partition.
				n := finalCount(t, s, "touchpoints", "type = 'page' AND customer_id = ? AND anonymous_id = ? AND user_id = ? AND version >= 2 AND kafka_partition = ? AND journey_id != ''",
					c.user, d, c.user, partitionOf(c.user))
				if n != 2 {
					t.Errorf("%d of %s's 2 page views are stored under %s from its partition with a higher version:\n%s", n, d, c.user, identitySnapshot(t, s))
				}
				if n := finalCount(t, s, "identities", "linked_id = ? AND user_id = ? AND merged = 1 AND kafka_partition = ?", d, c.user, partitionOf(d)); n != 1 {
					t.Errorf("identities has no merged link %s → %s on partition %d:\n%s", d, c.user, partitionOf(d), identitySnapshot(t, s))
				}
			}
		})
	}
	total := 0
	for _, c := range cases {
		total += c.touchpoints()
	}
	if n := count(t, s, "SELECT uniqExact(message_id) FROM touchpoints FINAL"); n != uint64(total) {
		t.Errorf("%d distinct message ids, want %d", n, total)
	}
	if n := count(t, s, "SELECT count() FROM touchpoints FINAL"); n != uint64(total) {
		t.Errorf("touchpoints FINAL has %d rows, want each of the %d once", n, total)
	}
}

func TestIdentityStitchingAcrossTwoProcessors(t *testing.T) {
	b := startBroker(t)
	s := chtest.Open(t)
	url := startIngest(t, b)
	runProcessor(t, b, s)
	runProcessor(t, b, s) // the group splits the three partitions
	sendStitchTraffic(t, s, url, stitchCases)
	checkStitched(t, s, stitchCases)
}

// identitySnapshot is snapshot with what stitching writes: row versions,
// retraction, each touchpoint's ids and the identities table.
func identitySnapshot(t *testing.T, s *store.Store) string {
	t.Helper()
	return render(t, s,
		`SELECT concat('tp ', message_id, ' ', customer_id, ' a=', anonymous_id, ' u=', user_id, ' ', event, ' ', channel, ' ', toString(timestamp_ms), ' ', journey_id, ' ', session_id, ' v', toString(version)) FROM touchpoints FINAL`,
		`SELECT concat('s ', session_id, ' ', customer_id, ' ', channel, ' ', toString(touchpoints), ' ', toString(page_views), ' ', entry_page, ' ', exit_page, ' ', toString(started_at), ' ', toString(ended_at)) FROM sessions FINAL`,
		`SELECT concat('j ', journey_id, ' ', customer_id, ' ', status, ' ', toString(touchpoints), ' ', arrayStringConcat(path, '>'), ' ', arrayStringConcat(channels, ','), ' ', toString(friction_count), ' ', toString(revenue), ' ', toString(started_at), ' ', toString(ended_at), ' r', toString(retracted), ' v', toString(version)) FROM journeys FINAL`,
		`SELECT concat('f ', flag_id, ' ', rule, ' ', customer_id, ' ', journey_id, ' ', severity, ' ', arrayStringConcat(evidence, ','), ' ', toString(occurred_at), ' r', toString(retracted), ' v', toString(version)) FROM friction_flags FINAL`,
		`SELECT concat('id ', linked_id, ' ', user_id, ' ', kind, ' ', message_id, ' ', toString(linked_at), ' p', toString(kafka_partition), ' m', toString(merged)) FROM identities FINAL`)
}

// crashAtRetraction is ClickHouse with a processor that dies when it is
// about to write the retraction of a merged id's journeys: after it
// forwarded the touchpoints, before the link is recorded as merged and the
// merge record's offset is committed.
type crashAtRetraction struct {
	*store.Store
	crashed atomic.Bool
}

func (c *crashAtRetraction) InsertJourneys(ctx context.Context, rows []schemas.Journey) error {
	for _, j := range rows {
		if j.Retracted {
			c.crashed.Store(true)
			<-ctx.Done()
			return errCrashed
		}
	}
	return c.Store.InsertJourneys(ctx, rows)
}

func TestCrashDuringAMergeGivesTheRowsOfAnUninterruptedRun(t *testing.T) {
	cases := stitchCases[1:2] // two devices: two merges

	// The reference: one uninterrupted run.
	ref := chtest.Open(t)
	{
		b := startBroker(t)
		url := startIngest(t, b)
		stop := runProcessor(t, b, ref)
		sendStitchTraffic(t, ref, url, cases)
		stop()
	}

	b := startBroker(t)
	s := chtest.Open(t)
	url := startIngest(t, b)
	sink := &crashAtRetraction{Store: s}
	stop := runProcessor(t, b, sink)
	var anon, links []map[string]any
	for _, c := range cases {
		a, l := c.before()
		anon, links = append(anon, a...), append(links, l...)
	}
	send(t, url, anon...)
	waitTouchpoints(t, s, uint64(len(anon)))
	send(t, url, links...)
	eventually(t, 30*time.Second, "the crash", func() (bool, string) { return sink.crashed.Load(), identitySnapshot(t, s) })
	stop() // dies with touchpoints forwarded, journeys not retracted, offsets not committed
	if n := finalCount(t, s, "identities", "merged = 1"); n != 0 {
		t.Fatalf("the crashed processor recorded %d merges; the test needs it to die before", n)
	}

	runProcessor(t, b, s) // reads the merge records again
	for _, c := range cases {
		eventually(t, 60*time.Second, c.user+"'s anonymous touchpoints under the user", func() (bool, string) {
			n := finalCount(t, s, "touchpoints", "customer_id = ?", c.user)
			return n == uint64(3*len(c.devices)), identitySnapshot(t, s)
		})
		send(t, url, c.after()...)
	}
	// Versions follow Kafka offsets, and the crashed run produced some
	// records twice: the rows must be equal, their versions need not.
	eventually(t, 60*time.Second, "rows equal the uninterrupted run's", func() (bool, string) {
		got, want := withoutVersions(identitySnapshot(t, s)), withoutVersions(identitySnapshot(t, ref))
		return got == want, chtest.LineDiff(got, want)
	})
	if n := finalCount(t, s, "journeys", "customer_id LIKE 'anon-%' AND retracted = 0"); n != 0 {
		t.Errorf("%d anonymous journeys are not retracted:\n%s", n, identitySnapshot(t, s))
	}
}

// withoutVersions drops the " v<version>" that ends identitySnapshot's row
// lines.
func withoutVersions(snapshot string) string {
	lines := splitLines(snapshot)
	for i, l := range lines {
		if j := strings.LastIndex(l, " v"); j > 0 && strings.Trim(l[j+2:], "0123456789") == "" && j+2 < len(l) {
			lines[i] = l[:j]
		}
	}
	return joinLines(lines)
}
