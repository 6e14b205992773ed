package ingest

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/journeys/journeys/forget"
)

// Suppression is the list of forgotten customers whose events ingest
// drops. *forget.List implements it.
type Suppression interface {
	// Forgotten reports whether any of the non-empty ids is forgotten.
	Forgotten(ids ...string) bool
}

// Forgetter carries out a forget request. *forget.Forgetter implements it.
type Forgetter interface {
	Forget(ctx context.Context, userID string, wait bool) (forget.Result, error)
}

// maxAdminBody bounds the body of an admin request.
const maxAdminBody = 4 << 10

// forgetRequest is the body of POST /v1/admin/forget.
type forgetRequest struct {
	UserID string `json:"userId"`
}

// serveForget is POST /v1/admin/forget: {"userId":"…"} with
// Authorization: Bearer <admin token>. It answers 202 once the user's ids
// are on the suppression list and the deletions are started; ClickHouse
// applies them in the background (journeys forget waits for them).
func (h *handler) serveForget(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(token), []byte(h.cfg.AdminToken)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="journeys-admin"`)
		writeJSON(w, http.StatusUnauthorized, adminError{Error: "missing or wrong admin token (Authorization: Bearer …)"})
		return
	}
	var req forgetRequest
	dec := json.NewDecoder(http.MaxBytesReader(innermost(w), r.Body, maxAdminBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		msg := "body must be {\"userId\":\"…\"}: " + err.Error()
		if _, tooLarge := errors.AsType[*http.MaxBytesError](err); tooLarge {
			msg = "body exceeds 4 KiB"
		}
		writeJSON(w, http.StatusBadRequest, adminError{Error: msg})
		return
	}
	if _, err := dec.Token(); err != io.EOF {
		writeJSON(w, http.StatusBadRequest, adminError{Error: "body must hold one JSON object and nothing after it"})
		return
	}
	if err := forget.ValidateUserID(req.UserID); err != nil {
		writeJSON(w, http.StatusBadRequest, adminError{Error: "userId: " + err.Error()})
		return
	}
	res, err := h.cfg.Forgetter.Forget(r.Context(), req.UserID, false)
	if err != nil {
		h.log.Error("forget request failed", "id_hash", forget.Hash(req.UserID), "err", err)
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, adminError{Error: "forget failed; it is safe to retry: " + err.Error()})
		return
	}
	writeJSON(w, http.StatusAccepted, res)
}

type adminError struct {
	Error string `json:"error"`
}
