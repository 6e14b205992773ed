package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// ForgetTable is a table of the data model and the columns that hold a
// customer's ids, which a forget request deletes rows by.
type ForgetTable struct {
	Name    string
	Columns []string
}

// ForgetTables are every table of the database that holds personal data,
// with the columns naming the customer. Tables behind materialized views
// (touchpoints_by_customer, journey_customers, help_page_views,
// inbound_contact_touchpoints, engagement_touchpoints) are here: a view with TO
// writes into them and keeps nothing itself. TestForgetTablesCoverEveryTable
// holds this list to system.tables, so a new table cannot be left out.
var ForgetTables = []ForgetTable{
	{"touchpoints", []string{"customer_id", "anonymous_id", "user_id"}},
	{"touchpoints_by_customer", []string{"customer_id"}},
	{"journeys", []string{"customer_id"}},
	{"journey_customers", []string{"customer_id"}},
	{"friction_flags", []string{"customer_id"}},
	{"sessions", []string{"customer_id"}},
	{"customers", []string{"customer_id"}},
	{"identities", []string{"linked_id", "user_id"}},
	{"help_page_views", []string{"customer_id"}},
	{"inbound_contact_touchpoints", []string{"customer_id"}},
	{"engagement_touchpoints", []string{"customer_id"}},
}

// NoCustomerData are the tables that hold nothing about a customer.
var NoCustomerData = []string{"schema_migrations"}

// maxLinkDepth bounds how far LinkedIDs follows links of links (an alias of
// an id that was itself linked to the user).
const maxLinkDepth = 8

// LinkedIDs returns the ids identity stitching linked to userID (anonymous
// ids of identifies, previous ids of aliases), and the ids linked to those,
// whether or not the link was merged yet. userID itself is not in the list.
func (s *Store) LinkedIDs(ctx context.Context, userID string) ([]string, error) {
	seen := map[string]bool{userID: true}
	frontier := []string{userID}
	var out []string
	for depth := 0; depth < maxLinkDepth && len(frontier) > 0; depth++ {
		ids, err := s.queryStrings(ctx, `SELECT DISTINCT linked_id FROM identities WHERE user_id IN ?`, set(frontier))
		if err != nil {
			return nil, fmt.Errorf("read ids linked to a customer: %w", err)
		}
		frontier = frontier[:0:0]
		for _, id := range ids {
			if !seen[id] {
				seen[id] = true
				frontier = append(frontier, id)
				out = append(out, id)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// hashedIDCondition is the WHERE clause matching rows whose columns hold
// an id of which hashes lists the SHA-256 (lower-case hex). The deletion
// names ids only by hash, as the suppression list does.
func hashedIDCondition(columns []string, hashes []string) string {
	quoted := make([]string, len(hashes))
	for i, h := range hashes {
		quoted[i] = "'" + h + "'"
	}
	set := "(" + strings.Join(quoted, ",") + ")"
	conds := make([]string, len(columns))
	for i, c := range columns {
		conds[i] = "lower(hex(SHA256(" + c + "))) IN " + set
	}
	return strings.Join(conds, " OR ")
}

// DeleteCustomers starts a mutation on every table of ForgetTables that
// deletes the rows of the customers whose id hashes to one of hashes
// (SHA-256, lower-case hex; see package forget). ClickHouse applies
// mutations in the background: WaitMutations waits for them.
func (s *Store) DeleteCustomers(ctx context.Context, hashes []string) error {
	if len(hashes) == 0 {
		return nil
	}
	for _, h := range hashes {
		if !isHexHash(h) {
			return fmt.Errorf("delete customers: %q is not a SHA-256 in hex", h)
		}
	}
	for _, t := range ForgetTables {
		q := "ALTER TABLE " + t.Name + " DELETE WHERE " + hashedIDCondition(t.Columns, hashes)
		if err := s.conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("delete %d forgotten customers from %s: %w", len(hashes), t.Name, err)
		}
	}
	return nil
}

// CountCustomerRows counts, per table of ForgetTables, the rows of the
// customers whose id hashes to one of hashes, as stored now (no FINAL: a
// row superseded but not merged away yet counts).
func (s *Store) CountCustomerRows(ctx context.Context, hashes []string) (map[string]uint64, error) {
	out := make(map[string]uint64, len(ForgetTables))
	for _, t := range ForgetTables {
		var n uint64
		q := "SELECT count() FROM " + t.Name + " WHERE " + hashedIDCondition(t.Columns, hashes)
		if err := s.conn.QueryRow(ctx, q).Scan(&n); err != nil {
			return nil, fmt.Errorf("count rows of forgotten customers in %s: %w", t.Name, err)
		}
		out[t.Name] = n
	}
	return out, nil
}

// mutationPoll is how often WaitMutations looks at system.mutations.
const mutationPoll = 200 * time.Millisecond

// WaitMutations waits until ClickHouse has applied every mutation of the
// database's ForgetTables, or ctx ends.
func (s *Store) WaitMutations(ctx context.Context) error {
	tables := make([]string, len(ForgetTables))
	for i, t := range ForgetTables {
		tables[i] = t.Name
	}
	for {
		var pending uint64
		err := s.conn.QueryRow(ctx, `SELECT count() FROM system.mutations
WHERE database = ? AND table IN ? AND is_done = 0`, s.cfg.Database, set(tables)).Scan(&pending)
		if err != nil {
			return fmt.Errorf("read pending mutations: %w", err)
		}
		if pending == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d deletions still pending in ClickHouse (see system.mutations): %w", pending, ctx.Err())
		case <-time.After(mutationPoll):
		}
	}
}

// Tables lists the tables of the database that store rows: views are left
// out, the tables they write to are not.
func (s *Store) Tables(ctx context.Context) ([]string, error) {
	out, err := s.queryStrings(ctx, `SELECT name FROM system.tables WHERE database = ? AND engine NOT LIKE '%View%' ORDER BY name`, s.cfg.Database)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	return out, nil
}

// queryStrings runs a query of one String column and returns its values.
func (s *Store) queryStrings(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := s.conn.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func isHexHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for _, c := range h {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
