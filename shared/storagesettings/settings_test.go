package storagesettings

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/storagegate/storagegate/shared/clearmlauth/clearmltest"
	"github.com/storagegate/storagegate/shared/config"
	"github.com/storagegate/storagegate/shared/credentials"
	"github.com/storagegate/storagegate/shared/internal/testserver"
	"github.com/storagegate/storagegate/shared/storageurl"
	"github.com/storagegate/storagegate/shared/store"
	"github.com/storagegate/storagegate/shared/store/azurestore"
	"github.com/storagegate/storagegate/shared/store/gcsstore"
)

// clock is a test clock that only moves when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Secrets the tests plant; none may reach a log line or an error.
const (
	svcSecret  = "svc-secret-f00d"
	s3Secret   = "s3-secret-beef"
	s3Rotated  = "s3-rotated-cafe"
	azureKey   = "YXp1cmUta2V5LXNlY3JldA==" // base64 of a recognisable string
	badGCSJSON = `{"type": "service_account", "private_key": "gcs-private-d00d"`
)

type fixture struct {
	cml    *clearmltest.Server
	clk    *clock
	logs   *testserver.SyncBuffer
	builds atomic.Int64
	s      *Settings
}

// newFixture starts the ClearML double with a service account of company
// c1 and Settings reading it with the three values alone (plus doc).
func newFixture(t *testing.T, doc string) *fixture {
	t.Helper()
	f := &fixture{cml: clearmltest.New(t), clk: &clock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}, logs: &testserver.SyncBuffer{}}
	f.cml.AddUser(clearmltest.User{ID: "svc", Name: "storagegate", Role: "user", CompanyID: "c1", CompanyName: "Acme"})
	f.cml.AddKey("svc", "SVCACCESS", svcSecret)
	env := map[string]string{
		config.EnvAPIHost: f.cml.URL, config.EnvAccessKey: "SVCACCESS", config.EnvSecretKey: svcSecret,
	}
	if doc != "" {
		env[config.EnvInline] = doc
	}
	cfg, _, err := config.FromEnv(context.Background(), func(k string) string { return env[k] }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Storage.UseClearML() {
		t.Fatal("from_clearml is off")
	}
	f.s, err = New(Options{
		Config: cfg, Builders: credentials.Builders{GCS: gcsstore.Builder, Azure: azurestore.Builder},
		Logger: slog.New(slog.NewJSONHandler(f.logs, nil)), Now: f.clk.Now, OnBuild: func() { f.builds.Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, secret := range []string{svcSecret, s3Secret, s3Rotated, azureKey, "gcs-private-d00d"} {
			if strings.Contains(f.logs.String(), secret) {
				t.Errorf("a secret reached the logs:\n%s", f.logs)
			}
		}
	})
	return f
}

func bucket(name, key, secret string) clearmltest.S3Bucket {
	no := false
	return clearmltest.S3Bucket{Bucket: name, Host: "minio:9000", Key: key, Secret: secret, Secure: &no}
}

// sign signs s3://minio:9000/<bucket>/k with the snapshot and returns the
// signed URL, or the resolver's error.
func sign(t *testing.T, snap *Snapshot, bucket string) (string, error) {
	t.Helper()
	u, err := snap.URLOptions().Parse("s3://minio:9000/" + bucket + "/dir/k.bin")
	if err != nil {
		t.Fatal(err)
	}
	target, err := snap.Resolver.Resolve(u, false)
	if err != nil {
		return "", err
	}
	signed, err := target.Store.Sign(context.Background(), store.SignRequest{Bucket: u.Bucket, Key: u.Key, Method: store.MethodGet, SignedAt: time.Now(), Lifetime: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return signed.URL, nil
}

// waitFor polls until cond holds: a refresh runs in its own goroutine.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRefresh: settings from ClearML alone serve a bucket configured only
// in the double; a bucket added in the UI is served after storage.refresh,
// a removed one is not configured, a rotated key signs with the new key; an
// unchanged last_update rebuilds nothing; a request never waits while a
// copy exists.
func TestRefresh(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	f.cml.SetStorageSettings("c1", clearmltest.StorageSettings{AWS: &clearmltest.AWSSettings{Buckets: []clearmltest.S3Bucket{bucket("artifacts", "AKONE", s3Secret)}}})

	snap, err := f.s.Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if u, err := sign(t, snap, "artifacts"); err != nil || !strings.Contains(u, "AKONE") {
		t.Fatalf("artifacts: %v %s", err, u)
	}
	if _, err := sign(t, snap, "models"); !errors.Is(err, credentials.ErrNotConfigured) {
		t.Fatalf("models before it is added: %v", err)
	}
	if got := snap.AllowedCompanies; len(got) != 1 || got[0] != "c1" {
		t.Fatalf("allowed companies %v, want the service account's c1", got)
	}
	if f.builds.Load() != 1 {
		t.Fatalf("builds = %d", f.builds.Load())
	}

	// Within storage.refresh nothing is asked.
	calls := f.cml.Calls("storage.get_settings")
	f.clk.Add(59 * time.Second)
	if again, _ := f.s.Current(ctx); again != snap || f.cml.Calls("storage.get_settings") != calls {
		t.Fatal("asked ClearML before storage.refresh passed")
	}

	// Past it, unchanged: one call, nothing rebuilt, the same snapshot.
	f.clk.Add(2 * time.Second)
	if again, _ := f.s.Current(ctx); again != snap {
		t.Fatal("a request did not get the current copy")
	}
	waitFor(t, "the refresh", func() bool { return f.cml.Calls("storage.get_settings") == calls+1 })
	waitFor(t, "the refresh to end", func() bool { return f.s.Status().AgeSeconds == 0 })
	if f.builds.Load() != 1 {
		t.Fatalf("an unchanged last_update rebuilt the settings (%d builds)", f.builds.Load())
	}

	// The admin adds a bucket, removes one and rotates a key.
	f.cml.SetStorageSettings("c1", clearmltest.StorageSettings{AWS: &clearmltest.AWSSettings{Buckets: []clearmltest.S3Bucket{
		bucket("models", "AKTWO", s3Rotated),
		bucket("datasets", "AKROTATED", s3Rotated),
	}}})
	// A slow ClearML: the request is served the copy at once.
	f.cml.SetDelay(500 * time.Millisecond)
	f.clk.Add(61 * time.Second)
	start := time.Now()
	if again, _ := f.s.Current(ctx); again != snap || time.Since(start) > 200*time.Millisecond {
		t.Fatalf("a request waited %s for the refresh", time.Since(start))
	}
	// One refresh at a time: more requests start none.
	for range 5 {
		f.s.Current(ctx)
	}
	waitFor(t, "the rebuild", func() bool { return f.builds.Load() == 2 })
	if n := f.cml.Calls("storage.get_settings"); n != calls+2 {
		t.Fatalf("%d calls, want %d", n, calls+2)
	}
	f.cml.SetDelay(0)
	snap2, _ := f.s.Current(ctx)
	if u, err := sign(t, snap2, "models"); err != nil || !strings.Contains(u, "AKTWO") {
		t.Fatalf("added bucket: %v %s", err, u)
	}
	if _, err := sign(t, snap2, "artifacts"); !errors.Is(err, credentials.ErrNotConfigured) {
		t.Fatalf("removed bucket: %v", err)
	}
	if u, _ := sign(t, snap2, "datasets"); !strings.Contains(u, "AKROTATED") {
		t.Fatalf("rotated key: %s", u)
	}
}

// TestColdStartDown: ClearML down at cold start gives ErrUnavailable with a
// retry time, without asking again before it; then the settings load
// without a restart. Down later, the last good settings keep serving and
// each failed refresh logs one line.
func TestColdStartDown(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	f.cml.SetStorageSettings("c1", clearmltest.StorageSettings{AWS: &clearmltest.AWSSettings{Buckets: []clearmltest.S3Bucket{bucket("artifacts", "AKONE", s3Secret)}}})
	f.cml.SetDown(true)

	if err := f.s.Load(ctx); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Load = %v", err)
	}
	_, err := f.s.Current(ctx)
	var ue *UnavailableError
	if !errors.As(err, &ue) || ue.RetryAfter < time.Second || ue.RetryAfter > maxRetry {
		t.Fatalf("Current while down = %v", err)
	}
	if strings.Contains(err.Error(), svcSecret) {
		t.Fatal("the error holds the service secret")
	}
	before := f.cml.Calls("users.get_current_user") + f.cml.Calls("storage.get_settings")
	for range 10 {
		f.s.Current(ctx)
	}
	if after := f.cml.Calls("users.get_current_user") + f.cml.Calls("storage.get_settings"); after != before {
		t.Fatalf("requests within the retry time asked ClearML %d times", after-before)
	}
	if st := f.s.Status(); st.Loaded || !st.Failing {
		t.Fatalf("status %+v", st)
	}

	f.cml.SetDown(false)
	f.clk.Add(maxRetry)
	snap, err := f.s.Current(ctx)
	if err != nil {
		t.Fatalf("after ClearML is back: %v", err)
	}
	if _, err := sign(t, snap, "artifacts"); err != nil {
		t.Fatal(err)
	}

	// Down later: the copy keeps serving; one log line per failed refresh.
	f.cml.SetDown(true)
	failedLines := func() int { return strings.Count(f.logs.String(), "loading from ClearML failed") }
	base := failedLines()
	for i := 1; i <= 3; i++ {
		f.clk.Add(time.Minute)
		for range 5 {
			if got, err := f.s.Current(ctx); err != nil || got != snap {
				t.Fatalf("refresh %d: %v", i, err)
			}
		}
		waitFor(t, "the failed refresh", func() bool { return failedLines() == base+i })
	}
	st := f.s.Status()
	if !st.Loaded || !st.Failing || st.AgeSeconds < 180 {
		t.Fatalf("status while failing: %+v", st)
	}
	if _, err := sign(t, snap, "artifacts"); err != nil {
		t.Fatal(err)
	}
}

// TestBadEntrySkipped: an entry with a bad host, unparsable
// credentials_json or a bad account key is skipped with a warning naming
// it (never its secrets); the rest serve.
func TestBadEntrySkipped(t *testing.T) {
	f := newFixture(t, "")
	no := false
	f.cml.SetStorageSettings("c1", clearmltest.StorageSettings{
		AWS: &clearmltest.AWSSettings{Buckets: []clearmltest.S3Bucket{
			{Bucket: "nohost-port", Host: "minio", Key: "AK", Secret: s3Secret, Secure: &no},
			{Bucket: "bad host", Host: "minio:9000", Key: "AK", Secret: s3Secret},
			bucket("good", "AKGOOD", s3Secret),
		}},
		Google: &clearmltest.GoogleSettings{Buckets: []clearmltest.GSBucket{
			{Bucket: "gcs-bad", CredentialsJSON: badGCSJSON},
		}},
		Azure: &clearmltest.AzureSettings{Containers: []clearmltest.AzureContainer{
			{AccountName: "acct", AccountKey: "not base64 " + azureKey, ContainerName: "cont"},
		}},
	})
	snap, err := f.s.Current(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if u, err := sign(t, snap, "good"); err != nil || !strings.Contains(u, "AKGOOD") {
		t.Fatalf("good: %v", err)
	}
	logs := f.logs.String()
	for _, name := range []string{`aws bucket \"nohost-port\" on host \"minio\"`, `aws bucket \"bad host\"`, `google bucket \"gcs-bad\"`, `azure account \"acct\" container \"cont\"`} {
		if !strings.Contains(logs, name) {
			t.Errorf("no warning names %s:\n%s", name, logs)
		}
	}
	if n := strings.Count(logs, "is skipped"); n != 4 {
		t.Errorf("%d skip warnings, want 4", n)
	}
	if len(snap.Resolver.Entries()) != 1 {
		t.Errorf("entries = %d, want 1", len(snap.Resolver.Entries()))
	}
}

// TestOverlay: the document's entries are laid over ClearML's: the same
// bucket+host gets public_host while keeping the rotating key from
// ClearML; an Azure container gets its endpoint; entries only in the
// document are added; each entry says where it comes from.
func TestOverlay(t *testing.T) {
	doc := `
storage:
  from_clearml: true
  aws:
    buckets:
      - {bucket: artifacts, host: "minio:9000", public_host: "files.example.com:9000"}
      - {bucket: local, host: "minio:9000", key: DOCKEY, secret: doc-secret-x, secure: false}
  azure:
    containers:
      - {account_name: devstoreaccount1, container_name: cont, endpoint: "http://127.0.0.1:10000/devstoreaccount1"}
`
	f := newFixture(t, doc)
	f.cml.SetStorageSettings("c1", clearmltest.StorageSettings{
		AWS:   &clearmltest.AWSSettings{Buckets: []clearmltest.S3Bucket{bucket("artifacts", "AKCML", s3Secret), bucket("other", "AKO", s3Secret)}},
		Azure: &clearmltest.AzureSettings{Containers: []clearmltest.AzureContainer{{AccountName: "devstoreaccount1", AccountKey: azureKey, ContainerName: "cont"}}},
	})
	snap, err := f.s.Current(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	u, err := sign(t, snap, "artifacts")
	if err != nil || !strings.HasPrefix(u, "http://files.example.com:9000/artifacts/") || !strings.Contains(u, "AKCML") {
		t.Fatalf("artifacts: %v %s", err, u)
	}
	if u, _ := sign(t, snap, "local"); !strings.Contains(u, "DOCKEY") {
		t.Fatalf("local: %s", u)
	}
	az, err := snap.URLOptions().Parse("azure://127.0.0.1:10000/cont/k.bin")
	if err != nil || az.Provider != storageurl.Azure {
		t.Fatalf("the document's Azure endpoint is not known: %v", err)
	}
	if _, err := snap.Resolver.Resolve(az, false); err != nil {
		t.Fatalf("azure: %v", err)
	}
	want := map[string]string{
		"storage.aws.buckets[0]": SourceBoth, "storage.aws.buckets[1]": SourceClearML, "storage.aws.buckets[2]": SourceDocument,
		"storage.azure.containers[0]": SourceBoth,
	}
	for _, e := range snap.Resolver.Entries() {
		if got := snap.Source(e.Name); got != want[e.Name] {
			t.Errorf("%s: source %q, want %q", e.Name, got, want[e.Name])
		}
	}
	if strings.Contains(f.logs.String(), "doc-secret-x") {
		t.Error("a document secret reached the logs")
	}
}

// TestDocumentOnly: without from_clearml nothing is fetched and the
// document's settings are the snapshot.
func TestDocumentOnly(t *testing.T) {
	cfg, _, err := config.Parse([]byte(`{"storage": {"aws": {"buckets": [{"bucket": "b", "key": "k", "secret": "s"}]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := s.Current(context.Background())
	if err != nil || snap.AllowedCompanies != nil || len(snap.Resolver.Entries()) != 1 {
		t.Fatalf("%v %+v", err, snap)
	}
	if st := s.Status(); st.Source != SourceDocument || !st.Loaded {
		t.Fatalf("%+v", st)
	}
}
