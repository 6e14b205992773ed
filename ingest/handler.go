package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/journeys/journeys/schemas"
)

// endpoints of the tracking API: path, short alias used by Segment's
// browser library, and the call type the path implies ("" for a batch).
var endpoints = []struct {
	name, short, callType string
}{
	{"batch", "b", ""},
	{"track", "t", schemas.TypeTrack},
	{"identify", "i", schemas.TypeIdentify},
	{"page", "p", schemas.TypePage},
	{"screen", "s", schemas.TypeScreen},
	{"group", "g", schemas.TypeGroup},
	{"alias", "a", schemas.TypeAlias},
}

// readyCacheFor is how long a /readyz answer is reused, so that probes do
// not each cost the broker a metadata request.
const (
	readyCacheFor = time.Second
	readyTimeout  = time.Second
)

type handler struct {
	cfg       Config
	pub       Publisher
	validator *schemas.Validator
	sources   *sources
	hasher    *piiHasher
	agents    *uaCache
	inFlight  *inFlight
	m         *metrics
	log       *slog.Logger

	readyMu  sync.Mutex
	readyAt  time.Time
	readyErr error
}

// NewHandler returns the HTTP handler of the tracking API, /healthz and
// /readyz. It registers its metrics on reg (nil: not exported) and logs to
// log (nil: discarded).
func NewHandler(cfg Config, pub Publisher, reg prometheus.Registerer, log *slog.Logger) (http.Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("ingest config: %w", err)
	}
	if pub == nil {
		return nil, errors.New("ingest: nil publisher")
	}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	v, err := schemas.NewValidator()
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	cfg = cfg.WithDefaults()
	all := cfg.AllSources()
	names := make([]string, len(all))
	for i, s := range all {
		names[i] = s.Name
	}
	m, err := newMetrics(reg, names)
	if err != nil {
		return nil, err
	}
	h := &handler{
		cfg:       cfg,
		pub:       pub,
		validator: v,
		sources:   newSources(all),
		hasher:    newPIIHasher(cfg.HashKey, cfg.HashProperties),
		agents:    newUACache(uaCacheSize),
		inFlight:  &inFlight{max: cfg.MaxInFlightBytes, gauge: m.inFlightBytes.Set},
		m:         m,
		log:       log,
	}

	mux := http.NewServeMux()
	for _, ep := range endpoints {
		serve := h.counted(ep.name, func(w http.ResponseWriter, r *http.Request) {
			h.serveCalls(w, r, ep.callType)
		})
		mux.Handle("POST /v1/"+ep.name, serve)
		mux.Handle("POST /v1/"+ep.short, serve)
		mux.HandleFunc("OPTIONS /v1/"+ep.name, h.preflight)
		mux.HandleFunc("OPTIONS /v1/"+ep.short, h.preflight)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", h.readyz)
	if cfg.AdminToken != "" && cfg.Forgetter != nil {
		mux.Handle("POST /v1/admin/forget", h.counted("admin_forget", h.serveForget))
	}
	return mux, nil
}

// counted counts the endpoint's requests by status code.
func (h *handler) counted(endpoint string, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next(sw, r)
		h.m.requests.WithLabelValues(endpoint, strconv.Itoa(sw.code)).Inc()
	})
}

