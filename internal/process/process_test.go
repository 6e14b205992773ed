package process

import (
	"os/exec"
	"testing"
	"time"
)

func TestTerminate(t *testing.T) {
	for _, c := range []struct {
		name    string
		script  string
		grace   time.Duration
		atLeast time.Duration
		atMost  time.Duration
	}{
		{"a process that honours SIGTERM ends before the grace period", "exec sleep 30", 10 * time.Second, 0, 5 * time.Second},
		{"a process that ignores SIGTERM is killed after the grace period", "trap '' TERM; while :; do sleep 0.05; done", 300 * time.Millisecond, 300 * time.Millisecond, 5 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command("sh", "-c", c.script)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			time.Sleep(100 * time.Millisecond) // let the shell set its trap
			start := time.Now()
			Terminate(cmd.Process, done, c.grace)
			select {
			case <-done:
			default:
				t.Fatal("Terminate returned before the process ended")
			}
			if d := time.Since(start); d < c.atLeast || d > c.atMost {
				t.Errorf("ended after %s, want between %s and %s", d, c.atLeast, c.atMost)
			}
			Terminate(cmd.Process, done, c.grace) // an ended process: returns at once
		})
	}
}
