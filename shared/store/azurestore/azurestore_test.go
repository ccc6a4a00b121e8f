package azurestore

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/storagegate/storagegate/shared/config"
	"github.com/storagegate/storagegate/shared/credentials"
	"github.com/storagegate/storagegate/shared/internal/testserver"
	"github.com/storagegate/storagegate/shared/store"
)

// devKey is Azurite's published development key, valid base64.
const devKey = testserver.AzuriteAccountKey

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func mustNew(t testing.TB, c config.AzureContainer, opts ...Option) *Store {
	t.Helper()
	s, err := New(c, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func mustSign(t testing.TB, s store.Signer, req store.SignRequest) store.Signed {
	t.Helper()
	got, err := s.Sign(context.Background(), req)
	if err != nil {
		t.Fatalf("Sign(%q): %v", req.Key, err)
	}
	return got
}

func TestNewRejectsBadConfigWithoutEchoingTheKey(t *testing.T) {
	secret := "not*base64*secret-material"
	for _, tc := range []struct {
		name string
		c    config.AzureContainer
		want string
	}{
		{"key not base64", config.AzureContainer{AccountName: "acct", AccountKey: secret}, "account_key is not valid base64"},
		{"blank key", config.AzureContainer{AccountName: "acct", AccountKey: " \n"}, "account_key is blank"},
		{"no account", config.AzureContainer{AccountKey: devKey}, "account_name is required"},
		{"endpoint scheme", config.AzureContainer{AccountName: "acct", AccountKey: devKey, Endpoint: "ftp://h/acct"}, "http or https"},
		{"endpoint query", config.AzureContainer{AccountName: "acct", AccountKey: devKey, Endpoint: "https://h/?sv=1"}, "without user information, query or fragment"},
		{"keyless http", config.AzureContainer{AccountName: "acct", Endpoint: "http://127.0.0.1:10000/acct"}, "needs an https endpoint"},
		{"keyless host", config.AzureContainer{AccountName: "acct", Endpoint: "https://blobs.example.com"}, "must start with the account name (acct.)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.c, WithTokenCredential(&fakeToken{}))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), devKey) {
				t.Fatalf("the error echoes the key: %v", err)
			}
		})
	}
}

// The resolver prefixes the entry's field to what New says.
func TestBuilderErrorNamesTheField(t *testing.T) {
	_, err := credentials.New(config.Storage{Azure: config.Azure{Containers: []config.AzureContainer{
		{AccountName: "acct", AccountKey: devKey},
		{AccountName: "other", AccountKey: "%%%"},
	}}}, credentials.Builders{Azure: Builder})
	var fe *config.FieldError
	if !errors.As(err, &fe) || fe.Field != "storage.azure.containers[1]" || !strings.Contains(fe.Message, "account_key") {
		t.Fatalf("credentials.New: %v, want a FieldError on storage.azure.containers[1] about account_key", err)
	}
}

func TestSignURLShape(t *testing.T) {
	s := mustNew(t, config.AzureContainer{AccountName: "acct", AccountKey: devKey})
	got := mustSign(t, s, store.SignRequest{
		Bucket: "models", Key: "dir/a%20b c+d/ü.bin", Method: store.MethodGet,
		SignedAt: t0.Add(500 * time.Millisecond), Lifetime: 16 * time.Minute,
		Disposition: `attachment; filename="u.bin"; filename*=UTF-8''%C3%BC.bin`,
	})
	u, err := url.Parse(got.URL)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "https" || u.Host != "acct.blob.core.windows.net" {
		t.Errorf("URL %s: want https://acct.blob.core.windows.net", got.URL)
	}
	if want := "/models/dir/a%2520b%20c%2Bd/%C3%BC.bin"; u.EscapedPath() != want {
		t.Errorf("path %s, want %s (each byte of the literal key escaped once)", u.EscapedPath(), want)
	}
	if strings.Contains(u.RawQuery, "+") {
		t.Errorf("query %s: spaces must be %%20", u.RawQuery)
	}
	q := u.Query()
	for k, want := range map[string]string{
		"sr": "b", "sp": "r", "spr": "https",
		"st":   "2026-03-01T09:45:00Z", // SignedAt, whole seconds, less StartSkew
		"se":   "2026-03-01T10:16:00Z",
		"rscd": `attachment; filename="u.bin"; filename*=UTF-8''%C3%BC.bin`,
	} {
		if q.Get(k) != want {
			t.Errorf("%s=%q, want %q", k, q.Get(k), want)
		}
	}
	if q.Get("sig") == "" || q.Get("sv") == "" {
		t.Errorf("no sig or sv in %s", got.URL)
	}
	if want := t0.Add(16 * time.Minute); !got.ExpiresAt.Equal(want) {
		t.Errorf("ExpiresAt %s, want %s", got.ExpiresAt, want)
	}
}

