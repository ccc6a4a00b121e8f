package presign_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// forgeToken makes a ClearML-shaped token signed with the wrong secret.
func forgeToken(t testing.TB, user string) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"identity": map[string]string{"user": user, "company": "c1", "role": "admin"},
		"exp":      time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(),
	}).SignedString([]byte("not-the-server-secret"))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestNothingSecretIsLogged drives every kind of request and checks that no
// token, key secret, Basic credential or URL signature reaches the logs.
func TestNothingSecretIsLogged(t *testing.T) {
	e := newEnv(t, "")
	e.s3.put(t, bucket, "a/b.txt", []byte("x"))
	expired := e.cml.Token("alice", -time.Minute)
	basic := base64.StdEncoding.EncodeToString([]byte("alice-key:alice-secret-value"))
	var signatures []string
	for _, r := range []req{
		{target: presignPath(e.s3url("a/b.txt")), token: "alice"},
		{target: presignPath(e.s3url("a/b.txt"), "format=json", "expires=77"), token: "alice"},
		{target: presignPath(e.s3url("a/b.txt")), header: map[string]string{"Authorization": "Basic " + basic}},
		{target: presignPath(e.s3url("a/b.txt")), header: map[string]string{"Authorization": "Bearer " + expired}},
		{target: presignPath(e.s3url("a/b.txt")), header: map[string]string{"Cookie": "clearml_token_basic=" + e.tokens["bob"]}},
		{target: presignPath(e.s3url("a/b.txt")) + "&token=" + e.tokens["guest"]},
		{method: http.MethodPost, target: "/presign", body: `{"urls": ["` + e.s3url("a/b.txt") + `"]}`, token: "admin", header: map[string]string{"Content-Type": "application/json"}},
	} {
		w := e.do(r)
		if loc := w.Header().Get("Location"); loc != "" {
			signatures = append(signatures, loc[strings.Index(loc, "X-Amz-Signature=")+len("X-Amz-Signature="):])
		}
		if i := strings.Index(w.Body.String(), "X-Amz-Signature="); i >= 0 {
			signatures = append(signatures, w.Body.String()[i+16:i+16+64])
		}
	}
	e.cml.SetDown(true)
	e.do(req{target: presignPath(e.s3url("a/b.txt")), header: map[string]string{"Authorization": "Bearer " + e.cml.Token("alice", time.Hour)}})

	logs := e.logs.String()
	if !strings.Contains(logs, `"user":"alice"`) || !strings.Contains(logs, `"key":"a/b.txt"`) {
		t.Fatalf("logs lack the request lines:\n%s", logs)
	}
	secrets := []string{expired, basic, "alice-secret-value", s3Secret, "default-secret-must-never-be-logged", e.cml.Secret, "X-Amz-Signature", "X-Amz-Credential"}
	for _, tok := range e.tokens {
		secrets = append(secrets, tok, tok[strings.LastIndex(tok, ".")+1:])
	}
	secrets = append(secrets, signatures...)
	if len(signatures) < 3 {
		t.Fatalf("only %d signatures collected", len(signatures))
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("a secret reached the logs: %.12s...", s)
		}
	}
}

// TestOneUpstreamCallForConcurrentRequests: 1,000 concurrent requests with
// one token make exactly one ClearML call.
func TestOneUpstreamCallForConcurrentRequests(t *testing.T) {
	e := newEnv(t, "")
	e.cml.SetDelay(100 * time.Millisecond) // keep the first call in flight while the rest arrive
	target := presignPath(e.s3url("a/b.txt"))
	var wg sync.WaitGroup
	codes := make([]int, 1000)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = e.do(req{target: target, token: "alice"}).Code
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusFound {
			t.Fatalf("request %d: %d", i, c)
		}
	}
	if n := e.cml.Calls("users.get_current_user"); n != 1 {
		t.Fatalf("%d upstream calls for one token, want 1", n)
	}
}
