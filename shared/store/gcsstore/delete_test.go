package gcsstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/storagegate/storagegate/shared/store/storetest"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/storagegate/storagegate/shared/config"
	"github.com/storagegate/storagegate/shared/internal/testserver"
	"github.com/storagegate/storagegate/shared/store"
	"github.com/storagegate/storagegate/shared/store/gcsstore"
)

// escapeAll percent-encodes every byte a path segment may not hold as is,
// '+' and '/' included.
func escapeAll(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }

// gcsExists asks fake-gcs-server itself whether an object is there.
func gcsExists(t testing.TB, fake *testserver.FakeGCS, bucket, key string) bool {
	t.Helper()
	resp, err := http.Get(fake.Endpoint + "/storage/v1/b/" + escapeAll(bucket) + "/o/" + escapeAll(key))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true
	case http.StatusNotFound:
		return false
	}
	t.Fatalf("fake-gcs-server: GET %q: %s", key, resp.Status)
	return false
}

func newStore(t testing.TB, g config.Google, opts ...gcsstore.Option) *gcsstore.Store {
	t.Helper()
	s, err := gcsstore.New(g, nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestDeleterConformance runs the Deleter suite against fake-gcs-server. The
// entry has no credentials at all: an http endpoint is an emulator, and the
// store never looks for Application Default Credentials.
func TestDeleterConformance(t *testing.T) {
	fake := testserver.StartFakeGCS(t)
	const bucket = "cleanup"
	fake.MakeBucket(t, bucket)
	s := newStore(t, config.Google{Endpoint: fake.Endpoint})
	gcsstore.SetListPageSize(s, 500)
	storetest.RunDeleter(t, storetest.DeleterFixture{
		Deleter:       s,
		Bucket:        bucket,
		MissingBucket: "no-such-bucket",
		Put:           func(t testing.TB, key string, body []byte) { fake.Put(t, bucket, key, body) },
		Exists:        func(t testing.TB, key string) bool { return gcsExists(t, fake, bucket, key) },
		PageSize:      500,
		ReportsAbsent: true,
		// A delete's 404 names no bucket the driver could tell apart; the
		// listing still refuses a missing bucket (Refused).
		MissingBucketDeleteIsNotFound: true,
		DeniedWhy:                     "fake-gcs-server checks no credentials (TestAuthorization covers the bearer token)",
	})
}

// recorder counts the requests a store sends and how many were in flight at
// once, holding each for delay so that parallel ones overlap.
type recorder struct {
	next  http.RoundTripper
	delay time.Duration

	mu               sync.Mutex
	requests         []string // "METHOD path"
	inFlight, maxFly int
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.requests = append(r.requests, req.Method+" "+req.URL.Path)
	r.inFlight++
	r.maxFly = max(r.maxFly, r.inFlight)
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.inFlight--
		r.mu.Unlock()
	}()
	time.Sleep(r.delay)
	return r.next.RoundTrip(req)
}

func (r *recorder) count(method string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, q := range r.requests {
		if strings.HasPrefix(q, method+" ") {
			n++
		}
	}
	return n
}

// TestDeleteObjectsInParallel: a full batch is one DELETE per key; three
// calls at once (as the core makes them) share the entry's bound on deletes
// in flight; absent keys are NotFound.
func TestDeleteObjectsInParallel(t *testing.T) {
	fake := testserver.StartFakeGCS(t)
	fake.MakeBucket(t, "par")
	rec := &recorder{next: http.DefaultTransport, delay: 20 * time.Millisecond}
	s := newStore(t, config.Google{Endpoint: fake.Endpoint}, gcsstore.WithHTTPClient(&http.Client{Transport: rec}))
	if s.BatchLimit() != gcsstore.MaxBatch {
		t.Fatalf("BatchLimit %d, want %d", s.BatchLimit(), gcsstore.MaxBatch)
	}
	const calls = 3
	batches := make([][]string, calls)
	for c := range batches {
		batches[c] = make([]string, gcsstore.MaxBatch)
		for i := range batches[c] {
			batches[c][i] = fmt.Sprintf("par/%d/%03d", c, i)
			if i%5 != 0 { // every fifth one is already gone
				fake.Put(t, "par", batches[c][i], []byte("x"))
			}
		}
	}
	var wg sync.WaitGroup
	for _, keys := range batches {
		wg.Go(func() {
			for i, err := range s.DeleteObjects(context.Background(), "par", keys) {
				if absent := i%5 == 0; absent && store.Code(err) != store.NotFound || !absent && err != nil {
					t.Errorf("%s (absent: %v): %v", keys[i], absent, err)
				}
			}
		})
	}
	wg.Wait()
	if n, want := rec.count(http.MethodDelete), calls*gcsstore.MaxBatch; n != want || len(rec.requests) != n {
		t.Errorf("%d DELETEs among %d requests, want %d and nothing else", n, len(rec.requests), want)
	}
	if rec.maxFly > gcsstore.MaxDeletes || rec.maxFly < 2 {
		t.Errorf("%d deletes in flight at once, want 2..%d", rec.maxFly, gcsstore.MaxDeletes)
	}
	t.Logf("at most %d deletes in flight", rec.maxFly)
	for _, k := range []string{batches[0][1], batches[calls-1][gcsstore.MaxBatch-1]} {
		if gcsExists(t, fake, "par", k) {
			t.Errorf("%s is still there", k)
		}
	}
}

// TestErrorMapping: Cloud Storage's answers, as the JSON API words them,
// become codes; no error repeats the object's name or the request URL.
func TestErrorMapping(t *testing.T) {
	const key = "private/task.123/model weights.bin"
	gerr := func(code int, reason, msg string) string {
		return fmt.Sprintf(`{"error":{"code":%d,"message":%q,"errors":[{"message":%q,"domain":"global","reason":%q}]}}`, code, msg, msg, reason)
	}
	cases := []struct {
		name              string
		status            int
		body              string
		del, stat, list   store.ErrorCode
		wantText, notText string
	}{
		{"missing object", 404, gerr(404, "notFound", "No such object: b/"+key), store.NotFound, store.NotFound, store.InvalidArgument, "HTTP 404 notFound", ""},
		{"missing bucket", 404, gerr(404, "notFound", "The specified bucket does not exist."), store.InvalidArgument, store.InvalidArgument, store.InvalidArgument, "bucket does not exist", ""},
		{"forbidden", 403, gerr(403, "forbidden", "sa@p.iam.gserviceaccount.com does not have storage.objects.delete access to the Google Cloud Storage object. Permission 'storage.objects.delete' denied on resource (or it may not exist)."),
			store.PermissionDenied, store.PermissionDenied, store.PermissionDenied, "HTTP 403 forbidden: needs storage.objects.delete", "sa@p"},
		{"unauthenticated", 401, gerr(401, "required", "Anonymous caller does not have storage.objects.delete access."), store.PermissionDenied, store.PermissionDenied, store.PermissionDenied, "HTTP 401 required", ""},
		{"throttled", 429, gerr(429, "rateLimitExceeded", "The rate of change requests to the object "+key+" exceeds the rate limit."), store.Transient, store.Transient, store.Transient, "HTTP 429 rateLimitExceeded", ""},
		{"unavailable", 503, "Service Unavailable", store.Transient, store.Transient, store.Transient, "HTTP 503", ""},
		{"internal", 500, gerr(500, "backendError", "Backend Error"), store.Transient, store.Transient, store.Transient, "HTTP 500 backendError", ""},
		{"timeout", 408, "", store.Transient, store.Transient, store.Transient, "HTTP 408", ""},
		{"bad request", 400, gerr(400, "invalid", "The specified object name is not valid: "+key), store.InvalidArgument, store.InvalidArgument, store.InvalidArgument, "HTTP 400 invalid", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(c.status)
				io.WriteString(w, c.body)
			}))
			defer srv.Close()
			s := newStore(t, config.Google{Endpoint: srv.URL})
			ctx := context.Background()
			check := func(op string, err error, want store.ErrorCode) {
				t.Helper()
				if store.Code(err) != want {
					t.Errorf("%s: %v, want %s", op, err, want)
					return
				}
				msg := err.Error()
				if strings.Contains(msg, "task.123") || strings.Contains(msg, "weights") || strings.Contains(msg, "127.0.0.1") ||
					(c.notText != "" && strings.Contains(msg, c.notText)) {
					t.Errorf("%s: %q quotes the object, the URL or the principal", op, msg)
				}
				if !strings.Contains(msg, c.wantText) {
					t.Errorf("%s: %q, want it to say %q", op, msg, c.wantText)
				}
			}
			check("DeleteObjects", s.DeleteObjects(ctx, "b", []string{key})[0], c.del)
			_, err := s.Stat(ctx, "b", key)
			check("Stat", err, c.stat)
			check("List", s.List(ctx, "b", "private/task.123/", func([]store.ObjectInfo) error { return nil }), c.list)
		})
	}
}

