package dashboards

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/journeys/journeys/internal/chtest"
)

// The channel switches panel reads each journey's channel_sequence
// (migration 0011): it counts every switch, and a journey once per pair of
// channels however often it switches between them; a retracted journey
// and an older version of a journey count nowhere.
func TestChannelSwitchesCountEverySwitchAndEachJourneyOncePerPair(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn := chtest.Open(t).Conn()
	day := time.Date(2024, 3, 10, 9, 0, 0, 0, time.UTC)
	for _, j := range []struct {
		id        string
		sequence  []string
		retracted uint8
		version   uint64
	}{
		{"j1", []string{"web", "phone", "web", "phone", "chat"}, 0, 1},
		{"j2", []string{"web", "chat"}, 0, 1},
		{"j2", []string{"web", "phone"}, 0, 2},
		{"j3", []string{"web", "phone"}, 1, 1},
		{"j4", []string{"web"}, 0, 1},
	} {
		b, err := conn.PrepareBatch(ctx, "INSERT INTO journeys (journey_id, customer_id, started_at, ended_at, status, touchpoints, channels, path, channel_sequence, friction_count, revenue, retracted, version)")
		if err != nil {
			t.Fatal(err)
		}
		path := make([]string, len(j.sequence))
		for i := range path {
			path[i] = "visit"
		}
		if err := b.Append(j.id, "c-"+j.id, day, day.Add(time.Hour), "open", uint32(len(path)), j.sequence, path, j.sequence, uint32(0), 0.0, j.retracted, j.version); err != nil {
			t.Fatal(err)
		}
		if err := b.Send(); err != nil {
			t.Fatalf("insert journey %s: %v", j.id, err)
		}
	}
	q := panelQuery(t, "journeys.json", "Channel switches within journeys")
	sql, err := q.Expand(TimeRange{From: day.Add(-time.Hour), To: day.Add(time.Hour), Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	got, err := runQuery(ctx, conn, sql)
	if err != nil {
		t.Fatalf("%v\n%s", err, sql)
	}
	want := [][]any{
		{"web", "phone", uint64(3), uint64(2)},
		{"phone", "chat", uint64(1), uint64(1)},
		{"phone", "web", uint64(1), uint64(1)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("channel switches %v, want %v", got, want)
	}
}

// panelQuery is the query of the panel titled title in the dashboard file.
func panelQuery(t *testing.T, file, title string) Query {
	t.Helper()
	ds, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		for _, q := range d.Queries() {
			if d.File == file && q.PanelTitle == title {
				return q
			}
		}
	}
	t.Fatalf("no panel %q in %s", title, file)
	return Query{}
}
