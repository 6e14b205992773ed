package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Config of the ClickHouse connection.
type Config struct {
	// Addr is host:port of the native protocol.
	Addr     string
	Database string
	Username string
	Password string
	// DialTimeout bounds connecting; default 5s.
	DialTimeout time.Duration
	// ReadTimeout bounds one query or insert; default 60s.
	ReadTimeout time.Duration
}

// DefaultDatabase is the database Journeys writes to unless told otherwise.
const DefaultDatabase = "journeys"

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (c *Config) setDefaults() {
	if c.Database == "" {
		c.Database = DefaultDatabase
	}
	if c.Username == "" {
		c.Username = "default"
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = 5 * time.Second
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = 60 * time.Second
	}
}

// Validate reports what is wrong with the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.Addr == "" {
		errs = append(errs, errors.New("clickhouse address is empty (want host:port of the native protocol, e.g. 127.0.0.1:9000)"))
	}
	if c.Database != "" && !identRE.MatchString(c.Database) {
		errs = append(errs, fmt.Errorf("clickhouse database %q: want letters, digits and underscores", c.Database))
	}
	return errors.Join(errs...)
}

// Store is a connection to the Journeys database.
type Store struct {
	conn driver.Conn
	cfg  Config
}

// Open connects to the configured database, which must exist (see Migrate).
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	conn, err := dial(ctx, cfg, cfg.Database)
	if err != nil {
		return nil, err
	}
	return &Store{conn: conn, cfg: cfg}, nil
}

func dial(ctx context.Context, cfg Config, database string) (driver.Conn, error) {
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:        []string{cfg.Addr},
		Auth:        clickhouse.Auth{Database: database, Username: cfg.Username, Password: cfg.Password},
		DialTimeout: cfg.DialTimeout,
		ReadTimeout: cfg.ReadTimeout,
		// Recovery queries name thousands of customers and journeys as
		// literals; the default 256 KiB would refuse them.
		Settings:     clickhouse.Settings{"max_query_size": 64 << 20},
		MaxOpenConns: 8,
		MaxIdleConns: 4,
	})
	if err != nil {
		return nil, fmt.Errorf("open clickhouse %s/%s: %w", cfg.Addr, database, err)
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("ping clickhouse %s/%s: %w", cfg.Addr, database, err)
	}
	return conn, nil
}

// Conn exposes the driver connection for queries outside the data model's
// writers (reports, dashboard tests).
func (s *Store) Conn() driver.Conn { return s.conn }

// Database is the database the store writes to.
func (s *Store) Database() string { return s.cfg.Database }

// Close closes the connection.
func (s *Store) Close() error { return s.conn.Close() }
