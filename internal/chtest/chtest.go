// Package chtest gives tests a real ClickHouse: the server named by
// $JOURNEYS_TEST_CLICKHOUSE (host:port, as `make test` starts one), or else a
// throwaway server started once per test binary from Debian's
// clickhouse-server. It never skips: a test that needs ClickHouse and cannot
// get one fails, with the reason.
package chtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/journeys/journeys/internal/chserver"
	"github.com/journeys/journeys/store"
)

// EnvAddr names the variable that points tests at a running ClickHouse.
const EnvAddr = "JOURNEYS_TEST_CLICKHOUSE"

var (
	once    sync.Once
	addr    string
	startEr error
	server  *chserver.Server
	tmpDir  string
)

// Main runs a package's tests, then the package's own cleanups, and stops
// the throwaway server. Call it from TestMain.
func Main(m *testing.M, cleanups ...func()) {
	code := m.Run()
	for _, c := range cleanups {
		c()
	}
	if server != nil {
		server.Stop()
	}
	if tmpDir != "" {
		os.RemoveAll(tmpDir)
	}
	os.Exit(code)
}

// Addr returns the host:port of the native protocol of a running ClickHouse.
func Addr(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		if a := os.Getenv(EnvAddr); a != "" {
			addr = a
			return
		}
		tmpDir, startEr = os.MkdirTemp("", "journeys-clickhouse-")
		if startEr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		server, startEr = chserver.Start(ctx, chserver.Config{Dir: tmpDir})
		if startEr == nil {
			addr = server.Addr()
		}
	})
	if startEr != nil {
		t.Fatalf("integration tests need ClickHouse: set %s or install clickhouse-server: %v", EnvAddr, startEr)
	}
	return addr
}

// Server returns the throwaway server this binary started, or nil when the
// tests run against $JOURNEYS_TEST_CLICKHOUSE. Fault-injection tests need it.
func Server(t testing.TB) *chserver.Server {
	Addr(t)
	return server
}

// NewDatabase creates a fresh, migrated database with a unique name and
// returns the store configuration for it. The database is dropped when the
// test ends.
func NewDatabase(t testing.TB) store.Config {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	cfg := store.Config{Addr: Addr(t), Database: "test_" + hex.EncodeToString(b[:])}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := store.Migrate(ctx, cfg); err != nil {
		t.Fatalf("migrate test database: %v", err)
	}
	t.Cleanup(func() {
		s, err := store.Open(context.Background(), store.Config{Addr: cfg.Addr, Database: "default"})
		if err != nil {
			return
		}
		defer s.Close()
		_ = s.Conn().Exec(context.Background(), fmt.Sprintf("DROP DATABASE IF EXISTS %s", cfg.Database))
	})
	return cfg
}

// Open opens a store on a fresh database; closed when the test ends.
func Open(t testing.TB) *store.Store {
	t.Helper()
	cfg := NewDatabase(t)
	s, err := store.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
