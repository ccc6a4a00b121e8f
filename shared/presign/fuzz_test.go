package presign_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzHandler throws arbitrary methods, targets, credentials and bodies at
// the handler. Whatever comes in: no panic, no 500, every error is the JSON
// error shape, and a redirect only ever goes to the configured store.
func FuzzHandler(f *testing.F) {
	e := newEnv(f, "")
	good := "Bearer " + e.tokens["alice"]
	for _, s := range []struct{ method, target, auth, body string }{
		{"GET", presignPath(e.s3url("a/b.txt")), good, ""},
		{"HEAD", presignPath(e.s3url("a/b.txt"), "download=1"), good, ""},
		{"GET", presignPath(e.s3url("a/b.txt"), "format=json", "expires=60"), good, ""},
		{"POST", "/presign", good, `{"urls": ["` + e.s3url("x") + `", "s3://a/../b"]}`},
		{"GET", "/presign?url=s3%3A%2F%2Fa%2F..%2Fb", good, ""},
		{"GET", "/presign?url=%zz", good, ""},
		{"GET", "/presign?url=azure://x.blob.core.windows.net/c/k", "Basic !!", ""},
		{"GET", "/healthz", "", ""},
		{"OPTIONS", "/presign", "", ""},
		{"GET", "/presign?url=s3://user@host:1/b/k&expires=99999999999999999999", good, ""},
	} {
		f.Add(s.method, s.target, s.auth, s.body)
	}
	f.Fuzz(func(t *testing.T, method, target, auth, body string) {
		if !validMethod(method) || !strings.HasPrefix(target, "/") || strings.ContainsAny(target, " \r\n\t#") {
			return // not a request an HTTP server would pass on
		}
		r := httptest.NewRequest("GET", "/", strings.NewReader(body))
		r.Method = method
		u, err := r.URL.Parse(target)
		if err != nil {
			return
		}
		r.URL = u
		if auth != "" && !strings.ContainsAny(auth, "\r\n") {
			r.Header.Set("Authorization", auth)
		}
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		switch {
		case w.Code == http.StatusFound:
			loc := w.Header().Get("Location")
			if !strings.HasPrefix(loc, "http://"+e.s3.host+"/") && !strings.HasPrefix(loc, "https://aws-bucket.s3.us-west-2.amazonaws.com/") {
				t.Fatalf("redirect to %q, a host the config does not name", loc)
			}
		case w.Code >= 500 && w.Code != http.StatusServiceUnavailable:
			t.Fatalf("%d for %s %q: %s", w.Code, method, target, w.Body)
		case w.Code >= 400 && method != http.MethodHead:
			var b struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil || b.Error.Code == "" || b.Error.Message == "" {
				t.Fatalf("%d without the error shape: %q", w.Code, w.Body)
			}
		}
	})
}

func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if !(c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}
