package modernch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/journeys/journeys/dashboards"
	"github.com/journeys/journeys/internal/chtest"
	"github.com/journeys/journeys/report"
	"github.com/journeys/journeys/store"
)

// storeQueriesAgree calls every read of the store and of the report (and a
// forget: count, delete, wait, count again) on ClickHouse 18.16 with
// log_queries on, takes the SQL they sent from 18.16's query log (its
// arguments bound by clickhouse-go, as any server receives them), and runs
// each statement on ClickHouse 26 too: each SELECT must give the same rows
// on both, each other statement (ALTER, CREATE) must run on 26.
func storeQueriesAgree(t *testing.T, p pair) {
	// A deletion is done when its ALTER returns, as WaitMutations waits on 18.16.
	if err := p.modern.Exec("SET mutations_sync = 2"); err != nil {
		t.Fatal(err)
	}
	hash := func(id string) string { h := sha256.Sum256([]byte(id)); return hex.EncodeToString(h[:]) }
	forgotten := []string{hash("c9"), hash("anon-c9")}
	steps := []struct {
		name string
		call func(ctx context.Context, s *store.Store) error
	}{
		// On every start: nothing left to apply, the runner's own queries.
		{"store.Migrate", func(ctx context.Context, s *store.Store) error {
			_, err := store.Migrate(ctx, store.Config{Addr: chtest.Addr(t), Database: s.Database()})
			return err
		}},
		{"StoredMessageIDs", func(ctx context.Context, s *store.Store) error {
			_, err := s.StoredMessageIDs(ctx, []string{"m1", "m5", "c5-p", "nope"})
			return err
		}},
		{"JourneySpans", func(ctx context.Context, s *store.Store) error {
			_, err := s.JourneySpans(ctx, []string{"c1", "c2", "c5"})
			return err
		}},
		{"PartitionJourneySpans", func(ctx context.Context, s *store.Store) error {
			_, err := s.PartitionJourneySpans(ctx, []int32{0, 1}, base)
			return err
		}},
		{"PartitionCustomers", func(ctx context.Context, s *store.Store) error {
			_, err := s.PartitionCustomers(ctx, []int32{0, 1})
			return err
		}},
		{"JourneyTouchpoints", func(ctx context.Context, s *store.Store) error {
			_, err := s.JourneyTouchpoints(ctx, []string{"c1", "c3"}, []string{"j1", "j3"})
			return err
		}},
		{"DayHistory", func(ctx context.Context, s *store.Store) error {
			_, err := s.DayHistory(ctx, []store.CustomerDay{{CustomerID: "c1", Day: 20240310}, {CustomerID: "c5", Day: 20240309}}, "Europe/Paris")
			return err
		}},
		{"WrittenOffsets", func(ctx context.Context, s *store.Store) error {
			_, err := s.WrittenOffsets(ctx, []int32{0, 1, 2})
			return err
		}},
		{"ProfileInputs", func(ctx context.Context, s *store.Store) error {
			_, _, err := s.ProfileInputs(ctx, []string{"c1", "c4"}, []string{"purchase", "survey_response"})
			return err
		}},
		{"MergedIdentities", func(ctx context.Context, s *store.Store) error {
			_, err := s.MergedIdentities(ctx, []int32{1})
			return err
		}},
		{"CustomerTouchpoints", func(ctx context.Context, s *store.Store) error {
			_, err := s.CustomerTouchpoints(ctx, []string{"c1", "c9"})
			return err
		}},
		{"CustomerJourneys", func(ctx context.Context, s *store.Store) error {
			_, err := s.CustomerJourneys(ctx, []string{"c1", "c9"})
			return err
		}},
		{"CustomerFlags", func(ctx context.Context, s *store.Store) error {
			_, err := s.CustomerFlags(ctx, []string{"c2", "c9"})
			return err
		}},
		{"LinkedIDs", func(ctx context.Context, s *store.Store) error {
			_, err := s.LinkedIDs(ctx, "c9")
			return err
		}},
		{"Tables", func(ctx context.Context, s *store.Store) error {
			_, err := s.Tables(ctx)
			return err
		}},
		// The report's own queries, and the dashboards' at its daily interval.
		{"report.Load", func(ctx context.Context, s *store.Store) error {
			_, err := report.Load(ctx, s.Conn())
			return err
		}},
		{"report.WaitForTouchpoints", func(ctx context.Context, s *store.Store) error {
			_, err := report.WaitForTouchpoints(ctx, s.Conn(), 1)
			return err
		}},
		{"report.ResolveRange", func(ctx context.Context, s *store.Store) error {
			_, err := report.ResolveRange(ctx, s.Conn(), "", "", now)
			return err
		}},
		{"report.LoadOverview", func(ctx context.Context, s *store.Store) error {
			_, err := report.LoadOverview(ctx, s.Conn(), report.Range{From: base.Add(-24 * time.Hour), To: now})
			return err
		}},
		{"CountCustomerRows before", func(ctx context.Context, s *store.Store) error {
			_, err := s.CountCustomerRows(ctx, forgotten)
			return err
		}},
		{"DeleteCustomers", func(ctx context.Context, s *store.Store) error {
			return s.DeleteCustomers(ctx, forgotten)
		}},
		{"WaitMutations", func(ctx context.Context, s *store.Store) error {
			return s.WaitMutations(ctx)
		}},
		{"CountCustomerRows after", func(ctx context.Context, s *store.Store) error {
			_, err := s.CountCustomerRows(ctx, forgotten)
			return err
		}},
	}
	statements := 0
	log := &queryLog{p: p, since: time.Now().Add(-time.Minute), seen: map[string]bool{}}
	log.next(t) // what earlier tests logged
	for _, step := range steps {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"log_queries": 1}))
		err := step.call(ctx, p.old)
		cancel()
		if err != nil {
			t.Fatalf("%s on ClickHouse 18.16: %v", step.name, err)
		}
		sent := log.next(t)
		if len(sent) == 0 {
			t.Fatalf("%s: 18.16 logged no query", step.name)
		}
		statements += len(sent)
		rows := 0
		for _, sql := range sent {
			if !strings.HasPrefix(sql, "SELECT") {
				if err := p.modern.Exec(sql); err != nil {
					t.Errorf("%s on ClickHouse 26: %v\n%s", step.name, err, sql)
				}
				rows++
				continue
			}
			rows += len(p.sameRows(t, step.name, sql).Rows)
		}
		if rows == 0 {
			t.Errorf("%s: no rows on 18.16: the dataset proves nothing of its %d queries", step.name, len(sent))
		}
	}
	t.Logf("%d statements of %d store and report calls agree", statements, len(steps))
	// The deletions left the same rows on both.
	for _, ft := range store.ForgetTables {
		p.same(t, "rows of "+ft.Name+" after the deletion", "SELECT count(), "+strings.Join(ft.Columns, ", ")+" FROM "+ft.Name+" GROUP BY "+strings.Join(ft.Columns, ", ")+" ORDER BY "+strings.Join(ft.Columns, ", "))
	}
}

