package processor

import (
	"encoding/json"
	"io"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/journeys/journeys/schemas"
)

var at = time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)

func record(t *testing.T, ev schemas.Event) kafka.Message {
	t.Helper()
	if ev.Timestamp.IsZero() {
		ev.Timestamp, ev.ReceivedAt = at, at
	}
	v, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return kafka.Message{Key: []byte(ev.CustomerID()), Value: v}
}

func TestIdentityOfAnEvent(t *testing.T) {
	tests := []struct {
		name        string
		ev          schemas.Event
		wantLink    *link
		wantFrom    string
		wantVersion uint64
	}{
		{"identify with both ids links the anonymous id",
			schemas.Event{MessageID: "m1", Type: "identify", AnonymousID: "a1", UserID: "u1"},
			&link{From: "a1", Into: "u1", Kind: "identify", MessageID: "m1", At: at}, "", 0},
		{"identify without an anonymous id links nothing",
			schemas.Event{MessageID: "m1", Type: "identify", UserID: "u1"}, nil, "", 0},
		{"anonymous identify links nothing",
			schemas.Event{MessageID: "m1", Type: "identify", AnonymousID: "a1"}, nil, "", 0},
		{"identify of an id with itself links nothing",
			schemas.Event{MessageID: "m1", Type: "identify", AnonymousID: "u1", UserID: "u1"}, nil, "", 0},
		{"alias links the previous id",
			schemas.Event{MessageID: "m2", Type: "alias", PreviousID: "old", UserID: "u1"},
			&link{From: "old", Into: "u1", Kind: "alias", MessageID: "m2", At: at}, "", 0},
		{"a track carrying both ids links nothing",
			schemas.Event{MessageID: "m3", Type: "track", Event: "call", AnonymousID: "a1", UserID: "u1"}, nil, "", 0},
		{"a forwarded identify links nothing again and outranks its old row",
			schemas.Event{MessageID: "m1", Type: "identify", AnonymousID: "a1", UserID: "u1", MergedFrom: "a1", MergedVersion: 1},
			nil, "a1", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp, id, err := decode(record(t, tt.ev).Value)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(id.link, tt.wantLink) {
				t.Errorf("link = %+v, want %+v", id.link, tt.wantLink)
			}
			if id.mergedFrom != tt.wantFrom || tp.Version != tt.wantVersion {
				t.Errorf("mergedFrom %q version %d, want %q %d", id.mergedFrom, tp.Version, tt.wantFrom, tt.wantVersion)
			}
		})
	}
}

func TestAForwardedTouchpointDecodesAsTheUsersWithAHigherVersion(t *testing.T) {
	stored := []schemas.Touchpoint{
		{MessageID: "p1", CustomerID: "a1", AnonymousID: "a1", Type: "page", Event: "page", Channel: "web",
			Timestamp: at, ReceivedAt: at.Add(time.Second), JourneyID: "ja", SessionID: "sa",
			Properties: `{"path":"/pricing"}`, Context: `{"locale":"nl-NL"}`, Source: "site", KafkaPartition: 2, KafkaOffset: 7, Version: 1},
		{MessageID: "c1", CustomerID: "old", UserID: "old", Type: "track", Event: "call", Channel: "phone",
			Timestamp: at, ReceivedAt: at, Properties: `{"topic":"billing"}`, Context: `{}`, Version: 2}, // forwarded once already
		{MessageID: "n1", CustomerID: "a1", AnonymousID: "a1", Type: "track", Event: "chat", Channel: "chat",
			Timestamp: at, ReceivedAt: at, Properties: `{}`, Context: `{}`}, // from the batch: never stored
	}
	wantVersion := []uint64{2, 3, 2}
	for i, tp := range stored {
		m, err := forwardedMessage(tp, "u1", tp.CustomerID)
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Key) != "u1" || isMerge(m) {
			t.Errorf("%s: key %q, merge %v; want keyed by the user, a touchpoint", tp.MessageID, m.Key, isMerge(m))
		}
		got, id, err := decode(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		want := tp
		want.CustomerID, want.UserID, want.Version = "u1", "u1", wantVersion[i]
		want.JourneyID, want.SessionID, want.KafkaPartition, want.KafkaOffset = "", "", 0, 0 // the user's processor sets them
		if got != want {
			t.Errorf("forwarded %s decodes as\n%+v\nwant\n%+v", tp.MessageID, got, want)
		}
		if id.mergedFrom != tp.CustomerID || id.link != nil {
			t.Errorf("forwarded %s: %+v, want merged from %s and no link", tp.MessageID, id, tp.CustomerID)
		}
	}
}

func TestMergeRecords(t *testing.T) {
	l := link{From: "a1", Into: "u1", Kind: "identify", MessageID: "m1", At: at}
	m, err := mergeMessage(l)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Key) != "a1" || !isMerge(m) {
		t.Fatalf("merge record keyed %q, marked %v; want keyed by the linked id, marked", m.Key, isMerge(m))
	}
	got, err := parseMerge(m)
	if err != nil || got != l {
		t.Errorf("parseMerge = %+v, %v; want %+v", got, err, l)
	}
	if isMerge(record(t, schemas.Event{MessageID: "x", Type: "page", AnonymousID: "a1"})) {
		t.Error("a touchpoint record counts as a merge")
	}
	bad, _ := mergeMessage(link{From: "u1", Into: "u1"})
	if _, err := parseMerge(bad); err == nil {
		t.Error("a merge of an id into itself parses")
	}
}

