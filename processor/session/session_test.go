package session_test

import (
	"testing"
	"time"

	"github.com/journeys/journeys/processor/session"
	"github.com/journeys/journeys/schemas"
)

var day = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

func at(h, m int) time.Time {
	return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
}

func pageAt(id string, ts time.Time, path string) schemas.Touchpoint {
	return schemas.Touchpoint{MessageID: id, CustomerID: "c1", Type: schemas.TypePage, Event: "page", Channel: schemas.ChannelWeb,
		Timestamp: ts, Properties: `{"path":"` + path + `"}`}
}

func TestSessions(t *testing.T) {
	amsterdam, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Fatal(err)
	}
	call := schemas.Touchpoint{MessageID: "call", CustomerID: "c1", Type: schemas.TypeTrack, Event: "call", Channel: schemas.ChannelPhone, Timestamp: at(10, 5)}
	tests := []struct {
		name     string
		loc      *time.Location
		tps      []schemas.Touchpoint
		sessions []int // touchpoints per session, in order of start
	}{
		{"page views minutes apart are one session", nil,
			[]schemas.Touchpoint{pageAt("a", at(10, 0), "/"), pageAt("b", at(10, 10), "/pricing"), pageAt("c", at(10, 39), "/help")},
			[]int{3}},
		{"thirty minutes of inactivity is still the same session", nil,
			[]schemas.Touchpoint{pageAt("a", at(10, 0), "/"), pageAt("b", at(10, 30), "/pricing")},
			[]int{2}},
		{"thirty-one minutes of inactivity starts a new session", nil,
			[]schemas.Touchpoint{pageAt("a", at(10, 0), "/"), pageAt("b", at(10, 31), "/pricing")},
			[]int{1, 1}},
		{"midnight splits a session", nil,
			[]schemas.Touchpoint{pageAt("a", at(23, 50), "/"), pageAt("b", at(24, 5), "/pricing")},
			[]int{1, 1}},
		{"midnight in the configured time zone, not UTC", amsterdam,
			[]schemas.Touchpoint{pageAt("a", at(22, 50), "/"), pageAt("b", at(23, 5), "/pricing"), pageAt("c", at(23, 20), "/help")},
			[]int{1, 2}},
		{"a call has no session and does not extend one", nil,
			[]schemas.Touchpoint{pageAt("a", at(9, 50), "/"), call, pageAt("b", at(10, 30), "/pricing")},
			[]int{1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := session.DefaultConfig()
			if tt.loc != nil {
				cfg.Location = tt.loc
			}
			s := session.New(cfg, nil)
			var order []string
			rows := map[string]schemas.Session{}
			for _, tp := range tt.tps {
				tp := tp
				row, ok := s.Apply(&tp)
				if !ok {
					if tp.SessionID != "" {
						t.Errorf("%s has no session but got id %s", tp.MessageID, tp.SessionID)
					}
					continue
				}
				if tp.SessionID != row.SessionID {
					t.Errorf("%s carries session %s, row is %s", tp.MessageID, tp.SessionID, row.SessionID)
				}
				if _, seen := rows[row.SessionID]; !seen {
					order = append(order, row.SessionID)
				}
				if prev, seen := rows[row.SessionID]; seen && row.Version <= prev.Version {
					t.Errorf("session %s version went from %d to %d", row.SessionID, prev.Version, row.Version)
				}
				rows[row.SessionID] = row
			}
			var got []int
			for _, id := range order {
				got = append(got, int(rows[id].Touchpoints))
			}
			if len(got) != len(tt.sessions) {
				t.Fatalf("sessions %v, want %v", got, tt.sessions)
			}
			for i := range got {
				if got[i] != tt.sessions[i] {
					t.Fatalf("sessions %v, want %v", got, tt.sessions)
				}
			}
		})
	}
}

func TestSessionRowContents(t *testing.T) {
	s := session.New(session.DefaultConfig(), nil)
	var row schemas.Session
	for _, tp := range []schemas.Touchpoint{pageAt("a", at(10, 0), "/"), pageAt("b", at(10, 10), "/pricing"), pageAt("c", at(10, 20), "/help/contact")} {
		row, _ = s.Apply(&tp)
	}
	want := schemas.Session{SessionID: row.SessionID, CustomerID: "c1", Channel: "web", StartedAt: at(10, 0), EndedAt: at(10, 20),
		Touchpoints: 3, PageViews: 3, EntryPage: "/", ExitPage: "/help/contact", Version: 3}
	if row != want {
		t.Errorf("row = %+v\nwant %+v", row, want)
	}
	again := session.New(session.DefaultConfig(), nil)
	tp := pageAt("a", at(10, 0), "/")
	if r, _ := again.Apply(&tp); r.SessionID != row.SessionID {
		t.Errorf("session ids are not deterministic: %s and %s", r.SessionID, row.SessionID)
	}
}

func TestEvictDropsSessionsIdleInProcessingTime(t *testing.T) {
	clock := day
	s := session.New(session.DefaultConfig(), func() time.Time { return clock })
	a, b := pageAt("a", at(10, 0), "/"), pageAt("b", at(1, 0), "/")
	b.CustomerID = "c2" // days behind in event time, as in a backfill
	s.Apply(&a)
	clock = clock.Add(5 * time.Hour)
	s.Apply(&b)
	clock = clock.Add(2 * time.Hour)
	s.Evict()
	if s.Len() != 1 {
		t.Fatalf("7h after c1's and 2h after c2's last touchpoint arrived, %d sessions held, want c2's only", s.Len())
	}
}

func TestConfigValidate(t *testing.T) {
	cfg := session.DefaultConfig()
	cfg.Timeout["app"] = 0
	if err := cfg.Validate(); err == nil {
		t.Fatal("a zero timeout must be an error")
	}
}

// Forgetting a customer (an id merged into a user, or erased) ends their
// sessions on every channel and no one else's.
func TestForgetEndsOnlyThatCustomersSessions(t *testing.T) {
	s := session.New(session.DefaultConfig(), nil)
	apply := func(id, customer, channel string, ts time.Time) string {
		t.Helper()
		tp := pageAt(id, ts, "/")
		tp.CustomerID, tp.Channel = customer, channel
		row, ok := s.Apply(&tp)
		if !ok {
			t.Fatalf("%s on %s has no session", id, channel)
		}
		return row.SessionID
	}
	webA, appA := apply("a1", "a", schemas.ChannelWeb, at(10, 0)), apply("a2", "a", "app", at(10, 1))
	webB := apply("b1", "b", schemas.ChannelWeb, at(10, 0))
	s.Forget("a")
	if got := apply("a3", "a", schemas.ChannelWeb, at(10, 5)); got == webA {
		t.Error("a's web session went on after Forget")
	}
	if got := apply("a4", "a", "app", at(10, 6)); got == appA {
		t.Error("a's app session went on after Forget")
	}
	if got := apply("b2", "b", schemas.ChannelWeb, at(10, 5)); got != webB {
		t.Error("b's session ended when a was forgotten")
	}
}
