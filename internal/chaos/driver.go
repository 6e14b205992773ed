package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/journeys/journeys/simulate"
)

// Driver sends traffic to POST {URL}/v1/batch and records what came of each
// event. A batch is retried with the same messageIds on any answer but 200
// and on network errors (ingest down, broker down) until Deadline; so an
// acknowledged event is one a 200 answered, whatever came before.
type Driver struct {
	URL      string
	WriteKey string
	// BatchSize is the events per request; default 50.
	BatchSize int
	// Concurrency is the number of senders; each owns a disjoint set of
	// customers and sends their events in order, one batch at a time.
	// Default 4.
	Concurrency int
	// SendTwice posts every batch a second time once it was acknowledged,
	// as a client that retries without need.
	SendTwice bool
	// ClockSkew, when set, gives each sender's clock an offset: its events'
	// timestamps and the batch's sentAt are both moved by it, as a device
	// whose clock is wrong would send them. Ingest must correct it.
	ClockSkew func(sender int) time.Duration
	// MalformedEvery, when positive, adds after every n-th event one that
	// fails validation (a purchase whose revenue is a string), which
	// ingest must reject and never store.
	MalformedEvery int
	// Pause, when set, is how long each sender waits after every batch,
	// so that the traffic spans faults injected over time (rebalances).
	Pause time.Duration
	// Deadline bounds the retries of one batch; default 2 minutes.
	Deadline time.Duration
	// Client defaults to one with a 10 s timeout.
	Client *http.Client

	acked, failed atomic.Int64
}

// Acknowledged is how many events a 200 acknowledged so far, for tests
// that inject a fault part way through the traffic.
func (d *Driver) Acknowledged() int { return int(d.acked.Load()) }

// Failed is how many requests failed (and were retried) so far, for tests
// that wait for a fault to reach the senders.
func (d *Driver) Failed() int { return int(d.failed.Load()) }

// Ledger is what the senders know: every messageId put on the wire, those a
// 200 acknowledged, and those ingest's answer listed as rejected.
type Ledger struct {
	mu       sync.Mutex
	Sent     map[string]bool
	Acked    map[string]bool
	Rejected map[string]bool
	// Attempts counts requests; Failures those answered with anything but
	// 200 or not answered at all.
	Attempts, Failures int
}

func newLedger() *Ledger {
	return &Ledger{Sent: map[string]bool{}, Acked: map[string]bool{}, Rejected: map[string]bool{}}
}

// batchAnswer is the part of ingest's 200 answer the ledger needs.
type batchAnswer struct {
	Rejected []struct {
		MessageID string `json:"messageId"`
	} `json:"rejected"`
}

// Send sends the customers' events, each customer's in order, and returns
// the ledger. It fails only when a batch could not be acknowledged within
// the Deadline or ctx ended.
func (d *Driver) Send(ctx context.Context, customers []simulate.Customer) (*Ledger, error) {
	d.defaults()
	l := newLedger()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for w := range d.Concurrency {
		wg.Go(func() {
			if err := d.work(ctx, l, customers, w); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	return l, context.Cause(ctx)
}

func (d *Driver) defaults() {
	if d.BatchSize == 0 {
		d.BatchSize = 50
	}
	if d.Concurrency == 0 {
		d.Concurrency = 4
	}
	if d.Deadline == 0 {
		d.Deadline = 2 * time.Minute
	}
	if d.Client == nil {
		d.Client = &http.Client{Timeout: 10 * time.Second}
	}
}

// work sends the events of customers w, w+n, w+2n, ….
func (d *Driver) work(ctx context.Context, l *Ledger, customers []simulate.Customer, w int) error {
	var skew time.Duration
	if d.ClockSkew != nil {
		skew = d.ClockSkew(w)
	}
	var batch []any
	n := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		defer func() { batch = batch[:0] }()
		for range 1 + boolInt(d.SendTwice) {
			if err := d.post(ctx, l, batch, skew); err != nil {
				return err
			}
		}
		if d.Pause > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d.Pause):
			}
		}
		return nil
	}
	for i := w; i < len(customers); i += d.Concurrency {
		for _, e := range customers[i].Events {
			e.Timestamp = e.Timestamp.Add(skew)
			batch = append(batch, e)
			n++
			if d.MalformedEvery > 0 && n%d.MalformedEvery == 0 {
				batch = append(batch, malformed(e))
			}
			if len(batch) >= d.BatchSize {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

// malformed is a purchase of e's customer that fails validation.
func malformed(e simulate.Event) map[string]any {
	return map[string]any{
		"messageId": "malformed-" + e.MessageID, "type": "track", "event": "purchase",
		"userId": e.UserID, "anonymousId": e.AnonymousID, "timestamp": e.Timestamp,
		"properties": map[string]any{"order_id": "o-" + e.MessageID, "revenue": "forty", "currency": "EUR"},
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// post sends one batch until a 200 answers it.
func (d *Driver) post(ctx context.Context, l *Ledger, batch []any, skew time.Duration) error {
	ids := make([]string, len(batch))
	for i, e := range batch {
		switch e := e.(type) {
		case simulate.Event:
			ids[i] = e.MessageID
		case map[string]any:
			ids[i] = e["messageId"].(string)
		}
	}
	l.mu.Lock()
	for _, id := range ids {
		l.Sent[id] = true
	}
	l.mu.Unlock()
	deadline := time.Now().Add(d.Deadline)
	backoff := 50 * time.Millisecond
	for {
		body := map[string]any{"batch": batch}
		if d.ClockSkew != nil {
			body["sentAt"] = time.Now().Add(skew)
		}
		ans, err := d.request(ctx, body)
		l.mu.Lock()
		l.Attempts++
		if err == nil {
			rejected := map[string]bool{}
			for _, r := range ans.Rejected {
				rejected[r.MessageID] = true
				l.Rejected[r.MessageID] = true
			}
			for _, id := range ids {
				if !rejected[id] {
					l.Acked[id] = true
				}
			}
			d.acked.Add(int64(len(ids) - len(rejected)))
			l.mu.Unlock()
			return nil
		}
		l.Failures++
		l.mu.Unlock()
		d.failed.Add(1)
		if errors.As(err, new(refusedError)) {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("batch of %d events (first %s) not acknowledged within %s: %w", len(ids), ids[0], d.Deadline, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, time.Second)
	}
}

// refusedError is a 4xx other than 429: the driver sent something wrong,
// and retrying will not help.
type refusedError string

func (e refusedError) Error() string { return string(e) }

// request posts one body and decodes a 200 answer; any other outcome is an
// error to retry on.
func (d *Driver) request(ctx context.Context, body any) (batchAnswer, error) {
	var ans batchAnswer
	b, err := json.Marshal(body)
	if err != nil {
		return ans, fmt.Errorf("encode batch: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL+"/v1/batch", bytes.NewReader(b))
	if err != nil {
		return ans, err
	}
	req.SetBasicAuth(d.WriteKey, "")
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.Client.Do(req)
	if err != nil {
		return ans, err
	}
	defer resp.Body.Close()
	payload, err := io.ReadAll(resp.Body)
	if err != nil {
		return ans, fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
		return ans, refusedError(fmt.Sprintf("POST /v1/batch = %d: %.200s", resp.StatusCode, payload))
	}
	if resp.StatusCode != http.StatusOK {
		return ans, fmt.Errorf("POST /v1/batch = %d: %.200s", resp.StatusCode, payload)
	}
	if err := json.Unmarshal(payload, &ans); err != nil {
		return ans, fmt.Errorf("decode answer %.200q: %w", payload, err)
	}
	return ans, nil
}
