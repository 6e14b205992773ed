package ingest

import (
	"bytes"
	"container/list"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/mileusna/useragent"

	"github.com/journeys/journeys/schemas"
)

// segmentEvents maps the names of Segment's e-commerce spec to the events
// journeys knows; doc.go lists them for senders.
var segmentEvents = map[string]string{
	"Order Completed":  schemas.EventPurchase,
	"Checkout Started": "checkout_started",
}

// mapEventName renames a Segment e-commerce track event to ours.
func mapEventName(ev *rawEvent) {
	if !ev.object || ev.env.Type.Str != schemas.TypeTrack || ev.env.Event.Kind != schemas.String {
		return
	}
	if ours, ok := segmentEvents[ev.env.Event.Str]; ok {
		ev.setField(fieldEvent, []byte(`"`+ours+`"`))
	}
}

// enrich turns a validated call into the event that goes to Kafka: it fills
// in the message id, the batch's sentAt and context, the source, the
// default channel and the parsed user agent, and corrects the sender's
// clock skew.
func enrich(ev *rawEvent, req *request, source string, receivedAt time.Time) (schemas.Event, error) {
	e := &ev.env
	out := schemas.Event{
		MessageID:   e.MessageID.Str,
		Type:        e.Type.Str,
		Event:       e.Event.Str,
		Name:        e.Name.Str,
		AnonymousID: e.AnonymousID.Str,
		UserID:      e.UserID.Str,
		PreviousID:  e.PreviousID.Str,
		GroupID:     e.GroupID.Str,
		Channel:     e.Channel.Str,
		ReceivedAt:  receivedAt,
		Context:     ev.objectField(fieldContext),
		Properties:  ev.objectField(fieldProperties),
		Traits:      ev.objectField(fieldTraits),
		Source:      source,
	}
	if out.MessageID == "" {
		out.MessageID = uuid.NewString()
	}
	if out.Context == nil {
		out.Context = req.context
	}
	out.Context = req.agents.withDevice(out.Context)
	if out.Channel == "" {
		out.Channel = schemas.DefaultChannel(out.Type, out.Event)
	}

	original, err := ev.timeField(fieldTimestamp)
	if err != nil {
		return out, err
	}
	if original == nil {
		if original, err = ev.timeField(fieldOriginalTimestamp); err != nil {
			return out, err
		}
	}
	sentAt, err := ev.timeField(fieldSentAt)
	if err != nil {
		return out, err
	}
	if sentAt == nil {
		sentAt = req.sentAt
	}
	out.OriginalTimestamp, out.SentAt = original, sentAt
	out.Timestamp = correctedTime(original, sentAt, receivedAt)
	return out, nil
}

// correctedTime moves the sender's event time onto ingest's clock: the
// event happened as long before receipt as it happened before the sender
// sent it. Without sentAt the sender's clock is all there is.
func correctedTime(original, sentAt *time.Time, receivedAt time.Time) time.Time {
	switch {
	case original == nil:
		return receivedAt
	case sentAt == nil:
		return original.UTC()
	default:
		return receivedAt.Add(-sentAt.Sub(*original)).UTC()
	}
}

// userAgents parses context.userAgent into context.device, context.os and
// context.browser. Events of one request nearly always share one agent,
// so the last answer is kept; parses are shared between requests through
// the handler's cache.
type userAgents struct {
	cache     *uaCache // nil: no sharing
	lastUA    string
	lastParts *deviceParts
	// lastCtx and lastOut are the last context given and what it became:
	// the events of a batch often carry the same context byte for byte.
	lastCtx, lastOut []byte
}

// deviceParts are the rendered "device":…, "os":… and "browser":… members
// of one agent, and all three joined, each with a leading comma.
type deviceParts struct {
	each [3][]byte
	all  []byte
}

// deviceKeys are the keys withDevice adds, in deviceParts order.
var deviceKeys = [3]string{"device", "os", "browser"}

// withDevice adds device, os and browser to a context that has a
// userAgent and lacks them; a mobile SDK's own device and os win. It reads
// the context's bytes rather than decoding it: a key named device, os or
// browser anywhere in the context counts as present.
func (u *userAgents) withDevice(ctx json.RawMessage) json.RawMessage {
	if u.lastCtx != nil && bytes.Equal(ctx, u.lastCtx) {
		return u.lastOut
	}
	out := u.addDevice(ctx)
	u.lastCtx, u.lastOut = ctx, out
	return out
}

