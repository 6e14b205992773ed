package loadgen

import (
	"net"
	"os"
	"testing"
	"time"
)

func TestProcCPUGrowsWithWorkDone(t *testing.T) {
	before, err := ProcCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(300 * time.Millisecond)
	x := 0
	for time.Now().Before(deadline) {
		x++
	}
	after, err := ProcCPU(0)
	if err != nil {
		t.Fatal(err)
	}
	if after <= before {
		t.Errorf("cpu time %s after 300 ms of spinning, %s before", after, before)
	}
}

func TestPeakRSSCoversAnAllocationTouched(t *testing.T) {
	if err := ResetPeakRSS(0); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 64<<20)
	for i := range b {
		b[i] = 1
	}
	peak, err := PeakRSS(0)
	if err != nil {
		t.Fatal(err)
	}
	if peak < 64<<20 {
		t.Errorf("peak RSS %d bytes after touching 64 MiB", peak)
	}
	if b[len(b)-1] != 1 {
		t.Fatal("unreachable")
	}
}

func TestPercentilesByNearestRank(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 51 * time.Millisecond}, {0.99, 100 * time.Millisecond}, {0, time.Millisecond}} {
		if got := Percentile(d, c.q); got != c.want {
			t.Errorf("Percentile(%v) = %s, want %s", c.q, got, c.want)
		}
	}
	if d[0] != 100*time.Millisecond {
		t.Error("Percentile sorted its input")
	}
	if Percentile(nil, 0.5) != 0 {
		t.Error("Percentile of nothing is not 0")
	}
}

func TestFailuresKeepTheFirstError(t *testing.T) {
	var f Failures
	if f.Err(3) != nil {
		t.Fatal("no failure reported as an error")
	}
	f.Add(nil)
	f.Add(os.ErrClosed)
	f.Add(os.ErrDeadlineExceeded)
	if err := f.Err(3); err == nil || err.Error() != "2 of 3 requests failed; the first: "+os.ErrClosed.Error() {
		t.Errorf("Err = %v", err)
	}
}

func TestListeningPIDFindsTheListener(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	pid, err := ListeningPID(port)
	if err != nil {
		t.Fatal(err)
	}
	if pid != os.Getpid() {
		t.Errorf("listener on %d held by pid %d, want this test's %d", port, pid, os.Getpid())
	}
	l.Close()
	if _, err := ListeningPID(port); err == nil {
		t.Errorf("port %d closed, still found a listener", port)
	}
}
