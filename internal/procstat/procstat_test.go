package procstat

import (
	"net"
	"os"
	"testing"
	"time"
)

func TestSelfCountsCPUSpent(t *testing.T) {
	before, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	// Busy for at least 200 ms of CPU (20 clock ticks).
	deadline := time.Now().Add(300 * time.Millisecond)
	x := 0
	for time.Now().Before(deadline) {
		x++
	}
	after, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	if spent := after.CPU - before.CPU; spent < 50*time.Millisecond {
		t.Errorf("a 300 ms busy loop counted %s of CPU (x=%d)", spent, x)
	}
	if after.PeakRSS < 1<<20 {
		t.Errorf("peak RSS %d bytes: a Go test binary has more than 1 MB resident", after.PeakRSS)
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

func TestOfAMissingProcessIsAnError(t *testing.T) {
	if _, err := Of(1 << 30); err == nil {
		t.Fatal("no error for a pid that cannot exist")
	}
}
