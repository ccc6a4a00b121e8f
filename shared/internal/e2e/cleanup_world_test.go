package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"

	"github.com/storagegate/storagegate/shared/internal/testserver"
)

// cleanupWorld is MinIO behind a counting proxy, and the config naming the
// proxy as the bucket's host: every request a cleanup function sends to the
// store is counted (and can be interfered with), while the test seeds and
// inspects MinIO directly.
type cleanupWorld struct {
	minio  *testserver.MinIO
	proxy  *s3Proxy
	config string
	root   string
	s3     *s3.Client
}

func newCleanupWorld(t *testing.T) *cleanupWorld {
	t.Helper()
	root, err := testserver.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	w := &cleanupWorld{minio: testserver.StartMinIO(t), root: root}
	w.minio.MakeBucket(t, sampleBucket)
	w.s3 = w.minio.S3Client(t)
	w.proxy = newS3Proxy(t, w.minio.HostPort)
	cfg, _ := json.Marshal(map[string]any{
		"storage": map[string]any{"aws": map[string]any{"buckets": []map[string]any{{
			"bucket": sampleBucket, "host": w.proxy.hostPort, "key": w.minio.AccessKey, "secret": w.minio.SecretKey, "secure": false,
		}}}},
	})
	w.config = string(cfg)
	return w
}

// url is the storage URL of key as a message names it.
func (w *cleanupWorld) url(key string) string {
	return "s3://" + w.proxy.hostPort + "/" + sampleBucket + "/" + key
}

// unconfigured is a URL in a bucket the config does not name: a permanent
// failure that touches no store.
func (w *cleanupWorld) unconfigured(key string) string {
	return "s3://" + w.proxy.hostPort + "/not-configured/" + key
}

// seed stores n objects under folder (with many parallel PUTs) and returns
// their keys.
func (w *cleanupWorld) seed(t *testing.T, folder string, n int) []string {
	t.Helper()
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s/artifacts/obj %05d.bin", folder, i)
	}
	w.put(t, keys...)
	return keys
}

func (w *cleanupWorld) put(t *testing.T, keys ...string) {
	t.Helper()
	var g errgroup.Group
	g.SetLimit(16)
	for _, k := range keys {
		g.Go(func() error {
			_, err := w.s3.PutObject(context.Background(), &s3.PutObjectInput{
				Bucket: aws.String(sampleBucket), Key: aws.String(k), Body: bytes.NewReader([]byte("x")),
			})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("seeding MinIO: %v", err)
	}
}

// keys lists what is left under prefix, straight from MinIO.
func (w *cleanupWorld) keys(t *testing.T, prefix string) []string {
	t.Helper()
	var out []string
	p := s3.NewListObjectsV2Paginator(w.s3, &s3.ListObjectsV2Input{Bucket: aws.String(sampleBucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("listing %s: %v", prefix, err)
		}
		for _, o := range page.Contents {
			out = append(out, aws.ToString(o.Key))
		}
	}
	sort.Strings(out)
	return out
}

// message is a deletion message body.
func message(task string, urls, prefixes []string) string {
	b, _ := json.Marshal(map[string]any{"version": 1, "task": task, "urls": urls, "prefixes": prefixes})
	return string(b)
}

// s3Proxy forwards to MinIO and counts requests by kind. The Host header is
// kept, so SigV4 signatures made for the proxy's address verify at MinIO.
type s3Proxy struct {
	hostPort string
	requests atomic.Int64
	deletes  atomic.Int64 // DeleteObjects (POST ?delete)
	deleted  atomic.Int64 // DeleteObjects answered
	lists    atomic.Int64 // ListObjectsV2

	mu sync.Mutex
	// beforeDelete runs before the nth DeleteObjects is forwarded.
	beforeDelete func(n int64)
}

func newS3Proxy(t *testing.T, target string) *s3Proxy {
	t.Helper()
	p := &s3Proxy{}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(&url.URL{Scheme: "http", Host: target})
			r.Out.Host = r.In.Host
		},
		// A store that is down resets the connection, as a dead MinIO would,
		// rather than answering 502 for it.
		ErrorHandler: func(http.ResponseWriter, *http.Request, error) { panic(http.ErrAbortHandler) },
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		q := r.URL.Query()
		switch {
		case r.Method == http.MethodPost && q.Has("delete"):
			n := p.deletes.Add(1)
			defer p.deleted.Add(1)
			p.mu.Lock()
			hook := p.beforeDelete
			p.mu.Unlock()
			if hook != nil {
				hook(n)
			}
		case r.Method == http.MethodGet && q.Get("list-type") == "2":
			p.lists.Add(1)
		}
		rp.ServeHTTP(rw, r)
	}))
	srv.Config.ErrorLog = nil
	srv.Start()
	t.Cleanup(srv.Close)
	p.hostPort = srv.Listener.Addr().String()
	return p
}

func (p *s3Proxy) onDelete(f func(n int64)) {
	p.mu.Lock()
	p.beforeDelete = f
	p.mu.Unlock()
}

// startProcess runs a built binary with env (added to the test's) and waits
// until it accepts connections on port. Its output is in the Process.
func startProcess(t *testing.T, name string, cmd *exec.Cmd, port int, env []string) *testserver.Process {
	t.Helper()
	cmd.Env = append(os.Environ(), env...)
	p, err := testserver.StartProcess(name, cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(5 * time.Second) })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if err := p.WaitReady(30*time.Second, func(ctx context.Context) error {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return p
}

// enqueueCLI runs `storagegate enqueue` and returns the ids it printed.
func enqueueCLI(t *testing.T, env []string, args ...string) []string {
	t.Helper()
	out, errOut, code := runCLI(t, env, append([]string{"enqueue"}, args...)...)
	if code != 0 {
		t.Fatalf("storagegate enqueue: exit %d\n%s", code, errOut)
	}
	var ids []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		id, _, _ := strings.Cut(l, "\t")
		ids = append(ids, id)
	}
	return ids
}

// summaries returns the cleanup summary log lines in out for request id.
func summaries(out, id string) []map[string]any {
	var lines []map[string]any
	for _, l := range strings.Split(out, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "cleanup" && m["request_id"] == id {
			lines = append(lines, m)
		}
	}
	return lines
}

// waitSummaries waits until logs holds n summary lines for id and returns
// them: a process's output reaches the test through a pipe, after the answer
// it sent may already have arrived.
func waitSummaries(t *testing.T, logs func() string, id string, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		lines := summaries(logs(), id)
		if len(lines) >= n || time.Now().After(deadline) {
			return lines
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// eventually polls cond until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func loadSample(t *testing.T, root string, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{root, "events"}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
