// Package sdkjs owns the browser SDK: journeys.js, its committed minified
// build journeys.min.js, and the HTTP handler that serves the build (ingest
// mounts it at /sdk.js, so a site can load the SDK from the same host it
// sends to, or proxy both under its own domain).
package sdkjs

//go:generate go run ./internal/cmd/minify

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"strings"
	"time"
)

// Build is the minified SDK as served.
//
//go:embed journeys.min.js
var Build []byte

// Source is the readable SDK the build is made from.
//
//go:embed journeys.js
var Source []byte

// CacheControl lets browsers and CDNs keep the SDK for an hour and use a
// stale copy for a day while they revalidate: a release reaches every
// visitor within the hour without a versioned URL in the site's snippet.
const CacheControl = "public, max-age=3600, stale-while-revalidate=86400"

var (
	gzipped = gzipBytes(Build)
	etag    = `"` + hashOf(Build) + `"`
	loaded  = time.Now()
)

// Handler serves the minified build for GET and HEAD, with an ETag,
// Cache-Control, and a gzip encoding when the browser accepts it.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/javascript; charset=utf-8")
		h.Set("Cache-Control", CacheControl)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Vary", "Accept-Encoding")
		body, tag := Build, etag
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			h.Set("Content-Encoding", "gzip")
			body, tag = gzipped, `"`+strings.Trim(etag, `"`)+`-gz"`
		}
		h.Set("ETag", tag)
		http.ServeContent(w, r, "", loaded, bytes.NewReader(body))
	})
}

// GzipSize is the size of the build as browsers download it compressed.
func GzipSize() int { return len(gzipped) }

func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}
