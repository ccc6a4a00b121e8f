package gcsstore_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/storagegate/storagegate/shared/config"
	"github.com/storagegate/storagegate/shared/store"
	"github.com/storagegate/storagegate/shared/store/gcsstore"
)

// fakeIAM speaks the IAM Credentials API's signBlob for one service account,
// signing with the dummy key as Google would with the account's own.
type fakeIAM struct {
	*httptest.Server
	calls atomic.Int32
	deny  atomic.Bool
}

const accessToken = "ya29.test-access-token"

func startFakeIAM(t *testing.T) *fakeIAM {
	t.Helper()
	key := dummyRSA(t)
	f := &fakeIAM{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		want := "/v1/projects/-/serviceAccounts/" + dummyEmail + ":signBlob"
		switch {
		case r.Method != http.MethodPost || r.URL.Path != want:
			http.Error(w, `{"error":{"code":404,"status":"NOT_FOUND","message":"no such method"}}`, http.StatusNotFound)
			return
		case r.Header.Get("Authorization") != "Bearer "+accessToken:
			http.Error(w, `{"error":{"code":401,"status":"UNAUTHENTICATED","message":"bad token"}}`, http.StatusUnauthorized)
			return
		case f.deny.Load():
			http.Error(w, `{"error":{"code":403,"status":"PERMISSION_DENIED","message":"Permission 'iam.serviceAccounts.signBlob' denied"}}`, http.StatusForbidden)
			return
		}
		var in struct{ Payload []byte } // base64 in JSON
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || len(in.Payload) == 0 {
			http.Error(w, `{"error":{"code":400,"status":"INVALID_ARGUMENT","message":"no payload"}}`, 400)
			return
		}
		sum := sha256.Sum256(in.Payload)
		sig, _ := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
		json.NewEncoder(w).Encode(map[string]string{"keyId": "ffff", "signedBlob": base64.StdEncoding.EncodeToString(sig)})
	}))
	t.Cleanup(f.Close)
	return f
}

// dummyRSA is the dummy service account's private key.
func dummyRSA(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	var f struct {
		PrivateKey string `json:"private_key"`
	}
	if err := json.Unmarshal([]byte(dummyKey(t)), &f); err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(f.PrivateKey))
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PrivateKey)
}

// fakeMetadata answers the service account email like the metadata server on
// Cloud Functions, after `missing` answers of 404.
func fakeMetadata(t *testing.T, missing int32) *atomic.Int32 {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		w.Header().Set("Metadata-Flavor", "Google")
		if r.Header.Get("Metadata-Flavor") != "Google" || r.URL.Path != "/computeMetadata/v1/instance/service-accounts/default/email" || n <= missing {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(dummyEmail))
	}))
	t.Cleanup(srv.Close)
	t.Setenv("GCE_METADATA_HOST", strings.TrimPrefix(srv.URL, "http://"))
	return &calls
}

func tokens() gcsstore.Option {
	return gcsstore.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: accessToken}))
}

// TestSignBlob: with no credentials_json the store signs through IAM signBlob
// as the metadata server's service account, and the URL verifies.
func TestSignBlob(t *testing.T) {
	iam := startFakeIAM(t)
	// The metadata server is briefly unavailable: the first Sign fails, and
	// the failure is not remembered.
	meta := fakeMetadata(t, 1)
	s, err := gcsstore.New(config.Google{}, &config.GSBucket{Bucket: "b"}, gcsstore.WithIAMEndpoint(iam.URL), tokens())
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Truncate(time.Second)
	req := store.SignRequest{Bucket: "b", Key: "dir/a b+c.txt", Method: "GET", SignedAt: at, Lifetime: 15 * time.Minute, Disposition: `attachment; filename="a b+c.txt"`}
	if _, err := s.Sign(context.Background(), req); !errors.Is(err, store.ErrCredentials) {
		t.Fatalf("Sign without a service account email: %v, want ErrCredentials", err)
	}
	got, err := s.Sign(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	v := dummyVerifier(t)
	v.Now = func() time.Time { return at }
	if err := v.Verify(httptest.NewRequest("GET", got.URL, nil)); err != nil {
		t.Fatalf("the signBlob URL does not verify: %v\n%s", err, got.URL)
	}
	if _, err := s.Sign(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if n := meta.Load(); n != 2 {
		t.Errorf("metadata server asked %d times, want 2 (one failure, then the email kept)", n)
	}
	if n := iam.calls.Load(); n != 2 {
		t.Errorf("signBlob called %d times, want 2", n)
	}
	if err := s.Probe(context.Background(), ""); err != nil {
		t.Errorf("Probe of the defaults: %v", err)
	}

	iam.deny.Store(true)
	_, err = s.Sign(context.Background(), req)
	if !errors.Is(err, store.ErrCredentials) || !strings.Contains(err.Error(), "PERMISSION_DENIED") {
		t.Fatalf("signBlob denied: %v, want ErrCredentials naming PERMISSION_DENIED", err)
	}
	if strings.Contains(err.Error(), accessToken) {
		t.Fatalf("the error quotes the access token: %v", err)
	}
	if err := s.Probe(context.Background(), ""); err == nil {
		t.Error("Probe succeeded while signBlob is denied")
	}
}

// TestADCKeyFile: Application Default Credentials that are a key file
// (GOOGLE_APPLICATION_CREDENTIALS) sign locally, without IAM.
func TestADCKeyFile(t *testing.T) {
	iam := startFakeIAM(t)
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", keyFile)
	s, err := gcsstore.New(config.Google{}, nil, gcsstore.WithIAMEndpoint(iam.URL))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Truncate(time.Second)
	got := sign(t, s, store.SignRequest{Bucket: "b", Key: "k", Method: store.MethodGet, SignedAt: at, Lifetime: time.Minute})
	v := dummyVerifier(t)
	v.Now = func() time.Time { return at }
	if err := v.Verify(httptest.NewRequest("GET", got.URL, nil)); err != nil {
		t.Fatal(err)
	}
	if iam.calls.Load() != 0 {
		t.Error("a key file in ADC went through signBlob")
	}
}
