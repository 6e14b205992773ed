package journey

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/journeys/journeys/schemas"
)

// benchTouchpoints is a realistic mix: many customers, mostly page views,
// some calls and some purchases, in event-time order, spanning about 60 days
// so that journeys convert, stay open and get abandoned.
func benchTouchpoints(n, customers int) []schemas.Touchpoint {
	rng := rand.New(rand.NewPCG(1, 2))
	ids := make([]string, customers)
	for i := range ids {
		ids[i] = fmt.Sprintf("user-%07d", i)
	}
	step := 60 * 24 * time.Hour / time.Duration(n)
	tps := make([]schemas.Touchpoint, n)
	for i := range tps {
		var typ, event, props string
		switch r := rng.IntN(100); {
		case r < 70:
			typ, event, props = schemas.TypePage, schemas.TypePage, `{"path":"/products/42","title":"Product"}`
		case r < 82:
			typ, event, props = schemas.TypeTrack, "product_viewed", `{"product_id":"p-42"}`
		case r < 86:
			typ, event, props = schemas.TypeTrack, "email", `{"campaign":"spring"}`
		case r < 94:
			typ, event, props = schemas.TypeTrack, schemas.EventCall, `{"queue":"billing","wait_seconds":95}`
		case r < 97:
			typ, event, props = schemas.TypeTrack, "checkout_started", `{}`
		default:
			typ, event, props = schemas.TypeTrack, schemas.EventPurchase, fmt.Sprintf(`{"revenue":%d.95,"order_id":"o-%d","currency":"EUR"}`, 10+rng.IntN(200), i)
		}
		c := ids[rng.IntN(customers)]
		at := t0.Add(time.Duration(i) * step)
		tps[i] = schemas.Touchpoint{
			MessageID:   fmt.Sprintf("%08x-4b1d-4c2e-9f00-%012x", i, rng.Uint64()&0xffffffffffff),
			CustomerID:  c,
			UserID:      c,
			AnonymousID: "anon-" + c,
			Type:        typ,
			Event:       event,
			Channel:     schemas.DefaultChannel(typ, event),
			Timestamp:   at,
			ReceivedAt:  at.Add(200 * time.Millisecond),
			Properties:  props,
			Context:     `{"ip":"192.0.2.1"}`,
			Source:      "web",
		}
	}
	return tps
}

// benchInput is built once: the benchmark function runs several times.
var benchInput = sync.OnceValue(func() []schemas.Touchpoint { return benchTouchpoints(1<<20, 50_000) })

// frictionInput is the benchmark mix with more for the default rules to do:
// every tenth page view is on the help pages, and calls carry a topic, a
// wait and transfers, so that every shape keeps state and fires.
var frictionInput = sync.OnceValue(func() []schemas.Touchpoint {
	tps := slices.Clone(benchInput())
	topics := []string{"delivery", "billing", "returns"}
	for i := range tps {
		tp := &tps[i]
		switch tp.Event {
		case schemas.TypePage:
			if i%10 == 0 {
				tp.Properties = `{"path":"/help/contact","title":"Contact"}`
			}
		case schemas.EventCall:
			tp.Properties = fmt.Sprintf(`{"topic":%q,"direction":"inbound","wait_seconds":%d,"transfers":%d}`, topics[i%3], i%600, i%4)
		}
	}
	return tps
})

// BenchmarkEngineApply runs the default rule set (schemas/friction-rules.yaml).
func BenchmarkEngineApply(b *testing.B) { benchApply(b, benchInput()) }

// BenchmarkEngineApplyFriction runs the default rules on a mix that trips them.
func BenchmarkEngineApplyFriction(b *testing.B) { benchApply(b, frictionInput()) }

func benchApply(b *testing.B, tps []schemas.Touchpoint) {
	e := New(Config{}, fakeClock)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % len(tps)
		if k == 0 && i > 0 {
			b.StopTimer()
			e.Reset() // the input starts over in event time
			b.StartTimer()
		}
		e.Apply(tps[k])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkEngineMemory reports the heap held per customer after folding the
// benchmark mix (about 20 touchpoints per customer over 60 days). Each
// touchpoint's strings are copied before Apply, as decoding a batch does in
// the processor: whatever the engine keeps referencing (a message id in a
// rule's memory, the customer id as a map key, a substring of the
// properties) is then counted here, as it is held in production.
func BenchmarkEngineMemory(b *testing.B) {
	tps := benchInput()
	var perCustomer float64
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		e := New(Config{}, fakeClock)
		for _, tp := range tps {
			e.Apply(decoded(tp))
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perCustomer = float64(after.HeapAlloc-before.HeapAlloc) / float64(e.Len())
		runtime.KeepAlive(e)
	}
	b.ReportMetric(perCustomer, "B/customer")
}

// decoded is tp with its strings freshly allocated, as json.Unmarshal in the
// processor's decode gives them.
func decoded(tp schemas.Touchpoint) schemas.Touchpoint {
	tp.MessageID = strings.Clone(tp.MessageID)
	tp.CustomerID = strings.Clone(tp.CustomerID)
	tp.UserID = strings.Clone(tp.UserID)
	tp.AnonymousID = strings.Clone(tp.AnonymousID)
	tp.Type = strings.Clone(tp.Type)
	tp.Event = strings.Clone(tp.Event)
	tp.Channel = strings.Clone(tp.Channel)
	tp.Properties = strings.Clone(tp.Properties)
	tp.Context = strings.Clone(tp.Context)
	tp.Source = strings.Clone(tp.Source)
	return tp
}
