package ingest

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"
)

func TestServeShutsDownWhenContextEnds(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	inFlight := make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(inFlight)
		time.Sleep(200 * time.Millisecond) // like a request waiting for the broker
		w.WriteHeader(http.StatusOK)
	})
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, ln, Config{ProduceTimeout: time.Second}, slow) }()

	answered := make(chan int, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	<-inFlight
	cancel()

	if code := <-answered; code != http.StatusOK {
		t.Errorf("request in flight at shutdown got %d, want 200", code)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Error("still accepting connections after shutdown")
	}
}
