package forget

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/segmentio/kafka-go"
)

// Store is what a forget request reads and deletes in ClickHouse.
// *store.Store implements it.
type Store interface {
	// LinkedIDs are the ids identity stitching linked to the user.
	LinkedIDs(ctx context.Context, userID string) ([]string, error)
	// DeleteCustomers starts the deletion of the rows of the ids with
	// these hashes from every table.
	DeleteCustomers(ctx context.Context, hashes []string) error
	// WaitMutations waits until ClickHouse applied the deletions.
	WaitMutations(ctx context.Context) error
}

// Writer produces records to the suppression list's topic and returns
// once all in-sync replicas acknowledged them. NewWriter makes one.
type Writer interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// Forgetter carries out forget requests.
type Forgetter struct {
	Store  Store
	Writer Writer
	// Now stamps the records; nil means time.Now.
	Now func() time.Time
	// Log gets one line per request, naming ids by hash only; nil: none.
	Log *slog.Logger
}

// Result says what a forget request did. It names ids by hash only.
type Result struct {
	// IDHashes are the hashes of the user id and of its linked ids, in
	// that order, as written to the suppression list.
	IDHashes []string `json:"idHashes"`
	// LinkedIDs is how many of them identity stitching had linked.
	LinkedIDs int `json:"linkedIds"`
	// Deleted is true once ClickHouse applied the deletions; false when
	// they were started and not waited for.
	Deleted bool `json:"deleted"`
}

// NewWriter is the writer of the suppression list: acks from all in-sync
// replicas, one record per id keyed by its hash.
func NewWriter(brokers []string, topic string) *kafka.Writer {
	if topic == "" {
		topic = DefaultTopic
	}
	return &kafka.Writer{
		Addr:         kafka.TCP(brokers...),
		Topic:        topic,
		Balancer:     &kafka.Hash{},
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: time.Millisecond,
		WriteTimeout: 10 * time.Second,
	}
}

// Forget suppresses the user's events and those of their linked ids, then
// deletes their rows; with wait it returns once ClickHouse applied the
// deletions. Run again after a failure: every step is idempotent.
func (f *Forgetter) Forget(ctx context.Context, userID string, wait bool) (Result, error) {
	if err := ValidateUserID(userID); err != nil {
		return Result{}, err
	}
	linked, err := f.Store.LinkedIDs(ctx, userID)
	if err != nil {
		return Result{}, fmt.Errorf("forget: %w", err)
	}
	now := time.Now
	if f.Now != nil {
		now = f.Now
	}
	at := now().UTC()
	res := Result{LinkedIDs: len(linked)}
	msgs := make([]kafka.Message, 0, 1+len(linked))
	for i, id := range append([]string{userID}, linked...) {
		rec := Record{IDHash: Hash(id), Linked: i > 0, ForgottenAt: at}
		v, err := json.Marshal(rec)
		if err != nil {
			return Result{}, fmt.Errorf("forget: encode record: %w", err)
		}
		res.IDHashes = append(res.IDHashes, rec.IDHash)
		msgs = append(msgs, kafka.Message{Key: []byte(rec.IDHash), Value: v})
	}
	if err := f.Writer.WriteMessages(ctx, msgs...); err != nil {
		return Result{}, fmt.Errorf("forget: write %d ids to the suppression list: %w", len(msgs), err)
	}
	if err := f.Store.DeleteCustomers(ctx, res.IDHashes); err != nil {
		return res, fmt.Errorf("forget: suppressed but not deleted: %w", err)
	}
	if wait {
		if err := f.Store.WaitMutations(ctx); err != nil {
			return res, fmt.Errorf("forget: suppressed, deletion started: %w", err)
		}
		res.Deleted = true
	}
	if f.Log != nil {
		f.Log.Info("customer forgotten", "id_hash", res.IDHashes[0], "linked_ids", len(linked), "deleted", res.Deleted)
	}
	return res, nil
}
