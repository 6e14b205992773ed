package modernch

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/journeys/journeys/dashboards"
	"github.com/journeys/journeys/internal/chtest"
	"github.com/journeys/journeys/schemas"
	"github.com/journeys/journeys/store"
)

var (
	sessionOnce sync.Once
	session     *Session
	sessionErr  error
	sessionDir  string
)

func TestMain(m *testing.M) {
	chtest.Main(m, func() {
		if session != nil {
			session.Close()
		}
		if sessionDir != "" {
			os.RemoveAll(sessionDir)
		}
	})
}

// chDB opens the process's one chDB session, or fails the test.
func chDB(t testing.TB) *Session {
	t.Helper()
	sessionOnce.Do(func() {
		sessionDir, sessionErr = os.MkdirTemp("", "journeys-chdb-")
		if sessionErr == nil {
			session, sessionErr = Open(sessionDir)
		}
	})
	if sessionErr != nil {
		t.Fatalf("modern ClickHouse (chDB, %s=%s): %v", LibraryEnv, os.Getenv(LibraryEnv), sessionErr)
	}
	return session
}

// pair is the same database on both versions: old is Debian's 18.16 (the
// store, migrated by store.Migrate), modern is chDB's 26.5, migrated here
// statement by statement as store.Migrate does.
type pair struct {
	old    *store.Store
	modern *Session
}

