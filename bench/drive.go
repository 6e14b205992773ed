package bench

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/journeys/journeys/internal/loadgen"
)

// writeKey is the key the bench's ingest accepts.
const writeKey = "bench"

// client posts prebuilt bodies and requires a 200.
type client struct {
	http *http.Client
	auth bool // send the write key
}

func newClient(conns int, auth bool) *client {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}
	return &client{http: &http.Client{Transport: tr, Timeout: time.Minute}, auth: auth}
}

func (c *client) post(url string, body []byte) error {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.auth {
		req.SetBasicAuth(writeKey, "")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", url, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: status %d: %.300s", url, resp.StatusCode, msg)
	}
	return nil
}

func (c *client) close() { c.http.CloseIdleConnections() }

// mark is an acknowledged event whose row the bench waits for.
type mark struct {
	id    string
	acked time.Time
}

// markEvery: the first event of every markEvery-th request is marked.
const markEvery = 10

// sendResult is what a pipeline phase's senders saw.
type sendResult struct {
	latencies []time.Duration
	events    int
	start     time.Time
	lastAck   time.Time
}

// sendStreams sends every sender's requests in order, each sender on its
// own goroutine. With interval > 0 a sender's i-th request is due at
// start + offset + i·interval and its latency counts from then (so a stall
// counts against every request it delays); with interval 0 requests go
// back to back and latency counts from each request's start. Marked events
// go to marks as they are acknowledged. The first failure stops nothing
// but is returned.
func sendStreams(c *client, url string, streams [][]request, interval time.Duration, marks chan<- mark) (sendResult, error) {
	var (
		failed loadgen.Failures
		mu     sync.Mutex
		res    = sendResult{start: time.Now()}
		seq    atomic.Int64
		wg     sync.WaitGroup
		total  int
	)
	for s, stream := range streams {
		total += len(stream)
		offset := time.Duration(0)
		if len(streams) > 0 {
			offset = interval * time.Duration(s) / time.Duration(len(streams))
		}
		wg.Go(func() {
			lat := make([]time.Duration, 0, len(stream))
			events := 0
			for i, r := range stream {
				due := time.Now()
				if interval > 0 {
					due = res.start.Add(offset + time.Duration(i)*interval)
					time.Sleep(time.Until(due))
				}
				err := c.post(url, r.body)
				failed.Add(err)
				now := time.Now()
				lat = append(lat, now.Sub(due))
				if err != nil {
					continue
				}
				events += r.events
				if seq.Add(1)%markEvery == 1 && marks != nil {
					marks <- mark{id: r.first, acked: now}
				}
			}
			mu.Lock()
			res.latencies = append(res.latencies, lat...)
			res.events += events
			if t := time.Now(); t.After(res.lastAck) {
				res.lastAck = t
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	return res, failed.Err(total)
}

// closedLoop keeps conns connections sending bodies (round robin) back to
// back for d, and returns the latency of each request and the events sent.
func closedLoop(c *client, url string, bodies [][]byte, eventsPerBody, conns int, d time.Duration) (lat []time.Duration, events int, elapsed time.Duration, err error) {
	var (
		failed loadgen.Failures
		mu     sync.Mutex
		next   atomic.Int64
		wg     sync.WaitGroup
		n      atomic.Int64
	)
	start := time.Now()
	deadline := start.Add(d)
	for range conns {
		wg.Go(func() {
			var mine []time.Duration
			for time.Now().Before(deadline) {
				b := bodies[int(next.Add(1))%len(bodies)]
				t := time.Now()
				err := c.post(url, b)
				failed.Add(err)
				n.Add(1)
				if err == nil {
					mine = append(mine, time.Since(t))
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed = time.Since(start)
	return lat, len(lat) * eventsPerBody, elapsed, failed.Err(int(n.Load()))
}
