package processor

import (
	"errors"
	"reflect"
	"testing"
)

// unreachable is a Sink every call of which panics: what reaches it passed
// the wait.
type unreachable struct{ Sink }

// Every call the applying batch makes to the sink first waits for the write
// in flight, and gives up with that write's error.
func TestEverySinkCallWaitsForTheWriteInFlight(t *testing.T) {
	sinkType := reflect.TypeFor[Sink]()
	for i := range sinkType.NumMethod() {
		m := sinkType.Method(i)
		t.Run(m.Name, func(t *testing.T) {
			writeFailed := errors.New("the write in flight failed")
			settled := 0
			var s Sink = settledSink{s: unreachable{}, settle: func() error { settled++; return writeFailed }}
			fn := reflect.ValueOf(s).MethodByName(m.Name)
			args := make([]reflect.Value, fn.Type().NumIn())
			for j := range args {
				args[j] = reflect.Zero(fn.Type().In(j))
			}
			out := fn.Call(args)
			if settled != 1 {
				t.Fatalf("%s waited %d times for the write in flight, want once", m.Name, settled)
			}
			if err, _ := out[len(out)-1].Interface().(error); !errors.Is(err, writeFailed) {
				t.Fatalf("%s returned %v, want the write's error", m.Name, err)
			}

			// Once the write is done, the call goes through.
			reached := func() (reached bool) {
				defer func() { reached = recover() != nil }()
				s := settledSink{s: unreachable{}, settle: func() error { return nil }}
				reflect.ValueOf(s).MethodByName(m.Name).Call(args)
				return false
			}()
			if !reached {
				t.Fatalf("%s did not reach the sink after the write was done", m.Name)
			}
		})
	}
}
