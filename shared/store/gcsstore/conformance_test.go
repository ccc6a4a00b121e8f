package gcsstore_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/storagegate/storagegate/shared/config"
	"github.com/storagegate/storagegate/shared/internal/gcsverify"
	"github.com/storagegate/storagegate/shared/internal/testserver"
	"github.com/storagegate/storagegate/shared/store/gcsstore"
	"github.com/storagegate/storagegate/shared/store/storetest"
)

// verifiedFakeGCS starts fake-gcs-server behind a proxy that verifies V4
// signatures as Cloud Storage does (fake-gcs-server verifies none), and
// returns both; signed URLs go to the proxy's URL.
func verifiedFakeGCS(t *testing.T) (*testserver.FakeGCS, string) {
	t.Helper()
	fake := testserver.StartFakeGCS(t)
	up, err := url.Parse(fake.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewServer(gcsverify.Proxy(dummyVerifier(t), up))
	t.Cleanup(proxy.Close)
	return fake, proxy.URL
}

// TestConformance runs the store suite with a key file and with IAM signBlob.
func TestConformance(t *testing.T) {
	fake, endpoint := verifiedFakeGCS(t)
	fixture := func(bucket string, s *gcsstore.Store) storetest.Fixture {
		fake.MakeBucket(t, bucket)
		return storetest.Fixture{
			Name:           "gcsstore on fake-gcs-server behind gcsverify",
			Signer:         s,
			Bucket:         bucket,
			Put:            func(t testing.TB, key string, body []byte) { fake.Put(t, bucket, key, body) },
			SignatureParam: "X-Goog-Signature",
		}
	}
	t.Run("key file", func(t *testing.T) {
		s, err := gcsstore.New(config.Google{CredentialsJSON: dummyKey(t), Endpoint: endpoint}, nil)
		if err != nil {
			t.Fatal(err)
		}
		storetest.Run(t, fixture("conformance-key", s))
	})
	t.Run("signBlob", func(t *testing.T) {
		iam := startFakeIAM(t)
		s, err := gcsstore.New(config.Google{Endpoint: endpoint}, nil,
			gcsstore.WithIAMEndpoint(iam.URL), tokens(), gcsstore.WithServiceAccount(dummyEmail))
		if err != nil {
			t.Fatal(err)
		}
		storetest.Run(t, fixture("conformance-iam", s))
	})
}

// TestProbe: check-config --probe passes for a reachable bucket and fails
// for a key the server does not know. (fake-gcs-server answers a missing
// bucket like a missing object, so TestProbeAnswers covers that.)
func TestProbe(t *testing.T) {
	fake, endpoint := verifiedFakeGCS(t)
	fake.MakeBucket(t, "probe")
	s, err := gcsstore.New(config.Google{CredentialsJSON: dummyKey(t), Endpoint: endpoint}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Probe(ctx, "probe"); err != nil {
		t.Fatalf("Probe(probe): %v", err)
	}
	if err := s.Probe(ctx, ""); err != nil {
		t.Fatalf("Probe of the defaults: %v", err)
	}
	stranger := strings.Replace(dummyKey(t), dummyEmail, "stranger@p.iam.gserviceaccount.com", 1)
	s2, err := gcsstore.New(config.Google{CredentialsJSON: stranger, Endpoint: endpoint}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Probe(ctx, "probe"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("Probe with an unknown service account: %v, want HTTP 403", err)
	}
}

// TestProbeAnswers maps Cloud Storage's answers to a signed GET of an object
// that need not exist.
func TestProbeAnswers(t *testing.T) {
	cases := []struct {
		status int
		body   string
		want   string // "" for success
	}{
		{200, "object", ""},
		{404, `<?xml version='1.0' encoding='UTF-8'?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>`, ""},
		{404, `<?xml version='1.0' encoding='UTF-8'?><Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist.</Message></Error>`, "bucket b does not exist"},
		{403, `<?xml version='1.0' encoding='UTF-8'?><Error><Code>AccessDenied</Code><Message>Access denied.</Message><Details>x does not have storage.objects.get access</Details></Error>`, "HTTP 403 AccessDenied: Access denied."},
		{400, `<?xml version='1.0' encoding='UTF-8'?><Error><Code>InvalidArgument</Code><Message>Invalid argument.</Message></Error>`, "HTTP 400 InvalidArgument"},
	}
	for _, c := range cases {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/b/storagegate-probe" || r.URL.Query().Get("X-Goog-Signature") == "" {
				t.Errorf("probe asked for %s, want a signed GET of /b/storagegate-probe", r.URL)
			}
			w.WriteHeader(c.status)
			io.WriteString(w, c.body)
		}))
		s, err := gcsstore.New(config.Google{CredentialsJSON: dummyKey(t), Endpoint: srv.URL}, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = s.Probe(context.Background(), "b")
		srv.Close()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("HTTP %d: %v, want success", c.status, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("HTTP %d: %v, want %q", c.status, err, c.want)
		}
	}
}
