package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rclone/gofakes3"
	"github.com/rclone/gofakes3/s3mem"
	"golang.org/x/sync/errgroup"

	"github.com/storagegate/storagegate/shared/internal/testserver"
)

// cleanupWorld is an S3 store behind a counting proxy, and the config naming
// the proxy as the bucket's host: every request a cleanup function sends to
// the store is counted (and can be interfered with), while the test seeds
// and inspects the store directly. The store is gofakes3 in process, which
// checks SigV4 like MinIO does (TESTING.md), so that 5,000 objects are
// seeded in milliseconds; newCleanupWorldMinIO puts MinIO behind the proxy
// for the tests that want a real S3 server.
//
// The config also names outageBucket on the same host: the proxy answers
// every request for it 503 ServiceUnavailable, a store that stays down.
type cleanupWorld struct {
	proxy  *s3Proxy
	config string
	root   string
	s3     *s3.Client // straight to the store, past the proxy
	secret string
	mem    *s3mem.Backend // the in-process store; nil on MinIO
}

// outageBucket is the configured bucket whose store never answers but 503.
const outageBucket = "clearml-outage"

// cleanupSecret is the in-process store's secret key (what the config holds).
const cleanupKey, cleanupSecret = "AKIASTORAGEGATETEST", "storagegate-cleanup-secret"

func newCleanupWorld(t *testing.T, edit ...func(cleanup map[string]any)) *cleanupWorld {
	t.Helper()
	mem := s3mem.New()
	for _, b := range []string{sampleBucket, outageBucket} {
		if err := mem.CreateBucket(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewUnstartedServer(gofakes3.New(mem, gofakes3.WithV4Auth(map[string]string{cleanupKey: cleanupSecret})).Server())
	// gofakes3 writes a second header when a request's client went away
	// (a killed consumer); net/http's complaint about it is noise here.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
	w := newWorldOn(t, srv.Listener.Addr().String(), cleanupKey, cleanupSecret, edit)
	w.mem = mem
	return w
}

// newCleanupWorldMinIO is the world on MinIO.
func newCleanupWorldMinIO(t *testing.T) *cleanupWorld {
	t.Helper()
	m := testserver.StartMinIO(t)
	m.MakeBucket(t, sampleBucket)
	m.MakeBucket(t, outageBucket)
	return newWorldOn(t, m.HostPort, m.AccessKey, m.SecretKey, nil)
}

func newWorldOn(t *testing.T, hostPort, key, secret string, edit []func(map[string]any)) *cleanupWorld {
	t.Helper()
	root, err := testserver.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	w := &cleanupWorld{root: root, secret: secret, proxy: newS3Proxy(t, hostPort)}
	w.s3 = s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String("http://" + hostPort), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, ""),
	})
	bucket := func(name string) map[string]any {
		return map[string]any{"bucket": name, "host": w.proxy.hostPort, "key": key, "secret": secret, "secure": false}
	}
	cl := map[string]any{}
	for _, e := range edit {
		e(cl)
	}
	doc := map[string]any{"storage": map[string]any{"aws": map[string]any{"buckets": []any{bucket(sampleBucket), bucket(outageBucket)}}}}
	if len(cl) > 0 {
		doc["cleanup"] = cl
	}
	cfg, _ := json.Marshal(doc)
	w.config = string(cfg)
	return w
}

// url is the storage URL of key as a message names it.
func (w *cleanupWorld) url(key string) string {
	return "s3://" + w.proxy.hostPort + "/" + sampleBucket + "/" + key
}

// down is the URL of key in outageBucket, whose store answers only 503.
func (w *cleanupWorld) down(key string) string {
	return "s3://" + w.proxy.hostPort + "/" + outageBucket + "/" + key
}

// unconfigured is a URL in a bucket the config does not name: a permanent
// failure that touches no store.
func (w *cleanupWorld) unconfigured(key string) string {
	return "s3://" + w.proxy.hostPort + "/not-configured/" + key
}

// seed stores n objects under folder and returns their keys.
func (w *cleanupWorld) seed(t *testing.T, folder string, n int) []string {
	t.Helper()
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s/artifacts/obj %05d.bin", folder, i)
	}
	w.put(t, keys...)
	return keys
}

