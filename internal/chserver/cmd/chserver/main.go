// Command chserver runs one throwaway ClickHouse for a test run: `make test`
// starts it, points every test at it through $JOURNEYS_TEST_CLICKHOUSE, and
// stops it with SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/journeys/journeys/internal/chserver"
)

func main() {
	dir := flag.String("dir", "", "folder for the server's config, data and logs")
	addrFile := flag.String("addr-file", "", "file to write host:port of the native protocol to once it listens")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := chserver.Start(ctx, chserver.Config{Dir: *dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, "chserver:", err)
		os.Exit(1)
	}
	if *addrFile != "" {
		if err := os.WriteFile(*addrFile, []byte(srv.Addr()), 0o644); err != nil {
			srv.Stop()
			fmt.Fprintln(os.Stderr, "chserver:", err)
			os.Exit(1)
		}
	}
	fmt.Println("clickhouse listening on", srv.Addr())
	<-ctx.Done()
	srv.Stop()
}
