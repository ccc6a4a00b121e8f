// Package e2e drives the built binaries as their platforms do: the local
// storagegate server over HTTP and the Lambda bootstrap under a Runtime API
// emulator, fed the sample payloads in events/, against a real MinIO and a
// ClearML test double. The same request must get the same answer everywhere.
package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/storagegate/storagegate/shared/clearmlauth/clearmltest"
	"github.com/storagegate/storagegate/shared/internal/lambdaemu"
	"github.com/storagegate/storagegate/shared/internal/testserver"
)

const sampleBucket = "clearml-artifacts"

// world is one MinIO, one ClearML double and the config naming them.
type world struct {
	minio  *testserver.MinIO
	cml    *clearmltest.Server
	token  string
	config string
	root   string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	root, err := testserver.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	w := &world{minio: testserver.StartMinIO(t), cml: clearmltest.New(t), root: root}
	w.cml.AddUser(clearmltest.User{ID: "alice", Name: "Alice", Role: "user", CompanyID: "c1", CompanyName: "Acme"})
	w.token = w.cml.Token("alice", time.Hour)
	w.minio.MakeBucket(t, sampleBucket)
	cfg, _ := json.Marshal(map[string]any{
		"storage": map[string]any{"aws": map[string]any{"buckets": []map[string]any{{
			"bucket": sampleBucket, "host": w.minio.HostPort, "key": w.minio.AccessKey, "secret": w.minio.SecretKey, "secure": false,
		}}}},
		"clearml": map[string]any{"api_server": w.cml.URL},
	})
	w.config = string(cfg)
	return w
}

// sample loads an events/aws/presign payload and points it at this world.
func (w *world) sample(t *testing.T, name string) events.LambdaFunctionURLRequest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(w.root, "events", "aws", "presign", name))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.LambdaFunctionURLRequest
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return w.adapt(ev)
}

// adapt points a sample at this world: the storage URLs move to MinIO's
// host and the credentials become a valid token. The shape stays the
// sample's.
func (w *world) adapt(ev events.LambdaFunctionURLRequest) events.LambdaFunctionURLRequest {
	moved := "s3://" + w.minio.HostPort + "/" + sampleBucket
	ev.RawQueryString = strings.ReplaceAll(ev.RawQueryString, url.QueryEscape("s3://"+sampleBucket), url.QueryEscape(moved))
	if ev.Body != "" {
		body := ev.Body
		if ev.IsBase64Encoded {
			raw, _ := base64.StdEncoding.DecodeString(body)
			body = string(raw)
		}
		body = strings.ReplaceAll(body, "s3://"+sampleBucket, moved)
		ev.Body = base64.StdEncoding.EncodeToString([]byte(body))
		ev.IsBase64Encoded = true
	}
	cookies := make([]string, len(ev.Cookies))
	for i, c := range ev.Cookies {
		cookies[i] = c
		if name, _, _ := strings.Cut(c, "="); name == "clearml_token_basic" {
			cookies[i] = name + "=" + w.token
		}
	}
	ev.Cookies = cookies
	headers := map[string]string{}
	for k, v := range ev.Headers {
		headers[k] = v
	}
	if _, ok := headers["authorization"]; ok {
		headers["authorization"] = "Bearer " + w.token
	}
	ev.Headers = headers
	return ev
}

// answer is what a platform answered, reduced to what must be identical.
type answer struct {
	Status   int
	Location string
	Headers  map[string]string
	Body     string
}

var compared = []string{"Location", "Cache-Control", "Vary", "Content-Type", "Allow", "Retry-After"}

func fromLambda(t *testing.T, emu *lambdaemu.Emulator, ev events.LambdaFunctionURLRequest) answer {
	t.Helper()
	payload, _ := json.Marshal(ev)
	out, err := emu.Invoke(context.Background(), payload)
	if err != nil {
		t.Fatalf("invoke: %v\n%s", err, emu.Logs())
	}
	var res events.LambdaFunctionURLResponse
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
	a := answer{Status: res.StatusCode, Headers: map[string]string{}, Body: res.Body}
	for _, h := range compared {
		a.Headers[h] = res.Headers[h]
	}
	a.Location = res.Headers["Location"]
	return a
}

