package cleanup_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rclone/gofakes3"
	"github.com/rclone/gofakes3/s3mem"

	"github.com/storagegate/storagegate/shared/cleanup"
	"github.com/storagegate/storagegate/shared/config"
	"github.com/storagegate/storagegate/shared/credentials"
	"github.com/storagegate/storagegate/shared/internal/testserver"
	"github.com/storagegate/storagegate/shared/store"
	"github.com/storagegate/storagegate/shared/store/s3store"
)

// requests counts S3 API calls by operation as they leave the clients, and
// lets a test act just before one is sent (stop MinIO mid-message).
type requests struct {
	mu     sync.Mutex
	ops    map[string]int
	before func(op string, n int)
}

func (c *requests) RoundTrip(r *http.Request) (*http.Response, error) {
	op := testserver.S3Operation(r)
	c.mu.Lock()
	c.ops[op]++
	n, before := c.ops[op], c.before
	c.mu.Unlock()
	if before != nil {
		before(op, n)
	}
	return http.DefaultTransport.RoundTrip(r)
}

func (c *requests) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops, c.before = map[string]int{}, nil
}

func (c *requests) get(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ops[op]
}

func (c *requests) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.ops {
		n += v
	}
	return n
}

// s3Env is an S3 server and a Pipeline whose config names it.
type s3Env struct {
	hostPort string
	reqs     *requests
	d        *cleanup.Pipeline
	logs     *bytes.Buffer
	// sweepDeletes is how many more DeleteObjects calls the closing
	// listing may need: gofakes3 skips keys at page boundaries.
	sweepDeletes int
	put          func(t testing.TB, key string, body string)
	exists       func(t testing.TB, key string) bool
	// list returns every key under prefix, sorted.
	list func(t testing.TB, prefix string) []string
}

const envBucket = "art"

// newS3Env configures bucket "art" on the server, "denied" with a wrong
// secret, and "absent", which the server does not have. Every entry's store
// sends its requests through one counting transport.
func newS3Env(t *testing.T, hostPort, key, secret string, edit func(*config.Cleanup), b cleanup.Backoff) *s3Env {
	t.Helper()
	doc := fmt.Sprintf(`{"storage": {"aws": {"buckets": [
	  {"bucket": %[4]q, "host": %[1]q, "key": %[2]q, "secret": %[3]q, "secure": false},
	  {"bucket": "denied", "host": %[1]q, "key": %[2]q, "secret": "not-the-secret", "secure": false},
	  {"bucket": "absent", "host": %[1]q, "key": %[2]q, "secret": %[3]q, "secure": false}
	]}}}`, hostPort, key, secret, envBucket)
	cfg, _, err := config.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(&cfg.Cleanup)
	}
	res, err := credentials.New(cfg.Storage, credentials.Builders{})
	if err != nil {
		t.Fatal(err)
	}
	e := &s3Env{hostPort: hostPort, reqs: &requests{ops: map[string]int{}}, logs: &bytes.Buffer{}}
	stores := map[string]store.Store{}
	for i, bk := range cfg.Storage.AWS.Buckets {
		st, err := s3store.New(s3store.Params{Host: bk.Host, Secure: false, Key: bk.Key, Secret: bk.Secret,
			HTTPClient: &http.Client{Transport: e.reqs}})
		if err != nil {
			t.Fatal(err)
		}
		stores[fmt.Sprintf("storage.aws.buckets[%d]", i)] = st
	}
	e.d, err = cleanup.New(cleanup.Options{Config: cfg.Cleanup, Resolver: swapResolver{res, stores}, Backoff: b,
		Logger: slog.New(slog.NewJSONHandler(&lockedWriter{w: e.logs}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + hostPort), UsePathStyle: true,
		Credentials: awscreds.NewStaticCredentialsProvider(key, secret, "")})
	e.put = func(t testing.TB, k, body string) {
		if _, err := client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(envBucket), Key: aws.String(k), Body: strings.NewReader(body)}); err != nil {
			t.Errorf("put %q: %v", k, err)
		}
	}
	e.list = func(t testing.TB, prefix string) []string {
		var out []string
		p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(envBucket), Prefix: aws.String(prefix)})
		for p.HasMorePages() {
			page, err := p.NextPage(context.Background())
			if err != nil {
				t.Fatalf("list %q: %v", prefix, err)
			}
			for _, o := range page.Contents {
				out = append(out, aws.ToString(o.Key))
			}
		}
		sort.Strings(out)
		return out
	}
	e.exists = func(t testing.TB, k string) bool {
		_, err := client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(envBucket), Key: aws.String(k)})
		return err == nil
	}
	return e
}

func (e *s3Env) url(key string) string { return "s3://" + e.hostPort + "/" + envBucket + "/" + key }

