// Package process ends child processes in order: a polite SIGTERM first,
// SIGKILL when the grace period passes. The throwaway ClickHouse and the
// bench's components stop through it.
package process

import (
	"os"
	"syscall"
	"time"
)

// Terminate sends p SIGTERM and waits for done (closed once p has been
// waited for) up to grace, then kills p and waits for done. It returns at
// once when done is already closed.
func Terminate(p *os.Process, done <-chan struct{}, grace time.Duration) {
	select {
	case <-done:
		return
	default:
	}
	_ = p.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(grace):
		_ = p.Kill()
		<-done
	}
}
