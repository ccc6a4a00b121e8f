package presign_test

import (
	"net/http"
	"testing"
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
