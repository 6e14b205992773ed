// Command broker runs the embedded Kafka-protocol broker (kfake) as a process
// of its own, on a fixed port and data folder, so that fault-injection tests
// can kill it with SIGKILL and start it again on the same log.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/journeys/journeys/internal/broker"
)

func main() {
	port := flag.Int("port", 0, "port to listen on (127.0.0.1); 0 picks a free one")
	dataDir := flag.String("data-dir", "", "folder the log is persisted to (fsync per batch); empty keeps it in memory")
	partitions := flag.Int("partitions", 3, "partitions per topic")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b, err := broker.Start(broker.Config{Port: *port, DataDir: *dataDir, Partitions: int32(*partitions)})
	if err != nil {
		fmt.Fprintln(os.Stderr, "broker:", err)
		os.Exit(1)
	}
	fmt.Println("broker listening on", b.Addrs()[0])
	<-ctx.Done()
	b.Close()
}
