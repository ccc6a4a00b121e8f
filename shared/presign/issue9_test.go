package presign_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestInvalidFirstCookieIsNotFallenThrough: Go's cookie parser drops a
// cookie with a backslash in its value; the service still sees it as the
// caller's credential and answers 401, never serving the next cookie's user
// (issue 9, item 5).
func TestInvalidFirstCookieIsNotFallenThrough(t *testing.T) {
	e := newEnv(t, "")
	e.s3.put(t, bucket, "a/b.txt", []byte("x"))
	w := e.do(req{target: presignPath(e.s3url("a/b.txt")), header: map[string]string{
		"Cookie": `clearml_token_basic=a\b; clearml-token-k8s=` + e.tokens["alice"],
	}})
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("status %d (Location %q), want 401", w.Code, w.Header().Get("Location"))
	}
	if code, _ := errorBody(t, w); code != "unauthenticated" {
		t.Fatalf("code %s", code)
	}
	if n := e.cml.Calls("users.get_current_user"); n != 0 {
		t.Fatalf("%d upstream calls for a malformed cookie", n)
	}
}

// TestBatchRefusesInvalidUTF8: encoding/json would turn a key's invalid
// UTF-8 (or a lone surrogate escape) into U+FFFD and sign another object;
// that entry is refused with invalid_url, as the GET form refuses it, and
// the other entries are signed (issue 9, item 6).
func TestBatchRefusesInvalidUTF8(t *testing.T) {
	e := newEnv(t, "")
	e.s3.put(t, bucket, "a/ok.txt", []byte("x"))
	e.s3.put(t, bucket, "a/\uFFFD", []byte("other object"))
	prefix := "s3://" + e.s3.host + "/" + bucket + "/a/"
	body := `{"urls": ["` + prefix + "\xff" + `", "` + prefix + `ok.txt", "` + prefix + `\udcff", "` + prefix + `\ud800x", "` +
		prefix + `\ud83d\ude00", "` + prefix + "\uFFFD" + `", "` + prefix + `\ufffd"]}`
	w := e.do(req{method: http.MethodPost, target: "/presign", body: body, token: "alice", header: map[string]string{"Content-Type": "application/json"}})
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var out struct {
		Results []struct {
			SignedURL string `json:"signed_url"`
			Error     *struct{ Code string }
		}
	}
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || len(out.Results) != 7 {
		t.Fatalf("body %s: %v", w.Body, err)
	}
	for i, wantErr := range []bool{true, false, true, true, false, false, false} {
		r := out.Results[i]
		switch {
		case wantErr && (r.Error == nil || r.Error.Code != "invalid_url" || r.SignedURL != ""):
			t.Errorf("entry %d: %+v, want invalid_url", i, r)
		case !wantErr && (r.Error != nil || r.SignedURL == ""):
			t.Errorf("entry %d: %+v, want signed", i, r.Error)
		}
	}
	// The GET form refuses the same bytes.
	w = e.do(req{target: "/presign?url=" + url.QueryEscape(prefix+"\xff"), token: "alice"})
	if code, _ := errorBody(t, w); w.Code != http.StatusBadRequest || code != "invalid_url" {
		t.Fatalf("GET: %d %s", w.Code, code)
	}
	// Anything but strings in urls is still a malformed body.
	w = e.do(req{method: http.MethodPost, target: "/presign", body: `{"urls": [1]}`, token: "alice", header: map[string]string{"Content-Type": "application/json"}})
	if code, _ := errorBody(t, w); w.Code != http.StatusBadRequest || code != "invalid_body" {
		t.Fatalf("a number in urls: %d %s", w.Code, code)
	}
}

// TestRefusalsNameWhoRefused: the service's own refusal of a malformed or
// expired credential is not "ClearML refused the credentials"; ClearML's
// refusal is (issue 9, item 8).
func TestRefusalsNameWhoRefused(t *testing.T) {
	e := newEnv(t, "")
	revoked := e.cml.Token("alice", time.Hour)
	e.cml.Revoke(revoked)
	for _, tc := range []struct {
		name, auth, want string
	}{
		{"malformed scheme", "Token abc", "the presign service refused the credentials: the Authorization scheme is not supported (use Bearer or Basic)"},
		{"expired claim", "Bearer " + e.cml.Token("alice", -time.Minute), "the presign service refused the credentials: token expired"},
		{"revoked by ClearML", "Bearer " + revoked, "ClearML refused the credentials: token revoked"},
	} {
		w := e.do(req{target: presignPath(e.s3url("a/b.txt")), header: map[string]string{"Authorization": tc.auth}})
		if _, msg := errorBody(t, w); w.Code != http.StatusUnauthorized || msg != tc.want {
			t.Errorf("%s: %d %q, want %q", tc.name, w.Code, msg, tc.want)
		}
	}
}

