package store

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/journeys/journeys/schemas"
)

// MigrationReadTimeout is the least time Migrate waits for one statement.
const MigrationReadTimeout = time.Hour

// Migrate creates the database if missing and applies every embedded
// migration that it has not applied yet, in version order. It is safe to run
// again, and on every start: migrations are forward-only and each statement
// is idempotent.
func Migrate(ctx context.Context, cfg Config) ([]schemas.Migration, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// A migration may backfill a new table or column from whole tables
	// (0007, 0009-0011): minutes at tens of millions of rows, during which
	// ClickHouse sends nothing back. ctx still bounds the whole run.
	cfg.ReadTimeout = max(cfg.ReadTimeout, MigrationReadTimeout)
	admin, err := dial(ctx, cfg, "default")
	if err != nil {
		return nil, err
	}
	err = admin.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+cfg.Database)
	admin.Close()
	if err != nil {
		return nil, fmt.Errorf("create database %s: %w", cfg.Database, err)
	}
	conn, err := dial(ctx, cfg, cfg.Database)
	if err != nil {
		return nil, err
	}
	defer conn.Close()

	if err := conn.Exec(ctx, MigrationsTableDDL); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	applied := map[uint32]bool{}
	rows, err := conn.Query(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan schema_migrations: %w", err)
		}
		applied[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}

	migrations, err := schemas.Migrations()
	if err != nil {
		return nil, err
	}
	var done []schemas.Migration
	for _, m := range migrations {
		if applied[m.Version] {
			continue
		}
		for i, stmt := range m.Statements {
			exists, err := columnExists(ctx, conn, cfg.Database, stmt)
			if err != nil {
				return done, fmt.Errorf("migration %04d_%s statement %d: %w", m.Version, m.Name, i+1, err)
			}
			if exists {
				continue
			}
			if err := conn.Exec(ctx, stmt); err != nil {
				return done, fmt.Errorf("migration %04d_%s statement %d: %w", m.Version, m.Name, i+1, err)
			}
		}
		if err := recordMigration(ctx, conn, m); err != nil {
			return done, fmt.Errorf("record migration %04d_%s: %w", m.Version, m.Name, err)
		}
		done = append(done, m)
	}
	return done, nil
}

// MigrationsTableDDL creates the table that records applied migrations.
const MigrationsTableDDL = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    UInt32,
    name       String,
    applied_at DateTime
) ENGINE = ReplacingMergeTree() ORDER BY version`

var addColumnRE = regexp.MustCompile(`(?is)^\s*ALTER\s+TABLE\s+(\w+)\s+ADD\s+COLUMN\s+(\w+)\s`)

// AddsColumn reports the table and column a migration statement adds, if it
// is an ADD COLUMN: ClickHouse 18.16 has no ADD COLUMN IF NOT EXISTS, so the
// runner skips one whose column is there already.
func AddsColumn(stmt string) (table, column string, ok bool) {
	m := addColumnRE.FindStringSubmatch(stmt)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// columnExists reports whether stmt adds a column that is there already.
func columnExists(ctx context.Context, conn driver.Conn, database, stmt string) (bool, error) {
	table, column, ok := AddsColumn(stmt)
	if !ok {
		return false, nil
	}
	var n uint64
	err := conn.QueryRow(ctx, "SELECT count() FROM system.columns WHERE database = ? AND table = ? AND name = ?", database, table, column).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look up column %s.%s: %w", table, column, err)
	}
	return n > 0, nil
}

// recordMigration inserts through a batch: an INSERT … VALUES sent with Exec
// hangs against ClickHouse 18.16.
func recordMigration(ctx context.Context, conn driver.Conn, m schemas.Migration) error {
	b, err := conn.PrepareBatch(ctx, "INSERT INTO schema_migrations (version, name, applied_at)")
	if err != nil {
		return err
	}
	if err := b.Append(m.Version, m.Name, time.Now()); err != nil {
		b.Abort()
		return err
	}
	return b.Send()
}
