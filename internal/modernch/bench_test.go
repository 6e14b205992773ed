package modernch

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/journeys/journeys/internal/dashbench"
)

// BenchmarkDashboardQueriesModern is dashboards.BenchmarkDashboardQueries
// on ClickHouse 26.5 (chDB, in this process): the same month of 10 million
// touchpoints, loaded by the same statements into a database migrated as
// on 18.16, and the same panel queries with the same time range and
// variables. It fails a panel whose p95 exceeds 500 ms. Run:
//
//	CHDB_LIB_PATH=$(scripts/chdb.sh) go test -run '^$' -bench DashboardQueriesModern -benchtime 1x -timeout 30m ./internal/modernch/
//
// $JOURNEYS_BENCH_PANELS selects panels as for the 18.16 benchmark.
func BenchmarkDashboardQueriesModern(b *testing.B) {
	s := chDB(b)
	db := fmt.Sprintf("dashbench_%d", os.Getpid())
	for _, stmt := range []string{"CREATE DATABASE " + db, "USE " + db} {
		if err := s.Exec(stmt); err != nil {
			b.Fatalf("%s: %v", stmt, err)
		}
	}
	b.Cleanup(func() {
		_ = s.Exec("USE default")
		_ = s.Exec("DROP DATABASE IF EXISTS " + db)
	})
	if err := migrateModern(s); err != nil {
		b.Fatal(err)
	}
	dashbench.Benchmark(b, benchDB{s})
}

// benchDB is the chDB session as the benchmark's DB. A panel's rows come
// back whole, as JSON, and are counted.
type benchDB struct{ s *Session }

func (d benchDB) Exec(_ context.Context, sql string) error { return d.s.Exec(sql) }

func (d benchDB) Rows(_ context.Context, sql string) (int, error) {
	t, err := d.s.Query(sql)
	return len(t.Rows), err
}

func (d benchDB) Count(_ context.Context, sql string) (uint64, error) {
	t, err := d.s.Query(sql)
	if err != nil {
		return 0, err
	}
	if len(t.Rows) != 1 || len(t.Rows[0]) != 1 {
		return 0, fmt.Errorf("%q gave %v, want one number", sql, t.Rows)
	}
	n, ok := t.Rows[0][0].(Number)
	if !ok {
		return 0, fmt.Errorf("%q gave %v, want a number", sql, t.Rows[0][0])
	}
	return strconv.ParseUint(n.Int, 10, 64)
}
