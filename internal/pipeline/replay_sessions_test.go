package pipeline_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/journeys/journeys/internal/chtest"
)

// The anonymous page views reach the user's processor, forwarded on the
// merge, after the user's later purchase: they must make a session of
// their own day, as a replay of the whole topic rebuilds it, not join the
// purchase's session three days on.
func TestReplayByNewGroupChangesNoRowOfAMergedCustomer(t *testing.T) {
	b := startBroker(t)
	db := chtest.NewDatabase(t)
	p := startForgetPipeline(t, b, db, "journeys-processor")
	defer func() {
		if p != nil {
			p.Close()
		}
	}()
	s := p.Store()
	send(t, p.URL, forgetCustomer("kim")...)
	ids := []string{"kim", "anon-kim"}
	last := ""
	eventually(t, 90*time.Second, "the merge to be done and the rows to settle", func() (bool, string) {
		under := count(t, s, "SELECT count() FROM touchpoints FINAL WHERE customer_id = 'kim'")
		now := rowsOf(t, s, ids...)
		settled := now == last
		last = now
		done, state := committedToEnd(t, b, "journeys-processor")
		return under == 9 && settled && done, fmt.Sprintf("%d under the user, settled %v, %s", under, settled, state)
	})
	before := rowsOf(t, s, ids...)
	sessions := render(t, s, `SELECT concat(toString(toDate(started_at)), ' ', toString(toDate(ended_at)), ' ', toString(touchpoints), ' ', entry_page)
		FROM sessions FINAL WHERE customer_id = 'kim'`)
	if want := day(0).Format("2006-01-02") + " " + day(0).Format("2006-01-02") + " 3 /pricing\n" +
		day(3).Format("2006-01-02") + " " + day(3).Format("2006-01-02") + " 1 "; sessions != want {
		t.Errorf("the user's sessions:\n%s\nwant\n%s", sessions, want)
	}
	t.Logf("before\n%s", before)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	p = nil
	p2 := replayWholeTopic(t, b, db)
	if err := p2.Store().WaitMutations(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := rowsOf(t, p2.Store(), ids...); got != before {
		t.Errorf("a replay by a new group changed the rows:\nbefore\n%s\nafter\n%s", before, got)
	}
}
