package clearmlapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func envelope(w http.ResponseWriter, code, sub int, msg string, data any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"meta": map[string]any{"result_code": code, "result_subcode": sub, "result_msg": msg},
		"data": data,
	})
}

func TestCall(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		k, s, ok := r.BasicAuth()
		switch {
		case r.URL.Path == "/moved":
			http.Redirect(w, r, "http://elsewhere.invalid/steal", http.StatusFound)
		case !ok || k != "AK" || s != "SK":
			envelope(w, 401, 22, "Invalid credentials", nil)
		case r.URL.Path == "/flaky":
			envelope(w, 503, 0, "busy", nil)
		case r.URL.Path == "/bad":
			envelope(w, 400, 101, "Invalid task id", nil)
		case r.URL.Path == "/plain":
			w.WriteHeader(404)
			_, _ = w.Write([]byte("<html>not an API</html>"))
		default:
			var body map[string]any
			_ = json.NewDecoder(r.Body).Decode(&body)
			envelope(w, 200, 0, "OK", map[string]any{"echo": body["x"]})
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	c := Client{APIServer: srv.URL + "/", AccessKey: "AK", SecretKey: "SK", Attempts: 3}

	var out struct{ Echo string }
	if err := c.Call(ctx, "tasks.get_all_ex", map[string]any{"x": "y"}, &out); err != nil || out.Echo != "y" {
		t.Fatalf("ok call: %v %+v", err, out)
	}
	var raw json.RawMessage
	if err := c.Call(ctx, "ok", nil, &raw); err != nil || !strings.Contains(string(raw), `"echo"`) {
		t.Fatalf("raw data: %v %s", err, raw)
	}

	calls.Store(0)
	err := c.Call(ctx, "bad", nil, nil)
	if !IsCode(err, 400, 101) || calls.Load() != 1 {
		t.Fatalf("a 400 is final, one try: %v after %d calls", err, calls.Load())
	}
	calls.Store(0)
	err = c.Call(ctx, "flaky", nil, nil)
	var ae *APIError
	if !asAPIError(err, &ae) || !ae.Transient() || calls.Load() != 3 {
		t.Fatalf("a 503 is retried to Attempts: %v after %d calls", err, calls.Load())
	}
	if err := c.Call(ctx, "plain", nil, nil); err == nil || !strings.Contains(err.Error(), "without ClearML's envelope") {
		t.Fatalf("not an API: %v", err)
	}
	// A redirect is not followed: the credentials go to APIServer only.
	if err := c.Call(ctx, "moved", nil, nil); err == nil || strings.Contains(err.Error(), "elsewhere") {
		t.Fatalf("redirect: %v", err)
	}
	wrong := Client{APIServer: srv.URL, AccessKey: "AK", SecretKey: "not-the-secret"}
	err = wrong.Call(ctx, "ok", nil, nil)
	if !IsCode(err, 401, 22) || strings.Contains(err.Error(), "not-the-secret") {
		t.Fatalf("refused: %v", err)
	}
	gone := Client{APIServer: "http://127.0.0.1:1", AccessKey: "AK", SecretKey: "SK"}
	if err := gone.Call(ctx, "ok", nil, nil); err == nil || !strings.Contains(err.Error(), "unreachable") || strings.Contains(err.Error(), "SK") {
		t.Fatalf("unreachable: %v", err)
	}
}

func asAPIError(err error, target **APIError) bool {
	ae, ok := err.(*APIError)
	if ok {
		*target = ae
	}
	return ok
}
