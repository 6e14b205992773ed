package bench

import (
	"time"
)

// rateSampler scrapes a counter every 200 ms while a phase runs.
type rateSampler struct {
	quit chan struct{}
	done chan float64
}

const sampleEvery = 200 * time.Millisecond

// startRateSampler samples counter name on url until stop.
func startRateSampler(url, name string, keep func(map[string]string) bool) *rateSampler {
	s := &rateSampler{quit: make(chan struct{}), done: make(chan float64, 1)}
	go func() {
		type sample struct {
			at time.Time
			v  float64
		}
		var samples []sample
		take := func() {
			if v, err := scrape(url, name, keep); err == nil {
				samples = append(samples, sample{time.Now(), v})
			}
		}
		take()
		t := time.NewTicker(sampleEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				take()
				continue
			case <-s.quit:
			}
			break
		}
		take()
		s.done <- counterRate(func(i int) (time.Time, float64) { return samples[i].at, samples[i].v }, len(samples))
	}()
	return s
}

// stop ends sampling and returns the counter's rate per second while it
// grew: from the last sample before it first grew to the first sample at
// its final value.
func (s *rateSampler) stop() float64 {
	close(s.quit)
	return <-s.done
}

// counterRate is the rate of n samples as stop describes; 0 when the
// counter did not grow.
func counterRate(at func(int) (time.Time, float64), n int) float64 {
	if n < 2 {
		return 0
	}
	_, base := at(0)
	_, final := at(n - 1)
	if final <= base {
		return 0
	}
	first, last := -1, -1
	for i := 1; i < n; i++ {
		_, v := at(i)
		if first < 0 && v > base {
			first = i - 1
		}
		if v >= final {
			last = i
			break
		}
	}
	t0, _ := at(first)
	t1, _ := at(last)
	return (final - base) / t1.Sub(t0).Seconds()
}
