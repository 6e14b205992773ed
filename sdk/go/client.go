// Package journeys is the Go client of the Journeys tracking API, for
// back-office systems: call-center exports, order systems, email and chat
// platforms. Events are queued in memory, sent in batches by a background
// goroutine, and retried with jittered backoff while ingest answers 429 or
// 5xx or cannot be reached. Events ingest refuses for good (other 4xx) and
// events the client gives up on are handed to Config.OnFailure; none is
// dropped silently.
//
// Delivery is at least once: every event carries a messageId that stays
// the same across retries, and the pipeline drops the copies.
package journeys

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
	"time"

	"github.com/google/uuid"
)

// Defaults of Config, used where a field is zero.
const (
	DefaultPath          = "/v1/batch"
	DefaultBatchSize     = 250
	DefaultBatchBytes    = 450 << 10 // under ingest's 500 KB per request
	DefaultFlushInterval = 5 * time.Second
	DefaultMaxQueue      = 10000
	DefaultMaxAttempts   = 10
	DefaultRetryMin      = 100 * time.Millisecond
	DefaultRetryMax      = 30 * time.Second
	DefaultTimeout       = 15 * time.Second
	maxEventBytes        = 32 << 10 // ingest refuses larger events
)

// Errors Enqueue, Flush and Close return, and OnFailure receives.
var (
	ErrQueueFull     = errors.New("journeys: queue full")
	ErrClosed        = errors.New("journeys: client closed")
	ErrInvalidEvent  = errors.New("journeys: invalid event")
	ErrGaveUp        = errors.New("journeys: gave up after retries")
	ErrNoEndpoint    = errors.New("journeys: no endpoint")
	ErrNoWriteKey    = errors.New("journeys: no write key")
	ErrEventTooLarge = errors.New("journeys: event exceeds 32 KB")
)

// StatusError is ingest's answer to a request that was not accepted.
// Retryable says whether the client retried it (429 and 5xx) or not.
type StatusError struct {
	Code int
	Body string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("journeys: ingest answered %d: %s", e.Code, e.Body)
}

// Retryable reports whether the status is worth sending again.
func (e *StatusError) Retryable() bool { return retryable(e.Code) }

func retryable(code int) bool { return code == http.StatusTooManyRequests || code >= 500 }