// queryLog reads what 18.16 logged: only queries run with log_queries = 1
// are, and only this test sets it. Each query has its own id (clickhouse-go
// makes one up): a step's are those not read before.
type queryLog struct {
	p     pair
	since time.Time
	seen  map[string]bool
	n     int
}

// next returns the statements 18.16 finished since the last call. A query's
// entry reaches the log just after its client has the result: a marker
// query is sent last and waited for, then the log is read once more.
func (l *queryLog) next(t *testing.T) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l.n++
	marker := fmt.Sprintf("modernch-end-%s-%d", l.p.old.Database(), l.n)
	logged := clickhouse.Context(ctx, clickhouse.WithQueryID(marker), clickhouse.WithSettings(clickhouse.Settings{"log_queries": 1}))
	if err := l.p.old.Conn().Exec(logged, "SELECT 1"); err != nil {
		t.Fatalf("marker query: %v", err)
	}
	read := func() (queries []string, markerSeen bool) {
		if err := l.p.old.Conn().Exec(ctx, "SYSTEM FLUSH LOGS"); err != nil {
			t.Fatalf("flush 18.16's query log: %v", err)
		}
		r, err := dashboards.Run(ctx, l.p.old.Conn(), "SELECT query_id, query"+l.where()+" ORDER BY event_time")
		if err != nil {
			t.Fatalf("read 18.16's query log: %v", err)
		}
		for _, row := range r.Rows {
			id := row[0].(string)
			switch {
			case id == marker:
				markerSeen = true
			case l.seen[id] || strings.HasPrefix(id, "modernch-end-"):
			default:
				queries = append(queries, row[1].(string))
			}
		}
		return queries, markerSeen
	}
	for wait := 0; ; wait++ {
		if _, ok := read(); ok {
			break
		}
		if wait == 50 {
			t.Fatalf("the marker query %s never reached 18.16's query log", marker)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	queries, _ := read()
	r, err := dashboards.Run(ctx, l.p.old.Conn(), "SELECT query_id"+l.where())
	if err != nil {
		t.Fatalf("read 18.16's query log: %v", err)
	}
	for _, row := range r.Rows {
		l.seen[row[0].(string)] = true
	}
	return queries
}

// where selects the finished queries of the last minutes.
func (l *queryLog) where() string {
	return fmt.Sprintf(" FROM system.query_log WHERE type = 2 AND event_date >= toDate(%[1]d) AND event_time >= toDateTime(%[1]d)", l.since.Unix())
}