func newPair(t *testing.T) pair {
	t.Helper()
	p := pair{old: chtest.Open(t), modern: chDB(t)}
	// The same name on both: the store's queries name their database.
	db := p.old.Database()
	for _, stmt := range []string{"CREATE DATABASE " + db, "USE " + db} {
		if err := p.modern.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	t.Cleanup(func() {
		_ = p.modern.Exec("USE default")
		_ = p.modern.Exec("DROP DATABASE IF EXISTS " + db)
	})
	if err := migrateModern(p.modern); err != nil {
		t.Fatal(err)
	}
	return p
}

// migrateModern applies every migration in version order, as store.Migrate
// does, then every statement once more but the ADD COLUMNs whose column is
// there (as the runner skips them): a migration interrupted half way is
// applied again from its start, so every statement must be idempotent on
// the modern version as well.
func migrateModern(s *Session) error {
	migrations, err := schemas.Migrations()
	if err != nil {
		return err
	}
	if err := s.Exec(store.MigrationsTableDDL); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for pass := 1; pass <= 2; pass++ {
		for _, m := range migrations {
			for i, stmt := range m.Statements {
				if table, column, ok := store.AddsColumn(stmt); ok && pass == 2 {
					t, err := s.Query(fmt.Sprintf("SELECT count() FROM system.columns WHERE database = currentDatabase() AND table = '%s' AND name = '%s'", table, column))
					if err != nil {
						return fmt.Errorf("look up column %s.%s: %w", table, column, err)
					}
					if len(t.Rows) != 1 || !SameCell(t.Rows[0][0], Number{Int: "1", Float: 1}) {
						return fmt.Errorf("migration %04d_%s statement %d: column %s.%s missing after the first pass: %v", m.Version, m.Name, i+1, table, column, t.Rows)
					}
					continue
				}
				if err := s.Exec(stmt); err != nil {
					return fmt.Errorf("pass %d, migration %04d_%s statement %d on ClickHouse 26: %w\n%s", pass, m.Version, m.Name, i+1, err, stmt)
				}
			}
			if pass == 1 {
				rec := fmt.Sprintf("INSERT INTO schema_migrations (version, name, applied_at) SELECT %d, '%s', now()", m.Version, m.Name)
				if err := s.Exec(rec); err != nil {
					return fmt.Errorf("record migration %04d_%s: %w", m.Version, m.Name, err)
				}
			}
		}
	}
	return nil
}

// exec runs a statement on both versions.
func (p pair) exec(t *testing.T, stmt string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := p.old.Conn().Exec(ctx, stmt); err != nil {
		t.Fatalf("ClickHouse 18.16: %v\n%s", err, stmt)
	}
	if err := p.modern.Exec(stmt); err != nil {
		t.Fatalf("ClickHouse 26: %v\n%s", err, stmt)
	}
}

// query runs a SELECT on both versions; a failure on either is returned.
func (p pair) query(sql string) (old, modern Table, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := dashboards.Run(ctx, p.old.Conn(), sql)
	if err != nil {
		return Table{}, Table{}, fmt.Errorf("ClickHouse 18.16: %w", err)
	}
	old.Columns = r.Columns
	for _, row := range r.Rows {
		cells := make([]any, len(row))
		for i, v := range row {
			cells[i] = GoCell(v)
		}
		old.Rows = append(old.Rows, cells)
	}
	modern, err = p.modern.Query(sql)
	if err != nil {
		return old, Table{}, fmt.Errorf("ClickHouse 26: %w", err)
	}
	return old, modern, nil
}

// same runs a SELECT on both versions and fails the test unless both give
// the same columns and rows. It returns the rows.
func (p pair) same(t *testing.T, what, sql string) Table {
	t.Helper()
	return p.compare(t, what, sql, func(tb Table) Table { return tb })
}

// sameRows is same for a query whose reader scans by position and, unless
// it has an ORDER BY, reads rows in no order (the store's): column names and
// row order may differ between the versions, the rows may not.
func (p pair) sameRows(t *testing.T, what, sql string) Table {
	t.Helper()
	ordered := strings.Contains(sql, "ORDER BY")
	return p.compare(t, what, sql, func(tb Table) Table { return rowsOnly(tb, ordered) })
}

// compare runs sql on both versions and fails the test unless what seen
// shows of both results is the same.
func (p pair) compare(t *testing.T, what, sql string, seen func(Table) Table) Table {
	t.Helper()
	old, modern, err := p.query(sql)
	if err != nil {
		t.Errorf("%s: %v\n%s", what, err, sql)
		return old
	}
	if d := Diff(seen(modern), seen(old)); d != "" {
		t.Errorf("%s: ClickHouse 26 differs from 18.16:\n%s\n%s", what, d, sql)
	}
	return old
}

// rowsOnly is t without column names, its rows sorted unless ordered.
func rowsOnly(t Table, ordered bool) Table {
	rows := slices.Clone(t.Rows)
	if !ordered {
		slices.SortFunc(rows, func(a, b []any) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	}
	return Table{Rows: rows}
}

// TestMigrationsGiveTheSameSchemaOnBothVersions: every migration applies on
// ClickHouse 26 (twice: idempotent) and leaves the tables, engines and
// column types 18.16 has.
func TestMigrationsGiveTheSameSchemaOnBothVersions(t *testing.T) {
	p := newPair(t)
	version := p.same(t, "timezone", "SELECT timezone()")
	if len(version.Rows) != 1 {
		t.Fatalf("timezone(): %v", version.Rows)
	}
	tables := p.same(t, "tables", "SELECT name, engine FROM system.tables WHERE database = currentDatabase() ORDER BY name")
	if len(tables.Rows) < 12 {
		t.Errorf("only %d tables after the migrations: %v", len(tables.Rows), tables.Rows)
	}
	p.same(t, "columns", "SELECT table, name, type, default_kind FROM system.columns WHERE database = currentDatabase() ORDER BY table, name")
	p.same(t, "migrations recorded", "SELECT version, name FROM schema_migrations FINAL ORDER BY version")
	modern, err := p.modern.Query("SELECT version()")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("modern ClickHouse: %v", modern.Rows)
}

// TestAComparisonSeesARowOnlyOneVersionHas: the comparison is of the data,
// not of the SQL: a row written to 26 alone is a difference.
func TestAComparisonSeesARowOnlyOneVersionHas(t *testing.T) {
	p := newPair(t)
	if err := p.modern.Exec(store.InsertStatements()["sessions"] + " SELECT 's1', 'c1', 'web', now(), now(), 1, 1, '/', '/', 1"); err != nil {
		t.Fatal(err)
	}
	old, modern, err := p.query("SELECT count(), sum(touchpoints) FROM sessions")
	if err != nil {
		t.Fatal(err)
	}
	if d := Diff(modern, old); d == "" {
		t.Errorf("no difference between %v on 26 and %v on 18.16", modern.Rows, old.Rows)
	}
}