func (e *s3Env) putMany(t testing.TB, keys []string) {
	t.Helper()
	var wg sync.WaitGroup
	ch := make(chan string)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range ch {
				e.put(t, k, "x")
			}
		}()
	}
	for _, k := range keys {
		ch <- k
	}
	close(ch)
	wg.Wait()
}

func chunks(prefix string, n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%schunk_%05d.bin", prefix, i)
	}
	return keys
}

var fastBackoff = cleanup.Backoff{Initial: 20 * time.Millisecond, Max: 100 * time.Millisecond, Attempts: 4}

// runS3Suite is what must hold on any S3 server: the message deletes exactly
// what it names, redelivery succeeds, created and dry runs keep what they
// must, batches are full, and refusals reach no store.
func runS3Suite(t *testing.T, e *s3Env) {
	ctx := context.Background()

	// MinIO keeps objects as files: an object named like a folder hides
	// what is under it, so leave that key out here.
	var keys []string
	for _, k := range clearmlKeys {
		if k != "proj/task.abc" {
			keys = append(keys, k)
		}
	}
	t.Run("deletes exactly the objects and prefixes named", func(t *testing.T) {
		for _, k := range keys {
			e.put(t, "exact/"+k, k)
		}
		m := cleanup.Message{Version: 1, Task: "abc",
			URLs:     []string{e.url("exact/proj/other.1/models/model.pt"), e.url("exact/proj/task.abc/models/Über model.pt")},
			Prefixes: []string{e.url("exact/proj/task.abc")}}
		s := e.d.Run(ctx, m)
		if !s.OK() || s.Deleted != 5 || s.Providers["s3"].Deleted != 5 {
			t.Fatalf("summary: %s %+v %v", s.Status, s.Counts, s.Failures)
		}
		for _, k := range keys {
			gone := strings.HasPrefix(k, "proj/task.abc/") || k == "proj/other.1/models/model.pt"
			if e.exists(t, "exact/"+k) == gone {
				t.Errorf("%q: exists=%v, want %v", k, !gone, !gone)
			}
		}
		// Redelivery: everything already gone is success. S3 says a
		// missing key was deleted, so only the empty prefix shows as absent.
		again := e.d.Run(ctx, m)
		if !again.OK() || again.Failed != 0 || again.AlreadyAbsent != 1 {
			t.Errorf("redelivery: %s %+v", again.Status, again.Counts)
		}
	})

	t.Run("redelivery with created counts what is already absent", func(t *testing.T) {
		keys := []string{"redo/p/t.1/models/a.pt", "redo/p/t.1/models/b.pt", "redo/p/t.1/artifacts/x/y.bin"}
		for _, k := range keys {
			e.put(t, k, "x")
		}
		created := time.Now().Add(time.Hour)
		m := cleanup.Message{Version: 1, Created: &created, URLs: []string{e.url(keys[0]), e.url(keys[1])}, Prefixes: []string{e.url("redo/p/t.1/artifacts/")}}
		if s := e.d.Run(ctx, m); !s.OK() || s.Deleted != 3 {
			t.Fatalf("first: %s %+v %v", s.Status, s.Counts, s.Failures)
		}
		if s := e.d.Run(ctx, m); !s.OK() || s.Deleted != 0 || s.AlreadyAbsent != 3 {
			t.Fatalf("redelivery: %s %+v %v", s.Status, s.Counts, s.Failures)
		}
	})

	t.Run("created keeps objects written after it", func(t *testing.T) {
		e.put(t, "reset/p/t.1/artifacts/old.bin", "old")
		e.put(t, "reset/p/t.1/models/old.pt", "old")
		// The store keeps whole seconds in some answers: cross a second
		// boundary between the old objects and created.
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 50*time.Millisecond)))
		created := time.Now()
		e.put(t, "reset/p/t.1/artifacts/new.bin", "new")
		e.put(t, "reset/p/t.1/models/new.pt", "new")
		s := e.d.Run(ctx, cleanup.Message{Version: 1, Created: &created,
			URLs:     []string{e.url("reset/p/t.1/models/old.pt"), e.url("reset/p/t.1/models/new.pt")},
			Prefixes: []string{e.url("reset/p/t.1/artifacts/")}})
		if !s.OK() || s.Deleted != 2 || s.Kept != 2 {
			t.Fatalf("summary: %s %+v %v", s.Status, s.Counts, s.Failures)
		}
		for k, want := range map[string]bool{"artifacts/old.bin": false, "models/old.pt": false, "artifacts/new.bin": true, "models/new.pt": true} {
			if e.exists(t, "reset/p/t.1/"+k) != want {
				t.Errorf("%s: exists=%v, want %v", k, !want, want)
			}
		}
	})

	t.Run("dry run deletes nothing", func(t *testing.T) {
		e.put(t, "dry/p/t.1/a.bin", "x")
		e.put(t, "dry/p/t.1/sub/b.bin", "x")
		e.reqs.reset()
		s := e.d.Run(ctx, cleanup.Message{Version: 1, DryRun: true, URLs: []string{e.url("dry/p/t.1/a.bin"), e.url("dry/p/t.1/missing.bin")},
			Prefixes: []string{e.url("dry/p/t.1/sub/")}})
		if !s.OK() || s.WouldDelete != 2 || s.AlreadyAbsent != 1 || s.Deleted != 0 {
			t.Fatalf("summary: %s %+v", s.Status, s.Counts)
		}
		if !e.exists(t, "dry/p/t.1/a.bin") || !e.exists(t, "dry/p/t.1/sub/b.bin") || e.reqs.get("DeleteObjects") != 0 {
			t.Error("a dry run deleted")
		}
	})

	t.Run("2,500 objects under a prefix: 3 DeleteObjects calls", func(t *testing.T) {
		keys := chunks("big/ds/data.1/", 2500)
		e.putMany(t, keys)
		e.put(t, "big/ds/data.10/keep.bin", "x")
		e.reqs.reset()
		s := e.d.Run(ctx, cleanup.Message{Version: 1, Prefixes: []string{e.url("big/ds/data.1")}})
		if !s.OK() || s.Deleted != 2500 {
			t.Fatalf("summary: %s %+v %v", s.Status, s.Counts, s.Failures)
		}
		// 3 pages, and one listing that finds the prefix gone.
		if d, l := e.reqs.get("DeleteObjects"), e.reqs.get("ListObjectsV2"); d < 3 || d > 3+e.sweepDeletes || l > 4+e.sweepDeletes {
			t.Errorf("%d DeleteObjects and %d ListObjectsV2 requests, want 3 (+%d) and at most 4 (+%[3]d)", d, l, e.sweepDeletes)
		}
		if !e.exists(t, "big/ds/data.10/keep.bin") || e.exists(t, keys[0]) || e.exists(t, keys[2499]) {
			t.Error("wrong objects deleted")
		}
	})

	t.Run("permanent failures name their reason", func(t *testing.T) {
		e.put(t, "perm/p/t.1/ok.bin", "x")
		base := "s3://" + e.hostPort
		s := e.d.Run(ctx, cleanup.Message{Version: 1, URLs: []string{
			e.url("perm/p/t.1/ok.bin"),
			base + "/denied/p/t.2/m.pt",
			base + "/absent/p/t.1/m.pt",
			base + "/unconfigured/p/t.1/m.pt",
		}, Prefixes: []string{base + "/denied/p/t.1/"}})
		if s.Status != cleanup.StatusPermanent || s.Transient() || s.Deleted != 1 || s.PermanentFailures != 4 {
			t.Fatalf("summary: %s %+v %+v", s.Status, s.Counts, s.Failures)
		}
		byURL := map[string]cleanup.Failure{}
		for _, f := range s.Failures {
			byURL[f.URL] = f
		}
		for url, want := range map[string]string{
			base + "/denied/p/t.2/m.pt":       "permission_denied",
			base + "/denied/p/t.1/":           "permission_denied",
			base + "/absent/p/t.1/m.pt":       "invalid_argument",
			base + "/unconfigured/p/t.1/m.pt": "not_configured",
		} {
			if f := byURL[url]; f.Code != want || f.Reason == "" {
				t.Errorf("%s: %+v, want code %s", url, f, want)
			}
		}
		if !strings.Contains(byURL[base+"/absent/p/t.1/m.pt"].Reason, "NoSuchBucket") {
			t.Errorf("reason %q does not name NoSuchBucket", byURL[base+"/absent/p/t.1/m.pt"].Reason)
		}
		if !strings.Contains(e.logs.String(), `"url":"`+base+`/denied/p/t.2/m.pt"`) {
			t.Error("no failure line names the denied URL")
		}
	})

	t.Run("bad messages reach no store", func(t *testing.T) {
		e.reqs.reset()
		many := `"` + e.url("p/t/x") + `"` + strings.Repeat(`, "`+e.url("p/t/x")+`"`, 10000)
		for _, body := range []string{
			`{"version": 1, "urls": [` + many + `]}`,
			`{"version": 3, "urls": ["` + e.url("p/t.1/x") + `"]}`,
			`<xml/>`,
		} {
			if s := e.d.Process(ctx, []byte(body)); !s.Invalid() || s.Error == "" {
				t.Errorf("%.80s: %+v", body, s)
			}
		}
		// Entries that can never be done fail one by one, permanently.
		for body, code := range map[string]string{
			`{"version": 1, "prefixes": ["s3://` + e.hostPort + `/art/"]}`:                           "refused",
			`{"version": 1, "prefixes": ["` + e.url("p/../p/t.1") + `"]}`:                            "invalid_url",
			`{"version": 1, "urls": ["abfs://x/y", "http://` + e.hostPort + `/art/p/t.1/x"]}`:        "invalid_url",
			`{"version": 1, "urls": ["` + e.url("p/t.1/") + `"], "prefixes": ["` + e.url("") + `"]}`: "",
		} {
			s := e.d.Process(ctx, []byte(body))
			if s.Status != cleanup.StatusPermanent || s.Failed == 0 || s.Failed != s.PermanentFailures || s.Deleted != 0 ||
				code != "" && s.Failures[0].Code != code {
				t.Errorf("%.80s: %+v", body, s)
			}
		}
		if n := e.reqs.total(); n != 0 {
			t.Errorf("%d requests reached the store", n)
		}
		// Beside a good entry, only the good one reaches the store.
		s := e.d.Process(ctx, []byte(`{"version": 1, "urls": ["`+e.url("p/t.1/x")+`", "abfs://x/y"]}`))
		if s.Status != cleanup.StatusPermanent || s.Deleted != 1 || s.Failed != 1 || e.reqs.total() != 1 {
			t.Errorf("mixed: %+v, %d requests", s, e.reqs.total())
		}
	})
}

