package cleanup_test

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/storagegate/storagegate/shared/cleanup"
	"github.com/storagegate/storagegate/shared/store"
)

const token = "cleanup-secret-0123456789"

func TestHTTPHandler(t *testing.T) {
	f := newFixture(t, testConfig, nil)
	f.mem.fault = func(op, _, key string) error {
		switch {
		case op == "delete" && strings.HasSuffix(key, "/denied"):
			return denied
		case op == "delete" && strings.HasSuffix(key, "/slow"):
			return errTransient
		}
		return nil
	}
	h, err := cleanup.NewHTTPHandler(f.d, token)
	if err != nil {
		t.Fatal(err)
	}
	msg := func(keys ...string) string {
		urls := make([]string, len(keys))
		for i, k := range keys {
			urls[i] = `"` + host + k + `"`
		}
		return `{"version": 1, "task": "t1", "urls": [` + strings.Join(urls, ",") + `]}`
	}
	tests := []struct {
		name, method, auth, ctype, body string
		status                          int
		code, status2                   string // error code, or the summary's status
	}{
		{"done", "POST", "Bearer " + token, "application/json", msg("p/t.1/a"), 200, "", cleanup.StatusOK},
		{"charset is fine", "POST", "bearer " + token, "application/json; charset=utf-8", msg("p/t.1/b"), 200, "", cleanup.StatusOK},
		{"invalid message", "POST", "Bearer " + token, "application/json", `{"version": 2, "urls": ["s3://b/k/x"]}`, 422, "", cleanup.StatusInvalid},
		{"permanent failure", "POST", "Bearer " + token, "application/json", msg("p/t.1/c", "p/t.1/denied"), 422, "", cleanup.StatusPermanent},
		{"bad entry among good ones", "POST", "Bearer " + token, "application/json",
			`{"version": 1, "urls": ["` + host + `p/t.1/c", "http://fs.example.com:8081/p/t.1/c"]}`, 422, "", cleanup.StatusPermanent},
		{"transient failure", "POST", "Bearer " + token, "application/json", msg("p/t.1/slow", "p/t.1/denied"), 503, "", cleanup.StatusTransient},
		{"wrong method", "GET", "Bearer " + token, "", "", 405, "method_not_allowed", ""},
		{"no token", "POST", "", "application/json", msg("p/t.1/a"), 401, "unauthenticated", ""},
		{"wrong token", "POST", "Bearer " + token + "x", "application/json", msg("p/t.1/a"), 401, "unauthenticated", ""},
		{"basic auth", "POST", "Basic " + token, "application/json", msg("p/t.1/a"), 401, "unauthenticated", ""},
		{"not JSON content", "POST", "Bearer " + token, "text/plain", msg("p/t.1/a"), 415, "invalid_body", ""},
		{"no content type", "POST", "Bearer " + token, "", msg("p/t.1/a"), 415, "invalid_body", ""},
		{"too large", "POST", "Bearer " + token, "application/json", `{"version": 1, "task": "` + strings.Repeat("x", cleanup.MaxHTTPBody) + `"}`, 413, "invalid_body", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"a", "b", "c", "denied", "slow"} {
				f.mem.put("art", "p/t.1/"+k, old)
			}
			before := f.mem.calls()
			r := httptest.NewRequest(tc.method, "/cleanup", strings.NewReader(tc.body))
			r.Header.Set("X-Request-Id", "req-42")
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			if tc.ctype != "" {
				r.Header.Set("Content-Type", tc.ctype)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.status || w.Header().Get("Content-Type") != "application/json" || w.Header().Get("Cache-Control") != "no-store" {
				t.Fatalf("status %d %q %q, want %d: %s", w.Code, w.Header().Get("Content-Type"), w.Header().Get("Cache-Control"), tc.status, w.Body)
			}
			if id := w.Header().Get("X-Request-Id"); id != "req-42" {
				t.Errorf("X-Request-Id %q, want the client's req-42 on every answer", id)
			}
			if tc.code != "" {
				var e struct {
					Error struct{ Code, Message string }
				}
				if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code != tc.code || e.Error.Message == "" {
					t.Errorf("body %s, want error code %s", w.Body, tc.code)
				}
				if f.mem.calls() != before {
					t.Error("a refused request reached the store")
				}
				if tc.status == 405 && w.Header().Get("Allow") != "POST" {
					t.Errorf("Allow %q", w.Header().Get("Allow"))
				}
				if strings.Contains(w.Body.String(), token) {
					t.Error("the answer echoes the token")
				}
				return
			}
			var s cleanup.Summary
			if err := json.Unmarshal(w.Body.Bytes(), &s); err != nil {
				t.Fatalf("body %s: %v", w.Body, err)
			}
			if s.Status != tc.status2 || s.RequestID != "req-42" || w.Header().Get("X-Request-Id") != "req-42" {
				t.Errorf("summary %+v, want status %s and request id req-42", s, tc.status2)
			}
			if tc.status == 503 && w.Header().Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			if tc.name == "permanent failure" && (len(s.Failures) != 1 || !strings.Contains(s.Failures[0].Reason, "AccessDenied")) {
				t.Errorf("failures %+v", s.Failures)
			}
			if tc.name == "bad entry among good ones" && (s.Deleted != 1 || f.mem.has("art", "p/t.1/c") || len(s.Failures) != 1 ||
				s.Failures[0].Code != "invalid_url" || f.mem.calls() != before+1) {
				t.Errorf("the good entry must be done and the bad one fail alone: %+v %+v", s.Counts, s.Failures)
			}
		})
	}
	if strings.Contains(f.logs.String(), token) {
		t.Error("the logs hold the token")
	}
}

var denied = &store.Error{Code: store.PermissionDenied, Err: errors.New("AccessDenied: Access Denied")}

func TestHTTPHandlerNeedsToken(t *testing.T) {
	f := newFixture(t, testConfig, nil)
	if _, err := cleanup.NewHTTPHandler(f.d, ""); !errors.Is(err, cleanup.ErrNoToken) || !strings.Contains(err.Error(), "cleanup.token") {
		t.Errorf("NewHTTPHandler without a token: %v", err)
	}
}
