package azurestore

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/storagegate/storagegate/shared/config"
	"github.com/storagegate/storagegate/shared/store"
)

// Azurite 3.35 issues user delegation keys (with --oauth basic, over https
// only) and checks user-delegation SAS, but its string-to-sign for service
// versions from 2025-07-05 on lacks the two signed-request lines (srh, srq)
// that azblob v1.8.3 signs for version 2026-12-06, so it refuses every
// user-delegation SAS this SDK makes. These tests therefore prove the
// delegation path at the signing level, against a stand-in for the Blob
// service's Get User Delegation Key operation.

const (
	fakeOID = "6a8c2c7e-0000-4000-8000-00000000000a"
	fakeTID = "72f988bf-0000-4000-8000-00000000000b"
	fakeSKV = "2026-12-06"
)

// fakeToken is the managed identity: any token, with the scopes it was asked for.
type fakeToken struct {
	mu     sync.Mutex
	scopes []string
	fail   bool
}

func (f *fakeToken) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return azcore.AccessToken{}, errors.New("no managed identity endpoint")
	}
	f.scopes = append(f.scopes, o.Scopes...)
	return azcore.AccessToken{Token: "fake-token", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type keyInfo struct {
	Start  string `xml:"Start"`
	Expiry string `xml:"Expiry"`
}

// fakeBlobService answers Get User Delegation Key and Get Container
// Properties the way the Blob service does.
type fakeBlobService struct {
	t       *testing.T
	keyVal  []byte
	mu      sync.Mutex
	asked   []keyInfo
	grant   time.Duration // when set, the key expires this long after its start, whatever was asked
	failing bool
	srv     *httptest.Server
}

func newFakeBlobService(t *testing.T) *fakeBlobService {
	f := &fakeBlobService{t: t, keyVal: []byte("0123456789abcdef0123456789abcdef")}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeBlobService) requests() []keyInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]keyInfo(nil), f.asked...)
}