// Config of a Client. Zero fields take the documented defaults.
type Config struct {
	// Endpoint is ingest's base URL, e.g. https://collect.example.com.
	Endpoint string
	// WriteKey of the source, sent as HTTP Basic user.
	WriteKey string
	// Path of the batch endpoint; default /v1/batch.
	Path string
	// BatchSize is the most events per request; default 250. A full batch
	// is sent at once.
	BatchSize int
	// BatchBytes caps a request's JSON; default 450 KiB.
	BatchBytes int
	// FlushInterval is the longest an event waits for companions; default 5s.
	FlushInterval time.Duration
	// MaxQueue bounds the events held, queued or in flight; default 10000.
	MaxQueue int
	// DropWhenFull makes Enqueue refuse at once when the queue is full
	// rather than wait for room until its context ends.
	DropWhenFull bool
	// MaxAttempts per batch before its events go to OnFailure; default 10.
	MaxAttempts int
	// RetryMin and RetryMax bound the exponential backoff; defaults 100ms
	// and 30s. A Retry-After answer waits at least as long as it asks.
	RetryMin, RetryMax time.Duration
	// HTTPClient sends the requests; default one with a 15s timeout.
	HTTPClient *http.Client
	// OnFailure receives events that will not be delivered, with why:
	// ErrQueueFull, a non-retryable *StatusError, or ErrGaveUp wrapping
	// the last error. It runs on the client's goroutine or Enqueue's;
	// keep it quick.
	OnFailure func(events []Event, err error)
	// Now stamps events that have no Timestamp; default time.Now.
	Now func() time.Time
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.Path == "" {
		c.Path = DefaultPath
	}
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.BatchBytes <= 0 {
		c.BatchBytes = DefaultBatchBytes
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.MaxQueue <= 0 {
		c.MaxQueue = DefaultMaxQueue
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.RetryMin <= 0 {
		c.RetryMin = DefaultRetryMin
	}
	if c.RetryMax <= 0 {
		c.RetryMax = DefaultRetryMax
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: DefaultTimeout}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate reports what makes c unusable.
func (c Config) Validate() error {
	var errs []error
	if c.Endpoint == "" {
		errs = append(errs, ErrNoEndpoint)
	}
	if c.WriteKey == "" {
		errs = append(errs, ErrNoWriteKey)
	}
	return errors.Join(errs...)
}

// Client queues events and sends them in the background. It is safe for
// concurrent use. Close it to send what is queued.
type Client struct {
	cfg Config
	url string

	mu       sync.Mutex
	queue    []Event
	inFlight int           // events taken by the sender, not yet settled
	seq      uint64        // events enqueued so far
	done     uint64        // events settled (sent or failed), in order
	flushTo  uint64        // a Flush waits for the events up to this seq
	changed  chan struct{} // closed and replaced whenever the state moves
	closed   bool
	wake     chan struct{} // tells the sender to send now
	stop     context.CancelFunc
	runCtx   context.Context
	finished chan struct{}
}

// New starts a client. Close it when done.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{
		cfg:      cfg,
		url:      strings.TrimRight(cfg.Endpoint, "/") + cfg.Path,
		changed:  make(chan struct{}),
		wake:     make(chan struct{}, 1),
		stop:     cancel,
		runCtx:   ctx,
		finished: make(chan struct{}),
	}
	go c.run()
	return c, nil
}

// Enqueue queues e for sending, filling in its messageId and timestamp
// when missing. When the queue is full it waits for room until ctx ends
// (at once with DropWhenFull) and then returns ErrQueueFull; the event
// also goes to OnFailure.
func (c *Client) Enqueue(ctx context.Context, e Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.prepare(&e); err != nil {
		return err
	}
	c.mu.Lock()
	for !c.closed && len(c.queue)+c.inFlight >= c.cfg.MaxQueue {
		if c.cfg.DropWhenFull {
			break
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			c.fail([]Event{e}, fmt.Errorf("%w: %w", ErrQueueFull, ctx.Err()))
			return fmt.Errorf("%w: %w", ErrQueueFull, ctx.Err())
		}
		c.mu.Lock()
	}
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	if len(c.queue)+c.inFlight >= c.cfg.MaxQueue {
		c.mu.Unlock()
		c.fail([]Event{e}, ErrQueueFull)
		return ErrQueueFull
	}
	c.queue = append(c.queue, e)
	c.seq++
	full := len(c.queue) >= c.cfg.BatchSize
	c.mu.Unlock()
	if full {
		c.poke()
	}
	return nil
}

func (c *Client) prepare(e *Event) error {
	if e.Type == "" {
		return fmt.Errorf("%w: no type", ErrInvalidEvent)
	}
	if e.Type == TypeTrack && e.Event == "" {
		return fmt.Errorf("%w: track without an event name", ErrInvalidEvent)
	}
	if e.UserID == "" && e.AnonymousID == "" {
		return fmt.Errorf("%w: %s needs a UserID or an AnonymousID", ErrInvalidEvent, e.Type)
	}
	if e.MessageID == "" {
		e.MessageID = uuid.NewString()
	}
	if e.Timestamp.IsZero() {
		e.Timestamp = c.cfg.Now()
	}
	if b, err := json.Marshal(e); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidEvent, err)
	} else if len(b) > maxEventBytes {
		return ErrEventTooLarge
	}
	return nil
}

// Len is the number of events held: queued or being sent.
func (c *Client) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue) + c.inFlight
}

// Flush sends every event enqueued before the call and waits until each
// is delivered or handed to OnFailure, or ctx ends.
func (c *Client) Flush(ctx context.Context) error {
	c.mu.Lock()
	target := c.seq
	c.flushTo = max(c.flushTo, target)
	c.mu.Unlock()
	c.poke()
	for {
		c.mu.Lock()
		settled, ch := c.done >= target, c.changed
		c.mu.Unlock()
		if settled {
			return nil
		}
		select {
		case <-ch:
			c.poke() // more than one batch: keep sending
		case <-ctx.Done():
			return fmt.Errorf("journeys flush: %w", ctx.Err())
		case <-c.finished:
			return ErrClosed
		}
	}
}

// Close stops accepting events, sends what is queued, and stops the
// background goroutine. If ctx ends first, the events still held go to
// OnFailure and Close returns ctx's error.
func (c *Client) Close(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		<-c.finished
		return nil
	}
	c.closed = true
	c.broadcast()
	c.mu.Unlock()
	err := c.Flush(ctx)
	c.stop()
	<-c.finished
	c.mu.Lock()
	left := c.queue
	c.queue = nil
	c.mu.Unlock()
	if len(left) > 0 {
		c.fail(left, ErrClosed)
	}
	if err != nil {
		return fmt.Errorf("journeys close: %d events not sent: %w", len(left), err)
	}
	return nil
}

