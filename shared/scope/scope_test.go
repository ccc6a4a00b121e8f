package scope_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/storagegate/storagegate/shared/config"
	"github.com/storagegate/storagegate/shared/credentials"
	"github.com/storagegate/storagegate/shared/scope"
	"github.com/storagegate/storagegate/shared/storageurl"
	"github.com/storagegate/storagegate/shared/store"
	"github.com/storagegate/storagegate/shared/store/azurestore"
	"github.com/storagegate/storagegate/shared/store/gcsstore"
)

// The published Azurite development key and the dummy service account of
// Google's conformance tests: not secrets. Signing needs no server.
const azuriteKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

// resolver builds the real stores of a config with an S3-compatible bucket,
// a GCS bucket and an Azure container, plus AWS defaults.
func resolver(t *testing.T) *credentials.Resolver {
	t.Helper()
	sa, err := os.ReadFile("../internal/gcsverify/testdata/dummy-service-account.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := json.Marshal(map[string]any{"storage": map[string]any{
		"aws": map[string]any{"key": "default-key", "secret": "default-secret", "region": "eu-west-1", "buckets": []any{
			map[string]any{"bucket": "art", "host": "minio:9000", "key": "k", "secret": "s", "secure": false}}},
		"google": map[string]any{"endpoint": "http://127.0.0.1:4443", "buckets": []any{
			map[string]any{"bucket": "gbucket", "credentials_json": string(sa)}}},
		"azure": map[string]any{"containers": []any{map[string]any{"account_name": "devstoreaccount1", "account_key": azuriteKey,
			"container_name": "cont", "endpoint": "http://127.0.0.1:10000/devstoreaccount1"}}},
	}})
	cfg, _, err := config.Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	r, err := credentials.New(cfg.Storage, credentials.Builders{GCS: gcsstore.Builder, Azure: azurestore.Builder})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func parse(t *testing.T, r *credentials.Resolver, raw string) storageurl.URL {
	t.Helper()
	u, err := r.URLOptions().Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestResolve(t *testing.T) {
	r := resolver(t)
	none, err := scope.Compile("cleanup", nil)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := scope.Compile("presign", []config.MatchSet{{Rules: []config.Rule{{Regex: "^s3://aws-"}}}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		rules scope.Rules
		url   string
		entry string // "" when refused with code
		code  string
		why   string
	}{
		{"a bucket entry", none, "s3://minio:9000/art/a/b.png", "storage.aws.buckets[0]", "", ""},
		{"a GCS entry", none, "gs://gbucket/k", "storage.google.buckets[0]", "", ""},
		{"an Azure entry", none, "azure://127.0.0.1:10000/cont/k", "storage.azure.containers[0]", "", ""},
		{"no entry, no rules: defaults do not widen", none, "s3://aws-data/k", "", scope.CodeNotConfigured, "no storage credentials are configured for s3://aws-data"},
		{"another host", none, "s3://other:9000/art/k", "", scope.CodeNotConfigured, "no storage credentials are configured for s3://other:9000/art"},
		{"a rule and the defaults", rules, "s3://aws-data/k", "storage.aws", "", ""},
		{"no rule matches", rules, "s3://minio:9000/art/k", "", scope.CodeNoMatchingRule, "no presign.match_sets rule matches this URL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obj, serr := c.rules.Resolve(r, parse(t, r, c.url), "", "")
			if c.code != "" {
				if serr == nil || serr.Code != c.code || serr.Reason != c.why {
					t.Fatalf("got %+v, want %s: %s", serr, c.code, c.why)
				}
				return
			}
			if serr != nil || obj.Entry != c.entry || obj.URL.String() != c.url {
				t.Fatalf("got %+v %v, want entry %s", obj, serr, c.entry)
			}
			if obj.Bucket().BatchLimit() < 1 {
				t.Fatal("a resolved object has no store to delete with")
			}
		})
	}
}

// recording is a driver that records what it is handed.
type recording struct {
	store.Deleter
	got []store.SignRequest
}

func (s *recording) Sign(_ context.Context, req store.SignRequest) (store.Signed, error) {
	s.got = append(s.got, req)
	return store.Signed{URL: "https://signed", ExpiresAt: req.SignedAt.Add(req.Lifetime)}, nil
}

type oneStore struct{ s store.Store }

func (o oneStore) Resolve(storageurl.URL, bool) (credentials.Target, error) {
	return credentials.Target{Store: o.s, Entry: "storage.aws.buckets[0]"}, nil
}

// TestSignHandsDriversOnlyValidRequests: a bad method, no signing time or a
// lifetime under a second never reach the driver; a lifetime past the
// providers' 7 days arrives capped.
func TestSignHandsDriversOnlyValidRequests(t *testing.T) {
	rec := &recording{}
	rules, _ := scope.Compile("presign", nil)
	obj, serr := rules.Resolve(oneStore{rec}, storageurl.URL{Provider: storageurl.S3, Host: "h", Bucket: "b", Key: "k/o.png"}, "", "")
	if serr != nil {
		t.Fatal(serr)
	}
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, bad := range []scope.SignRequest{
		{Method: "", SignedAt: at, Lifetime: time.Hour},
		{Method: "PUT", SignedAt: at, Lifetime: time.Hour},
		{Method: "get", SignedAt: at, Lifetime: time.Hour},
		{Method: store.MethodGet, Lifetime: time.Hour},
		{Method: store.MethodGet, SignedAt: at, Lifetime: 999 * time.Millisecond},
		{Method: store.MethodGet, SignedAt: at, Lifetime: -time.Hour},
	} {
		if _, err := obj.Sign(context.Background(), bad); !errors.Is(err, scope.ErrRequest) {
			t.Errorf("%+v: %v, want ErrRequest", bad, err)
		}
	}
	bucketOnly, serr := rules.Resolve(oneStore{rec}, storageurl.URL{Provider: storageurl.S3, Host: "h", Bucket: "b"}, "", "")
	if serr != nil {
		t.Fatal(serr)
	}
	if _, err := bucketOnly.Sign(context.Background(), scope.SignRequest{Method: store.MethodGet, SignedAt: at, Lifetime: time.Hour}); !errors.Is(err, scope.ErrRequest) {
		t.Errorf("no object: %v, want ErrRequest", err)
	}
	if len(rec.got) != 0 {
		t.Fatalf("the driver was handed %d invalid requests", len(rec.got))
	}
	s, err := obj.Sign(context.Background(), scope.SignRequest{Method: store.MethodHead, SignedAt: at, Lifetime: 30 * 24 * time.Hour, Disposition: "attachment"})
	if err != nil || len(rec.got) != 1 {
		t.Fatal(err, len(rec.got))
	}
	want := store.SignRequest{Bucket: "b", Key: "k/o.png", Method: store.MethodHead, SignedAt: at, Lifetime: store.MaxLifetime, Disposition: "attachment"}
	if rec.got[0] != want || !s.ExpiresAt.Equal(at.Add(store.MaxLifetime)) {
		t.Fatalf("handed %+v, want %+v", rec.got[0], want)
	}
}

// TestSignCapsEveryProvider: a month asked of each real driver gives a URL
// that says seven days.
func TestSignCapsEveryProvider(t *testing.T) {
	r := resolver(t)
	rules, _ := scope.Compile("presign", nil)
	at := time.Now().UTC().Truncate(time.Second)
	for _, c := range []struct{ url, param, want string }{
		{"s3://minio:9000/art/a.png", "X-Amz-Expires", "604800"},
		{"gs://gbucket/a.png", "X-Goog-Expires", "604800"},
		{"azure://127.0.0.1:10000/cont/a.png", "se", at.Add(store.MaxLifetime).Format(time.RFC3339)},
	} {
		obj, serr := rules.Resolve(r, parse(t, r, c.url), "", "")
		if serr != nil {
			t.Fatal(serr)
		}
		s, err := obj.Sign(context.Background(), scope.SignRequest{Method: store.MethodGet, SignedAt: at, Lifetime: 30 * 24 * time.Hour})
		if err != nil {
			t.Fatalf("%s: %v", c.url, err)
		}
		u, err := url.Parse(s.URL)
		if err != nil {
			t.Fatal(err)
		}
		if got := u.Query().Get(c.param); got != c.want || !s.ExpiresAt.Equal(at.Add(store.MaxLifetime)) {
			t.Errorf("%s: %s=%s, ExpiresAt %s; want %s and seven days", c.url, c.param, got, s.ExpiresAt, c.want)
		}
		if strings.Contains(s.URL, "default-secret") {
			t.Fatal("a secret in a URL")
		}
	}
}

// bucketRecorder is a driver that records the bucket of every call.
type bucketRecorder struct {
	store.Signer
	buckets []string
}

func (b *bucketRecorder) BatchLimit() int { return 1000 }
func (b *bucketRecorder) DeleteObjects(_ context.Context, bucket string, keys []string) []error {
	b.buckets = append(b.buckets, bucket)
	return make([]error, len(keys))
}
func (b *bucketRecorder) List(_ context.Context, bucket, _ string, _ func([]store.ObjectInfo) error) error {
	b.buckets = append(b.buckets, bucket)
	return nil
}
func (b *bucketRecorder) Stat(_ context.Context, bucket, _ string) (store.ObjectInfo, error) {
	b.buckets = append(b.buckets, bucket)
	return store.ObjectInfo{}, nil
}

// TestBucketIsTheURLsBucket: deleting, listing and inspecting through a
// scoped object reach the driver for the URL's bucket only.
func TestBucketIsTheURLsBucket(t *testing.T) {
	rec := &bucketRecorder{}
	rules, _ := scope.Compile("cleanup", nil)
	obj, serr := rules.Resolve(oneStore{rec}, storageurl.URL{Provider: storageurl.S3, Host: "h", Bucket: "art", Key: "proj/t.1/"}, "", "")
	if serr != nil {
		t.Fatal(serr)
	}
	b := obj.Bucket()
	ctx := context.Background()
	if errs := b.DeleteObjects(ctx, []string{"proj/t.1/a", "proj/t.1/b"}); len(errs) != 2 {
		t.Fatalf("%d results for 2 keys", len(errs))
	}
	_ = b.List(ctx, "proj/t.1/", func([]store.ObjectInfo) error { return nil })
	_, _ = b.Stat(ctx, "proj/t.1/a")
	if want := []string{"art", "art", "art"}; !slices.Equal(rec.buckets, want) || b.BatchLimit() != 1000 {
		t.Fatalf("the driver was handed buckets %v, want %v", rec.buckets, want)
	}
}
