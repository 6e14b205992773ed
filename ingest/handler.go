package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
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

type handler struct {
	cfg       Config
	pub       Publisher
	validator *schemas.Validator
	keys      writeKeys
	m         *metrics
	log       *slog.Logger
}

// NewHandler returns the HTTP handler of the tracking API and /healthz. It
// registers its metrics on reg (nil: not exported) and logs to log (nil:
// discarded).
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
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	h := &handler{
		cfg:       cfg.WithDefaults(),
		pub:       pub,
		validator: v,
		keys:      newWriteKeys(cfg.WriteKeys),
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
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
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
// validation and enrichment, publishes its events, and answers 200 only once
// the broker acknowledged all of them.
func (h *handler) serveCalls(w http.ResponseWriter, r *http.Request, callType string) {
	receivedAt := h.cfg.Now().UTC()

	source, keyOK := "", false
	if key, present := requestKey(r); present {
		if source, keyOK = h.keys.source(key); !keyOK {
			reject(ReasonUnauthorized, "unknown write key").write(w, h.m)
			return
		}
	}
	if !jsonMediaType(r.Header.Get("Content-Type")) {
		reject(ReasonMediaType, "Content-Type must be application/json or text/plain").write(w, h.m)
		return
	}

	limit, tooLarge := h.cfg.MaxBatchBytes, ReasonBatchTooLarge
	if callType != "" {
		limit, tooLarge = h.cfg.MaxEventBytes, ReasonEventTooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(innermost(w), r.Body, int64(limit)))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			reject(tooLarge, fmt.Sprintf("body exceeds %d bytes", limit)).write(w, h.m)
			return
		}
		reject(ReasonInvalidJSON, "read body: "+err.Error()).write(w, h.m)
		return
	}

	req, rej := decodeRequest(body, callType)
	if rej != nil {
		rej.write(w, h.m)
		return
	}
	if !keyOK {
		if source, keyOK = h.keys.source(req.writeKey); !keyOK {
			rej := reject(ReasonUnauthorized, "missing or unknown write key")
			rej.events = len(req.events)
			rej.write(w, h.m)
			return
		}
	}

	msgs, rej := h.prepare(req, source, receivedAt, callType == "")
	if rej != nil {
		h.log.Debug("refused tracking request", "reason", rej.reason, "events", len(req.events),
			"rejected", len(rej.rejected), "source", source)
		rej.write(w, h.m)
		return
	}
	if err := h.publish(r.Context(), msgs); err != nil {
		h.log.Warn("publish tracking events", "events", len(msgs), "source", source, "error", err)
		rej := reject(ReasonUnavailable, "events could not be stored; retry later")
		rej.events = len(msgs)
		rej.write(w, h.m)
		return
	}
	h.m.eventsAccepted.Add(float64(len(msgs)))
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
}

// prepare validates and enriches every event of req. This version refuses
// the whole request when any event is malformed, listing each bad one.
func (h *handler) prepare(req *request, source string, receivedAt time.Time, batch bool) ([]Message, *rejection) {
	msgs := make([]Message, 0, len(req.events))
	var rejected []RejectedEvent
	for i, ev := range req.events {
		bad := RejectedEvent{Index: i, MessageID: stringField(ev.fields, "messageId")}
		if ev.size > h.cfg.MaxEventBytes {
			bad.Reason = ReasonEventTooLarge
			bad.Message = fmt.Sprintf("event exceeds %d bytes", h.cfg.MaxEventBytes)
			rejected = append(rejected, bad)
			continue
		}
		if errs := h.validator.Validate(ev.call); len(errs) > 0 {
			bad.Reason, bad.Errors = ReasonSchema, errs
			bad.Message = joinFieldErrors(errs)
			rejected = append(rejected, bad)
			continue
		}
		out, err := enrich(ev, req, source, receivedAt)
		if err == nil {
			var m Message
			if m, err = toMessage(&out); err == nil {
				msgs = append(msgs, m)
				continue
			}
		}
		bad.Reason, bad.Message = ReasonSchema, err.Error()
		rejected = append(rejected, bad)
	}
	if len(rejected) == 0 {
		return msgs, nil
	}

	rej := &rejection{reason: ReasonSchema, message: "invalid event", rejected: rejected, events: len(req.events)}
	if batch {
		rej.message = "invalid batch"
	}
	for _, r := range rejected {
		if r.Reason == ReasonEventTooLarge {
			rej.reason = ReasonEventTooLarge
		}
	}
	return nil, rej
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

// jsonMediaType accepts JSON and, because browsers send it to avoid a CORS
// preflight, text/plain; the body is JSON either way. No Content-Type is
// accepted too.
func jsonMediaType(contentType string) bool {
	if contentType == "" {
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
