package ingest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/journeys/journeys/internal/broker"
)

// clientsChildEnv makes the test binary drive BenchmarkIngestLatency's
// load (peak, then half of it at a fixed rate) against the server its
// value names ("URL batch clients") and print what it measured as JSON,
// so that the clients' HTTP work and garbage are not in ingest's process.
const clientsChildEnv = "JOURNEYS_INGEST_BENCH_CLIENTS"

// brokerChildEnv makes the test binary serve the benchmarks' broker instead
// of running tests: BenchmarkIngestLatency starts it as a process of its
// own, as Kafka is in production, so that the broker's log (kfake keeps it
// in its heap) and its work are not in ingest's heap and garbage collector.
const brokerChildEnv = "JOURNEYS_INGEST_BENCH_BROKER"

func TestMain(m *testing.M) {
	if os.Getenv(brokerChildEnv) != "" {
		os.Exit(serveBenchBroker())
	}
	if spec := os.Getenv(clientsChildEnv); spec != "" {
		os.Exit(driveBenchClients(spec))
	}
	os.Exit(m.Run())
}

// serveBenchBroker prints the broker's addresses on one line and serves
// until its standard input closes (the benchmark ended or died).
func serveBenchBroker() int {
	br, err := broker.Start(broker.Config{RetentionBytes: benchRetentionBytes})
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench broker:", err)
		return 1
	}
	defer br.Close()
	fmt.Println(strings.Join(br.Addrs(), ","))
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// startBrokerProcess runs the benchmarks' broker in a child process and
// returns its addresses.
func startBrokerProcess(b *testing.B) []string {
	b.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), brokerChildEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatalf("start broker process: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	b.Cleanup(func() {
		stdin.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("broker process gave no address: %v", err)
	}
	return strings.Split(strings.TrimSpace(line), ",")
}

// driveBenchClients is the clients' process: it measures as benchLatency
// does (measureLatency) and prints the report, or fails with the first
// failed request.
func driveBenchClients(spec string) int {
	var url string
	var batch, clients int
	if _, err := fmt.Sscan(spec, &url, &batch, &clients); err != nil {
		fmt.Fprintf(os.Stderr, "bench clients: %s=%q: %v\n", clientsChildEnv, spec, err)
		return 2
	}
	r, err := newBenchClient(url, batch).measureLatency(clients)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench clients:", err)
		return 1
	}
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		fmt.Fprintln(os.Stderr, "bench clients:", err)
		return 1
	}
	return 0
}

// runBenchClients runs the clients' process against the server at url and
// returns what it measured.
func runBenchClients(b *testing.B, url string, batch, clients int) latencyReport {
	b.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d %d", clientsChildEnv, url, batch, clients))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("clients process: %v", err)
	}
	var r latencyReport
	if err := json.Unmarshal(out, &r); err != nil {
		b.Fatalf("clients process printed %q: %v", out, err)
	}
	return r
}