func (c *Client) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// broadcast wakes everyone waiting for the state to change. c.mu is held.
func (c *Client) broadcast() {
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *Client) fail(events []Event, err error) {
	if c.cfg.OnFailure != nil && len(events) > 0 {
		c.cfg.OnFailure(events, err)
	}
}

// run is the sender: it sends a batch when one is full, when the flush
// interval passes, or when woken, one request at a time, so that events
// of one customer arrive in the order they were enqueued.
func (c *Client) run() {
	defer close(c.finished)
	tick := time.NewTicker(c.cfg.FlushInterval)
	defer tick.Stop()
	for {
		byTick := false
		select {
		case <-c.runCtx.Done():
			return
		case <-tick.C:
			byTick = true
		case <-c.wake:
		}
		for c.runCtx.Err() == nil {
			// A full batch goes at once; a partial one at the tick or
			// when a Flush (or Close) waits for it. A wake left over from
			// an earlier full batch is no reason to send a partial one.
			c.mu.Lock()
			taken := c.done + uint64(c.inFlight)
			ready := len(c.queue) >= c.cfg.BatchSize || len(c.queue) > 0 && (byTick || taken < c.flushTo)
			c.mu.Unlock()
			if !ready {
				break
			}
			batch := c.take()
			if batch == nil {
				break
			}
			err := c.deliver(batch)
			c.mu.Lock()
			c.inFlight -= len(batch)
			c.done += uint64(len(batch))
			c.broadcast()
			c.mu.Unlock()
			if err != nil {
				c.fail(batch, err)
			}
		}
	}
}

// take moves the next batch from the queue to in flight.
func (c *Client) take() []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, size := 0, 0
	for n < len(c.queue) && n < c.cfg.BatchSize {
		b, _ := json.Marshal(c.queue[n])
		if n > 0 && size+len(b)+1 > c.cfg.BatchBytes {
			break
		}
		size += len(b) + 1
		n++
	}
	if n == 0 {
		return nil
	}
	batch := make([]Event, n)
	copy(batch, c.queue[:n])
	c.queue = append(c.queue[:0:0], c.queue[n:]...)
	c.inFlight += n
	return batch
}

// deliver sends one batch until ingest accepts it, refuses it for good, or
// the attempts run out. The body, and so every messageId, is the same on
// each attempt.
func (c *Client) deliver(batch []Event) error {
	body, err := json.Marshal(struct {
		Batch  []Event   `json:"batch"`
		SentAt time.Time `json:"sentAt"`
	}{batch, c.cfg.Now()})
	if err != nil {
		return fmt.Errorf("encode batch of %d: %w", len(batch), err)
	}
	var last error
	for attempt := 0; attempt < c.cfg.MaxAttempts; attempt++ {
		if attempt > 0 {
			wait := backoff(c.cfg.RetryMin, c.cfg.RetryMax, attempt)
			var se *retryAfterError
			if errors.As(last, &se) && se.wait > wait {
				wait = se.wait
			}
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-c.runCtx.Done():
				t.Stop()
				return fmt.Errorf("send batch of %d: %w", len(batch), last)
			}
		}
		last = c.post(body)
		if last == nil {
			return nil
		}
		var st *StatusError
		if errors.As(last, &st) && !st.Retryable() {
			return last
		}
	}
	return fmt.Errorf("%w (%d attempts): %w", ErrGaveUp, c.cfg.MaxAttempts, last)
}

// retryAfterError carries the wait a 429 or 503 asked for.
type retryAfterError struct {
	*StatusError
	wait time.Duration
}

func (e *retryAfterError) Unwrap() error { return e.StatusError }

func (c *Client) post(body []byte) error {
	ctx, cancel := context.WithTimeout(c.runCtx, DefaultTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.SetBasicAuth(c.cfg.WriteKey, "")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "journeys-go/"+Version)
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("post %s: %w", c.url, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	st := &StatusError{Code: resp.StatusCode, Body: strings.TrimSpace(string(msg))}
	if wait, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		return &retryAfterError{StatusError: st, wait: wait}
	}
	return st
}

// backoff is the wait before a retry: exponential from min, capped at
// max, with full jitter over its upper half so that many clients that
// failed together do not retry together.
func backoff(min, max time.Duration, attempt int) time.Duration {
	d := max
	if attempt < 31 && min<<attempt < max && min<<attempt > 0 {
		d = min << attempt
	}
	return d/2 + rand.N(d/2+1)
}

// parseRetryAfter reads delay-seconds or an HTTP date; longer waits than
// an hour are taken as an hour.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if s, err := strconv.Atoi(v); err == nil {
		d = time.Duration(s) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	} else {
		return 0, false
	}
	return min(max(d, 0), time.Hour), true
}
