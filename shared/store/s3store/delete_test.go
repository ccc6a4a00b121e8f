package s3store_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
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
	"github.com/storagegate/storagegate/shared/store/storetest"
)

// counter counts S3 API calls by operation as they leave the client.
type counter struct {
	mu   sync.Mutex
	ops  map[string]int
	next http.RoundTripper
}

func newCounter() *counter {
	return &counter{ops: map[string]int{}, next: http.DefaultTransport}
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	op := testserver.S3Operation(r)
	c.mu.Lock()
	c.ops[op]++
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

func (c *counter) get(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ops[op]
}

// deleterFixture is the Deleter suite's fixture for an S3 server at
// hostPort: the store sends through a counting transport, and a twin with
// a wrong secret is the refused one.
func deleterFixture(t *testing.T, hostPort, key, secret, bucket string) storetest.DeleterFixture {
	t.Helper()
	c := newCounter()
	st, err := s3store.New(s3store.Params{Host: hostPort, Secure: false, Region: "us-east-1", Key: key, Secret: secret,
		HTTPClient: &http.Client{Transport: c}})
	if err != nil {
		t.Fatal(err)
	}
	denied, err := s3store.New(s3store.Params{Host: hostPort, Secure: false, Region: "us-east-1", Key: key, Secret: "wrong-secret-value"})
	if err != nil {
		t.Fatal(err)
	}
	return storetest.DeleterFixture{
		Deleter:       st,
		Bucket:        bucket,
		MissingBucket: "no-such-bucket",
		PageSize:      s3store.MaxBatch,
		Requests:      func() (int, int) { return c.get("DeleteObjects"), c.get("ListObjectsV2") },
		Denied:        denied,
	}
}

// TestDeleterConformance runs the Deleter suite against MinIO. S3's
// DeleteObjects cannot tell an absent key from a deleted one.
func TestDeleterConformance(t *testing.T) {
	m := testserver.StartMinIO(t)
	const bucket = "deleter"
	m.MakeBucket(t, bucket)
	client := m.S3Client(t)
	f := deleterFixture(t, m.HostPort, m.AccessKey, m.SecretKey, bucket)
	f.Put = func(t testing.TB, key string, body []byte) { m.Put(t, bucket, key, body) }
	f.Exists = func(t testing.TB, key string) bool {
		_, err := client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		return err == nil
	}
	f.AbsentIsDeleted = true
	f.NoObjectBesideFolder = true
	storetest.RunDeleter(t, f)
}

// TestDeleterConformanceGofakes3 runs the Deleter suite in process against
// rclone's gofakes3, whose paging skips a key when the key before it was
// deleted meanwhile (the core's closing listing copes with that).
func TestDeleterConformanceGofakes3(t *testing.T) {
	const key, secret, bucket = "AKIADELETETEST", "delete-test-secret", "deletes"
	mem := s3mem.New()
	if err := mem.CreateBucket(context.Background(), bucket); err != nil {
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
	f := deleterFixture(t, srv.Listener.Addr().String(), key, secret, bucket)
	f.Put = func(t testing.TB, k string, body []byte) {
		_, err := client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(k), Body: bytes.NewReader(body)})
		if err != nil {
			t.Errorf("put %q: %v", k, err)
		}
	}
	f.Exists = func(t testing.TB, k string) bool {
		_, err := mem.HeadObject(context.Background(), bucket, k)
		return err == nil
	}
	f.AbsentIsDeleted = true
	f.PagingSkipsDeleted = true
	storetest.RunDeleter(t, f)
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