// put stores one-byte objects: straight into the in-process store's
// memory, or with parallel PUTs to MinIO.
func (w *cleanupWorld) put(t *testing.T, keys ...string) {
	t.Helper()
	if w.mem != nil {
		// What gofakes3's PUT handler adds: HEAD answers Last-Modified from it.
		meta := map[string]string{"Last-Modified": time.Now().UTC().Format(http.TimeFormat)}
		for _, k := range keys {
			if _, err := w.mem.PutObject(context.Background(), sampleBucket, k, meta, bytes.NewReader([]byte("x")), 1); err != nil {
				t.Fatalf("seeding: %v", err)
			}
		}
		return
	}
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

// keys lists everything left under prefix, straight from the store, sorted.
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

// s3Proxy forwards to the store and counts requests by kind. The Host
// header is kept, so SigV4 signatures made for the proxy's address verify
// at the store. It answers every request for outageBucket 503, and can take
// the whole store down once enough keys are deleted (downWhen).
type s3Proxy struct {
	hostPort string
	requests atomic.Int64
	outage   atomic.Int64 // requests for outageBucket, all answered 503
	deletes  atomic.Int64 // DeleteObjects (POST ?delete) forwarded
	lists    atomic.Int64 // ListObjectsV2 forwarded
	refused  atomic.Int64 // requests refused while the store was down

	mu       sync.Mutex
	answered map[string]bool // keys of DeleteObjects calls the store answered 200
	isDown   bool
	downIf   func(answered map[string]bool) bool
	wentDown chan struct{}
	inflight int        // requests forwarded and not yet answered by the store
	idle     *sync.Cond // on mu: inflight went down
}

func newS3Proxy(t *testing.T, target string) *s3Proxy {
	t.Helper()
	p := &s3Proxy{answered: map[string]bool{}}
	p.idle = sync.NewCond(&p.mu)
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(&url.URL{Scheme: "http", Host: target})
			r.Out.Host = r.In.Host
		},
		// A store that fails resets the connection, as a dead server would,
		// rather than answering 502 for it.
		ErrorHandler: func(http.ResponseWriter, *http.Request, error) { panic(http.ErrAbortHandler) },
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		if r.URL.Path == "/"+outageBucket || strings.HasPrefix(r.URL.Path, "/"+outageBucket+"/") {
			p.outage.Add(1)
			rw.Header().Set("Content-Type", "application/xml")
			rw.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(rw, `<?xml version="1.0" encoding="UTF-8"?>`+
				`<Error><Code>ServiceUnavailable</Code><Message>storagegate test: this store stays down</Message></Error>`)
			return
		}
		p.mu.Lock()
		down := p.isDown
		p.mu.Unlock()
		if down {
			p.refused.Add(1)
			panic(http.ErrAbortHandler) // the connection drops, as on a dead store
		}
		// The store finishes what it was sent even when the client dies
		// meanwhile, as a real one does; settle waits for it.
		r = r.WithContext(context.WithoutCancel(r.Context()))
		p.mu.Lock()
		p.inflight++
		p.mu.Unlock()
		defer func() {
			p.mu.Lock()
			p.inflight--
			p.idle.Broadcast()
			p.mu.Unlock()
		}()
		q := r.URL.Query()
		switch {
		case r.Method == http.MethodPost && q.Has("delete"):
			p.deletes.Add(1)
			body, err := io.ReadAll(r.Body)
			if err != nil {
				panic(http.ErrAbortHandler)
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			var req struct {
				Objects []struct{ Key string } `xml:"Object"`
			}
			_ = xml.Unmarshal(body, &req)
			rec := &statusRecorder{ResponseWriter: rw}
			rp.ServeHTTP(rec, r)
			if rec.status == http.StatusOK {
				p.mu.Lock()
				for _, o := range req.Objects {
					p.answered[o.Key] = true
				}
				if p.downIf != nil && !p.isDown && p.downIf(p.answered) {
					p.isDown = true
					close(p.wentDown)
				}
				p.mu.Unlock()
			}
			return
		case r.Method == http.MethodGet && q.Get("list-type") == "2":
			p.lists.Add(1)
		}
		rp.ServeHTTP(rw, r)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
	p.hostPort = srv.Listener.Addr().String()
	return p
}

// downWhen takes the store down (every later request is dropped unanswered,
// as by a dead server) as soon as cond holds for the keys the store has
// answered DeleteObjects for; the channel is closed at that moment. The
// event is what a test waits for: it proves how far the work got.
func (p *s3Proxy) downWhen(cond func(answered map[string]bool) bool) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.downIf, p.wentDown = cond, make(chan struct{})
	return p.wentDown
}

// up waits until the store has answered every request forwarded to it (a
// batch sent by a consumer that died meanwhile included), then brings the
// store back and stops watching.
func (p *s3Proxy) up() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.inflight > 0 {
		p.idle.Wait()
	}
	p.isDown, p.downIf = false, nil
}

