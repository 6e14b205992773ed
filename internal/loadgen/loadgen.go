// Package loadgen holds what load drivers share: the count of failed
// requests with the first error kept, latency percentiles, and the CPU
// time and peak memory of a process read from /proc. The ingest
// benchmarks and `journeys bench` drive their targets with it.
package loadgen

import (
	"fmt"
	"slices"
	"sync/atomic"
	"time"
)

// Failures counts failed requests and keeps the first error. Safe for
// concurrent use.
type Failures struct {
	n     atomic.Int64
	first atomic.Pointer[error]
}

// Add counts err when it is not nil.
func (f *Failures) Add(err error) {
	if err != nil {
		f.n.Add(1)
		f.first.CompareAndSwap(nil, &err)
	}
}

// Err is nil when nothing failed, else an error naming how many of the
// given number of requests failed and the first failure.
func (f *Failures) Err(of int) error {
	if n := f.n.Load(); n > 0 {
		return fmt.Errorf("%d of %d requests failed; the first: %w", n, of, *f.first.Load())
	}
	return nil
}

// Percentile is the q-quantile (0..1) of d, nearest rank; 0 when d is
// empty. d is not modified.
func Percentile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// Ms is d in milliseconds.
func Ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
