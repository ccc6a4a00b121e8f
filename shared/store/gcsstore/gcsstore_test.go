package gcsstore_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/storagegate/storagegate/shared/config"
	"github.com/storagegate/storagegate/shared/internal/gcsverify"
	"github.com/storagegate/storagegate/shared/store"
	"github.com/storagegate/storagegate/shared/store/gcsstore"
)

// Google's conformance vectors and dummy service account, kept with the
// verifier (see its testdata/README.md).
const (
	vectorsFile = "../../internal/gcsverify/testdata/v4_signatures.json"
	keyFile     = "../../internal/gcsverify/testdata/dummy-service-account.json"
	dummyEmail  = "test-iam-credentials@dummy-project-id.iam.gserviceaccount.com"
)

func dummyKey(t testing.TB) string {
	t.Helper()
	data, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func dummyVerifier(t testing.TB) *gcsverify.Verifier {
	t.Helper()
	v := gcsverify.New()
	if _, err := v.AddServiceAccount([]byte(dummyKey(t))); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestVectors: for every Google vector this store can express (a path-style
// GET with no extra headers or query parameters), the store signs exactly
// Google's expected URL, byte for byte, at the vector's timestamp.
func TestVectors(t *testing.T) {
	data, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		SigningV4Tests []struct {
			Description     string            `json:"description"`
			Bucket          string            `json:"bucket"`
			Object          string            `json:"object"`
			Method          string            `json:"method"`
			Expiration      int               `json:"expiration"`
			Timestamp       time.Time         `json:"timestamp"`
			ExpectedURL     string            `json:"expectedUrl"`
			Headers         map[string]string `json:"headers"`
			QueryParameters map[string]string `json:"queryParameters"`
			URLStyle        string            `json:"urlStyle"`
		} `json:"signingV4Tests"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, vec := range f.SigningV4Tests {
		u, err := url.Parse(vec.ExpectedURL)
		if err != nil {
			t.Fatal(err)
		}
		if vec.Method != "GET" || len(vec.Headers) > 0 || len(vec.QueryParameters) > 0 || vec.Object == "" ||
			!strings.HasPrefix(u.Path, "/"+vec.Bucket+"/") {
			continue
		}
		n++
		t.Run(vec.Description, func(t *testing.T) {
			// The endpoint is what the vector's client was configured with:
			// its URL's scheme and host.
			s, err := gcsstore.New(config.Google{CredentialsJSON: dummyKey(t), Endpoint: u.Scheme + "://" + u.Host}, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Sign(context.Background(), store.SignRequest{
				Bucket: vec.Bucket, Key: vec.Object, Method: "GET",
				SignedAt: vec.Timestamp, Lifetime: time.Duration(vec.Expiration) * time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			if got.URL != vec.ExpectedURL {
				t.Errorf("URL\n%s\nwant\n%s", got.URL, vec.ExpectedURL)
			}
			if want := vec.Timestamp.Add(time.Duration(vec.Expiration) * time.Second); !got.ExpiresAt.Equal(want) {
				t.Errorf("ExpiresAt %s, want %s", got.ExpiresAt, want)
			}
		})
	}
	if n < 8 {
		t.Fatalf("only %d vectors apply; the vector file changed?", n)
	}
}

func sign(t *testing.T, s *gcsstore.Store, req store.SignRequest) store.Signed {
	t.Helper()
	got, err := s.Sign(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestSign covers what the vectors do not: the signing time taken from the
// request (to the second), the longest lifetime, HEAD, the disposition, and the
// bucket entry inheriting the default key file.
func TestSign(t *testing.T) {
	s, err := gcsstore.New(config.Google{CredentialsJSON: dummyKey(t)}, &config.GSBucket{Bucket: "b"})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 22, 10, 0, 0, 700e6, time.FixedZone("CET", 3600))
	got := sign(t, s, store.SignRequest{Bucket: "b", Key: "k", Method: "HEAD", SignedAt: at, Lifetime: store.MaxLifetime, Disposition: `attachment; filename="k"`})
	q := mustQuery(t, got.URL)
	if d := q.Get("X-Goog-Date"); d != "20261122T090000Z" {
		t.Errorf("X-Goog-Date %s, want the request's SignedAt in UTC, to the second", d)
	}
	if e := q.Get("X-Goog-Expires"); e != "604800" {
		t.Errorf("X-Goog-Expires %s, want the 7 days asked 604800", e)
	}
	if want := at.Truncate(time.Second).Add(store.MaxLifetime); !got.ExpiresAt.Equal(want) {
		t.Errorf("ExpiresAt %s, want %s", got.ExpiresAt, want)
	}
	if c := q.Get("X-Goog-Credential"); !strings.HasPrefix(c, dummyEmail+"/20261122/auto/storage/goog4_request") {
		t.Errorf("X-Goog-Credential %s: the bucket entry should sign with the default key file", c)
	}
	if !strings.HasPrefix(got.URL, gcsstore.DefaultEndpoint+"/b/k?") {
		t.Errorf("URL %s, want path-style on %s", got.URL, gcsstore.DefaultEndpoint)
	}
	v := dummyVerifier(t)
	v.Now = func() time.Time { return at }
	if err := v.Verify(httptest.NewRequest("HEAD", got.URL, nil)); err != nil {
		t.Fatalf("the verifier refuses the store's HEAD URL: %v", err)
	}
	if err := v.Verify(httptest.NewRequest("GET", got.URL, nil)); err == nil {
		t.Fatal("a HEAD-signed URL verified for GET")
	}

	// A bad method or lifetime, and a lifetime past 7 days, never reach a
	// driver: shared/scope's TestSignHandsDriversOnlyValidRequests and
	// TestSignCapsEveryProvider.
}

func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

// TestBucketKeyFile: an entry with its own credentials_json signs with it.
func TestBucketKeyFile(t *testing.T) {
	other := strings.Replace(dummyKey(t), dummyEmail, "other@p.iam.gserviceaccount.com", 1)
	s, err := gcsstore.New(config.Google{CredentialsJSON: dummyKey(t)}, &config.GSBucket{Bucket: "b", CredentialsJSON: other})
	if err != nil {
		t.Fatal(err)
	}
	got := sign(t, s, store.SignRequest{Bucket: "b", Key: "k", Method: store.MethodGet, SignedAt: time.Now(), Lifetime: time.Minute})
	if c := mustQuery(t, got.URL).Get("X-Goog-Credential"); !strings.HasPrefix(c, "other@p.iam.gserviceaccount.com/") {
		t.Errorf("X-Goog-Credential %s, want the bucket's own account", c)
	}
}

// TestNewRefusesBadConfig: a bad key file fails New, naming the problem and
// quoting nothing of the key.
func TestNewRefusesBadConfig(t *testing.T) {
	var sa map[string]any
	if err := json.Unmarshal([]byte(dummyKey(t)), &sa); err != nil {
		t.Fatal(err)
	}
	with := func(k string, v any) string {
		m := map[string]any{}
		for k, v := range sa {
			m[k] = v
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	ecPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}))
	truncated := sa["private_key"].(string)[:200]

	cases := []struct {
		name, json, endpoint, want string
	}{
		{"not JSON", "MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQ", "", "not a JSON key file"},
		{"user credentials", `{"type":"authorized_user","client_id":"x","refresh_token":"secret-refresh"}`, "", `type "authorized_user"`},
		{"wrong field type", `{"type":"service_account","client_email":7}`, "", "client_email has the wrong type"},
		{"no client_email", with("client_email", nil), "", "no client_email"},
		{"no private_key", with("private_key", nil), "", "no private_key"},
		{"private_key not PEM", with("private_key", "MIIEvAIBADANBgkqhkiG9w0BAQEFAASC"), "", "private_key is not PEM-encoded"},
		{"private_key truncated", with("private_key", truncated+"\n-----END PRIVATE KEY-----\n"), "", "private_key"},
		{"private_key not RSA", with("private_key", ecPEM), "", "not an RSA key"},
		{"endpoint with a path", dummyKey(t), "https://storage.example/sub", "scheme://host[:port] only"},
		{"endpoint not http", dummyKey(t), "ftp://storage.example", "not an http(s) URL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := gcsstore.New(config.Google{CredentialsJSON: c.json, Endpoint: c.endpoint}, nil)
			if err == nil {
				t.Fatal("New succeeded")
			}
			msg := err.Error()
			if !strings.Contains(msg, c.want) {
				t.Errorf("error %q does not say %q", msg, c.want)
			}
			for _, secret := range []string{"MII", "PRIVATE KEY", "secret-refresh"} {
				if strings.Contains(msg, secret) {
					t.Errorf("error %q quotes key material (%q)", msg, secret)
				}
			}
		})
	}
	// The bucket entry's own key file is checked too.
	if _, err := gcsstore.New(config.Google{CredentialsJSON: dummyKey(t)}, &config.GSBucket{Bucket: "b", CredentialsJSON: "{"}); err == nil {
		t.Error("New accepted a bucket entry's malformed credentials_json")
	}
}

func TestBuilder(t *testing.T) {
	s, err := gcsstore.Builder(config.Google{CredentialsJSON: dummyKey(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(interface {
		Probe(context.Context, string) error
	}); !ok {
		t.Error("the store cannot be probed by check-config --probe")
	}
	if _, err := gcsstore.Builder(config.Google{CredentialsJSON: "{}"}, nil); err == nil || errors.Is(err, store.ErrCredentials) {
		t.Errorf("a bad key file: %v, want a config error", err)
	}
}