func TestRetractionOutranksEveryRowTheEngineWrites(t *testing.T) {
	j := retractJourney(schemas.Journey{JourneyID: "j", Version: 4*100000 + 2})
	if !j.Retracted || j.Version <= 4*1_000_000_000+2 {
		t.Errorf("retracted journey %+v: want retracted above any engine version", j)
	}
	f := retractFlag(schemas.FrictionFlag{FlagID: "f", Version: 1})
	if !f.Retracted || f.Version <= 1 {
		t.Errorf("retracted flag %+v", f)
	}
	if again := retractJourney(j); again.Version != j.Version {
		t.Errorf("retracting twice changes the version: %d, %d", j.Version, again.Version)
	}
}

func newTestProcessor(t *testing.T, redirects map[string]string) *Processor {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Brokers = []string{"127.0.0.1:1"}
	p, err := New(cfg, nil, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	p.ids.reset(redirects)
	return p
}

func TestMergesOfABatch(t *testing.T) {
	mergeRec := func(from, into string, part int, off int64) kafka.Message {
		m, err := mergeMessage(link{From: from, Into: into, Kind: "identify", MessageID: "i-" + from + into, At: at})
		if err != nil {
			t.Fatal(err)
		}
		m.Partition, m.Offset = part, off
		return m
	}
	page := func(anon string, off int64) kafka.Message {
		m := record(t, schemas.Event{MessageID: anon + "-p", Type: "page", AnonymousID: anon})
		m.Partition, m.Offset = 2, off
		return m
	}
	batch := []kafka.Message{
		page("a1", 1),
		mergeRec("a1", "u1", 2, 2),
		mergeRec("a1", "u2", 2, 3), // a second user: the first keeps a1
		mergeRec("a9", "u9", 2, 4), // merged before: a replay
		mergeRec("a8", "u7", 2, 5), // merged before into another user
		page("a2", 6),
	}
	orig := append([]kafka.Message(nil), batch...)
	p := newTestProcessor(t, map[string]string{"a9": "u9", "a8": "u8"})
	st := p.beginStitch(batch)
	if !reflect.DeepEqual(batch, orig) {
		t.Error("beginStitch changed the batch, whose offsets are committed")
	}
	if len(st.records) != 2 || string(st.records[0].Key) != "a1" || string(st.records[1].Key) != "a2" {
		t.Errorf("records left = %d, want the two page views", len(st.records))
	}
	if len(st.merges) != 1 || st.merges[0].From != "a1" || st.merges[0].Into != "u1" || st.merges[0].partition != 2 {
		t.Errorf("merges = %+v, want a1 into u1 on partition 2", st.merges)
	}

	tests := []struct {
		name        string
		ev          schemas.Event
		wantForward string // the user it goes to; "" to apply here
		wantLink    bool
	}{
		{"a record of an id merged in this batch goes to the user, even one before the merge",
			schemas.Event{MessageID: "x1", Type: "page", AnonymousID: "a1"}, "u1", false},
		{"a record of an id merged earlier goes to the user",
			schemas.Event{MessageID: "x2", Type: "page", AnonymousID: "a9"}, "u9", false},
		{"a forwarded record of a user merged further goes on",
			schemas.Event{MessageID: "x3", Type: "page", AnonymousID: "a0", UserID: "a9", MergedFrom: "a0", MergedVersion: 1}, "u9", false},
		{"a record that would go back where it came from stays",
			schemas.Event{MessageID: "x4", Type: "page", UserID: "a9", MergedFrom: "u9", MergedVersion: 1}, "", false},
		{"an identify of an unmerged user is applied and links",
			schemas.Event{MessageID: "x5", Type: "identify", AnonymousID: "a5", UserID: "u5"}, "", true},
		{"an identify of a user merged further is forwarded and still links: the anonymous id's touchpoints follow the chain",
			schemas.Event{MessageID: "x7", Type: "identify", AnonymousID: "a7", UserID: "a9"}, "u9", true},
		{"a record of another id is applied",
			schemas.Event{MessageID: "x6", Type: "page", AnonymousID: "a2"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp, id, err := decode(record(t, tt.ev).Value)
			if err != nil {
				t.Fatal(err)
			}
			st := *st
			st.forward, st.links = nil, nil
			fwd := p.route(&st, tp, id)
			switch {
			case fwd != (tt.wantForward != ""):
				t.Errorf("forwarded = %v, want to %q", fwd, tt.wantForward)
			case fwd && (len(st.forward) != 1 || st.forward[0].to != tt.wantForward || st.forward[0].from != tp.CustomerID):
				t.Errorf("forward = %+v, want to %s", st.forward, tt.wantForward)
			}
			if (len(st.links) == 1) != tt.wantLink {
				t.Errorf("links = %+v, want a link: %v", st.links, tt.wantLink)
			}
		})
	}
}
