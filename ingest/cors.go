package ingest

import (
	"net/http"
)

// preflightMaxAge is how long a browser may reuse a preflight answer.
const preflightMaxAge = "86400"

// preflight answers a browser's CORS preflight. It carries no write key,
// so it is allowed when some source allows the origin; the real request
// is then checked against its own source's origins.
func (h *handler) preflight(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin == "" || !h.sources.mayBeAllowed(origin) {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	hdr := w.Header()
	allowOrigin(hdr, origin)
	hdr.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	hdr.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Content-Encoding")
	hdr.Set("Access-Control-Max-Age", preflightMaxAge)
	w.WriteHeader(http.StatusNoContent)
}

// allowOrigin lets a browser at origin read the answer. The origin is
// echoed rather than "*" so that credentialed requests work too.
func allowOrigin(hdr http.Header, origin string) {
	hdr.Set("Access-Control-Allow-Origin", origin)
	hdr.Add("Vary", "Origin")
	hdr.Set("Access-Control-Expose-Headers", "Retry-After")
}