func TestS3MinIO(t *testing.T) {
	m := testserver.StartMinIO(t)
	m.MakeBucket(t, envBucket)
	e := newS3Env(t, m.HostPort, m.AccessKey, m.SecretKey, nil, fastBackoff)
	runS3Suite(t, e)

	t.Run("the store stops mid-message, then redelivery finishes", func(t *testing.T) {
		keys := chunks("fault/ds/data.1/", 1500)
		e.putMany(t, keys)
		e.put(t, "fault/ds/data.1-keep/x.bin", "x")
		short := newS3Env(t, m.HostPort, m.AccessKey, m.SecretKey, func(c *config.Cleanup) {
			c.Deadline = config.NewDuration(3 * time.Second)
			c.Concurrency = 1
		}, fastBackoff)
		stopped := false
		short.reqs.before = func(op string, n int) {
			if op == "DeleteObjects" && n == 2 && !stopped {
				stopped = true
				m.Stop() // killed before the second batch is sent
			}
		}
		msg := []byte(`{"version": 1, "task": "data.1", "prefixes": ["` + e.url("fault/ds/data.1") + `"]}`)
		s := short.d.Process(context.Background(), msg)
		if s.Status != cleanup.StatusTransient || !s.Transient() || s.HTTPStatus() != 503 || s.Deleted != 1000 ||
			s.Failed != 500 || s.TransientFailures != 500 || s.PermanentFailures != 0 {
			t.Fatalf("with the store down: %s %+v %+v", s.Status, s.Counts, s.Failures)
		}
		if f := s.Failures[0]; !f.Transient || f.Code != "transient" || !strings.HasPrefix(f.Reason, "operation error S3: DeleteObjects, ") ||
			!strings.HasSuffix(f.Reason, "(gave up after 4 attempts)") || !strings.HasPrefix(f.URL, e.url("fault/ds/data.1/chunk_01")) {
			t.Errorf("failure %+v", f)
		}
		m.Restart()
		if left := e.list(t, "fault/ds/data.1/"); !slices.Equal(left, keys[1000:]) {
			t.Fatalf("with the store down: %d keys left, want the second batch's 500", len(left))
		}
		short.reqs.reset()
		s = short.d.Process(context.Background(), msg)
		if !s.OK() || s.Deleted != 500 {
			t.Fatalf("redelivery: %s %+v %+v", s.Status, s.Counts, s.Failures)
		}
		if left := e.list(t, "fault/"); !slices.Equal(left, []string{"fault/ds/data.1-keep/x.bin"}) {
			t.Errorf("after redelivery: %d keys left (first %q), want only the neighbour", len(left), left[:min(3, len(left))])
		}
	})
}

// TestS3Gofakes3 runs the suite in process. gofakes3 also skips a key at each
// page boundary when the key before it was deleted meanwhile, which the
// core's closing listing catches.
func TestS3Gofakes3(t *testing.T) {
	const key, secret = "AKIACLEANUPTEST", "cleanup-test-secret"
	mem := s3mem.New()
	if err := mem.CreateBucket(context.Background(), envBucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(mem, gofakes3.WithV4Auth(map[string]string{key: secret})).Server())
	t.Cleanup(srv.Close)
	e := newS3Env(t, srv.Listener.Addr().String(), key, secret, nil, fastBackoff)
	e.sweepDeletes = 1
	runS3Suite(t, e)
}
