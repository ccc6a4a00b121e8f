package presign_test

import (
	"encoding/json"
	"net/http"
	"net/url"
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
