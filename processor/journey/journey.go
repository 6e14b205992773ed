package journey

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"time"

	"github.com/journeys/journeys/schemas"
)

// status of a journey; its value is also the low bits of the row version.
type status uint8

const (
	statusOpen      status = 0
	statusConverted status = 1
	statusAbandoned status = 2
)

var statusNames = [...]string{
	statusOpen:      schemas.JourneyOpen,
	statusConverted: schemas.JourneyConverted,
	statusAbandoned: schemas.JourneyAbandoned,
}

// journey is the state of a customer's current journey. It stays after the
// journey closed, so that a replayed touchpoint of it is recognised as a
// duplicate, until the next touchpoint starts a new one.
type journey struct {
	id        string // "" before the customer's first touchpoint
	startedAt time.Time
	endedAt   time.Time // time of the latest touchpoint, after clamping
	channels  []string
	path      []string
	seen      []uint64 // hashes of the message ids, in the order of path
	revenue   float64
	friction  uint32
	status    status
}

func newJourney(customerID, firstMessageID string, at time.Time) journey {
	return journey{id: journeyID(customerID, firstMessageID), startedAt: at, endedAt: at}
}

// journeyID is deterministic so that a replay gives the same id.
func journeyID(customerID, firstMessageID string) string {
	return hashID(customerID, firstMessageID)
}

// hashID is the hex of the first 16 bytes of sha256(a + "\x00" + b).
func hashID(a, b string) string {
	buf := make([]byte, 0, 64)
	buf = append(buf, a...)
	buf = append(buf, 0)
	buf = append(buf, b...)
	sum := sha256.Sum256(buf)
	return hex.EncodeToString(sum[:16])
}

func (j *journey) contains(h uint64) bool {
	return slices.Contains(j.seen, h)
}

// add appends a touchpoint that happened at the (clamped) time at.
func (j *journey) add(h uint64, event, channel string, at time.Time) {
	j.seen = append(j.seen, h)
	j.path = append(j.path, event)
	if channel != "" && !slices.Contains(j.channels, channel) {
		j.channels = append(j.channels, channel)
	}
	j.endedAt = at
}

// row is the journey's row; cause is the Kafka offset of the record that
// made this change (see Version in the package doc).
func (j *journey) row(customerID string, cause int64) schemas.Journey {
	n := len(j.path)
	return schemas.Journey{
		JourneyID:     j.id,
		CustomerID:    customerID,
		StartedAt:     j.startedAt,
		EndedAt:       j.endedAt,
		Status:        statusNames[j.status],
		Touchpoints:   uint32(n),
		Channels:      j.channels[:len(j.channels):len(j.channels)],
		Path:          j.path[:n:n],
		FrictionCount: j.friction,
		Revenue:       j.revenue,
		Version:       uint64(cause+1)*4 + uint64(j.status),
	}
}

// messageHash identifies a message id within one journey (FNV-1a, 64 bits):
// eight bytes per touchpoint instead of the id itself. A collision inside one
// journey is improbable enough (about n²/2⁶⁵) to accept.
func messageHash(id string) uint64 {
	const (
		offset64 = 14695981039346656037
		prime64  = 1099511628211
	)
	h := uint64(offset64)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= prime64
	}
	return h
}