// junkToken is the i-th distinct Bearer value that is JWT-shaped ({} header,
// a JSON payload) but signed by nobody: only ClearML can refuse it.
func junkToken(i int) string {
	return "e30." + base64.RawURLEncoding.EncodeToString([]byte(`{"n":`+strconv.Itoa(i)+`}`)) + ".forged"
}

// TestJunkFloodSparesVerifiedCallers: 10,000 distinct junk values that
// cannot be tokens cost ClearML nothing; 10,000 distinct JWT-shaped forgeries
// cost one call each but cannot evict a verified caller, who keeps getting
// 302s with no new upstream call (issue 9, item 9).
func TestJunkFloodSparesVerifiedCallers(t *testing.T) {
	e := newEnv(t, "")
	e.s3.put(t, bucket, "a/b.txt", []byte("x"))
	target := presignPath(e.s3url("a/b.txt"))
	const calls = "users.get_current_user"
	if w := e.do(req{target: target, token: "alice"}); w.Code != http.StatusFound {
		t.Fatalf("alice: %d", w.Code)
	}
	if n := e.cml.Calls(calls); n != 1 {
		t.Fatalf("%d calls for alice", n)
	}
	flood := func(n int, tok func(int) string, want string) {
		var wg sync.WaitGroup
		var wrong atomic.Int64
		next := atomic.Int64{}
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int(next.Add(1)); i <= n; i = int(next.Add(1)) {
					w := e.do(req{target: target, header: map[string]string{"Authorization": "Bearer " + tok(i)}})
					if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), want) {
						wrong.Add(1)
					}
					if i%500 == 0 {
						if w := e.do(req{target: target, token: "alice"}); w.Code != http.StatusFound {
							t.Errorf("alice during the flood: %d", w.Code)
						}
					}
				}
			}()
		}
		wg.Wait()
		if wrong.Load() > 0 {
			t.Errorf("%d junk requests not answered 401 %q", wrong.Load(), want)
		}
	}
	flood(10_000, func(i int) string { return "junk-" + strconv.Itoa(i) }, "not a ClearML token")
	if n := e.cml.Calls(calls); n != 1 {
		t.Fatalf("%d upstream calls after 10,000 junk values, want still 1", n)
	}
	flood(10_000, junkToken, "ClearML refused the credentials")
	if n := e.cml.Calls(calls); n != 1+10_000 {
		t.Fatalf("%d upstream calls, want one per forgery and alice's first", n)
	}
	// Alice stayed idle through the forgeries, yet her entry survived them.
	if w := e.do(req{target: target, token: "alice"}); w.Code != http.StatusFound {
		t.Fatalf("alice after the flood: %d", w.Code)
	}
	if n := e.cml.Calls(calls); n != 1+10_000 {
		t.Fatalf("alice paid a new upstream call after the flood (%d calls)", n)
	}
}

// TestUpstreamCallsAreBounded: with ClearML slow, at most 32 calls are in
// flight; every caller past the bound is answered 503 upstream_unavailable
// with Retry-After at once, never queued (issue 9, item 9).
func TestUpstreamCallsAreBounded(t *testing.T) {
	e := newEnv(t, "")
	e.cml.SetDelay(2 * time.Second) // every call stays in flight while the others arrive
	target := presignPath(e.s3url("a/b.txt"))
	const n = 100
	codes := make([]int, n)
	retry := make([]string, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := e.do(req{target: target, header: map[string]string{"Authorization": "Bearer " + junkToken(i)}})
			codes[i], retry[i] = w.Code, w.Header().Get("Retry-After")
		}()
	}
	wg.Wait()
	calls := e.cml.Calls("users.get_current_user")
	busy := 0
	for i, c := range codes {
		switch {
		case c == http.StatusServiceUnavailable && retry[i] != "":
			busy++
		case c != http.StatusUnauthorized:
			t.Errorf("request %d: %d (Retry-After %q)", i, c, retry[i])
		}
	}
	if calls > 32 || calls < 1 || int64(busy) != n-calls {
		t.Fatalf("%d upstream calls and %d answered 503, want at most 32 calls and the rest 503", calls, busy)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("took %s: callers past the bound were queued", d)
	}
}
