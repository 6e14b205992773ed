package ingest

import (
	"crypto/subtle"
	"math"
	"net/http"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// source is a configured Source ready for requests.
type source struct {
	Source
	key     []byte
	events  map[string]bool // nil: every event
	limiter *rate.Limiter   // nil: unlimited
	burst   int
}

// sources knows every configured source by write key.
type sources struct {
	all []*source
	// anyOrigin says some source allows every origin; origins is the union
	// of the exact origins, for answering preflights before the key is known.
	anyOrigin bool
	origins   map[string]bool
	wildcards []string // ".example.com" of https://*.example.com, with scheme
}

func newSources(cfg []Source) *sources {
	ss := &sources{origins: map[string]bool{}}
	for _, s := range cfg {
		src := &source{Source: s, key: []byte(s.WriteKey)}
		if len(s.AllowedEvents) > 0 && !containsStar(s.AllowedEvents) {
			src.events = make(map[string]bool, len(s.AllowedEvents))
			for _, e := range s.AllowedEvents {
				src.events[e] = true
			}
		}
		if s.RateLimit > 0 {
			src.burst = s.burst()
			src.limiter = rate.NewLimiter(rate.Limit(s.RateLimit), src.burst)
		}
		for _, o := range s.AllowedOrigins {
			switch {
			case o == "*":
				ss.anyOrigin = true
			case strings.Contains(o, "://*."):
				ss.wildcards = append(ss.wildcards, o)
			default:
				ss.origins[o] = true
			}
		}
		ss.all = append(ss.all, src)
	}
	return ss
}

func containsStar(list []string) bool {
	for _, s := range list {
		if s == "*" {
			return true
		}
	}
	return false
}

// lookup returns the enabled source of key, or nil. Every configured key
// is compared in constant time, so timing does not tell how much of a
// guess was right; a disabled source answers like an unknown one.
func (ss *sources) lookup(key string) *source {
	if key == "" {
		return nil
	}
	var found *source
	k := []byte(key)
	for _, s := range ss.all {
		if subtle.ConstantTimeCompare(s.key, k) == 1 {
			found = s
		}
	}
	if found == nil || found.Disabled {
		return nil
	}
	return found
}

// mayBeAllowed says whether some source allows origin: enough to answer a
// preflight, which carries no write key.
func (ss *sources) mayBeAllowed(origin string) bool {
	if ss.anyOrigin || ss.origins[origin] {
		return true
	}
	for _, w := range ss.wildcards {
		if originMatches(w, origin) {
			return true
		}
	}
	return false
}

// allowsOrigin says whether a browser at origin may send with this source's key.
func (s *source) allowsOrigin(origin string) bool {
	for _, o := range s.AllowedOrigins {
		if o == "*" || o == origin || originMatches(o, origin) {
			return true
		}
	}
	return false
}

// originMatches matches scheme://*.domain[:port] against an origin of a
// subdomain of domain.
func originMatches(pattern, origin string) bool {
	scheme, host, ok := strings.Cut(pattern, "://*.")
	if !ok {
		return false
	}
	oScheme, oHost, ok := strings.Cut(origin, "://")
	return ok && oScheme == scheme && strings.HasSuffix(oHost, "."+host) && len(oHost) > len(host)+1
}

// allowsEvent says whether the source may send events named name.
func (s *source) allowsEvent(name string) bool {
	return s.events == nil || s.events[name]
}

// take takes n events' tokens from the source's bucket. When the bucket
// is short it takes nothing and says how long until it would not be.
func (s *source) take(n int, now time.Time) (ok bool, retryAfter time.Duration) {
	if s.limiter == nil || n == 0 {
		return true, 0
	}
	r := s.limiter.ReserveN(now, min(n, s.burst))
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// retryAfterHeader rounds a wait up to whole seconds, at least one.
func retryAfterHeader(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// requestKey is the write key a request carries outside its body: as the
// HTTP Basic user name (password empty) or, for beacons that cannot set
// headers, as the writeKey query parameter. present says whether the
// sender tried either way, so that a wrong key fails before the body is read.
func requestKey(r *http.Request) (key string, present bool) {
	if r.Header.Get("Authorization") != "" {
		user, _, ok := r.BasicAuth()
		if !ok {
			return "", true
		}
		return user, true
	}
	if r.URL.RawQuery != "" {
		if q := r.URL.Query().Get("writeKey"); q != "" {
			return q, true
		}
	}
	return "", false
}
