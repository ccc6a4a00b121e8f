package cleanup

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/storagegate/storagegate/shared/requestid"
)

// MaxHTTPBody bounds a POST /cleanup body: the largest queue message
// (Pub/Sub's 10 MB) with room to spare.
const MaxHTTPBody = 16 << 20

// ErrNoToken refuses POST /cleanup without cleanup.token: an endpoint that
// deletes data is never served without a secret.
var ErrNoToken = errors.New("config: cleanup.token: is required for POST /cleanup (--enable-cleanup): set a long random secret")

// HTTPHandler serves POST /cleanup for `storagegate serve --enable-cleanup`:
// the queue path behind a bearer secret.
type HTTPHandler struct {
	d         *Pipeline
	tokenHash [32]byte
}

// NewHTTPHandler serves d behind token (cleanup.token); an empty token is
// ErrNoToken.
func NewHTTPHandler(d *Pipeline, token string) (*HTTPHandler, error) {
	if d == nil {
		return nil, errors.New("cleanup: a Pipeline is required")
	}
	if token == "" {
		return nil, ErrNoToken
	}
	return &HTTPHandler{d: d, tokenHash: sha256.Sum256([]byte(token))}, nil
}

// ServeHTTP checks the method (405), the bearer secret (401), the content
// type (415) and the body's size (413), then runs the message: 200 done, 422
// invalid message or permanent failures, 503 transient failures, each with
// the Summary as JSON.
func (h *HTTPHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Every answer carries the id, the early refusals too; the run and its
	// summary carry the same one.
	id := requestid.Of(r)
	w.Header().Set("X-Request-Id", id)
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed: use POST")
		return
	}
	if !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="storagegate cleanup"`)
		writeError(w, http.StatusUnauthorized, "unauthenticated", "send Authorization: Bearer <cleanup.token>")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "invalid_body", "the body must be a deletion message with Content-Type: application/json")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxHTTPBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "invalid_body", "the body is larger than "+strconv.Itoa(MaxHTTPBody>>20)+" MiB: split the job into several messages")
			return
		}
		writeError(w, http.StatusBadRequest, "invalid_body", "the body could not be read")
		return
	}
	ctx := requestid.With(r.Context(), id)
	// A client that hangs up does not stop a deletion half-way: the run
	// still ends at its deadline, and redelivery is idempotent anyway.
	s := h.d.Process(context.WithoutCancel(ctx), body)
	w.Header().Set("X-Request-Id", s.RequestID)
	if s.HTTPStatus() == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "30")
	}
	writeJSON(w, s.HTTPStatus(), &s)
}

// authorized compares the bearer secret in constant time (hashing both sides
// first, so the length does not leak either).
func (h *HTTPHandler) authorized(r *http.Request) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(got[:], h.tokenHash[:]) == 1
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	type apiError struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	writeJSON(w, status, struct {
		Error apiError `json:"error"`
	}{apiError{code, msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
