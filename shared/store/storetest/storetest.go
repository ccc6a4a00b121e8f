// Package storetest is the conformance suite every store passes, written once
// and run against each store's real local server (in the spirit of go-cloud's
// blob/drivertest and lakeFS's blocktest). A signed URL is proven by fetching
// it with a plain HTTP client, and a bad one by watching the server refuse it:
// a store is done when Run passes against it.
package storetest

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/storagegate/storagegate/shared/store"
)

// Fixture is one store under test, with a server that checks its signatures.
type Fixture struct {
	Name   string
	Signer store.Signer
	// Bucket is the bucket (or container) the signer signs for and Put writes to.
	Bucket string
	// Put stores an object in Bucket with the server's own API (not through a
	// signed URL).
	Put func(t testing.TB, key string, body []byte)
	// SignatureParam is the query parameter holding the signature, e.g.
	// X-Amz-Signature, X-Goog-Signature, sig.
	SignatureParam string
	// MethodUnchecked says the store serves HEAD on a GET-signed URL (and GET
	// on a HEAD-signed one), as an Azure SAS with read permission does; the
	// wrong-method cases are then skipped, saying so.
	MethodUnchecked bool
}

// Keys that break naive escaping, each round-tripped by Run. A key is taken
// literally, never decoded: ClearML writes keys that contain %xx.
var Keys = []struct{ Name, Key string }{
	{"literal percent", "a%20b/file%2Fx.bin"},
	{"spaces", "with space/file name.txt"},
	{"plus", "plus+sign/a+b.txt"},
	{"unicode", "unicode/päth/日本語 ü.txt"},
	{"reserved characters", "reserved/a=b&c;d,e(1)!'*@$.txt"},
	{"tilde and dots", "tilde~/x..y/.hidden"},
}

const prefix = "storetest/"

// Disposition is what the content-disposition case asks for: quotes, a
// semicolon, spaces and an RFC 5987 value with its own %xx.
const Disposition = `attachment; filename="resume.bin"; filename*=UTF-8''r%C3%A9sum%C3%A9.bin`

