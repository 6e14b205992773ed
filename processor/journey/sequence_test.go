package journey

import (
	"fmt"
	"slices"
	"testing"

	"github.com/journeys/journeys/schemas"
)

// A journey row's ChannelSequence is its touchpoints' channels in path
// order with a repeat of the previous one left out, whether the engine
// holds the journey compactly (channel places in the step words) or as
// strings (a fifth channel, a long path), and across the switch between
// the two.
func TestChannelSequenceOfJourneyRows(t *testing.T) {
	alternating := make([]string, widePath+6)
	for i := range alternating {
		alternating[i] = []string{"web", "web", "phone"}[i%3]
	}
	for _, c := range []struct {
		name     string
		channels []string // of the touchpoints, in order
		want     []string
	}{
		{"one channel is one element", []string{"web", "web", "web"}, []string{"web"}},
		{"repeats of the previous channel are left out, returns are not", []string{"web", "web", "phone", "phone", "web"}, []string{"web", "phone", "web"}},
		{"a touchpoint without a channel is an empty element", []string{"web", "", "", "web", "email"}, []string{"web", "", "web", "email"}},
		{"a journey starting without a channel", []string{"", "app"}, []string{"", "app"}},
		{"four channels stay compact", []string{"web", "app", "email", "phone", "app", "web"}, []string{"web", "app", "email", "phone", "app", "web"}},
		{"a fifth channel widens the journey mid-way", []string{"web", "app", "app", "email", "phone", "store", "store", "web", "", "store"}, []string{"web", "app", "email", "phone", "store", "web", "", "store"}},
		{"a path longer than the compact form", alternating, collapse(alternating)},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := New(Config{}, fakeClock)
			var last schemas.Journey
			for i, ch := range c.channels {
				r := e.Apply(onChannel(ch, touch(fmt.Sprintf("m%d", i), "visit", float64(i)/100)))
				if len(r.Journeys) != 1 {
					t.Fatalf("touchpoint %d: %d journey rows, want 1", i, len(r.Journeys))
				}
				last = r.Journeys[0]
				if want := collapse(c.channels[:i+1]); !slices.Equal(last.ChannelSequence, want) {
					t.Fatalf("after touchpoint %d: sequence %q, want %q", i, last.ChannelSequence, want)
				}
			}
			if !slices.Equal(last.ChannelSequence, c.want) {
				t.Errorf("sequence %q, want %q", last.ChannelSequence, c.want)
			}
			if int(last.Touchpoints) != len(c.channels) {
				t.Errorf("%d touchpoints in the row, want %d", last.Touchpoints, len(c.channels))
			}
		})
	}
}

// collapse leaves out each channel equal to the one before it.
func collapse(channels []string) []string {
	var out []string
	for i, ch := range channels {
		if i == 0 || ch != channels[i-1] {
			out = append(out, ch)
		}
	}
	return out
}