// serveCalls takes one tracking request through authentication, decoding,
// validation and enrichment, publishes its accepted events and its
// rejected ones, and answers only once the broker acknowledged all of them.
func (h *handler) serveCalls(w http.ResponseWriter, r *http.Request, callType string) {
	receivedAt := h.cfg.Now().UTC()
	origin := r.Header.Get("Origin")
	if origin != "" && h.sources.mayBeAllowed(origin) {
		// Set on refusals too, so that a browser's code can read why.
		allowOrigin(w.Header(), origin)
	}

	var src *source
	if key, present := requestKey(r); present {
		if src = h.sources.lookup(key); src == nil {
			reject(ReasonUnauthorized, "unknown or disabled write key").write(w, h.m, "")
			return
		}
	}
	if !jsonMediaType(r.Header.Get("Content-Type")) {
		reject(ReasonMediaType, "Content-Type must be application/json or text/plain").write(w, h.m, src.name())
		return
	}

	limit, tooLarge := h.cfg.MaxBatchBytes, ReasonBatchTooLarge
	if callType != "" {
		limit, tooLarge = h.cfg.MaxEventBytes, ReasonEventTooLarge
	}
	held := reservation(r, limit)
	if !h.inFlight.tryAcquire(held) {
		rej := reject(ReasonOverloaded, "ingest is at its in-flight limit; retry shortly")
		rej.retryAfter = overloadRetryAfterSeconds
		rej.write(w, h.m, src.name())
		return
	}
	defer h.inFlight.release(held)

	body, rej := readBody(w, r, limit, tooLarge)
	if rej != nil {
		rej.write(w, h.m, src.name())
		return
	}
	req, rej := decodeRequest(body, callType)
	if rej != nil {
		rej.write(w, h.m, src.name())
		return
	}
	req.agents.cache = h.agents
	n := len(req.events)
	if src == nil {
		if src = h.sources.lookup(req.writeKey); src == nil {
			rej := reject(ReasonUnauthorized, "missing, unknown or disabled write key")
			rej.events = n
			rej.write(w, h.m, "")
			return
		}
	}
	if origin != "" && !src.allowsOrigin(origin) {
		rej := reject(ReasonOriginNotAllowed, "origin "+origin+" may not send with this write key")
		rej.events = n
		rej.write(w, h.m, src.Name)
		return
	}
	if n > h.cfg.MaxBatchEvents {
		rej := reject(ReasonTooManyEvents, fmt.Sprintf("batch has %d events; at most %d are accepted", n, h.cfg.MaxBatchEvents))
		rej.events = n
		rej.write(w, h.m, src.Name)
		return
	}
	if ok, wait := src.take(n, time.Now()); !ok {
		rej := reject(ReasonRateLimited, fmt.Sprintf("source %s is over its rate limit of %g events/s", src.Name, src.RateLimit))
		rej.events, rej.retryAfter = n, retryAfterHeader(wait)
		rej.write(w, h.m, src.Name)
		return
	}
	h.m.batchEvents.Observe(float64(n))

	msgs, rejected, suppressed := h.prepare(req, src, receivedAt)
	accepted := len(msgs) - len(rejected) + suppressed
	if err := h.publish(r.Context(), msgs); err != nil {
		h.log.Warn("publish tracking events", "records", len(msgs), "source", src.Name, "error", err)
		rej := reject(ReasonUnavailable, "events could not be stored; retry later")
		rej.events = n
		rej.write(w, h.m, src.Name)
		return
	}
	h.m.eventsAccepted.WithLabelValues(src.Name).Add(float64(accepted - suppressed))
	if suppressed > 0 {
		h.m.eventsSuppressed.WithLabelValues(src.Name).Add(float64(suppressed))
	}
	for _, bad := range rejected {
		h.m.rejected(bad.Reason, src.Name, 1)
	}

	switch {
	case len(rejected) == 0:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(successBody)
	case accepted > 0:
		body := partialBody{Success: true, Accepted: accepted}
		body.Rejected, body.Omitted = listed(rejected)
		writeJSON(w, http.StatusOK, body)
	default:
		h.log.Debug("refused tracking request", "events", n, "source", src.Name)
		rej := &rejection{reason: rejected[0].Reason, message: "invalid event", rejected: rejected, events: n}
		if callType == "" {
			rej.message = "every event of the batch was rejected"
		}
		for _, bad := range rejected {
			if bad.Reason != rej.reason {
				rej.reason = ReasonSchema // mixed reasons answer 400
			}
		}
		rej.write(w, h.m, src.Name)
	}
}

// prepare validates and enriches every event of req. It returns the
// records to publish — first the accepted events for the touchpoints
// topic, then one record on the rejected topic per refused event — the
// refused events, and how many events of forgotten customers it dropped.
func (h *handler) prepare(req *request, src *source, receivedAt time.Time) (msgs []Message, rejected []RejectedEvent, suppressed int) {
	msgs = make([]Message, 0, len(req.events))
	var rejectedMsgs []Message
	// The records' keys and values share one buffer, about the size of
	// the request's body with the fields enrichment adds.
	arena := make([]byte, 0, len(req.body)+len(req.events)*enrichedBytes)
	for i := range req.events {
		ev := &req.events[i]
		if h.cfg.Suppression != nil && ev.object &&
			h.cfg.Suppression.Forgotten(ev.env.UserID.Str, ev.env.AnonymousID.Str, ev.env.PreviousID.Str) {
			// Answered as accepted, so that nothing tells a sender the
			// customer was forgotten; never written anywhere.
			suppressed++
			continue
		}
		mapEventName(ev)
		bad := h.check(ev, src)
		if bad.Reason == "" {
			var out Message
			var err error
			out, arena, err = h.enrich(ev, req, src, receivedAt, arena)
			if err == nil {
				msgs = append(msgs, out)
				continue
			}
			bad.Reason, bad.Message = ReasonSchema, err.Error()
		}
		bad.Index = i
		bad.MessageID = ev.env.MessageID.Str
		rejected = append(rejected, bad)
		rejectedMsgs = append(rejectedMsgs, h.rejectedRecord(ev, bad, src, receivedAt))
	}
	return append(msgs, rejectedMsgs...), rejected, suppressed
}

// check says why an event is refused; a zero Reason means it is not.
func (h *handler) check(ev *rawEvent, src *source) RejectedEvent {
	if len(ev.raw) > h.cfg.MaxEventBytes {
		return RejectedEvent{Reason: ReasonEventTooLarge, Message: fmt.Sprintf("event exceeds %d bytes", h.cfg.MaxEventBytes)}
	}
	if err := unsafeJSON(ev.raw); err != nil {
		return RejectedEvent{Reason: ReasonUnsafeJSON, Message: err.Error()}
	}
	if err := controlInID(ev); err != nil {
		return RejectedEvent{Reason: ReasonUnsafeJSON, Message: err.Error()}
	}
	if errs := validateCall(h.validator, ev); len(errs) > 0 {
		return RejectedEvent{Reason: ReasonSchema, Message: joinFieldErrors(errs), Errors: errs}
	}
	if name := ev.eventName(); !src.allowsEvent(name) {
		return RejectedEvent{Reason: ReasonEventNotAllowed,
			Message: fmt.Sprintf("source %s may not send %q events", src.Name, name)}
	}
	return RejectedEvent{}
}