func (u *userAgents) addDevice(ctx json.RawMessage) json.RawMessage {
	raw, ok := userAgentOf(ctx)
	if !ok {
		return ctx
	}
	if u.lastParts == nil || string(raw) != u.lastUA {
		ua := stringValue(raw)
		if ua == "" {
			return ctx
		}
		u.lastUA, u.lastParts = string(raw), u.cache.parts(ua)
	}
	present := mentionedKeys(ctx)
	add := u.lastParts.all
	if present != [3]bool{} {
		add = nil
		for i, p := range present {
			if !p {
				add = append(add, u.lastParts.each[i]...)
			}
		}
		if add == nil {
			return ctx
		}
	}
	trimmed := bytes.TrimRight(ctx, " \t\r\n")
	out := make([]byte, 0, len(trimmed)+len(add))
	out = append(out, trimmed[:len(trimmed)-1]...) // up to the closing brace
	out = append(out, add...)
	return append(out, '}')
}

// mentionedKeys says which of "device", "os" and "browser", quotes
// included, occur anywhere in ctx.
func mentionedKeys(ctx []byte) (present [3]bool) {
	for i := 0; i < len(ctx); {
		q := bytes.IndexByte(ctx[i:], '"')
		if q < 0 {
			break
		}
		rest := ctx[i+q+1:]
		for k, key := range deviceKeys {
			if len(rest) > len(key) && rest[len(key)] == '"' && string(rest[:len(key)]) == key {
				present[k] = true
			}
		}
		i += q + 1
	}
	return present
}

// userAgentOf finds the value of the first "userAgent" key of a context
// object: the JSON string, quotes included.
func userAgentOf(ctx []byte) ([]byte, bool) {
	if len(ctx) < 2 || ctx[0] != '{' {
		return nil, false
	}
	key := []byte(`"userAgent"`)
	i := bytes.Index(ctx, key)
	if i < 0 {
		return nil, false
	}
	rest := bytes.TrimLeft(ctx[i+len(key):], " \t\r\n")
	if len(rest) == 0 || rest[0] != ':' {
		return nil, false
	}
	rest = bytes.TrimLeft(rest[1:], " \t\r\n")
	if len(rest) == 0 || rest[0] != '"' {
		return nil, false
	}
	end := 1
	for end < len(rest) && rest[end] != '"' {
		if rest[end] == '\\' {
			end++
		}
		end++
	}
	if end >= len(rest) {
		return nil, false
	}
	return rest[:end+1], true
}

// uaCacheSize bounds the agents whose parse the handler keeps.
const uaCacheSize = 1024

// uaCache keeps the rendered parse of the user agents seen last, least
// recently used first out; parsing an agent costs microseconds, and a
// site's visitors share a few hundred. Safe for concurrent use.
type uaCache struct {
	mu    sync.Mutex
	max   int
	byUA  map[string]*list.Element
	order *list.List // of *uaEntry, most recent in front
}

type uaEntry struct {
	ua    string
	parts *deviceParts
}

func newUACache(max int) *uaCache {
	return &uaCache{max: max, byUA: make(map[string]*list.Element, max), order: list.New()}
}

// parts renders an agent's device, os and browser, from the cache when
// it holds them. A nil cache parses every time.
func (c *uaCache) parts(ua string) *deviceParts {
	if c == nil {
		return deviceFields(useragent.Parse(ua))
	}
	c.mu.Lock()
	if e, ok := c.byUA[ua]; ok {
		c.order.MoveToFront(e)
		p := e.Value.(*uaEntry).parts
		c.mu.Unlock()
		return p
	}
	c.mu.Unlock()

	p := deviceFields(useragent.Parse(ua)) // outside the lock: it is the slow part
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byUA[ua]; !ok {
		c.byUA[ua] = c.order.PushFront(&uaEntry{ua: ua, parts: p})
		if c.order.Len() > c.max {
			oldest := c.order.Back()
			c.order.Remove(oldest)
			delete(c.byUA, oldest.Value.(*uaEntry).ua)
		}
	}
	return p
}

