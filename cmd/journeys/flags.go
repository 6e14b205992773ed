package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/journeys/journeys/store"
)

// env returns $name, or def when it is unset: flags take their defaults
// from the environment so that compose files can configure the binary.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// clickhouseFlags registers the ClickHouse connection flags.
func clickhouseFlags(fs *flag.FlagSet, addrDefault string) *store.Config {
	c := &store.Config{}
	fs.StringVar(&c.Addr, "clickhouse", env("JOURNEYS_CLICKHOUSE", addrDefault), "ClickHouse native protocol host:port (env JOURNEYS_CLICKHOUSE)")
	fs.StringVar(&c.Database, "database", env("JOURNEYS_DATABASE", store.DefaultDatabase), "ClickHouse database (env JOURNEYS_DATABASE)")
	fs.StringVar(&c.Username, "clickhouse-user", env("JOURNEYS_CLICKHOUSE_USER", "default"), "ClickHouse user (env JOURNEYS_CLICKHOUSE_USER)")
	fs.StringVar(&c.Password, "clickhouse-password", env("JOURNEYS_CLICKHOUSE_PASSWORD", ""), "ClickHouse password (env JOURNEYS_CLICKHOUSE_PASSWORD)")
	return c
}

func kafkaFlag(fs *flag.FlagSet) *string {
	return fs.String("kafka", env("JOURNEYS_KAFKA", "127.0.0.1:9092"), "comma-separated Kafka bootstrap brokers (env JOURNEYS_KAFKA)")
}

func writeKeysFlag(fs *flag.FlagSet, def string) *string {
	return fs.String("write-keys", env("JOURNEYS_WRITE_KEYS", def), "comma-separated write keys senders authenticate with (env JOURNEYS_WRITE_KEYS)")
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	return nil
}
