package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/journeys/journeys/internal/chtest"
	"github.com/journeys/journeys/schemas"
)

func TestMergedIdentitiesAreThoseMergedOnThePartitions(t *testing.T) {
	s := chtest.Open(t)
	ctx := context.Background()
	at := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	link := func(linked, user string, part int32, merged bool, version uint64) schemas.Identity {
		return schemas.Identity{LinkedID: linked, UserID: user, Kind: schemas.TypeIdentify, LinkedAt: at, MessageID: "m-" + linked + user,
			KafkaPartition: part, Merged: merged, Version: version}
	}
	rows := []schemas.Identity{
		link("anon-1", "ursula", -1, false, 1), // seen by ursula's processor
		link("anon-1", "ursula", 2, true, 2),   // merged by anon-1's
		link("anon-1", "victor", -1, false, 1), // a second user: loses
		link("anon-2", "ursula", -1, false, 1), // linked, not merged yet
		link("anon-3", "walt", 0, true, 2),
	}
	for i := 0; i < 2; i++ { // the second round is a replay
		if err := s.InsertIdentities(ctx, rows); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name       string
		partitions []int32
		want       map[string]string
	}{
		{"merged on partition 2", []int32{2}, map[string]string{"anon-1": "ursula"}},
		{"two partitions", []int32{0, 2}, map[string]string{"anon-1": "ursula", "anon-3": "walt"}},
		{"linked but not merged is no redirect", []int32{1}, map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.MergedIdentities(ctx, tt.partitions)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("MergedIdentities(%v) = %v, want %v", tt.partitions, got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("MergedIdentities(%v) = %v, want %v", tt.partitions, got, tt.want)
				}
			}
		})
	}
}

func TestATouchpointRestoredUnderAUserLeavesTheAnonymousId(t *testing.T) {
	s := chtest.Open(t)
	ctx := context.Background()
	t0 := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	anonRow := tp("m1", "anon-1", "ja", "page", t0)
	userRow := anonRow
	userRow.CustomerID, userRow.JourneyID, userRow.Version = "ursula", "ju", 2
	if err := s.InsertTouchpoints(ctx, []schemas.Touchpoint{anonRow, tp("m2", "anon-1", "ja", "page", t0.Add(time.Minute))}); err != nil {
		t.Fatal(err)
	}
	// The forwarded copy comes in its own insert, as it does in the pipeline.
	if err := s.InsertTouchpoints(ctx, []schemas.Touchpoint{userRow}); err != nil {
		t.Fatal(err)
	}

	stored, err := s.StoredMessageIDs(ctx, []string{"m1", "m2"})
	if err != nil {
		t.Fatal(err)
	}
	if got := stored["m1"]; got.CustomerID != "ursula" || got.JourneyID != "ju" {
		t.Errorf("m1 is stored as %+v, want ursula's journey ju (the higher version)", got)
	}
	if got := stored["m2"]; got.CustomerID != "anon-1" {
		t.Errorf("m2 is stored as %+v, want anon-1's", got)
	}

	byCustomer, err := s.CustomerTouchpoints(ctx, []string{"anon-1", "ursula"})
	if err != nil {
		t.Fatal(err)
	}
	if a := byCustomer["anon-1"]; len(a) != 1 || a[0].MessageID != "m2" {
		t.Errorf("anon-1's touchpoints = %v, want only m2", a)
	}
	if u := byCustomer["ursula"]; len(u) != 1 || u[0].MessageID != "m1" || u[0].Version != 2 {
		t.Errorf("ursula's touchpoints = %v, want m1 at version 2", u)
	}
}

func TestCustomerJourneysAndFlagsGiveTheLatestRows(t *testing.T) {
	s := chtest.Open(t)
	ctx := context.Background()
	t0 := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	j := schemas.Journey{JourneyID: "ja", CustomerID: "anon-1", StartedAt: t0, EndedAt: t0, Status: schemas.JourneyOpen,
		Touchpoints: 1, Channels: []string{"web"}, Path: []string{"page"}, Version: 4}
	j2 := j
	j2.Touchpoints, j2.Path, j2.Version = 2, []string{"page", "page"}, 8
	other := j
	other.JourneyID, other.CustomerID = "jb", "ursula"
	f := schemas.FrictionFlag{FlagID: "f1", Rule: "r", CustomerID: "anon-1", JourneyID: "ja", OccurredAt: t0, DetectedAt: t0,
		Severity: schemas.SeverityInfo, Evidence: []string{"m1"}, Details: "{}", Version: 1}
	fr := f
	fr.Retracted, fr.Version = true, 1<<62|1
	if err := s.InsertJourneys(ctx, []schemas.Journey{j, j2, other}); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertFlags(ctx, []schemas.FrictionFlag{f}); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertFlags(ctx, []schemas.FrictionFlag{fr}); err != nil {
		t.Fatal(err)
	}
	js, err := s.CustomerJourneys(ctx, []string{"anon-1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(js) != 1 || js[0].JourneyID != "ja" || js[0].Version != 8 || js[0].Touchpoints != 2 || js[0].Retracted {
		t.Errorf("CustomerJourneys = %+v, want ja at version 8", js)
	}
	fs, err := s.CustomerFlags(ctx, []string{"anon-1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || !fs[0].Retracted || fs[0].Version != 1<<62|1 {
		t.Errorf("CustomerFlags = %+v, want f1 retracted", fs)
	}
}
