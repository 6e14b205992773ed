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
//
// It is held for every active customer, so it is kept small (see Memory in
// the package doc): the id is its 16 bytes (hex only in rows), times are
// seconds and nanoseconds, and each touchpoint is one word in steps. Path
// and Channels, which rows carry as []string, are built from the engine's
// interned names when a row is made; Engine.wide keeps them as strings
// only for a journey the compact form cannot describe.
type journey struct {
	id                 [16]byte
	startSec, endSec   int64 // Unix seconds of startedAt and endedAt
	startNsec, endNsec uint32
	revenue            float64
	friction           uint32
	status             status
	started            bool // false before the customer's first touchpoint
	// wide: Engine.wide holds this journey's path and channels as strings.
	wide bool
	// armed belongs to the customer (in Engine.armed); it is kept here,
	// where the struct has a spare byte.
	armed bool
	// steps has one word per touchpoint, in the order of the path: the
	// high 45 bits are the message id's hash (the duplicate check), the
	// low 16 bits the index of the event name in Engine.names, and the 3
	// bits between them the touchpoint's channel: 0 for none, else its
	// place in channels plus one (names and channels unused when wide).
	steps []uint64
	// channels are up to four channels in order of first appearance, 16
	// bits each from the lowest: the index in Engine.names plus one; 0 ends
	// the list (unused when wide).
	channels uint64
}

const (
	nameBits = 16
	nameMask = 1<<nameBits - 1
	// slotBits hold a step's channel, above its name.
	slotBits = 3
	slotMask = 1<<slotBits - 1
	hashMask = ^uint64(1<<(nameBits+slotBits) - 1)
	// maxChannels is how many channels journey.channels holds.
	maxChannels = 64 / nameBits
)

// slot is the channel of a step: 0 for none, else its place in
// journey.channels plus one.
func slot(step uint64) uint64 { return step >> nameBits & slotMask }

// wide is the path, channels and channel sequence of a journey as strings,
// for a journey the compact form cannot hold: a name the intern table had
// no room for, more than maxChannels channels, or a path longer than
// widePath (so that a long journey's rows share one array instead of each
// copying the path).
type wide struct {
	path     []string
	channels []string
	sequence []string // see schemas.Journey.ChannelSequence
}

// addChannel records the channel of the journey's next touchpoint.
func (w *wide) addChannel(channel string) {
	if channel != "" && !slices.Contains(w.channels, channel) {
		w.channels = append(w.channels, channel)
	}
	if n := len(w.sequence); n == 0 || w.sequence[n-1] != channel {
		w.sequence = append(w.sequence, channel)
	}
}

// widePath is the path length from which a journey keeps its path as
// strings: building a row then stays O(1) amortized instead of O(length).
const widePath = 64

// begin starts the customer's next journey with its first touchpoint. The
// steps array is reused (rows never share it), unless a long journey left
// it large.
func (j *journey) begin(customerID, firstMessageID string, at time.Time) {
	steps := j.steps[:0]
	if cap(steps) > widePath {
		steps = nil
	}
	*j = journey{
		id:      idHash(customerID, firstMessageID),
		started: true,
		armed:   j.armed,
		steps:   steps,
	}
	j.startSec, j.startNsec = unixTime(at)
	j.endSec, j.endNsec = j.startSec, j.startNsec
}

func (j *journey) startedAt() time.Time { return time.Unix(j.startSec, int64(j.startNsec)).UTC() }
func (j *journey) endedAt() time.Time   { return time.Unix(j.endSec, int64(j.endNsec)).UTC() }

// unixTime splits t as time.Unix takes it back; every time.Time a JSON
// timestamp or ClickHouse can hold round-trips (rows come back in UTC).
func unixTime(t time.Time) (sec int64, nsec uint32) {
	return t.Unix(), uint32(t.Nanosecond())
}

// journeyID is deterministic so that a replay gives the same id.
func journeyID(customerID, firstMessageID string) string {
	return hashID(customerID, firstMessageID)
}

// hashID is the hex of idHash(a, b).
func hashID(a, b string) string {
	id := idHash(a, b)
	return hex.EncodeToString(id[:])
}

// idHash is the first 16 bytes of sha256(a + "\x00" + b).
func idHash(a, b string) [16]byte {
	buf := make([]byte, 0, 64)
	buf = append(buf, a...)
	buf = append(buf, 0)
	buf = append(buf, b...)
	sum := sha256.Sum256(buf)
	return [16]byte(sum[:16])
}

// hexID is the journey id as rows carry it.
func (j *journey) hexID() string { return hex.EncodeToString(j.id[:]) }

// is reports whether id (as rows carry it) is this journey's, without
// allocating.
func (j *journey) is(id string) bool {
	if !j.started || len(id) != 2*len(j.id) {
		return false
	}
	var buf [32]byte
	hex.Encode(buf[:], j.id[:])
	return string(buf[:]) == id
}

// contains reports whether the journey holds a message id of hash h.
func (j *journey) contains(h uint64) bool {
	h &= hashMask
	for _, s := range j.steps {
		if s&hashMask == h {
			return true
		}
	}
	return false
}

// messageHash identifies a message id within one journey (FNV-1a, 64 bits,
// of which journey.steps keeps the high 45): under six bytes per touchpoint
// instead of the id itself. A collision inside one journey is improbable
// enough (about n²/2⁴⁶: 10⁻¹¹ for 20 touchpoints) to accept.
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

// grow returns steps with room for one more. It grows by an eighth rather
// than append's doubling, as the array is held for the journey's lifetime,
// and to the whole size class the allocator would round the array up to.
func grow(steps []uint64) []uint64 {
	if len(steps) < cap(steps) {
		return steps
	}
	n := len(steps)
	s := make([]uint64, n, sizeClass(n+n/8+1))
	copy(s, steps)
	return s
}

// sizeClasses are the Go allocator's size classes up to 32 KiB, in bytes.
var sizeClasses = [...]int{8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256,
	288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536, 1792,
	2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472, 9728,
	10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576, 27264, 28672, 32768}

// sizeClass is the number of words of the smallest size class holding n.
func sizeClass(n int) int {
	for _, c := range sizeClasses {
		if c >= 8*n {
			return c / 8
		}
	}
	return n
}