// validateCall checks a call against its schemas. A call whose envelope
// the Go check accepts has only its properties checked by the JSON Schema
// library; any other goes through the library whole, which words why.
func validateCall(v *schemas.Validator, ev *rawEvent) []schemas.FieldError {
	if !ev.object || !schemas.ValidEnvelope(&ev.env) {
		return v.Validate(ev.genericCall())
	}
	name := ev.eventName()
	if !v.HasPropertiesSchema(name) {
		return nil
	}
	props, err := ev.properties(v, name)
	if err != nil { // cannot happen: the call was scanned whole
		return v.Validate(ev.genericCall())
	}
	return v.ValidateProperties(name, props)
}

// enrichedBytes is about what enrichment adds to an event, with room to
// spare: the record key, receivedAt, the corrected timestamp, source and
// the parsed user agent (290 bytes for the benchmarks' browser event). The
// buffer grows, copying, when it is short.
const enrichedBytes = 384

func (h *handler) enrich(ev *rawEvent, req *request, src *source, receivedAt time.Time, arena []byte) (Message, []byte, error) {
	if err := h.hasher.hashFields(ev); err != nil {
		return Message{}, arena, err
	}
	out, err := enrich(ev, req, src.Name, receivedAt)
	if err != nil {
		return Message{}, arena, err
	}
	return toMessage(&out, arena)
}

// rejectedRecord is the touchpoints.rejected record of a refused event:
// the event as sent, with the configured properties hashed all the same.
func (h *handler) rejectedRecord(ev *rawEvent, bad RejectedEvent, src *source, receivedAt time.Time) Message {
	raw := json.RawMessage(ev.raw)
	if h.hasher != nil && ev.object {
		if err := h.hasher.hashFields(ev); err == nil {
			if b, err := json.Marshal(ev.fieldMap()); err == nil {
				raw = b
			}
		}
	}
	rec := RejectedRecord{Reason: bad.Reason, Message: bad.Message, Errors: bad.Errors, Source: src.Name,
		ReceivedAt: receivedAt, Index: bad.Index, MessageID: bad.MessageID, Event: raw}
	v, err := json.Marshal(rec)
	if err != nil { // raw came out of a JSON parse; cannot happen
		rec.Event = json.RawMessage(strconv.Quote(string(ev.raw)))
		v, _ = json.Marshal(rec)
	}
	key := ev.env.UserID.Str
	if key == "" {
		key = ev.env.AnonymousID.Str
	}
	return Message{Topic: h.cfg.RejectedTopic, Key: []byte(key), Value: v}
}

// publish hands msgs to the publisher within the produce timeout. It does
// not stop when the sender hangs up: a request half written is worse than
// one written whole, which the sender's retry then duplicates by messageId.
func (h *handler) publish(ctx context.Context, msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.cfg.ProduceTimeout)
	defer cancel()
	start := time.Now()
	err := h.pub.Publish(ctx, msgs)
	outcome := outcomeAcked
	if err != nil {
		outcome = outcomeFailed
	}
	h.m.produceSeconds.WithLabelValues(outcome).Observe(time.Since(start).Seconds())
	return err
}

// readyz answers 200 when the broker answered a metadata request lately.
func (h *handler) readyz(w http.ResponseWriter, r *http.Request) {
	rc, ok := h.pub.(ReadinessChecker)
	if !ok {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
		return
	}
	h.readyMu.Lock()
	if time.Since(h.readyAt) > readyCacheFor {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		h.readyErr = rc.Ready(ctx)
		cancel()
		h.readyAt = time.Now()
	}
	err := h.readyErr
	h.readyMu.Unlock()
	if err != nil {
		h.log.Warn("not ready", "error", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "kafka unreachable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *source) name() string {
	if s == nil {
		return ""
	}
	return s.Name
}

// jsonMediaType accepts JSON and, because browsers send it to avoid a CORS
// preflight, text/plain; the body is JSON either way. No Content-Type is
// accepted too.
func jsonMediaType(contentType string) bool {
	switch contentType {
	case "", "application/json", "text/plain", "text/plain;charset=UTF-8":
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || mt == "text/plain"
}

func joinFieldErrors(errs []schemas.FieldError) string {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Message
	}
	return strings.Join(msgs, "; ")
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// innermost is the server's own ResponseWriter, which MaxBytesReader needs
// to close the connection after an oversized body.
func innermost(w http.ResponseWriter) http.ResponseWriter {
	for {
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return w
		}
		w = u.Unwrap()
	}
}