type uaDevice struct {
	Type string `json:"type"`
	Name string `json:"name,omitempty"`
}

type uaNamed struct {
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
}

// deviceFields renders "device":…, "os":… and "browser":… of an agent.
func deviceFields(ua useragent.UserAgent) *deviceParts {
	dev := uaDevice{Type: "other", Name: ua.Device}
	switch {
	case ua.Bot:
		dev.Type = "bot"
	case ua.Tablet:
		dev.Type = "tablet"
	case ua.Mobile:
		dev.Type = "mobile"
	case ua.Desktop:
		dev.Type = "desktop"
	}
	d, _ := json.Marshal(dev)
	o, _ := json.Marshal(uaNamed{Name: ua.OS, Version: ua.OSVersion})
	b, _ := json.Marshal(uaNamed{Name: ua.Name, Version: ua.Version})
	p := &deviceParts{each: [3][]byte{
		append([]byte(`,"device":`), d...),
		append([]byte(`,"os":`), o...),
		append([]byte(`,"browser":`), b...),
	}}
	p.all = bytes.Join(p.each[:], nil)
	return p
}

// piiHasher replaces configured property values by their keyed hash, so
// that e-mail addresses and phone numbers never reach Kafka, yet the same
// address always hashes to the same value for joining.
type piiHasher struct {
	key []byte
	// paths by top-level field (properties, traits, context): the path
	// below it.
	paths map[callField][][]string
}

func newPIIHasher(key string, paths []string) *piiHasher {
	if len(paths) == 0 {
		return nil
	}
	h := &piiHasher{key: []byte(key), paths: map[callField][][]string{}}
	for _, p := range paths {
		top, rest, _ := splitHashPath(p)
		f, _ := callFieldOf(top)
		h.paths[f] = append(h.paths[f], rest)
	}
	return h
}

// splitHashPath splits "context.traits.email" into "context" and
// [traits email].
func splitHashPath(p string) (top string, rest []string, ok bool) {
	parts := strings.Split(p, ".")
	if len(parts) < 2 || slicesContainsEmpty(parts) {
		return "", nil, false
	}
	switch parts[0] {
	case "properties", "traits", "context":
		return parts[0], parts[1:], true
	}
	return "", nil, false
}

func slicesContainsEmpty(parts []string) bool {
	for _, p := range parts {
		if p == "" {
			return true
		}
	}
	return false
}

// hashFields hashes the configured paths of one call's fields in place.
// Only objects that hold a configured leaf name are decoded.
func (h *piiHasher) hashFields(ev *rawEvent) error {
	if h == nil || !ev.object || ev.hashed {
		return nil
	}
	ev.hashed = true
	for top, paths := range h.paths {
		raw := ev.fields[top]
		if len(raw) == 0 || raw[0] != '{' || !h.mentions(raw, paths) {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			return fmt.Errorf("%s: %w", callFieldNames[top], err)
		}
		changed := false
		for _, p := range paths {
			changed = h.hashPath(obj, p) || changed
		}
		if !changed {
			continue
		}
		b, err := json.Marshal(obj)
		if err != nil {
			return fmt.Errorf("%s: %w", callFieldNames[top], err)
		}
		ev.fields[top] = b
	}
	return nil
}

func (h *piiHasher) mentions(raw []byte, paths [][]string) bool {
	for _, p := range paths {
		if bytes.Contains(raw, []byte(`"`+p[len(p)-1]+`"`)) {
			return true
		}
	}
	return false
}

func (h *piiHasher) hashPath(obj map[string]any, path []string) bool {
	for _, k := range path[:len(path)-1] {
		next, ok := obj[k].(map[string]any)
		if !ok {
			return false
		}
		obj = next
	}
	leaf := path[len(path)-1]
	v, ok := obj[leaf]
	if !ok || v == nil {
		return false
	}
	var plain string
	switch v := v.(type) {
	case string:
		plain = v
	case json.Number:
		plain = v.String()
	default:
		b, _ := json.Marshal(v)
		plain = string(b)
	}
	mac := hmac.New(sha256.New, h.key)
	mac.Write([]byte(plain))
	obj[leaf] = hex.EncodeToString(mac.Sum(nil))
	return true
}
