package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/journeys/journeys/forget"
	"github.com/journeys/journeys/ingest"
	"github.com/journeys/journeys/internal/broker"
	"github.com/journeys/journeys/internal/chtest"
	"github.com/journeys/journeys/internal/pipeline"
	"github.com/journeys/journeys/processor"
	"github.com/journeys/journeys/store"
)

const forgetAdminToken = "test-admin-token-0123456789"

// startForgetPipeline runs the whole pipeline (ingest, processor, both
// following the suppression list) on the broker and database, the
// processor in consumer group group.
func startForgetPipeline(t *testing.T, b *broker.Embedded, db store.Config, group string) *pipeline.Pipeline {
	t.Helper()
	pcfg := processor.DefaultConfig()
	pcfg.GroupID = group
	pcfg.BatchWait = 20 * time.Millisecond
	pcfg.RetryBackoff = 20 * time.Millisecond
	pcfg.IdleCloseInterval = 200 * time.Millisecond
	p, err := pipeline.Start(context.Background(), pipeline.Config{
		Ingest:    ingest.Config{Listen: "127.0.0.1:0", WriteKeys: []string{"test-key"}, AdminToken: forgetAdminToken},
		Processor: pcfg,
		Store:     db,
		Brokers:   b.Addrs(),
		Registry:  prometheus.NewRegistry(),
		Log:       quietLog(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// forgetCustomer is what each customer of the test sends: two anonymous
// page views, an identify that links them to the user, three calls and a
// purchase (which flags repeated calls before purchase).
func forgetCustomer(user string) []map[string]any {
	anon := "anon-" + user
	return []map[string]any{
		anonymous(page(user+"-p1", "", day(0)), anon),
		anonymous(page(user+"-p2", "", day(0).Add(5*time.Minute)), anon),
		// A help page, so that help_page_views holds rows of them too.
		anonymous(ev(user+"-help", "", "page", "", day(0).Add(10*time.Minute), map[string]any{"path": "/help/returns"}), anon),
		identify(user+"-id", anon, user, day(1)),
		call(user+"-c1", user, day(2)),
		call(user+"-c2", user, day(2).Add(time.Hour)),
		call(user+"-c3", user, day(2).Add(2*time.Hour)),
		purchase(user+"-buy", user, day(3)),
		// A review, so that engagement_touchpoints holds rows of them too.
		ev(user+"-review", user, "track", "review", day(3).Add(time.Hour), map[string]any{"rating": 5, "platform": "trustpilot"}),
	}
}

// rowsOf renders what every table holds of the ids (FINAL where the table
// has versions), to compare a customer's rows before and after.
func rowsOf(t *testing.T, s *store.Store, ids ...string) string {
	t.Helper()
	in := "('" + strings.Join(ids, "','") + "')"
	return render(t, s,
		`SELECT concat('tp ', message_id, ' ', customer_id, ' ', journey_id, ' ', session_id) FROM touchpoints FINAL WHERE customer_id IN `+in,
		`SELECT DISTINCT concat('tbc ', customer_id, ' ', message_id) FROM touchpoints_by_customer WHERE customer_id IN `+in,
		`SELECT concat('j ', journey_id, ' ', status, ' retracted=', toString(retracted)) FROM journeys FINAL WHERE customer_id IN `+in,
		`SELECT DISTINCT concat('jc ', customer_id, ' ', journey_id) FROM journey_customers WHERE customer_id IN `+in,
		`SELECT concat('f ', flag_id, ' ', rule, ' retracted=', toString(retracted)) FROM friction_flags FINAL WHERE customer_id IN `+in,
		`SELECT concat('s ', session_id, ' ', toString(touchpoints)) FROM sessions FINAL WHERE customer_id IN `+in,
		`SELECT concat('c ', customer_id, ' ', toString(touchpoints), ' ', tier) FROM customers FINAL WHERE customer_id IN `+in,
		`SELECT concat('id ', linked_id, ' ', user_id, ' merged=', toString(merged)) FROM identities FINAL WHERE linked_id IN `+in+` OR user_id IN `+in)
}

func hashes(ids ...string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = forget.Hash(id)
	}
	return out
}

// rowsLeft counts the rows each table holds of the ids, as stored.
func rowsLeft(t *testing.T, s *store.Store, ids ...string) map[string]uint64 {
	t.Helper()
	n, err := s.CountCustomerRows(context.Background(), hashes(ids...))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func allZero(n map[string]uint64) bool {
	for _, v := range n {
		if v != 0 {
			return false
		}
	}
	return true
}

func postForget(t *testing.T, url, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/admin/forget", strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

// replayWholeTopic starts a pipeline whose processor is a new consumer
// group, so it reads the touchpoints topic from offset 0 into the same
// database, and waits until it has committed the whole topic.
func replayWholeTopic(t *testing.T, b *broker.Embedded, db store.Config) *pipeline.Pipeline {
	t.Helper()
	p := startForgetPipeline(t, b, db, "journeys-replay")
	t.Cleanup(func() { p.Close() })
	eventually(t, 90*time.Second, "the replaying processor to commit the whole topic", func() (bool, string) {
		return committedToEnd(t, b, "journeys-replay")
	})
	return p
}

// committedToEnd reports whether the group committed every partition of the
// touchpoints topic up to its end.
func committedToEnd(t *testing.T, b *broker.Embedded, group string) (bool, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client := &kafka.Client{Addr: kafka.TCP(b.Addrs()...)}
	parts := []int{0, 1, 2}
	committed, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{broker.TopicTouchpoints: parts}})
	if err != nil {
		return false, err.Error()
	}
	var reqs []kafka.OffsetRequest
	for _, p := range parts {
		reqs = append(reqs, kafka.LastOffsetOf(p))
	}
	ends, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{broker.TopicTouchpoints: reqs}})
	if err != nil {
		return false, err.Error()
	}
	state := ""
	done := true
	for _, c := range committed.Topics[broker.TopicTouchpoints] {
		for _, e := range ends.Topics[broker.TopicTouchpoints] {
			if e.Partition == c.Partition {
				state += fmt.Sprintf("p%d %d/%d ", c.Partition, c.CommittedOffset, e.LastOffset)
				done = done && (c.CommittedOffset == e.LastOffset || e.LastOffset == 0)
			}
		}
	}
	return done && len(committed.Topics[broker.TopicTouchpoints]) == len(parts), state
}

func TestForgottenCustomerLeavesNoRowAndStaysForgottenThroughAReplay(t *testing.T) {
	b := startBroker(t)
	db := chtest.NewDatabase(t)
	p := startForgetPipeline(t, b, db, "journeys-processor")
	defer func() {
		if p != nil {
			p.Close()
		}
	}()
	s := p.Store()
	ctx := context.Background()

	send(t, p.URL, append(forgetCustomer("fiona"), forgetCustomer("kim")...)...)
	gone := []string{"fiona", "anon-fiona"}
	kept := []string{"kim", "anon-kim"}
	// Every table holds rows of both before the forget, so that the
	// checks below can fail, and the identity merges are done: every
	// touchpoint is under its user and the rows no longer change.
	last := ""
	eventually(t, 90*time.Second, "every table to hold rows of both customers", func() (bool, string) {
		under := count(t, s, "SELECT count() FROM touchpoints FINAL WHERE customer_id IN ('fiona','kim')")
		now := rowsOf(t, s, append(gone, kept...)...)
		settled := now == last
		last = now
		if under != 18 || !settled {
			return false, fmt.Sprintf("%d touchpoints under the users, settled %v", under, settled)
		}
		g, k := rowsLeft(t, s, gone...), rowsLeft(t, s, kept...)
		merged := count(t, s, "SELECT count() FROM identities FINAL WHERE merged = 1")
		flags := count(t, s, "SELECT uniqExact(customer_id) FROM friction_flags FINAL WHERE retracted = 0 AND customer_id IN ('fiona','kim')")
		customers := count(t, s, "SELECT count() FROM customers FINAL WHERE retracted = 0 AND customer_id IN ('fiona','kim')")
		for table := range g {
			if g[table] == 0 || k[table] == 0 {
				return false, fmt.Sprintf("forgotten %v kept %v", g, k)
			}
		}
		return merged == 2 && flags == 2 && customers == 2, fmt.Sprintf("merged %d, customers flagged %d, customers %d", merged, flags, customers)
	})
	kimBefore := rowsOf(t, s, kept...)

	// A second ingest instance, following the same list.
	list2, err := forget.NewList(b.Addrs(), "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	lctx, stopList := context.WithCancel(ctx)
	listDone := make(chan struct{})
	go func() { defer close(listDone); _ = list2.Run(lctx) }()
	defer func() { stopList(); <-listDone }()
	if err := list2.WaitLoaded(ctx); err != nil {
		t.Fatal(err)
	}
	pub2 := ingest.NewKafkaPublisher(ingest.KafkaConfig{Brokers: b.Addrs()})
	defer pub2.Close()
	reg2 := prometheus.NewRegistry()
	h2, err := ingest.NewHandler(ingest.Config{WriteKeys: []string{"test-key"}, Suppression: list2}, pub2, reg2, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	ingest2 := httptest.NewServer(h2)
	defer ingest2.Close()

	if code, body := postForget(t, p.URL, "", `{"userId":"fiona"}`); code != http.StatusUnauthorized {
		t.Fatalf("forget without the admin token: %d %s, want 401", code, body)
	}
	if code, body := postForget(t, p.URL, forgetAdminToken, `{"userId":""}`); code != http.StatusBadRequest || !strings.Contains(body, "userId: bad user id: empty") {
		t.Fatalf("forget of an empty user id: %d %s, want 400 naming the field", code, body)
	}
	forgotAt := time.Now()
	code, body := postForget(t, p.URL, forgetAdminToken, `{"userId":"fiona"}`)
	if code != http.StatusAccepted {
		t.Fatalf("forget: %d %s, want 202", code, body)
	}
	var res forget.Result
	if err := json.Unmarshal([]byte(body), &res); err != nil {
		t.Fatal(err)
	}
	if want := hashes(gone...); !slices.Equal(res.IDHashes, want) || res.LinkedIDs != 1 {
		t.Errorf("forget answered %+v, want the hashes of fiona and her anonymous id %v", res, want)
	}
	if strings.Contains(body, "fiona") {
		t.Errorf("the answer names the customer in clear: %s", body)
	}

	eventually(t, 60*time.Second, "the other ingest instance to suppress the customer", func() (bool, string) {
		return list2.Forgotten("fiona") && list2.Forgotten("anon-fiona"), ""
	})
	t.Logf("suppressed on a second ingest instance %s after the forget request", time.Since(forgotAt).Round(time.Millisecond))
	eventually(t, 60*time.Second, "every row of the forgotten customer to be deleted", func() (bool, string) {
		if err := s.WaitMutations(ctx); err != nil {
			return false, err.Error()
		}
		n := rowsLeft(t, s, gone...)
		return allZero(n), fmt.Sprintf("%v", n)
	})
	// The processor let go of what it held of her.
	eventually(t, 30*time.Second, "the processor to discard the customer's state", func() (bool, string) {
		n := counterValue(t, p.Registry, "journeys_processor_forgotten_customers_total")
		return n >= 1, fmt.Sprintf("%v customers discarded", n)
	})
	if got := rowsOf(t, s, kept...); got != kimBefore {
		t.Errorf("the other customer's rows changed with the forget:\nbefore\n%s\nafter\n%s", kimBefore, got)
	}

	// New events of the forgotten customer, under either id and on either
	// instance, are answered as accepted and stored nowhere.
	send(t, p.URL, call("fiona-c4", "fiona", day(4)), anonymous(page("fiona-p3", "", day(4)), "anon-fiona"), call("kim-c4", "kim", day(4)))
	send(t, ingest2.URL, call("fiona-c5", "fiona", day(5)), call("kim-c5", "kim", day(5)))
	eventually(t, 60*time.Second, "the other customer's new events to be stored", func() (bool, string) {
		n := count(t, s, "SELECT count() FROM touchpoints FINAL WHERE message_id IN ('kim-c4', 'kim-c5')")
		return n == 2, fmt.Sprintf("%d stored", n)
	})
	if n := rowsLeft(t, s, gone...); !allZero(n) {
		t.Errorf("rows of the forgotten customer after they sent more events: %v", n)
	}
	if got := counterValue(t, p.Registry, "journeys_ingest_events_suppressed_total"); got != 2 {
		t.Errorf("first instance suppressed %v events, want 2", got)
	}
	if got := counterValue(t, reg2, "journeys_ingest_events_suppressed_total"); got != 1 {
		t.Errorf("second instance suppressed %v events, want 1", got)
	}
	eventually(t, 30*time.Second, "the first processor to commit everything", func() (bool, string) {
		return committedToEnd(t, b, "journeys-processor")
	})
	kimAfter := rowsOf(t, s, kept...)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	p = nil

	// A replay of the whole topic from offset 0, where the forgotten
	// customer's events and merge records still are.
	p2 := replayWholeTopic(t, b, db)
	s2 := p2.Store()
	if err := s2.WaitMutations(ctx); err != nil {
		t.Fatal(err)
	}
	if n := rowsLeft(t, s2, gone...); !allZero(n) {
		t.Errorf("rows of the forgotten customer after a replay from offset 0: %v", n)
	}
	if got := counterValue(t, p2.Registry, "journeys_processor_events_total", "result", "forgotten"); got < 7 {
		t.Errorf("the replay dropped %v records of the forgotten customer, want at least her 7 events", got)
	}
	if got := rowsOf(t, s2, kept...); got != kimAfter {
		t.Errorf("the other customer's rows changed with the replay:\nbefore\n%s\nafter\n%s", kimAfter, got)
	}
}