func (f *fakeBlobService) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer fake-token" {
		http.Error(w, "no bearer token", http.StatusUnauthorized)
		return
	}
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/" && q.Get("restype") == "service" && q.Get("comp") == "userdelegationkey":
		if r.Header.Get("x-ms-version") == "" {
			f.t.Errorf("key request without x-ms-version")
		}
		body, _ := io.ReadAll(r.Body)
		var ki keyInfo
		if err := xml.Unmarshal(body, &ki); err != nil {
			f.t.Errorf("key request body %q: %v", body, err)
		}
		f.mu.Lock()
		f.asked = append(f.asked, ki)
		failing, grant := f.failing, f.grant
		f.mu.Unlock()
		if failing {
			// Not retried by the SDK: an identity without the Storage Blob
			// Delegator role.
			w.Header().Set("x-ms-error-code", "AuthorizationPermissionMismatch")
			w.WriteHeader(http.StatusForbidden)
			return
		}
		expiry := ki.Expiry
		if grant > 0 {
			st, _ := time.Parse(sas.TimeFormat, ki.Start)
			expiry = st.Add(grant).Format(sas.TimeFormat)
		}
		w.Header().Set("Content-Type", "application/xml")
		fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?><UserDelegationKey><SignedOid>%s</SignedOid><SignedTid>%s</SignedTid><SignedStart>%s</SignedStart><SignedExpiry>%s</SignedExpiry><SignedService>b</SignedService><SignedVersion>%s</SignedVersion><Value>%s</Value></UserDelegationKey>`,
			fakeOID, fakeTID, ki.Start, expiry, fakeSKV, base64.StdEncoding.EncodeToString(f.keyVal))
	case r.Method == http.MethodGet && r.URL.Path == "/models" && q.Get("restype") == "container":
		w.Header().Set("ETag", `"0x1"`)
		w.Header().Set("Last-Modified", "Sun, 01 Mar 2026 10:00:00 GMT")
	default:
		w.Header().Set("x-ms-error-code", "ContainerNotFound")
		w.WriteHeader(http.StatusNotFound)
	}
}

// client reaches the fake under the public cloud's host name, so the store
// runs with its default endpoint, over TLS as the bearer policy requires.
func (f *fakeBlobService) client() *http.Client {
	tr := f.srv.Client().Transport.(*http.Transport).Clone()
	addr := f.srv.Listener.Addr().String()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	tr.TLSClientConfig.ServerName = "example.com" // in httptest's certificate
	return &http.Client{Transport: tr}
}

func newDelegated(t *testing.T, f *fakeBlobService, clk *clock, tok *fakeToken) *Store {
	t.Helper()
	return mustNew(t, config.AzureContainer{AccountName: "acct", ContainerName: "models"},
		WithTokenCredential(tok), WithTransport(f.client()), WithClock(clk.now))
}

// verifyUDKSignature recomputes sig from the URL's own fields with the key
// the fake issued, in the layout Microsoft documents for user-delegation SAS
// at the SDK's service version: proof that the URL is signed with the
// delegation key and carries exactly the fields it signed.
func verifyUDKSignature(t *testing.T, rawURL string, key []byte) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	path, _ := url.PathUnescape(strings.TrimPrefix(u.EscapedPath(), "/"))
	g := q.Get
	toSign := strings.Join([]string{
		g("sp"), g("st"), g("se"), "/blob/acct/" + path,
		g("skoid"), g("sktid"), g("skt"), g("ske"), g("sks"), g("skv"),
		g("saoid"), g("suoid"), g("scid"), g("skdutid"), g("sduoid"),
		g("sip"), g("spr"), g("sv"), g("sr"), "", g("ses"), "", "",
		g("rscc"), g("rscd"), g("rsce"), g("rscl"), g("rsct"),
	}, "\n")
	h := hmac.New(sha256.New, key)
	h.Write([]byte(toSign))
	if want := base64.StdEncoding.EncodeToString(h.Sum(nil)); g("sig") != want {
		t.Errorf("sig does not verify with the delegation key over:\n%q", toSign)
	}
}

func TestUserDelegationSAS(t *testing.T) {
	f := newFakeBlobService(t)
	clk := &clock{t: t0}
	tok := &fakeToken{}
	s := newDelegated(t, f, clk, tok)
	req := store.SignRequest{
		Bucket: "models", Key: "dir/a%20b ü.bin", Method: store.MethodGet,
		SignedAt: t0, Lifetime: 16 * time.Minute, Disposition: "attachment",
	}

	// Many concurrent first signatures: one key request, one URL.
	var wg sync.WaitGroup
	urls := make([]string, 20)
	for i := range urls {
		wg.Go(func() { urls[i] = mustSign(t, s, req).URL })
	}
	wg.Wait()
	for _, u := range urls[1:] {
		if u != urls[0] {
			t.Fatalf("one window, different URLs:\n%s\n%s", urls[0], u)
		}
	}
	asked := f.requests()
	if len(asked) != 1 {
		t.Fatalf("%d key requests for concurrent signatures, want 1", len(asked))
	}
	wantStart := t0.Add(-StartSkew).Format(sas.TimeFormat)
	wantExpiry := t0.Add(KeyLifetime).Format(sas.TimeFormat)
	if asked[0].Start != wantStart || asked[0].Expiry != wantExpiry {
		t.Errorf("key requested for %+v, want Start %s, Expiry %s", asked[0], wantStart, wantExpiry)
	}
	if len(tok.scopes) == 0 || tok.scopes[0] != "https://storage.azure.com/.default" {
		t.Errorf("token scopes %v, want https://storage.azure.com/.default", tok.scopes)
	}

	got := mustSign(t, s, req)
	u, _ := url.Parse(got.URL)
	if u.Scheme != "https" || u.Host != "acct.blob.core.windows.net" || u.EscapedPath() != "/models/dir/a%2520b%20%C3%BC.bin" {
		t.Errorf("URL %s: wrong endpoint or path", got.URL)
	}
	q := u.Query()
	for k, want := range map[string]string{
		"skoid": fakeOID, "sktid": fakeTID, "skt": wantStart, "ske": wantExpiry, "sks": "b", "skv": fakeSKV,
		"sr": "b", "sp": "r", "spr": "https", "sv": sas.Version, "rscd": "attachment",
		"st": wantStart, "se": t0.Add(16 * time.Minute).Format(sas.TimeFormat),
	} {
		if q.Get(k) != want {
			t.Errorf("%s=%q, want %q", k, q.Get(k), want)
		}
	}
	verifyUDKSignature(t, got.URL, f.keyVal)
	if !got.ExpiresAt.Equal(t0.Add(16 * time.Minute)) {
		t.Errorf("ExpiresAt %s, want %s", got.ExpiresAt, t0.Add(16*time.Minute))
	}

	// The key serves until a quarter of its life is left, then is replaced.
	clk.advance(KeyLifetime*3/4 - time.Minute)
	req.SignedAt = clk.now()
	mustSign(t, s, req)
	if n := len(f.requests()); n != 1 {
		t.Fatalf("%d key requests before the refresh point, want 1", n)
	}
	clk.advance(2 * time.Minute)
	req.SignedAt = clk.now()
	got = mustSign(t, s, req)
	if n := len(f.requests()); n != 2 {
		t.Fatalf("%d key requests after the refresh point, want 2", n)
	}
	if !strings.Contains(got.URL, "skt="+url.QueryEscape(clk.now().Add(-StartSkew).Format(sas.TimeFormat))) {
		t.Errorf("URL %s is not signed with the new key", got.URL)
	}
}

// A URL never outlives its delegation key, even when Azure grants a key
// shorter than asked.
func TestUserDelegationCapsAtKeyExpiry(t *testing.T) {
	f := newFakeBlobService(t)
	f.grant = 2 * time.Hour // from the key's start, StartSkew before now
	clk := &clock{t: t0}
	s := newDelegated(t, f, clk, &fakeToken{})

	keyExpiry := t0.Add(-StartSkew + 2*time.Hour)
	got := mustSign(t, s, store.SignRequest{Bucket: "models", Key: "k", SignedAt: t0, Lifetime: 24 * time.Hour})
	if !got.ExpiresAt.Equal(keyExpiry) {
		t.Errorf("ExpiresAt %s, want the key's expiry %s", got.ExpiresAt, keyExpiry)
	}
	u, _ := url.Parse(got.URL)
	if se := u.Query().Get("se"); se != keyExpiry.Format(sas.TimeFormat) {
		t.Errorf("se=%s, want the key's expiry %s", se, keyExpiry.Format(sas.TimeFormat))
	}
	verifyUDKSignature(t, got.URL, f.keyVal)
	for range 10 {
		mustSign(t, s, store.SignRequest{Bucket: "models", Key: "k", SignedAt: t0, Lifetime: time.Hour})
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("%d key requests for a short key still in its first three quarters, want 1", n)
	}

	// Signed at a time the key no longer covers: the store refuses rather
	// than sign a URL that cannot work.
	f.mu.Lock()
	f.failing = true
	f.mu.Unlock()
	clk.advance(2 * time.Hour)
	_, err := s.Sign(context.Background(), store.SignRequest{Bucket: "models", Key: "k", SignedAt: clk.now(), Lifetime: time.Hour})
	if !errors.Is(err, store.ErrCredentials) {
		t.Errorf("Sign with an expired key and a failing service: %v, want ErrCredentials", err)
	}
}

// While a refresh fails, the old key keeps signing until it expires, and the
// service is not asked again on every signature.
func TestUserDelegationRefreshFailureKeepsOldKey(t *testing.T) {
	f := newFakeBlobService(t)
	clk := &clock{t: t0}
	s := newDelegated(t, f, clk, &fakeToken{})
	mustSign(t, s, store.SignRequest{Bucket: "models", Key: "k", SignedAt: t0, Lifetime: time.Hour})

	f.mu.Lock()
	f.failing = true
	f.mu.Unlock()
	clk.advance(KeyLifetime * 4 / 5)
	before := len(f.requests())
	for range 5 {
		got := mustSign(t, s, store.SignRequest{Bucket: "models", Key: "k", SignedAt: clk.now(), Lifetime: time.Hour})
		u, _ := url.Parse(got.URL)
		if ske := u.Query().Get("ske"); ske != t0.Add(KeyLifetime).Format(sas.TimeFormat) {
			t.Fatalf("ske=%s, want the old key's", ske)
		}
	}
	if n := len(f.requests()) - before; n != 1 {
		t.Errorf("%d key requests during a failing refresh, want 1", n)
	}
	// After retryAfter, the next signature tries again.
	clk.advance(retryAfter)
	mustSign(t, s, store.SignRequest{Bucket: "models", Key: "k", SignedAt: clk.now(), Lifetime: time.Hour})
	if n := len(f.requests()) - before; n != 2 {
		t.Errorf("%d key requests after retryAfter, want 2", n)
	}
}

func TestUserDelegationTokenFailureIsCredentialsError(t *testing.T) {
	f := newFakeBlobService(t)
	s := newDelegated(t, f, &clock{t: t0}, &fakeToken{fail: true})
	_, err := s.Sign(context.Background(), store.SignRequest{Bucket: "models", Key: "k", SignedAt: t0, Lifetime: time.Hour})
	if !errors.Is(err, store.ErrCredentials) {
		t.Fatalf("Sign: %v, want ErrCredentials", err)
	}
	if err := s.Probe(context.Background(), "models"); !errors.Is(err, store.ErrCredentials) {
		t.Fatalf("Probe: %v, want ErrCredentials", err)
	}
}

func TestUserDelegationProbe(t *testing.T) {
	f := newFakeBlobService(t)
	s := newDelegated(t, f, &clock{t: t0}, &fakeToken{})
	if err := s.Probe(context.Background(), "models"); err != nil {
		t.Errorf("Probe(models): %v", err)
	}
	if err := s.Probe(context.Background(), ""); err != nil {
		t.Errorf("Probe(account): %v", err)
	}
	err := s.Probe(context.Background(), "missing")
	if err == nil || !strings.Contains(err.Error(), "container missing: HTTP 404 ContainerNotFound") {
		t.Errorf("Probe(missing): %v, want HTTP 404 ContainerNotFound", err)
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("%d key requests for three probes, want 1 (cached)", n)
	}
}