// The presign handler signs every request of a window at the window's start:
// identical requests must give the identical URL, and the next window another.
func TestSignIsStableWithinAWindow(t *testing.T) {
	s := mustNew(t, config.AzureContainer{AccountName: "acct", AccountKey: devKey})
	req := store.SignRequest{Bucket: "c", Key: "k", Method: store.MethodGet, SignedAt: t0, Lifetime: 16 * time.Minute}
	a, b := mustSign(t, s, req), mustSign(t, s, req)
	if a != b {
		t.Fatalf("same request, different results:\n%+v\n%+v", a, b)
	}
	// Azure cannot bind a SAS to a method: HEAD and GET share the URL.
	req.Method = store.MethodHead
	if h := mustSign(t, s, req); h.URL != a.URL {
		t.Errorf("HEAD URL %s differs from GET URL %s", h.URL, a.URL)
	}
	req.SignedAt = t0.Add(time.Minute)
	if n := mustSign(t, s, req); n.URL == a.URL {
		t.Errorf("the next window gave the same URL")
	}
}

// TestSignLimits: the longest lifetime shared/scope lets through is signed
// as asked. A bad method, bucket, key, time or lifetime, and a lifetime past
// 7 days, never reach a driver: shared/scope's
// TestSignHandsDriversOnlyValidRequests and TestSignCapsEveryProvider.
func TestSignLimits(t *testing.T) {
	s := mustNew(t, config.AzureContainer{AccountName: "acct", AccountKey: devKey, ContainerName: "models"})
	got := mustSign(t, s, store.SignRequest{Bucket: "models", Key: "k", SignedAt: t0, Lifetime: store.MaxLifetime})
	if want := t0.Add(store.MaxLifetime); !got.ExpiresAt.Equal(want) {
		t.Errorf("ExpiresAt %s, want the 7 days asked %s", got.ExpiresAt, want)
	}
}

func TestEndpoint(t *testing.T) {
	for _, tc := range []struct{ endpoint, wantPrefix, wantSpr string }{
		{"", "https://acct.blob.core.windows.net/c/k?", "https"},
		{"http://127.0.0.1:10000/devstoreaccount1/", "http://127.0.0.1:10000/devstoreaccount1/c/k?", "https,http"},
		{"HTTPS://Acct.Blob.Core.ChinaCloudAPI.cn", "https://acct.blob.core.chinacloudapi.cn/c/k?", "https"},
	} {
		s := mustNew(t, config.AzureContainer{AccountName: "acct", AccountKey: devKey, Endpoint: tc.endpoint})
		got := mustSign(t, s, store.SignRequest{Bucket: "c", Key: "k", SignedAt: t0, Lifetime: time.Hour})
		if !strings.HasPrefix(got.URL, tc.wantPrefix) {
			t.Errorf("endpoint %q: URL %s, want prefix %s", tc.endpoint, got.URL, tc.wantPrefix)
		}
		u, _ := url.Parse(got.URL)
		if spr := u.Query().Get("spr"); spr != tc.wantSpr {
			t.Errorf("endpoint %q: spr=%s, want %s", tc.endpoint, spr, tc.wantSpr)
		}
	}
}
