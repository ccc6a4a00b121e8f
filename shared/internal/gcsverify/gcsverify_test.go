package gcsverify

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// vector is one of Google's signingV4Tests (testdata/README.md).
type vector struct {
	Description              string            `json:"description"`
	Method                   string            `json:"method"`
	Expiration               int               `json:"expiration"`
	Timestamp                time.Time         `json:"timestamp"`
	ExpectedURL              string            `json:"expectedUrl"`
	Headers                  map[string]string `json:"headers"`
	ExpectedCanonicalRequest string            `json:"expectedCanonicalRequest"`
	ExpectedStringToSign     string            `json:"expectedStringToSign"`
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	data, err := os.ReadFile("testdata/v4_signatures.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		SigningV4Tests []vector `json:"signingV4Tests"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.SigningV4Tests) < 20 {
		t.Fatalf("only %d vectors in testdata/v4_signatures.json", len(f.SigningV4Tests))
	}
	return f.SigningV4Tests
}

func dummyVerifier(t *testing.T) *Verifier {
	t.Helper()
	data, err := os.ReadFile("testdata/dummy-service-account.json")
	if err != nil {
		t.Fatal(err)
	}
	v := New()
	if _, err := v.AddServiceAccount(data); err != nil {
		t.Fatal(err)
	}
	return v
}

func (vec vector) request(method, rawURL string) *http.Request {
	r := httptest.NewRequest(method, rawURL, nil)
	for k, v := range vec.Headers {
		r.Header.Set(k, v)
	}
	return r
}

func at(ts time.Time) func() time.Time { return func() time.Time { return ts } }

// TestVectors: for every Google vector the verifier recomputes Google's own
// canonical request and string to sign from the signed URL, and accepts the
// signature until, and not at, the expiry.
func TestVectors(t *testing.T) {
	v := dummyVerifier(t)
	for _, vec := range loadVectors(t) {
		t.Run(vec.Description, func(t *testing.T) {
			if vec.Description == "Universe domain with virtual hosted style" {
				// Its URL is virtual-hosted (path /test-object) but its canonical
				// request signs the path-style /test-bucket/test-object: no
				// verifier that recomputes from the URL, Cloud Storage included,
				// can accept it.
				t.Skip("inconsistent upstream vector: URL path and canonical path differ")
			}
			c, err := canonicalize(vec.request(vec.Method, vec.ExpectedURL))
			if err != nil {
				t.Fatal(err)
			}
			if c.canonicalRequest != vec.ExpectedCanonicalRequest {
				t.Errorf("canonical request:\n%s\nwant:\n%s", c.canonicalRequest, vec.ExpectedCanonicalRequest)
			}
			if c.stringToSign != vec.ExpectedStringToSign {
				t.Errorf("string to sign:\n%s\nwant:\n%s", c.stringToSign, vec.ExpectedStringToSign)
			}
			expiry := vec.Timestamp.Add(time.Duration(vec.Expiration) * time.Second)
			v.Now = at(expiry.Add(-time.Second))
			if err := v.Verify(vec.request(vec.Method, vec.ExpectedURL)); err != nil {
				t.Fatalf("refused a Google-signed URL: %v", err)
			}
			v.Now = at(expiry)
			wantRefused(t, v.Verify(vec.request(vec.Method, vec.ExpectedURL)), http.StatusBadRequest, "ExpiredToken")
		})
	}
}

func wantRefused(t *testing.T, err error, status int, code string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want a refusal %d %s", err, status, code)
	}
	if e.Status != status || e.Code != code {
		t.Fatalf("got %d %s (%s), want %d %s", e.Status, e.Code, e.Message, status, code)
	}
}

