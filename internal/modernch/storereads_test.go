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
	"github.com/journeys/journeys/store"
)

// storeQueriesAgree calls every read of the store (and a
// forget: count, delete, wait, count again) on ClickHouse 18.16 with
// log_queries on, takes the SQL the store sent from 18.16's query log (its
// arguments bound by clickhouse-go, as any server receives them), and runs
// each statement on ClickHouse 26 too: each SELECT must give the same rows
// on both, each ALTER must run on 26.
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
	for i, step := range steps {
		id := fmt.Sprintf("modernch-%s-%d", p.old.Database(), i)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		ctx = clickhouse.Context(ctx, clickhouse.WithQueryID(id), clickhouse.WithSettings(clickhouse.Settings{"log_queries": 1}))
		err := step.call(ctx, p.old)
		cancel()
		if err != nil {
			t.Fatalf("%s on ClickHouse 18.16: %v", step.name, err)
		}
		sent := loggedQueries(t, p, id)
		if len(sent) == 0 {
			t.Fatalf("%s: 18.16 logged no query", step.name)
		}
		rows := 0
		for _, sql := range sent {
			if strings.HasPrefix(sql, "ALTER") {
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
	// The deletions left the same rows on both.
	for _, ft := range store.ForgetTables {
		p.same(t, "rows of "+ft.Name+" after the deletion", "SELECT count(), "+strings.Join(ft.Columns, ", ")+" FROM "+ft.Name+" GROUP BY "+strings.Join(ft.Columns, ", ")+" ORDER BY "+strings.Join(ft.Columns, ", "))
	}
}

// loggedQueries returns the statements 18.16 finished under query id id.
// A query's entry reaches the log just after its client has the result: a
// marker query sent last under the same id is waited for.
func loggedQueries(t *testing.T, p pair, id string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	marker := "SELECT 'modernch end of " + id + "'"
	logged := clickhouse.Context(ctx, clickhouse.WithQueryID(id), clickhouse.WithSettings(clickhouse.Settings{"log_queries": 1}))
	if err := p.old.Conn().Exec(logged, marker); err != nil {
		t.Fatalf("marker query: %v", err)
	}
	for wait := 0; ; wait++ {
		if err := p.old.Conn().Exec(ctx, "SYSTEM FLUSH LOGS"); err != nil {
			t.Fatalf("flush 18.16's query log: %v", err)
		}
		r, err := dashboards.Run(ctx, p.old.Conn(), fmt.Sprintf("SELECT query FROM system.query_log WHERE type = 2 AND query_id = '%s' ORDER BY event_time", id))
		if err != nil {
			t.Fatalf("read 18.16's query log: %v", err)
		}
		var out []string
		done := false
		for _, row := range r.Rows {
			if q := row[0].(string); q == marker {
				done = true
			} else {
				out = append(out, q)
			}
		}
		if done {
			return out
		}
		if wait == 50 {
			t.Fatalf("query %s: the marker query never reached 18.16's query log", id)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
