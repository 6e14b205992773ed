package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// strandedPublisher fails its first Publish, keeping the records as a
// producer still sending them would; later ones succeed.
type strandedPublisher struct {
	kept     []Message
	snapshot [][]byte
	calls    int
}

func (p *strandedPublisher) Publish(_ context.Context, msgs []Message) error {
	p.calls++
	if p.calls > 1 {
		return nil
	}
	p.kept = msgs
	for _, m := range msgs {
		p.snapshot = append(p.snapshot, bytes.Clone(m.Value))
	}
	return errors.New("produce timed out; the batch may still be on its way")
}

// A request's buffers go back to the pool only when the broker acknowledged
// its records: after a failed publish the producer may still be sending
// them, and the next request must not write over them.
func TestRecordsOfAFailedPublishAreNotOverwritten(t *testing.T) {
	pub := &strandedPublisher{}
	h, err := NewHandler(Config{Sources: []Source{{Name: "web", WriteKey: "wk"}}}, pub, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	send := func(i int) int {
		var b strings.Builder
		b.WriteString(`{"batch":[`)
		for j := range 20 {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"type":"track","event":"signup","userId":"user-%d-%d","messageId":"m-%d-%d","properties":{"plan":"plan-%d"}}`, i, j, i, j, i)
		}
		b.WriteString(`]}`)
		r := httptest.NewRequest(http.MethodPost, "/v1/batch", strings.NewReader(b.String()))
		r.SetBasicAuth("wk", "")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	if code := send(0); code != http.StatusServiceUnavailable {
		t.Fatalf("first request: status %d, want 503", code)
	}
	for i := 1; i <= 20; i++ {
		if code := send(i); code != http.StatusOK {
			t.Fatalf("request %d: status %d", i, code)
		}
	}
	if len(pub.kept) != 20 {
		t.Fatalf("%d records kept from the failed publish, want 20", len(pub.kept))
	}
	for i, m := range pub.kept {
		if !bytes.Equal(m.Value, pub.snapshot[i]) {
			t.Fatalf("record %d of the failed publish was overwritten by a later request:\nnow  %s\nwas  %s", i, m.Value, pub.snapshot[i])
		}
	}
}
