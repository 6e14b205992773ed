package simulate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrUnauthorized is returned when the API refuses the write key (401/403).
var ErrUnauthorized = errors.New("write key refused")

// ErrRetriesExhausted is returned when a batch still failed with a retryable
// answer after Config.MaxAttempts attempts.
var ErrRetriesExhausted = errors.New("retries exhausted")

// RejectedError is the API refusing a batch as malformed (400, 413 or any
// other 4xx but 401, 403 and 429). It is a bug in the simulator, never
// retried.
type RejectedError struct {
	StatusCode int
	Message    string // the API's answer (JSON error), trimmed to 2 KB
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("batch rejected with %d %s: %s", e.StatusCode, http.StatusText(e.StatusCode), e.Message)
}

// Stats counts what Send did.
type Stats struct {
	// Sent is the number of events put on the wire at least once.
	Sent int
	// Batches is the number of distinct batches put on the wire.
	Batches int
	// Retries is the number of attempts after a batch's first.
	Retries int
	// Acknowledged is the number of events in batches answered with 2xx.
	Acknowledged int
}

// batchBody is the body of POST /v1/batch.
type batchBody struct {
	Batch  []Event   `json:"batch"`
	SentAt time.Time `json:"sentAt"`
}

// Send posts all events of ds to {url}/v1/batch in batches of cfg.BatchSize
// with cfg.Concurrency workers. Customers are sharded over the workers: each
// worker owns a disjoint set of customers and sends their events in time
// order, one batch at a time, so a customer's events reach the API in order
// whatever the concurrency.
//
// Each attempt carries sentAt = time.Now(). 429, 5xx and network errors are
// retried with the same batch (same message ids), honouring Retry-After,
// else with jittered exponential backoff, up to cfg.MaxAttempts attempts.
// 401/403 return ErrUnauthorized; other 4xx return *RejectedError. The first
// error stops all workers; Send returns it with the stats so far. A nil
// client means http.DefaultClient.
func Send(ctx context.Context, client *http.Client, url, writeKey string, ds *Dataset, cfg Config) (Stats, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validateSend(); err != nil {
		return Stats{}, err
	}
	if client == nil {
		client = http.DefaultClient
	}
	s := &sender{
		client:   client,
		endpoint: strings.TrimRight(url, "/") + "/v1/batch",
		writeKey: writeKey,
		cfg:      cfg,
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	workers := min(cfg.Concurrency, max(len(ds.Customers), 1))
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for w := range workers {
		wg.Go(func() {
			if err := s.work(ctx, ds.Customers, w, workers); err != nil {
				errOnce.Do(func() { firstErr = err })
				cancel(err)
			}
		})
	}
	wg.Wait()
	st := Stats{
		Sent:         int(s.sent.Load()),
		Batches:      int(s.batches.Load()),
		Retries:      int(s.retries.Load()),
		Acknowledged: int(s.acked.Load()),
	}
	return st, firstErr
}

type sender struct {
	client   *http.Client
	endpoint string
	writeKey string
	cfg      Config

	sent, batches, retries, acked atomic.Int64
}

// work sends the events of customers w, w+n, w+2n, … in order.
func (s *sender) work(ctx context.Context, customers []Customer, w, n int) error {
	batch := make([]Event, 0, s.cfg.BatchSize)
	for i := w; i < len(customers); i += n {
		for _, e := range customers[i].Events {
			batch = append(batch, e)
			if len(batch) == s.cfg.BatchSize {
				if err := s.sendBatch(ctx, batch); err != nil {
					return err
				}
				batch = batch[:0]
			}
		}
	}
	if len(batch) > 0 {
		return s.sendBatch(ctx, batch)
	}
	return nil
}

// sendBatch posts one batch until it is acknowledged, refused, or out of
// attempts.
func (s *sender) sendBatch(ctx context.Context, batch []Event) error {
	s.batches.Add(1)
	s.sent.Add(int64(len(batch)))
	var last error
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			s.retries.Add(1)
		}
		retryAfter, err := s.post(ctx, batch)
		if err == nil {
			s.acked.Add(int64(len(batch)))
			return nil
		}
		if !isRetryable(err) || ctx.Err() != nil {
			return fmt.Errorf("send batch of %d events (first %s): %w", len(batch), batch[0].MessageID, err)
		}
		last = err
		if attempt >= s.cfg.MaxAttempts {
			return fmt.Errorf("send batch of %d events (first %s): %w after %d attempts: %w",
				len(batch), batch[0].MessageID, ErrRetriesExhausted, attempt, last)
		}
		wait := s.backoff(attempt)
		if retryAfter > 0 {
			wait = min(retryAfter, s.cfg.MaxBackoff)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("send batch of %d events: %w", len(batch), context.Cause(ctx))
		case <-t.C:
		}
	}
}

// retryableError is a 429/5xx answer or a network error.
type retryableError struct{ err error }

func (e *retryableError) Error() string { return e.err.Error() }
func (e *retryableError) Unwrap() error { return e.err }

func isRetryable(err error) bool {
	var r *retryableError
	return errors.As(err, &r)
}

// post makes one attempt. It returns the server's Retry-After, if any, with
// a retryable error.
func (s *sender) post(ctx context.Context, batch []Event) (time.Duration, error) {
	body, err := json.Marshal(batchBody{Batch: batch, SentAt: time.Now().UTC()})
	if err != nil {
		return 0, fmt.Errorf("encode batch: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	req.SetBasicAuth(s.writeKey, "")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "journeys-simulate/1")
	resp, err := s.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, err
		}
		return 0, &retryableError{fmt.Errorf("post: %w", err)}
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // keep the connection reusable
		resp.Body.Close()
	}()
	msg := readMessage(resp.Body)
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return 0, nil
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return 0, fmt.Errorf("%w: %d: %s", ErrUnauthorized, code, msg)
	case code == http.StatusTooManyRequests || code >= 500:
		return parseRetryAfter(resp.Header.Get("Retry-After")),
			&retryableError{fmt.Errorf("%d %s: %s", code, http.StatusText(code), msg)}
	default:
		return 0, &RejectedError{StatusCode: code, Message: msg}
	}
}

// readMessage returns the answer's body, trimmed to 2 KB: ingest's JSON
// error names the reason and every refused event by index and messageId.
func readMessage(r io.Reader) string {
	const max = 2 << 10
	raw, _ := io.ReadAll(io.LimitReader(r, max))
	return strings.TrimSpace(string(raw))
}

// parseRetryAfter reads delay-seconds or an HTTP date; 0 means none.
func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		return max(time.Duration(secs)*time.Second, 0)
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// backoff is exponential from MinBackoff, capped at MaxBackoff, with
// "equal jitter": half fixed, half random, so workers spread out.
func (s *sender) backoff(attempt int) time.Duration {
	d := s.cfg.MinBackoff
	for i := 1; i < attempt && d < s.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, s.cfg.MaxBackoff)
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2)
}