// deletedKeys is how many keys the store has answered DeleteObjects for.
func (p *s3Proxy) deletedKeys() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.answered)
}

// answeredUnder is how many keys under prefix the store has answered
// DeleteObjects for.
func (p *s3Proxy) answeredUnder(prefix string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return countUnder(p.answered, prefix)
}

// countUnder counts the answered keys under prefix.
func countUnder(answered map[string]bool, prefix string) int {
	n := 0
	for k := range answered {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
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

// logLines returns the JSON log lines in out whose msg is msg and whose
// request_id is id.
func logLines(out, msg, id string) []map[string]any {
	var lines []map[string]any
	for _, l := range strings.Split(out, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == msg && m["request_id"] == id {
			lines = append(lines, m)
		}
	}
	return lines
}

// summaries returns the cleanup summary log lines in out for request id.
func summaries(out, id string) []map[string]any { return logLines(out, "cleanup", id) }

// failureLines returns the "cleanup failure" log lines in out for request id.
func failureLines(out, id string) []map[string]any { return logLines(out, "cleanup failure", id) }

// logWaiter waits until cond holds for a process's output so far
// (Process.WaitOutput, Emulator.WaitLogs).
type logWaiter func(timeout time.Duration, cond func(string) bool) (string, bool)

// waitSummaries waits until the output holds n summary lines for id and
// returns the output: a process's output reaches the test through a pipe,
// after the answer it sent may already have arrived. It fails the test if
// they do not come within timeout.
func waitSummaries(t *testing.T, wait logWaiter, id string, n int, timeout time.Duration) string {
	t.Helper()
	out, ok := wait(timeout, func(s string) bool { return len(summaries(s, id)) >= n })
	if !ok {
		t.Fatalf("%d summary line(s) for %s within %s, want %d; output:\n%s", len(summaries(out, id)), id, timeout, n, tail(out, 40))
	}
	return out
}

// tail is the last n lines of s, for failure messages.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// checkFields reports every field of want that line lacks or holds with
// another value; JSON numbers compare as float64, so want may use ints.
func checkFields(t *testing.T, what string, line map[string]any, want map[string]any) {
	t.Helper()
	for k, v := range want {
		switch n := v.(type) {
		case int:
			v = float64(n)
		case int64:
			v = float64(n)
		}
		if got, ok := line[k]; !ok || !reflect.DeepEqual(got, v) {
			t.Errorf("%s: %s = %#v, want %#v (line %v)", what, k, got, v, line)
		}
	}
}

// checkOutageRuns checks the logs of a run where the store stays down: the
// bad message (one prefix, badPrefix, on outageBucket) ran exactly attempts times
// (limit names the platform's setting), each a transient failure whose
// reason is the store's outage; every good message ran once and is done.
func checkOutageRuns(t *testing.T, logs, bad, badPrefix string, good []string, attempts int, limit string) {
	t.Helper()
	sums, fails := summaries(logs, bad), failureLines(logs, bad)
	if len(sums) != attempts || len(fails) != attempts {
		t.Fatalf("the message ran %d times (%d failure lines), want %s=%d\n%s", len(sums), len(fails), limit, attempts, tail(logs, 20))
	}
	for i := range sums {
		checkFields(t, "summary", sums[i], map[string]any{"status": "transient_failure", "level": "WARN", "task": "down",
			"urls": 0, "prefixes": 1, "deleted": 0, "failed": 1, "transient_failures": 1, "permanent_failures": 0})
		checkFields(t, "failure line", fails[i], map[string]any{"level": "WARN", "url": badPrefix, "code": "transient", "transient": true})
		if r, _ := fails[i]["reason"].(string); !outageReason.MatchString(r) {
			t.Errorf("attempt %d: reason %q, want the store's 503 ServiceUnavailable and giving up at the deadline", i+1, r)
		}
	}
	for _, id := range good {
		if l := summaries(logs, id); len(l) != 1 {
			t.Errorf("good message %s ran %d times, want once", id, len(l))
		} else {
			checkFields(t, "good summary", l[0], map[string]any{"status": "ok", "failed": 0})
		}
	}
}

// outageReason is the reason of a failure against outageBucket: the store's
// 503 (or the deadline cutting the SDK's last retry of it short), then how
// the core gave up.
var outageReason = regexp.MustCompile(`^operation error S3: \w+, .*(StatusCode: 503, .*api error ServiceUnavailable: storagegate test: this store stays down|context deadline exceeded) \(gave up at the deadline, after \d+ attempt\(s\)\)$`)

// eventually polls cond until it holds or timeout passes: for state that
// lives in another server (a queue's depth), which sends no event.
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
