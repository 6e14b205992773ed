package ingest

import (
	"crypto/subtle"
	"net/http"
)

// writeKeys knows the configured write keys and the source each stands for.
type writeKeys struct {
	keys [][]byte
}

func newWriteKeys(keys []string) writeKeys {
	wk := writeKeys{keys: make([][]byte, len(keys))}
	for i, k := range keys {
		wk.keys[i] = []byte(k)
	}
	return wk
}

// source returns the source name of key. Every configured key is compared
// in constant time, so timing does not tell how much of a guess was right.
func (wk writeKeys) source(key string) (string, bool) {
	if key == "" {
		return "", false
	}
	found := -1
	for i, k := range wk.keys {
		if subtle.ConstantTimeCompare(k, []byte(key)) == 1 {
			found = i
		}
	}
	if found < 0 {
		return "", false
	}
	return sourceName(found), true
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
	if q := r.URL.Query().Get("writeKey"); q != "" {
		return q, true
	}
	return "", false
}