// TestServerDown: a store that cannot be reached fails transient (the
// message is redelivered), and says so without the object's name.
func TestServerDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s := newStore(t, config.Google{Endpoint: "http://" + addr})
	ctx := context.Background()
	const key = "task.123/model.bin"
	errs := []error{s.DeleteObjects(ctx, "b", []string{key})[0]}
	_, err = s.Stat(ctx, "b", key)
	errs = append(errs, err, s.List(ctx, "b", "task.123/", func([]store.ObjectInfo) error { return nil }))
	// A message out of time: every key not yet sent fails transient.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	many := make([]string, gcsstore.MaxDeletes+10)
	for i := range many {
		many[i] = fmt.Sprintf("task.123/%d", i)
	}
	errs = append(errs, s.DeleteObjects(cancelled, "b", many)...)
	for i, err := range errs {
		if store.Code(err) != store.Transient || strings.Contains(err.Error(), "task.123") {
			t.Errorf("call %d: %v, want Transient without the key", i, err)
		}
	}
}

// headerLog collects a header from a test server's requests.
type headerLog struct {
	mu   sync.Mutex
	vals []string
}

func (h *headerLog) add(v string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.vals = append(h.vals, v)
}

func (h *headerLog) all() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.vals...)
}

// TestAuthorization: https endpoints get the entry's bearer token (from its
// key file or token source); an http endpoint (an emulator) gets none.
func TestAuthorization(t *testing.T) {
	ctx := context.Background()
	api := func(t *testing.T) (*httptest.Server, *headerLog) {
		auth := &headerLog{}
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			auth.add(r.Header.Get("Authorization"))
			switch {
			case r.Method == http.MethodDelete:
				w.WriteHeader(http.StatusNoContent)
			case strings.HasSuffix(r.URL.Path, "/o"):
				io.WriteString(w, `{"items":[{"name":"a/b","size":"3","updated":"2026-01-02T03:04:05.678Z"}]}`)
			default:
				io.WriteString(w, `{"name":"a/b","size":"3","updated":"2026-01-02T03:04:05.678Z"}`)
			}
		}))
		t.Cleanup(srv.Close)
		return srv, auth
	}
	exercise := func(t *testing.T, s *gcsstore.Store) {
		t.Helper()
		if err := s.DeleteObjects(ctx, "b", []string{"a/b"})[0]; err != nil {
			t.Fatal(err)
		}
		info, err := s.Stat(ctx, "b", "a/b")
		if err != nil || info.Size != 3 || !info.Modified.Equal(time.Date(2026, 1, 2, 3, 4, 5, 678e6, time.UTC)) {
			t.Fatalf("Stat: %+v, %v", info, err)
		}
		if err := s.List(ctx, "b", "a/", func([]store.ObjectInfo) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("token source", func(t *testing.T) {
		srv, auth := api(t)
		exercise(t, newStore(t, config.Google{Endpoint: srv.URL}, tokens(), gcsstore.WithHTTPClient(srv.Client())))
		for _, a := range auth.all() {
			if a != "Bearer "+accessToken {
				t.Errorf("Authorization %q", a)
			}
		}
	})

	t.Run("key file", func(t *testing.T) {
		var grants atomic.Int32
		tokenSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			grants.Add(1)
			if r.FormValue("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" || r.FormValue("assertion") == "" {
				t.Errorf("token request %v", r.Form)
			}
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"access_token":"from-the-key","token_type":"Bearer","expires_in":3600}`)
		}))
		defer tokenSrv.Close()
		srv, auth := api(t)
		key := strings.Replace(dummyKey(t), "https://oauth2.googleapis.com/token", tokenSrv.URL, 1)
		exercise(t, newStore(t, config.Google{Endpoint: srv.URL, CredentialsJSON: key}, gcsstore.WithHTTPClient(srv.Client())))
		for _, a := range auth.all() {
			if a != "Bearer from-the-key" {
				t.Errorf("Authorization %q", a)
			}
		}
		if n := grants.Load(); n != 1 {
			t.Errorf("%d token requests for three calls, want 1", n)
		}
	})

	t.Run("revoked key", func(t *testing.T) {
		tokenSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
		}))
		defer tokenSrv.Close()
		srv, auth := api(t)
		key := strings.Replace(dummyKey(t), "https://oauth2.googleapis.com/token", tokenSrv.URL, 1)
		s := newStore(t, config.Google{Endpoint: srv.URL, CredentialsJSON: key}, gcsstore.WithHTTPClient(srv.Client()))
		err := s.DeleteObjects(ctx, "b", []string{"a/b"})[0]
		if store.Code(err) != store.PermissionDenied || !strings.Contains(err.Error(), "invalid_grant") || strings.Contains(err.Error(), "PRIVATE KEY") {
			t.Errorf("DeleteObjects: %v, want PermissionDenied naming invalid_grant", err)
		}
		if n := len(auth.all()); n != 0 {
			t.Errorf("%d requests reached the API without a token", n)
		}
	})

	t.Run("emulator", func(t *testing.T) {
		auth := &headerLog{}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			auth.add(r.Header.Get("Authorization"))
			w.WriteHeader(http.StatusNoContent)
		}))
		defer srv.Close()
		s := newStore(t, config.Google{Endpoint: srv.URL, CredentialsJSON: dummyKey(t)}, tokens())
		if err := s.DeleteObjects(ctx, "b", []string{"a/b"})[0]; err != nil {
			t.Fatal(err)
		}
		if got := auth.all(); len(got) != 1 || got[0] != "" {
			t.Errorf("Authorization %q, want none over http", got)
		}
	})
}