func fromHTTP(t *testing.T, base string, ev events.LambdaFunctionURLRequest) answer {
	t.Helper()
	body := ev.Body
	if ev.IsBase64Encoded {
		raw, _ := base64.StdEncoding.DecodeString(body)
		body = string(raw)
	}
	target := base + ev.RawPath
	if ev.RawQueryString != "" {
		target += "?" + ev.RawQueryString
	}
	r, err := http.NewRequest(ev.RequestContext.HTTP.Method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range ev.Headers {
		if k != "host" && k != "content-length" {
			r.Header.Set(k, v)
		}
	}
	if len(ev.Cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	resp, err := noRedirect.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{Status: resp.StatusCode, Headers: map[string]string{}, Body: string(b), Location: resp.Header.Get("Location")}
	for _, h := range compared {
		a.Headers[h] = strings.Join(resp.Header.Values(h), ", ")
	}
	return a
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 30 * time.Second}

// startLocal runs the built storagegate binary's server with env.
func startLocal(t *testing.T, bin string, env []string) string {
	t.Helper()
	port := testserver.FreePort(t)
	return startServer(t, "storagegate", exec.Command(bin, "serve", "--addr", fmt.Sprintf("127.0.0.1:%d", port)), port, env)
}

// startGCF runs the Cloud Functions binary as the platform starts it: the
// Functions Framework serving FUNCTION_TARGET on PORT.
func startGCF(t *testing.T, env []string) string {
	t.Helper()
	port := testserver.FreePort(t)
	env = append(env, "FUNCTION_TARGET=Presign", fmt.Sprintf("PORT=%d", port), "LOCAL_ONLY=true")
	return startServer(t, "gcf", exec.Command(build(t, "./functions/gcp/cmd")), port, env)
}

// startAzure runs the custom handler as the Functions host does, on
// FUNCTIONS_CUSTOMHANDLER_PORT.
func startAzure(t *testing.T, env []string) string {
	t.Helper()
	port := testserver.FreePort(t)
	env = append(env, fmt.Sprintf("FUNCTIONS_CUSTOMHANDLER_PORT=%d", port))
	return startServer(t, "azure handler", exec.Command(build(t, "./functions/azure")), port, env)
}

func startServer(t *testing.T, name string, cmd *exec.Cmd, port int, env []string) string {
	t.Helper()
	cmd.Env = append(os.Environ(), env...)
	p, err := testserver.StartProcess(name, cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(5 * time.Second) })
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not answer /healthz: %s", name, p.Output())
	return ""
}

func buildLocal(t *testing.T) string { return build(t, "./functions/local") }

// build compiles a main package of the module once per test binary run.
func build(t *testing.T, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if out, ok := built[pkg]; ok {
		return out
	}
	out := filepath.Join(binDir, strings.ReplaceAll(strings.Trim(pkg, "./"), "/", "-"))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir, _ = testserver.ModuleRoot()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	built[pkg] = out
	return out
}

var (
	buildMu sync.Mutex
	built   = map[string]string{}
	binDir  string
)

func TestMain(m *testing.M) {
	var err error
	if binDir, err = os.MkdirTemp("", "storagegate-e2e-"); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(binDir)
	os.Exit(code)
}

// TestPresignSameOnEveryPlatform feeds every presign sample in events/ (the
// Lambda function URL payloads, the Cloud Functions and Azure HTTP requests)
// to every platform's built binary: the Lambda bootstrap under the Runtime
// API emulator, the local server, the Cloud Functions binary started by the
// Functions Framework, and the Azure custom handler both as a forwarded
// request and as a Data.req invocation. Status, Location, headers and body
// must be identical (stable URLs make the signed URL itself comparable), and
// the redirect must fetch the object from MinIO.
func TestPresignSameOnEveryPlatform(t *testing.T) {
	w := newWorld(t)
	content := map[string]string{
		"My Project/train model.3f2a9c0e8d7b4a1f/metrics/loss/train/loss_00042.png": "png bytes",
		"My Project/train model.3f2a9c0e8d7b4a1f/artifacts/data/df.csv.gz":          "csv bytes",
	}
	for k, v := range content {
		w.minio.Put(t, sampleBucket, k, []byte(v))
	}
	env := []string{"STORAGEGATE_CONFIG=" + w.config}
	emu := lambdaemu.Start(t, lambdaemu.Build(t, "github.com/storagegate/storagegate/functions/aws/presign"), env)
	local := startLocal(t, buildLocal(t), env)
	gcf := startGCF(t, env)
	az := startAzure(t, env)
	platforms := []struct {
		name string
		do   func(*testing.T, events.LambdaFunctionURLRequest) answer
	}{
		{"lambda", func(t *testing.T, ev events.LambdaFunctionURLRequest) answer { return fromLambda(t, emu, ev) }},
		{"local", func(t *testing.T, ev events.LambdaFunctionURLRequest) answer { return fromHTTP(t, local, ev) }},
		{"cloud functions", func(t *testing.T, ev events.LambdaFunctionURLRequest) answer { return fromHTTP(t, gcf, ev) }},
		{"azure forwarded", func(t *testing.T, ev events.LambdaFunctionURLRequest) answer { return fromHTTP(t, az, ev) }},
		{"azure invocation", func(t *testing.T, ev events.LambdaFunctionURLRequest) answer { return fromAzureInvocation(t, az, ev) }},
	}

	samples := w.allSamples(t)
	if len(samples) < 7 {
		t.Fatalf("only %d presign samples in events/", len(samples))
	}
	for name, ev := range samples {
		t.Run(name, func(t *testing.T) {
			var got []answer
			var took time.Duration
			// Every answer must come from one signing window to be equal;
			// retry once if a window boundary fell in between.
			for range 2 {
				got = got[:0]
				start := time.Now()
				for _, p := range platforms {
					got = append(got, p.do(t, ev))
				}
				took = time.Since(start)
				if sameAnswers(got) {
					break
				}
			}
			first := got[0]
			for i, a := range got[1:] {
				if a.Status != first.Status || a.Location != first.Location || a.Body != first.Body {
					t.Fatalf("%s and %s differ:\n%+v\n%+v", platforms[0].name, platforms[i+1].name, first, a)
				}
				for _, h := range compared {
					if h == "Cache-Control" && sameCacheControl(a.Headers[h], first.Headers[h], took) {
						continue
					}
					if a.Headers[h] != first.Headers[h] {
						t.Errorf("header %s: %s %q, %s %q", h, platforms[0].name, first.Headers[h], platforms[i+1].name, a.Headers[h])
					}
				}
			}
			switch {
			case first.Status == http.StatusFound:
				method := ev.RequestContext.HTTP.Method
				status, body := get(t, method, first.Location)
				if status != 200 || (method == "GET" && !strings.HasSuffix(body, " bytes")) {
					t.Fatalf("%s on the redirect: %d %q", method, status, body)
				}
			case first.Status == http.StatusOK && strings.Contains(first.Body, "signed_url"):
				for _, su := range signedURLs(t, first.Body) {
					if status, body := get(t, "GET", su); status != 200 || !strings.HasSuffix(body, " bytes") {
						t.Fatalf("GET on a JSON signed URL: %d %q", status, body)
					}
				}
			default:
				t.Fatalf("unexpected answer %+v", first)
			}
		})
	}

	// Without credentials every platform answers 401 alike.
	ev := samples["aws/presign/function-url-get-cookie.json"]
	ev.Cookies = nil
	var bodies []string
	for _, p := range platforms {
		a := p.do(t, ev)
		if a.Status != 401 {
			t.Fatalf("%s anonymous: %+v", p.name, a)
		}
		bodies = append(bodies, a.Body)
	}
	for _, b := range bodies[1:] {
		if b != bodies[0] {
			t.Fatalf("401 bodies differ: %q vs %q", bodies[0], b)
		}
	}
	if strings.Contains(emu.Logs(), w.token) {
		t.Fatal("the Lambda logged the caller's token")
	}
}

// sameCacheControl: max-age is half the URL's remaining life counted from the
// answer's own second, so answers given over `took` may differ by the seconds
// that passed between them, and by nothing else.
func sameCacheControl(a, b string, took time.Duration) bool {
	pa, na, okA := strings.Cut(a, "max-age=")
	pb, nb, okB := strings.Cut(b, "max-age=")
	if !okA || !okB || pa != pb {
		return a == b
	}
	x, errA := strconv.Atoi(na)
	y, errB := strconv.Atoi(nb)
	if errA != nil || errB != nil {
		return a == b
	}
	return max(x-y, y-x) <= int(took/time.Second)+1
}

func sameAnswers(as []answer) bool {
	for _, a := range as[1:] {
		if a.Location != as[0].Location || a.Body != as[0].Body {
			return false
		}
	}
	return true
}

func signedURLs(t *testing.T, body string) []string {
	var one struct {
		SignedURL string `json:"signed_url"`
	}
	var many struct {
		Results []struct {
			SignedURL string `json:"signed_url"`
		} `json:"results"`
	}
	_ = json.Unmarshal([]byte(body), &one)
	_ = json.Unmarshal([]byte(body), &many)
	var out []string
	if one.SignedURL != "" {
		out = append(out, one.SignedURL)
	}
	for _, r := range many.Results {
		if r.SignedURL == "" {
			t.Fatalf("batch result without signed_url: %s", body)
		}
		out = append(out, r.SignedURL)
	}
	return out
}

func get(t *testing.T, method, u string) (int, string) {
	t.Helper()
	r, _ := http.NewRequest(method, u, nil)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestMinIORefusesWhatItShould: the real store rejects a tampered signature,
// an expired URL and a GET-signed URL used for PUT; it serves keys that
// ClearML writes, literally.
func TestMinIORefusesWhatItShould(t *testing.T) {
	w := newWorld(t)
	local := startLocal(t, buildLocal(t), []string{"STORAGEGATE_CONFIG=" + w.config})
	sign := func(key string, extra string) string {
		t.Helper()
		r, _ := http.NewRequest("GET", local+"/presign?url="+url.QueryEscape("s3://"+w.minio.HostPort+"/"+sampleBucket+"/"+key)+extra, nil)
		r.Header.Set("Authorization", "Bearer "+w.token)
		resp, err := noRedirect.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("presign %s: %d", key, resp.StatusCode)
		}
		return resp.Header.Get("Location")
	}
	keys := []string{
		"proj/task.1/artifacts/a/ok.bin",
		"My Project/train model.3f2a/artifacts/data frame/df.csv",
		"proj/task.abc/artifacts/a%20b/file%2Fname.bin",
		"proj/c++ model+v2/models/model+final.pt",
		"проект/задача.1/artifacts/данные/файл.txt",
		"proj/t.1/artifacts/x/a=b&c=d;e.json",
	}
	for _, k := range keys {
		w.minio.Put(t, sampleBucket, k, []byte("v:"+k))
		if status, body := get(t, "GET", sign(k, "")); status != 200 || body != "v:"+k {
			t.Fatalf("%s: %d %q", k, status, body)
		}
	}
	loc := sign(keys[0], "")
	if status, _ := get(t, "GET", strings.Replace(loc, "X-Amz-Signature=", "X-Amz-Signature=f", 1)); status != http.StatusForbidden {
		t.Errorf("tampered signature: %d", status)
	}
	if status, _ := get(t, "PUT", loc); status != http.StatusForbidden {
		t.Errorf("GET-signed URL used for PUT: %d", status)
	}
	other := strings.Replace(loc, "/ok.bin?", "/other.bin?", 1)
	w.minio.Put(t, sampleBucket, "proj/task.1/artifacts/a/other.bin", []byte("x"))
	if status, _ := get(t, "GET", other); status != http.StatusForbidden {
		t.Errorf("URL for another object: %d", status)
	}
	short := sign(keys[0], "&expires=1")
	time.Sleep(2100 * time.Millisecond)
	if status, _ := get(t, "GET", short); status != http.StatusForbidden {
		t.Errorf("expired URL: %d", status)
	}
}
