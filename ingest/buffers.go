package ingest

import (
	"bytes"
	"sync"
)

// requestBuffers are a request's three large allocations: its body, its
// decoded events (which point into the body) and the records' bytes
// (which the broker is sent). Allocating them afresh was half of what a
// request allocated; a request takes them from a pool and gives them back
// once nothing points into them any more.
type requestBuffers struct {
	body   bytes.Buffer
	events []rawEvent
	arena  []byte
}

// maxPooledBytes keeps buffers of unusually large requests out of the
// pool, so that the pool holds no more than a few typical requests' worth.
const maxPooledBytes = 2 << 20

var requestBufferPool = sync.Pool{New: func() any { return new(requestBuffers) }}

func getRequestBuffers() *requestBuffers { return requestBufferPool.Get().(*requestBuffers) }

// release gives b back. Only call it when no record built from b can
// still be read: after the broker acknowledged them, or when none was
// handed to the publisher. A publish that failed may leave the producer
// still sending them, so b is then left to the garbage collector.
func (b *requestBuffers) release() {
	if b.body.Cap() > maxPooledBytes || cap(b.arena) > maxPooledBytes {
		return
	}
	// Drop the events' pointers into this and earlier bodies.
	clear(b.events[:cap(b.events)])
	b.events = b.events[:0]
	b.body.Reset()
	b.arena = b.arena[:0]
	requestBufferPool.Put(b)
}
