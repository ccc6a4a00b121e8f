package s3store_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rclone/gofakes3"
	"github.com/rclone/gofakes3/s3mem"

	"github.com/storagegate/storagegate/shared/internal/testserver"
	"github.com/storagegate/storagegate/shared/store"
	"github.com/storagegate/storagegate/shared/store/s3store"
)

// counter counts S3 API calls by operation as they leave the client.
type counter struct {
	mu    sync.Mutex
	ops   map[string]int
	hosts map[string]int
	next  http.RoundTripper
}

func newCounter() *counter {
	return &counter{ops: map[string]int{}, hosts: map[string]int{}, next: http.DefaultTransport}
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	op := testserver.S3Operation(r)
	c.mu.Lock()
	c.ops[op]++
	c.hosts[r.URL.Host]++
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

func (c *counter) get(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ops[op]
}

func (c *counter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops = map[string]int{}
}

// backend is an S3 server the deleter suite runs against.
type backend struct {
	hostPort, key, secret string
	put                   func(t testing.TB, bucket, key string)
	exists                func(t testing.TB, bucket, key string) bool
}

const delBucket = "deletes"

// Keys as ClearML writes them: spaces, a literal %xx, Unicode, and a
// neighbour whose name extends the task folder's.
var suiteKeys = []string{
	"proj/task.abc/artifacts/data/df.csv.gz",
	"proj/task.abc/artifacts/data %20 literal/x%2Fy.bin",
	"proj/task.abc/metrics/loss/train/loss_train_00000100.png",
	"proj/task.abc/models/Über model.pt",
	"proj/task.abcd/artifacts/keep.bin",
}

func runDeleterSuite(t *testing.T, b backend) {
	c := newCounter()
	st, err := s3store.New(s3store.Params{Host: b.hostPort, Secure: false, Region: "us-east-1", Key: b.key, Secret: b.secret,
		HTTPClient: &http.Client{Transport: c}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, k := range suiteKeys {
		b.put(t, delBucket, k)
	}

	t.Run("List streams the prefix only", func(t *testing.T) {
		var got []string
		err := st.List(ctx, delBucket, "proj/task.abc/", func(page []store.ObjectInfo) error {
			for _, o := range page {
				if o.Modified.IsZero() || time.Since(o.Modified) > time.Hour {
					t.Errorf("%q: modified %v", o.Key, o.Modified)
				}
				got = append(got, o.Key)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want := slices.Sorted(slices.Values(suiteKeys[:4]))
		if !slices.Equal(got, want) {
			t.Errorf("listed %q\nwant %q", got, want)
		}
	})

	t.Run("Stat", func(t *testing.T) {
		info, err := st.Stat(ctx, delBucket, suiteKeys[1])
		if err != nil || info.Key != suiteKeys[1] || info.Modified.IsZero() || info.Size != int64(len(suiteKeys[1])) {
			t.Errorf("Stat = %+v, %v", info, err)
		}
		_, err = st.Stat(ctx, delBucket, "proj/task.abc/missing")
		if store.Code(err) != store.NotFound {
			t.Errorf("Stat(missing) = %v (code %v), want NotFound", err, store.Code(err))
		}
	})

	t.Run("DeleteObjects", func(t *testing.T) {
		// Absent keys and a repeated key are fine; an empty key fails
		// alone.
		keys := append(slices.Clone(suiteKeys[:4]), "proj/task.abc/never-existed", suiteKeys[0], "")
		errs := st.DeleteObjects(ctx, delBucket, keys)
		if len(errs) != len(keys) {
			t.Fatalf("%d results for %d keys", len(errs), len(keys))
		}
		for i, err := range errs[:len(keys)-1] {
			if err != nil {
				t.Errorf("%q: %v", keys[i], err)
			}
		}
		if store.Code(errs[len(keys)-1]) != store.InvalidArgument {
			t.Errorf("empty key: %v, want InvalidArgument", errs[len(keys)-1])
		}
		for _, k := range suiteKeys[:4] {
			if b.exists(t, delBucket, k) {
				t.Errorf("%q survived", k)
			}
		}
		if !b.exists(t, delBucket, suiteKeys[4]) {
			t.Errorf("the neighbour %q was deleted", suiteKeys[4])
		}
	})

	t.Run("2,500 objects: 3 pages, 3 deletes", func(t *testing.T) {
		putMany(t, b, "big/task.1/", 2500)
		c.reset()
		// Listed first, deleted after: deleting while listing is the core's
		// business (and gofakes3 skips a key at each page boundary when the
		// previous page's last key is gone).
		var keys []string
		err := st.List(ctx, delBucket, "big/task.1/", func(page []store.ObjectInfo) error {
			for _, o := range page {
				keys = append(keys, o.Key)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var calls int
		for i := 0; i < len(keys); i += st.BatchLimit() {
			calls++
			for _, err := range st.DeleteObjects(ctx, delBucket, keys[i:min(i+st.BatchLimit(), len(keys))]) {
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		if got := c.get("DeleteObjects"); got != 3 || calls != 3 {
			t.Errorf("%d DeleteObjects requests (%d calls), want 3", got, calls)
		}
		if got := c.get("ListObjectsV2"); got != 3 {
			t.Errorf("%d list pages, want 3", got)
		}
		n := 0
		_ = st.List(ctx, delBucket, "big/", func(p []store.ObjectInfo) error { n += len(p); return nil })
		if n != 0 {
			t.Errorf("%d objects left", n)
		}
	})

	t.Run("missing bucket is permanent", func(t *testing.T) {
		err := st.List(ctx, "no-such-bucket", "p/", func([]store.ObjectInfo) error { return nil })
		if store.Code(err) != store.InvalidArgument {
			t.Errorf("List: %v (code %v), want InvalidArgument", err, store.Code(err))
		}
		for _, err := range st.DeleteObjects(ctx, "no-such-bucket", []string{"p/a"}) {
			if store.Code(err) != store.InvalidArgument {
				t.Errorf("DeleteObjects: %v (code %v), want InvalidArgument", err, store.Code(err))
			}
		}
	})

	t.Run("wrong secret is permission denied", func(t *testing.T) {
		bad, _ := s3store.New(s3store.Params{Host: b.hostPort, Secure: false, Region: "us-east-1", Key: b.key, Secret: "wrong-secret-value"})
		for _, err := range bad.DeleteObjects(ctx, delBucket, []string{suiteKeys[4]}) {
			if store.Code(err) != store.PermissionDenied {
				t.Errorf("DeleteObjects: %v (code %v), want PermissionDenied", err, store.Code(err))
			}
		}
		if err := bad.List(ctx, delBucket, "proj/", func([]store.ObjectInfo) error { return nil }); store.Code(err) != store.PermissionDenied {
			t.Errorf("List: %v, want PermissionDenied", err)
		}
		if _, err := bad.Stat(ctx, delBucket, suiteKeys[4]); store.Code(err) != store.PermissionDenied {
			t.Errorf("Stat: %v, want PermissionDenied", err)
		}
		if !b.exists(t, delBucket, suiteKeys[4]) {
			t.Error("a refused delete deleted")
		}
	})
}

func putMany(t *testing.T, b backend, prefix string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	keys := make(chan string)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range keys {
				b.put(t, delBucket, k)
			}
		}()
	}
	for i := range n {
		keys <- fmt.Sprintf("%schunk_%05d.bin", prefix, i)
	}
	close(keys)
	wg.Wait()
}

func TestDeleterMinIO(t *testing.T) {
	m := testserver.StartMinIO(t)
	m.MakeBucket(t, delBucket)
	client := m.S3Client(t)
	runDeleterSuite(t, backend{
		hostPort: m.HostPort, key: m.AccessKey, secret: m.SecretKey,
		put: func(t testing.TB, bucket, key string) {
			_, err := client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(key)})
			if err != nil {
				t.Errorf("put %q: %v", key, err)
			}
		},
		exists: func(t testing.TB, bucket, key string) bool {
			_, err := client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
			return err == nil
		},
	})
}

func TestDeleterGofakes3(t *testing.T) {
	const key, secret = "AKIADELETETEST", "delete-test-secret"
	mem := s3mem.New()
	if err := mem.CreateBucket(context.Background(), delBucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(mem, gofakes3.WithV4Auth(map[string]string{key: secret})).Server())
	t.Cleanup(srv.Close)
	// Objects go in through the API: s3mem's own PutObject leaves out the
	// Last-Modified that HEAD answers with.
	client := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, ""),
	})
	runDeleterSuite(t, backend{
		hostPort: srv.Listener.Addr().String(), key: key, secret: secret,
		put: func(t testing.TB, bucket, k string) {
			_, err := client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(k), Body: strings.NewReader(k)})
			if err != nil {
				t.Errorf("put %q: %v", k, err)
			}
		},
		exists: func(t testing.TB, bucket, k string) bool {
			_, err := mem.HeadObject(context.Background(), bucket, k)
			return err == nil
		},
	})
}

// TestErrorMapping answers with what S3 (and S3-compatible stores) answer in
// trouble and checks each store code, per key and per call.
func TestErrorMapping(t *testing.T) {
	var mu sync.Mutex
	answer := func(w http.ResponseWriter, r *http.Request) {}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		a := answer
		mu.Unlock()
		a(w, r)
	}))
	t.Cleanup(srv.Close)
	set := func(a http.HandlerFunc) { mu.Lock(); answer = a; mu.Unlock() }
	st, err := s3store.New(s3store.Params{Host: srv.Listener.Addr().String(), Secure: false, Key: "k", Secret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	xmlErr := func(status int, code string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(status)
			if r.Method != http.MethodHead {
				fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s happened</Message></Error>`, code, code)
			}
		}
	}

	t.Run("per-key errors", func(t *testing.T) {
		set(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/xml")
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`+
				`<Error><Key>a/denied</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`+
				`<Error><Key>a/slow</Key><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`+
				`<Error><Key>a/internal</Key><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>`+
				`<Error><Key>a/gone</Key><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>`+
				`<Error><Key>a/odd</Key><Code>SomethingNew</Code><Message>?</Message></Error>`+
				`</DeleteResult>`)
		})
		keys := []string{"a/ok", "a/denied", "a/slow", "a/internal", "a/gone", "a/odd"}
		// NoSuchKey: already gone, passed on as NotFound, which the core
		// counts as done.
		want := []store.ErrorCode{-1, store.PermissionDenied, store.Transient, store.Transient, store.NotFound, store.Unknown}
		errs := st.DeleteObjects(ctx, "b", keys)
		for i, err := range errs {
			switch {
			case want[i] == -1 && err != nil:
				t.Errorf("%s: %v, want success", keys[i], err)
			case want[i] != -1 && (err == nil || store.Code(err) != want[i]):
				t.Errorf("%s: %v (code %v), want %v", keys[i], err, store.Code(err), want[i])
			}
		}
		if !strings.Contains(fmt.Sprint(errs[1]), "AccessDenied: Access Denied") {
			t.Errorf("the reason is lost: %v", errs[1])
		}
	})

	for _, tc := range []struct {
		status int
		code   string
		want   store.ErrorCode
	}{
		{503, "SlowDown", store.Transient},
		{500, "InternalError", store.Transient},
		{502, "BadGateway", store.Transient},
		{403, "AccessDenied", store.PermissionDenied},
		{403, "InvalidAccessKeyId", store.PermissionDenied},
		{404, "NoSuchBucket", store.InvalidArgument},
		{301, "PermanentRedirect", store.InvalidArgument},
		{400, "SomethingElse", store.InvalidArgument},
		{429, "TooManyRequests", store.Transient},
	} {
		t.Run(fmt.Sprintf("call %d %s", tc.status, tc.code), func(t *testing.T) {
			set(xmlErr(tc.status, tc.code))
			for _, err := range st.DeleteObjects(ctx, "b", []string{"a/1", "a/2"}) {
				if store.Code(err) != tc.want {
					t.Errorf("DeleteObjects: %v (code %v), want %v", err, store.Code(err), tc.want)
				}
			}
			if err := st.List(ctx, "b", "a/", func([]store.ObjectInfo) error { return nil }); store.Code(err) != tc.want {
				t.Errorf("List: %v (code %v), want %v", err, store.Code(err), tc.want)
			}
		})
	}

	t.Run("HEAD without a body", func(t *testing.T) {
		for status, want := range map[int]store.ErrorCode{404: store.NotFound, 403: store.PermissionDenied, 503: store.Transient} {
			set(xmlErr(status, ""))
			if _, err := st.Stat(ctx, "b", "a/x"); store.Code(err) != want {
				t.Errorf("HEAD %d: %v (code %v), want %v", status, err, store.Code(err), want)
			}
		}
	})

	t.Run("unreachable", func(t *testing.T) {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := l.Addr().String()
		l.Close()
		down, _ := s3store.New(s3store.Params{Host: addr, Secure: false, Key: "k", Secret: "s"})
		if _, err := down.Stat(ctx, "b", "a/x"); store.Code(err) != store.Transient {
			t.Errorf("connection refused: %v (code %v), want Transient", err, store.Code(err))
		}
		cctx, cancel := context.WithTimeout(ctx, time.Millisecond)
		defer cancel()
		time.Sleep(2 * time.Millisecond)
		if _, err := st.Stat(cctx, "b", "a/x"); store.Code(err) != store.Transient {
			t.Errorf("deadline: %v (code %v), want Transient", err, store.Code(err))
		}
	})
}

