package presign_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rclone/gofakes3"
	"github.com/rclone/gofakes3/s3mem"
	"sigs.k8s.io/yaml"

	"github.com/storagegate/storagegate/shared/app"
	"github.com/storagegate/storagegate/shared/clearmlauth/clearmltest"
	"github.com/storagegate/storagegate/shared/config"
)

// Test identities: company c1 unless said otherwise.
const (
	s3Key    = "AKIASTORAGEGATETEST"
	s3Secret = "s3-secret-must-never-be-logged-0123456789"
	bucket   = "artifacts"
)

// fakeS3 is an in-process S3 that checks SigV4 signatures, expiry and method
// (rclone/gofakes3 with V4 auth), so most tests need no external server.
type fakeS3 struct {
	host    string
	backend *s3mem.Backend
}

func startFakeS3(t testing.TB, buckets ...string) *fakeS3 {
	t.Helper()
	b := s3mem.New()
	fake := gofakes3.New(b, gofakes3.WithV4Auth(map[string]string{s3Key: s3Secret}))
	srv := httptest.NewServer(fake.Server())
	t.Cleanup(srv.Close)
	for _, name := range buckets {
		if err := b.CreateBucket(context.Background(), name); err != nil {
			t.Fatal(err)
		}
	}
	return &fakeS3{host: strings.TrimPrefix(srv.URL, "http://"), backend: b}
}

func (f *fakeS3) put(t testing.TB, bucket, key string, body []byte) {
	t.Helper()
	if _, err := f.backend.PutObject(context.Background(), bucket, key, map[string]string{"Content-Type": "application/octet-stream"}, bytes.NewReader(body), int64(len(body))); err != nil {
		t.Fatal(err)
	}
}

// clock is a settable time source shared by the handler and the verifier.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// env is one presign handler wired to a fake ClearML and a fake S3.
type env struct {
	t      testing.TB
	cml    *clearmltest.Server
	s3     *fakeS3
	h      http.Handler
	clock  *clock
	logs   *syncBuffer
	tokens map[string]string
}

type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	discard bool // benchmarks: measure the handler, not a growing buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.discard {
		return len(p), nil
	}
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// newEnv builds the handler from a YAML config in which {{S3}} is the fake
// store's host and {{API}} the fake ClearML's URL; mutate edits the parsed
// document before it is loaded.
func newEnv(t testing.TB, doc string, mutate ...func(map[string]any)) *env {
	t.Helper()
	e := &env{t: t, cml: clearmltest.New(t), s3: startFakeS3(t, bucket, "other-bucket"), logs: &syncBuffer{},
		clock: &clock{t: time.Now()}, tokens: map[string]string{}}
	users := []clearmltest.User{
		{ID: "alice", Name: "Alice", Role: "user", CompanyID: "c1", CompanyName: "Acme"},
		{ID: "guest", Name: "Guest", Role: "guest", CompanyID: "c1", CompanyName: "Acme"},
		{ID: "bob", Name: "Bob", Role: "user", CompanyID: "c2", CompanyName: "Other"},
		{ID: "admin", Name: "Admin", Role: "admin", CompanyID: "c1", CompanyName: "Acme"},
	}
	for _, u := range users {
		e.cml.AddUser(u)
		e.tokens[u.ID] = e.cml.Token(u.ID, time.Hour)
	}
	e.cml.AddKey("alice", "alice-key", "alice-secret-value")
	if doc == "" {
		doc = defaultDoc
	}
	doc = strings.NewReplacer("{{S3}}", e.s3.host, "{{API}}", e.cml.URL, "{{KEY}}", s3Key, "{{SECRET}}", s3Secret).Replace(doc)
	var m map[string]any
	if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatal(err)
	}
	for _, f := range mutate {
		f(m)
	}
	raw, _ := json.Marshal(m)
	cfg, _, err := config.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	h, err := app.NewPresign(cfg, app.Options{Logger: slog.New(slog.NewJSONHandler(e.logs, nil)), LogWriter: e.logs, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.h = h
	return e
}

const defaultDoc = `
storage:
  aws:
    key: AKIADEFAULTKEY
    secret: default-secret-must-never-be-logged
    region: eu-west-1
    buckets:
      - bucket: artifacts
        host: "{{S3}}"
        key: "{{KEY}}"
        secret: "{{SECRET}}"
        secure: false
      - bucket: aws-bucket
        region: us-west-2
clearml:
  api_server: "{{API}}"
presign:
  cors_origins: ["https://app.clear.ml"]
`

// req is one request to the handler.
type req struct {
	method, target string
	header         map[string]string
	body           string
	token          string // "alice" etc.: Bearer token of that user
}

func (e *env) do(r req) *httptest.ResponseRecorder {
	e.t.Helper()
	if r.method == "" {
		r.method = http.MethodGet
	}
	hr := httptest.NewRequest(r.method, r.target, strings.NewReader(r.body))
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+e.tokens[r.token])
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, hr)
	return w
}

// s3url is the storage URL of key in the fake store's artifacts bucket.
func (e *env) s3url(key string) string { return "s3://" + e.s3.host + "/" + bucket + "/" + key }

func presignPath(storageURL string, extra ...string) string {
	p := "/presign?url=" + url.QueryEscape(storageURL)
	for _, x := range extra {
		p += "&" + x
	}
	return p
}

// errorBody decodes {"error": {"code", "message"}} and checks the headers
// every error carries.
func errorBody(t testing.TB, w *httptest.ResponseRecorder) (code, msg string) {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type = %q, want application/json", ct)
	}
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("error Cache-Control = %q, want no-store", cc)
	}
	var b struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
		t.Fatalf("error body %q is not JSON: %v", w.Body.String(), err)
	}
	if b.Error.Code == "" || b.Error.Message == "" {
		t.Fatalf("error body %q lacks code or message", w.Body.String())
	}
	return b.Error.Code, b.Error.Message
}

// fetch GETs (or HEADs, PUTs) a signed URL with a plain client.
func fetch(t testing.TB, method, u string) (int, []byte, http.Header) {
	t.Helper()
	hr, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}
