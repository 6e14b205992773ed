package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/journeys/journeys/forget"
	"github.com/journeys/journeys/internal/chtest"
	"github.com/journeys/journeys/store"
)

// A new table must be added to store.ForgetTables (or, if it holds nothing
// about customers, to store.NoCustomerData), with columns that exist, or a
// forget request would leave the customer in it.
func TestForgetTablesCoverEveryTable(t *testing.T) {
	s := chtest.Open(t)
	ctx := context.Background()
	tables, err := s.Tables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, ft := range store.ForgetTables {
		listed = append(listed, ft.Name)
		for _, col := range ft.Columns {
			var n uint64
			if err := s.Conn().QueryRow(ctx, `SELECT count() FROM system.columns WHERE database = ? AND table = ? AND name = ?`,
				s.Database(), ft.Name, col).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Errorf("store.ForgetTables names %s.%s, which does not exist", ft.Name, col)
			}
		}
	}
	listed = append(listed, store.NoCustomerData...)
	slices.Sort(listed)
	if !slices.Equal(tables, listed) {
		t.Errorf("tables of the database %v, but store.ForgetTables and NoCustomerData list %v", tables, listed)
	}
}

func TestDeleteCustomersRemovesEveryRowOfTheirIDsOnly(t *testing.T) {
	s := chtest.Open(t)
	ctx := context.Background()
	// One row per table and id column for the customer to forget, their
	// anonymous id, and a customer to keep; the views fill their tables.
	// (INSERT … SELECT: the driver's Exec cannot send VALUES.)
	for _, ft := range store.ForgetTables {
		for _, col := range ft.Columns {
			for _, id := range []string{"gone", "gone-anon", "kept"} {
				key := ft.Columns[0]
				q := "INSERT INTO " + ft.Name + " (" + key + ") SELECT '" + id + "'"
				if col != key {
					q = "INSERT INTO " + ft.Name + " (" + key + ", " + col + ") SELECT 'row-of-" + id + "-" + col + "', '" + id + "'"
				}
				if err := s.Conn().Exec(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
		}
	}
	gone := []string{forget.Hash("gone"), forget.Hash("gone-anon")}
	before, err := s.CountCustomerRows(ctx, gone)
	if err != nil {
		t.Fatal(err)
	}
	kept := []string{forget.Hash("kept")}
	keptBefore, err := s.CountCustomerRows(ctx, kept)
	if err != nil {
		t.Fatal(err)
	}
	for table, n := range before {
		if n == 0 || keptBefore[table] == 0 {
			t.Fatalf("%s holds %d rows of the customer to forget and %d of the other before the deletion", table, n, keptBefore[table])
		}
	}

	if err := s.DeleteCustomers(ctx, gone); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := s.WaitMutations(wctx); err != nil {
		t.Fatal(err)
	}
	after, err := s.CountCustomerRows(ctx, gone)
	if err != nil {
		t.Fatal(err)
	}
	keptAfter, err := s.CountCustomerRows(ctx, kept)
	if err != nil {
		t.Fatal(err)
	}
	for table := range before {
		if after[table] != 0 {
			t.Errorf("%s still holds %d rows of the forgotten customer", table, after[table])
		}
		if keptAfter[table] != keptBefore[table] {
			t.Errorf("%s holds %d rows of the other customer, had %d", table, keptAfter[table], keptBefore[table])
		}
	}
	if err := s.DeleteCustomers(ctx, []string{"gone'); DROP TABLE touchpoints; --"}); err == nil || !strings.Contains(err.Error(), "not a SHA-256") {
		t.Errorf("a hash that is not hex: %v, want it refused", err)
	}
}

func TestLinkedIDsFollowLinksOfLinks(t *testing.T) {
	s := chtest.Open(t)
	ctx := context.Background()
	for _, l := range [][2]string{{"anon-1", "user"}, {"anon-2", "user"}, {"alias-of-anon", "anon-1"}, {"anon-3", "other"}} {
		if err := s.Conn().Exec(ctx, "INSERT INTO identities (linked_id, user_id) SELECT '"+l[0]+"', '"+l[1]+"'"); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.LinkedIDs(ctx, "user")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"alias-of-anon", "anon-1", "anon-2"}; !slices.Equal(got, want) {
		t.Errorf("linked ids %v, want %v", got, want)
	}
	if got, err := s.LinkedIDs(ctx, "nobody"); err != nil || len(got) != 0 {
		t.Errorf("linked ids of an unknown user: %v, %v", got, err)
	}
}