// Run runs every case against f.
func Run(t *testing.T, f Fixture) {
	t.Helper()
	if f.Signer == nil || f.Put == nil || f.Bucket == "" || f.SignatureParam == "" {
		t.Fatalf("storetest: fixture %q needs Signer, Put, Bucket and SignatureParam", f.Name)
	}
	r := &runner{f: f, client: &http.Client{Timeout: 30 * time.Second}}
	object, other := prefix+"object.txt", prefix+"other.txt"
	f.Put(t, object, body(object))
	f.Put(t, other, body(other))
	for _, k := range Keys {
		f.Put(t, prefix+k.Key, body(prefix+k.Key))
	}

	t.Run("GET", func(t *testing.T) {
		r.wantObject(t, http.MethodGet, r.sign(t, object, store.MethodGet, ""), object)
	})
	t.Run("TamperedSignature", func(t *testing.T) {
		u := r.sign(t, object, store.MethodGet, "")
		r.wantRefused(t, http.MethodGet, tamper(t, u, f.SignatureParam))
	})
	t.Run("Expired", func(t *testing.T) {
		// Signed two hours ago for one hour: expired an hour ago, no sleeping.
		s := r.signAt(t, object, store.MethodGet, "", time.Now().Add(-2*time.Hour).Truncate(time.Second), time.Hour)
		if !s.ExpiresAt.Before(time.Now()) {
			t.Fatalf("ExpiresAt %s is not in the past", s.ExpiresAt)
		}
		r.wantRefused(t, http.MethodGet, s.URL)
	})
	t.Run("OtherObject", func(t *testing.T) {
		// The other object's path with this object's signature.
		u := r.sign(t, object, store.MethodGet, "")
		o := r.sign(t, other, store.MethodGet, "")
		r.wantRefused(t, http.MethodGet, o[:strings.IndexByte(o, '?')]+u[strings.IndexByte(u, '?'):])
	})
	t.Run("HEAD", func(t *testing.T) {
		r.wantObject(t, http.MethodHead, r.sign(t, object, store.MethodHead, ""), object)
	})
	t.Run("WrongMethod", func(t *testing.T) {
		if f.MethodUnchecked {
			t.Skipf("%s does not bind a signature to its method (Fixture.MethodUnchecked)", f.Name)
		}
		r.wantRefused(t, http.MethodHead, r.sign(t, object, store.MethodGet, ""))
		r.wantRefused(t, http.MethodGet, r.sign(t, object, store.MethodHead, ""))
	})
	t.Run("ContentDisposition", func(t *testing.T) {
		h := r.wantObject(t, http.MethodGet, r.sign(t, object, store.MethodGet, Disposition), object)
		if got := h.Get("Content-Disposition"); got != Disposition {
			t.Fatalf("Content-Disposition %q, want %q", got, Disposition)
		}
	})
	t.Run("Keys", func(t *testing.T) {
		for _, k := range Keys {
			t.Run(k.Name, func(t *testing.T) {
				r.wantObject(t, http.MethodGet, r.sign(t, prefix+k.Key, store.MethodGet, ""), prefix+k.Key)
			})
		}
	})
	t.Run("ExpiresAt", func(t *testing.T) {
		at := time.Now().Add(-time.Minute).Truncate(time.Second)
		s := r.signAt(t, object, store.MethodGet, "", at, 15*time.Minute)
		if want := at.Add(15 * time.Minute); !s.ExpiresAt.Equal(want) {
			t.Fatalf("ExpiresAt %s, want SignedAt + Lifetime = %s", s.ExpiresAt, want)
		}
		if got := urlExpiry(t, s.URL); !got.Equal(s.ExpiresAt) {
			t.Fatalf("the URL expires at %s, ExpiresAt says %s", got, s.ExpiresAt)
		}
	})
	t.Run("LongestLifetime", func(t *testing.T) {
		// The longest lifetime shared/scope lets through (it caps longer
		// ones): signed, working, never past it.
		at := time.Now().Truncate(time.Second)
		s := r.signAt(t, object, store.MethodGet, "", at, store.MaxLifetime)
		if !s.ExpiresAt.After(at) || s.ExpiresAt.After(at.Add(store.MaxLifetime)) {
			t.Fatalf("ExpiresAt %s for a 7-day request signed at %s: want within %s", s.ExpiresAt, at, store.MaxLifetime)
		}
		if got := urlExpiry(t, s.URL); !got.Equal(s.ExpiresAt) {
			t.Fatalf("the URL expires at %s, ExpiresAt says %s", got, s.ExpiresAt)
		}
		r.wantObject(t, http.MethodGet, s.URL, object)
	})
	t.Run("Stable", func(t *testing.T) {
		// The presign handler relies on it: the same request, signed at the
		// same instant, is the very same URL (browser caches keep working).
		at := time.Now().Truncate(time.Minute)
		a := r.signAt(t, object, store.MethodGet, Disposition, at, 16*time.Minute)
		b := r.signAt(t, object, store.MethodGet, Disposition, at, 16*time.Minute)
		if a != b {
			t.Fatalf("two signatures of one request differ:\n%s\n%s", a.URL, b.URL)
		}
	})
}

type runner struct {
	f      Fixture
	client *http.Client
}

func body(key string) []byte { return []byte("storetest object " + key) }

func (r *runner) sign(t *testing.T, key, method, disposition string) string {
	t.Helper()
	return r.signAt(t, key, method, disposition, time.Now().Truncate(time.Second), 15*time.Minute).URL
}

func (r *runner) signAt(t *testing.T, key, method, disposition string, at time.Time, lifetime time.Duration) store.Signed {
	t.Helper()
	req := store.SignRequest{Bucket: r.f.Bucket, Key: key, Method: method, SignedAt: at, Lifetime: lifetime, Disposition: disposition}
	s, err := r.f.Signer.Sign(context.Background(), req)
	if err != nil {
		t.Fatalf("Sign(%+v): %v", req, err)
	}
	if s.ExpiresAt.After(at.Add(lifetime)) {
		t.Fatalf("Sign widened the lifetime: ExpiresAt %s, asked for %s from %s", s.ExpiresAt, lifetime, at)
	}
	return s
}

