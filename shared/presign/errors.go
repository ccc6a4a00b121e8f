package presign

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// apiError is every non-2xx answer: {"error": {"code", "message"}}.
type apiError struct {
	status  int
	Code    string `json:"code"`
	Message string `json:"message"`
	allow   string
	// retryAfter is a 503's Retry-After (5 s when zero).
	retryAfter time.Duration
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// Status is the HTTP status the error answers with.
func (e *apiError) Status() int { return e.status }

func errMethod(allow string) *apiError {
	return &apiError{status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Message: "method not allowed: use " + allow, allow: allow}
}

// fail writes e and returns its status.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, e *apiError) int {
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	if e.allow != "" {
		hd.Set("Allow", e.allow)
	}
	if e.status == http.StatusServiceUnavailable {
		secs := int64(5)
		if e.retryAfter > 0 {
			secs = int64((e.retryAfter + time.Second - 1) / time.Second)
		}
		hd.Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	if r.Method == http.MethodHead {
		hd.Set("Content-Type", "application/json")
		w.WriteHeader(e.status)
		return e.status
	}
	writeJSON(w, e.status, struct {
		Error *apiError `json:"error"`
	}{e})
	return e.status
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func newErr(status int, code, msg string) *apiError {
	return &apiError{status: status, Code: code, Message: msg}
}
