package ingest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Server timeouts guard against slow or idle clients holding connections;
// Config.ReadHeaderTimeout and Config.ReadTimeout set the others.
const (
	idleTimeout = 2 * time.Minute
	// shutdownSlack is added to the produce timeout when shutting down, so
	// that requests waiting for the broker can still answer.
	shutdownSlack = 2 * time.Second
)

// Run serves h on cfg.Listen until ctx is cancelled, then shuts down
// gracefully (see Serve).
func Run(ctx context.Context, cfg Config, h http.Handler) error {
	cfg = cfg.WithDefaults()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("ingest listen on %s: %w", cfg.Listen, err)
	}
	return Serve(ctx, ln, cfg, h)
}

// Serve serves h on ln until ctx is cancelled. It then stops accepting
// connections and waits up to cfg.ProduceTimeout plus a little for requests
// in flight, so that no sender is told 200 for events that were not
// acknowledged, nor cut off while its events are being written.
func Serve(ctx context.Context, ln net.Listener, cfg Config, h http.Handler) error {
	cfg = cfg.WithDefaults()
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		IdleTimeout:       idleTimeout,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		return fmt.Errorf("ingest serve: %w", err)
	case <-ctx.Done():
	}

	sctx, cancel := context.WithTimeout(context.Background(), cfg.ProduceTimeout+shutdownSlack)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		<-served
		return fmt.Errorf("ingest shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("ingest serve: %w", err)
	}
	return nil
}
