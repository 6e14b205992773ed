package dashboards_test

import (
	"context"
	"os"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/journeys/journeys/internal/chtest"
	"github.com/journeys/journeys/internal/dashbench"
	"github.com/journeys/journeys/store"
)

// BenchmarkDashboardQueries loads 10 million touchpoints, 1.5 million
// journeys with their paths, friction flags and sessions into a throwaway
// ClickHouse 18.16, then runs every panel and variable query of every
// dashboard over the whole month (package dashbench) and fails a panel
// whose p95 exceeds 500 ms. Run:
//
//	go test -run '^$' -bench DashboardQueries -benchtime 1x -timeout 30m ./dashboards/
//
// To iterate on a few panels, $JOURNEYS_BENCH_PANELS is a regular
// expression on the panel names the table prints (e.g. 'journeys/5 |
// friction/[567] '), and $JOURNEYS_BENCH_DATABASE names a database to load
// once and keep: a later run that finds it loaded migrates it (new
// migrations backfill their tables) and skips the load. The same
// benchmark on ClickHouse 26.5 is internal/modernch's
// BenchmarkDashboardQueriesModern.
func BenchmarkDashboardQueries(b *testing.B) {
	dashbench.Benchmark(b, benchConn(context.Background(), b))
}

// conn is a clickhouse-go connection as the benchmark's DB.
type conn struct{ driver.Conn }

func (c conn) Exec(ctx context.Context, sql string) error { return c.Conn.Exec(ctx, sql) }

func (c conn) Rows(ctx context.Context, sql string) (int, error) {
	rows, err := c.Conn.Query(ctx, sql)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	return n, rows.Err()
}

func (c conn) Count(ctx context.Context, sql string) (uint64, error) {
	var n uint64
	err := c.Conn.QueryRow(ctx, sql).Scan(&n)
	return n, err
}

// benchConn opens a fresh database dropped at the end, or the database
// $JOURNEYS_BENCH_DATABASE names, migrated and kept.
func benchConn(ctx context.Context, b *testing.B) conn {
	b.Helper()
	name := os.Getenv("JOURNEYS_BENCH_DATABASE")
	if name == "" {
		return conn{chtest.Open(b).Conn()}
	}
	cfg := store.Config{Addr: chtest.Addr(b), Database: name}
	if _, err := store.Migrate(ctx, cfg); err != nil {
		b.Fatalf("migrate %s: %v", name, err)
	}
	s, err := store.Open(ctx, cfg)
	if err != nil {
		b.Fatalf("open %s: %v", name, err)
	}
	b.Cleanup(func() { s.Close() })
	return conn{s.Conn()}
}
