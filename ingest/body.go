package ingest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
)

// inFlight bounds the bytes of request bodies held at once. Acquiring
// never waits: under overload the sender is told 503 at once rather than
// queued, so memory stays bounded whatever the load.
type inFlight struct {
	max  int64
	held atomic.Int64
	// gauge reports the bytes held; nil-safe.
	gauge func(float64)
}

func (f *inFlight) tryAcquire(n int64) bool {
	if f.held.Add(n) > f.max {
		f.held.Add(-n)
		return false
	}
	f.gauge(float64(f.held.Load()))
	return true
}

func (f *inFlight) release(n int64) {
	f.gauge(float64(f.held.Add(-n)))
}

// reservation is what a request holds of the in-flight budget while it is
// served: its declared length when it is not compressed, else the most its
// body may grow to.
func reservation(r *http.Request, limit int) int64 {
	if r.ContentLength >= 0 && r.ContentLength <= int64(limit) && !compressed(r) {
		return max(r.ContentLength, 1)
	}
	return int64(limit)
}

func compressed(r *http.Request) bool {
	enc := r.Header.Get("Content-Encoding")
	return enc != "" && !strings.EqualFold(enc, "identity")
}

var gzipReaders sync.Pool // *gzip.Reader

// readBody reads a request body, gunzipping it when Content-Encoding says
// gzip, and refuses it once its decompressed size passes limit. It never
// holds more than limit+1 decompressed bytes, so a zip bomb costs no more
// memory than an honest body.
func readBody(w http.ResponseWriter, r *http.Request, limit int, tooLarge Reason) ([]byte, *rejection) {
	if r.ContentLength > int64(limit) {
		return nil, reject(tooLarge, fmt.Sprintf("body exceeds %d bytes", limit))
	}
	var src io.Reader = http.MaxBytesReader(innermost(w), r.Body, int64(limit))
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, _ := gzipReaders.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(src)
		} else {
			err = zr.Reset(src)
		}
		if err != nil {
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				return nil, reject(tooLarge, fmt.Sprintf("body exceeds %d bytes", limit))
			}
			return nil, reject(ReasonBadEncoding, "body is not gzip: "+err.Error())
		}
		defer gzipReaders.Put(zr)
		src = zr
	default:
		return nil, reject(ReasonMediaType, fmt.Sprintf("Content-Encoding %q is not supported; send gzip or none", enc))
	}

	var buf bytes.Buffer
	if r.ContentLength > 0 && !compressed(r) {
		buf.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(io.LimitReader(src, int64(limit)+1))
	switch {
	case err != nil:
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, reject(tooLarge, fmt.Sprintf("body exceeds %d bytes", limit))
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, reject(ReasonBodyTimeout, fmt.Sprintf("body not received in time: %d bytes arrived before the server's read timeout", buf.Len()))
		}
		if compressed(r) {
			return nil, reject(ReasonBadEncoding, "body is not valid gzip: "+err.Error())
		}
		return nil, reject(ReasonInvalidJSON, "read body: "+err.Error())
	case buf.Len() > limit:
		return nil, reject(tooLarge, fmt.Sprintf("body exceeds %d bytes once decompressed", limit))
	}
	return buf.Bytes(), nil
}