// TestClientEndpoint: API calls go to the entry's own host, never its
// public_host, and verify: false reaches a self-signed TLS store.
func TestClientEndpoint(t *testing.T) {
	var got []string
	var mu sync.Mutex
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Host+" "+r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/xml")
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></DeleteResult>`)
	})
	tlsSrv := httptest.NewTLSServer(handler)
	t.Cleanup(tlsSrv.Close)
	internal := tlsSrv.Listener.Addr().String()
	ctx := context.Background()

	st, _ := s3store.New(s3store.Params{Host: internal, PublicHost: "minio.example.com:443", Secure: true, Key: "k", Secret: "s", SkipVerify: true})
	for _, err := range st.DeleteObjects(ctx, "bkt", []string{"p/k"}) {
		if err != nil {
			t.Fatalf("verify false: %v", err)
		}
	}
	if len(got) != 1 || got[0] != internal+" /bkt" {
		t.Errorf("requests %q, want one to %s /bkt (path-style, internal host)", got, internal)
	}

	strict, _ := s3store.New(s3store.Params{Host: internal, Secure: true, Key: "k", Secret: "s"})
	for _, err := range strict.DeleteObjects(ctx, "bkt", []string{"p/k"}) {
		if store.Code(err) != store.InvalidArgument || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("verify true against a self-signed certificate: %v (code %v), want a permanent certificate error", err, store.Code(err))
		}
	}
}