// TestTampered changes one thing at a time in Google's "Simple GET" URL.
func TestTampered(t *testing.T) {
	var simple vector
	for _, vec := range loadVectors(t) {
		if vec.Description == "Simple GET" {
			simple = vec
		}
	}
	v := dummyVerifier(t)
	v.Now = at(simple.Timestamp)
	u := simple.ExpectedURL
	if err := v.Verify(simple.request("GET", u)); err != nil {
		t.Fatal(err)
	}
	sigAt := strings.Index(u, "X-Goog-Signature=") + len("X-Goog-Signature=")
	flip := "0"
	if u[sigAt] == '0' {
		flip = "1"
	}
	other := New()
	other.Now = v.Now
	cases := []struct {
		name   string
		v      *Verifier
		method string
		url    string
		status int
		code   string
	}{
		{"signature", v, "GET", u[:sigAt] + flip + u[sigAt+1:], 403, "SignatureDoesNotMatch"},
		{"method HEAD", v, "HEAD", u, 403, "SignatureDoesNotMatch"},
		{"other object", v, "GET", strings.Replace(u, "/test-object?", "/test-object2?", 1), 403, "SignatureDoesNotMatch"},
		{"other bucket", v, "GET", strings.Replace(u, "/test-bucket/", "/test-bucket2/", 1), 403, "SignatureDoesNotMatch"},
		{"other host", v, "GET", strings.Replace(u, "storage.googleapis.com", "evil.example", 1), 403, "SignatureDoesNotMatch"},
		{"added parameter", v, "GET", u + "&response-content-disposition=attachment", 403, "SignatureDoesNotMatch"},
		{"longer expiry", v, "GET", strings.Replace(u, "X-Goog-Expires=10&", "X-Goog-Expires=11&", 1), 403, "SignatureDoesNotMatch"},
		{"earlier date", v, "GET", strings.Replace(u, "X-Goog-Date=20190201T090000Z", "X-Goog-Date=20190201T085959Z", 1), 403, "SignatureDoesNotMatch"},
		{"scope date", v, "GET", strings.Replace(u, "%2F20190201%2F", "%2F20190202%2F", 1), 400, "AuthorizationQueryParametersError"},
		{"scope service", v, "GET", strings.Replace(u, "%2Fstorage%2F", "%2Fs3%2F", 1), 400, "AuthorizationQueryParametersError"},
		{"algorithm", v, "GET", strings.Replace(u, "GOOG4-RSA-SHA256", "GOOG4-HMAC-SHA256", 1), 400, "AuthorizationQueryParametersError"},
		{"expires over 7 days", v, "GET", strings.Replace(u, "X-Goog-Expires=10&", "X-Goog-Expires=604801&", 1), 400, "AuthorizationQueryParametersError"},
		{"no host in signed headers", v, "GET", strings.Replace(u, "X-Goog-SignedHeaders=host", "X-Goog-SignedHeaders=x-goog-meta-a", 1), 400, "AuthorizationQueryParametersError"},
		{"duplicate parameter", v, "GET", u + "&X-Goog-Date=20190201T090000Z", 400, "AuthorizationQueryParametersError"},
		{"not signed", v, "GET", "https://storage.googleapis.com/test-bucket/test-object", 403, "AccessDenied"},
		{"unknown account", other, "GET", u, 403, "AccessDenied"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantRefused(t, c.v.Verify(simple.request(c.method, c.url)), c.status, c.code)
		})
	}
	t.Run("not yet valid", func(t *testing.T) {
		v := dummyVerifier(t)
		v.Now = at(simple.Timestamp.Add(-futureSkew - time.Second))
		wantRefused(t, v.Verify(simple.request("GET", u)), 400, "AuthorizationQueryParametersError")
	})
}

// TestProxy forwards what verifies, path and query as sent, to the upstream
// with the upstream's own Host header, and answers refusals itself.
func TestProxy(t *testing.T) {
	var seen *http.Request
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r
		io.WriteString(w, "object body")
	}))
	defer upstream.Close()
	up, _ := url.Parse(upstream.URL)

	var slashes vector
	for _, vec := range loadVectors(t) {
		if vec.Description == "Forward Slashes should not be stripped" {
			slashes = vec
		}
	}
	v := dummyVerifier(t)
	v.Now = at(slashes.Timestamp)
	p := Proxy(v, up)

	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, slashes.request("GET", slashes.ExpectedURL))
	if rec.Code != 200 || rec.Body.String() != "object body" {
		t.Fatalf("verified request: %d %q", rec.Code, rec.Body)
	}
	if seen.Host != up.Host {
		t.Errorf("upstream Host %q, want %q (fake-gcs-server's -public-host)", seen.Host, up.Host)
	}
	if got, want := seen.URL.EscapedPath(), "/test-bucket//path/with/slashes/under_score/amper%26sand/file.ext"; got != want {
		t.Errorf("upstream path %q, want %q", got, want)
	}
	if !strings.Contains(seen.URL.RawQuery, "X-Goog-Signature=") {
		t.Errorf("upstream query %q lost the signature parameters", seen.URL.RawQuery)
	}

	seen = nil
	rec = httptest.NewRecorder()
	p.ServeHTTP(rec, slashes.request("HEAD", slashes.ExpectedURL))
	if rec.Code != 403 || seen != nil {
		t.Fatalf("HEAD with a GET-signed URL: %d, forwarded %v; want 403, not forwarded", rec.Code, seen != nil)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/xml") || !strings.Contains(rec.Body.String(), "<Code>SignatureDoesNotMatch</Code>") {
		t.Errorf("refusal: %s %q, want Cloud Storage's XML error", ct, rec.Body)
	}
}