func (r *runner) do(t *testing.T, method, u string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatalf("the signed URL does not parse: %v", err)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, u, err)
	}
	return resp, data
}

// wantObject fetches u and wants key's object (for HEAD: its length).
func (r *runner) wantObject(t *testing.T, method, u, key string) http.Header {
	t.Helper()
	resp, data := r.do(t, method, u)
	want := body(key)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s %q, want 200", method, u, resp.Status, data)
	}
	if method == http.MethodHead {
		if resp.ContentLength >= 0 && resp.ContentLength != int64(len(want)) {
			t.Fatalf("HEAD %s: Content-Length %d, want %d", u, resp.ContentLength, len(want))
		}
		return resp.Header
	}
	if string(data) != string(want) {
		t.Fatalf("GET %s: body %q, want %q", u, data, want)
	}
	return resp.Header
}

// wantRefused fetches u and wants a 4xx without any object's content.
func (r *runner) wantRefused(t *testing.T, method, u string) {
	t.Helper()
	resp, data := r.do(t, method, u)
	if resp.StatusCode < 400 || resp.StatusCode > 499 {
		t.Fatalf("%s %s: %s %q, want a refusal (4xx)", method, u, resp.Status, data)
	}
	if strings.Contains(string(data), "storetest object") {
		t.Fatalf("%s %s: refused with %s but the body has an object: %q", method, u, resp.Status, data)
	}
}

// tamper changes one character of the signature, keeping it in the same
// alphabet (hex or base64) so that only its value is wrong.
func tamper(t *testing.T, u, param string) string {
	t.Helper()
	q := strings.IndexByte(u, '?')
	if q < 0 {
		t.Fatalf("signed URL %s has no query", u)
	}
	parts := strings.Split(u[q+1:], "&")
	for i, p := range parts {
		k, v, _ := strings.Cut(p, "=")
		if !strings.EqualFold(k, param) {
			continue
		}
		// Change one character of the decoded value (hex or base64) and
		// encode it again: a well-formed signature that is wrong, not a
		// broken percent-escape that a server may answer with 500.
		dv, err := url.QueryUnescape(v)
		if err != nil {
			t.Fatalf("signature %s is not query-encoded: %v", param, err)
		}
		for j := 0; j < len(dv); j++ {
			if c := dv[j]; 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
				repl := "a"
				if c == 'a' {
					repl = "b"
				}
				parts[i] = k + "=" + url.QueryEscape(dv[:j]+repl+dv[j+1:])
				return u[:q+1] + strings.Join(parts, "&")
			}
		}
	}
	t.Fatalf("signed URL %s has no %s parameter to tamper with", u, param)
	return ""
}

// urlExpiry reads when a signed URL stops working from its own parameters.
func urlExpiry(t *testing.T, raw string) time.Time {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := map[string]string{}
	for k, vs := range u.Query() {
		q[strings.ToLower(k)] = vs[0]
	}
	dated := func(date, expires string) time.Time {
		d, err := time.Parse("20060102T150405Z", q[date])
		if err != nil {
			t.Fatalf("%s %q: %v", date, q[date], err)
		}
		n, err := strconv.Atoi(q[expires])
		if err != nil {
			t.Fatalf("%s %q: %v", expires, q[expires], err)
		}
		return d.Add(time.Duration(n) * time.Second)
	}
	switch {
	case q["x-goog-date"] != "":
		return dated("x-goog-date", "x-goog-expires")
	case q["x-amz-date"] != "":
		return dated("x-amz-date", "x-amz-expires")
	case q["se"] != "": // Azure SAS signed expiry
		e, err := time.Parse(time.RFC3339, q["se"])
		if err != nil {
			t.Fatalf("se %q: %v", q["se"], err)
		}
		return e
	}
	t.Fatalf("storetest cannot read the expiry of %s: teach urlExpiry this store's parameters", raw)
	return time.Time{}
}
