package forget

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"
)

// DefaultTopic is the topic of the suppression list.
const DefaultTopic = "forget"

// MaxIDBytes bounds a user id in a forget request, as ingest bounds events.
const MaxIDBytes = 1024

// ErrBadUserID is wrapped by the error of a forget request whose user id
// is empty, too long, not UTF-8 or holds control characters.
var ErrBadUserID = errors.New("bad user id")

// Hash is how the list and the deletions name an id: its SHA-256 in
// lower-case hex, which ClickHouse computes as lower(hex(SHA256(id))).
func Hash(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// Record is the value of a record of the forget topic; its key is IDHash.
type Record struct {
	IDHash string `json:"idHash"`
	// Linked is true for an id linked to the forgotten user (an anonymous
	// id or an alias), false for the user id itself.
	Linked      bool      `json:"linked"`
	ForgottenAt time.Time `json:"forgottenAt"`
}

func parseRecord(v []byte) (Record, error) {
	var r Record
	if err := json.Unmarshal(v, &r); err != nil {
		return Record{}, fmt.Errorf("decode forget record: %w", err)
	}
	if len(r.IDHash) != sha256.Size*2 {
		return Record{}, fmt.Errorf("decode forget record: idHash %q is not a SHA-256 in hex", r.IDHash)
	}
	if _, err := hex.DecodeString(r.IDHash); err != nil {
		return Record{}, fmt.Errorf("decode forget record: idHash: %w", err)
	}
	return r, nil
}

// ValidateUserID says what is wrong with a user id given to forget.
func ValidateUserID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: empty", ErrBadUserID)
	case len(id) > MaxIDBytes:
		return fmt.Errorf("%w: %d bytes, at most %d", ErrBadUserID, len(id), MaxIDBytes)
	case !utf8.ValidString(id):
		return fmt.Errorf("%w: not valid UTF-8", ErrBadUserID)
	}
	for _, r := range id {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: holds the control character %U", ErrBadUserID, r)
		}
	}
	return nil
}
