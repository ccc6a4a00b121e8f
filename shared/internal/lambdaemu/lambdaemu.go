// Package lambdaemu is a test-only emulator of the AWS Lambda Runtime API: it runs a real,
// built Lambda binary (a provided.al2023 "bootstrap") as a child process, hands it invocations
// and collects its responses and errors, the way the Lambda service does. AWS's own Runtime
// Interface Emulator is not available from the Go module proxy, and the API is small and public:
// https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html
//
// Like Lambda, it runs one invocation at a time, kills the runtime when an invocation outlives
// its deadline, and starts a fresh runtime (a cold start) for the next invocation after the
// process has exited for any reason.
package lambdaemu

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/storagegate/storagegate/shared/internal/testserver"
)

// MaxPayload is Lambda's limit for a synchronous request or response payload (6 MB).
const MaxPayload = 6 * 1024 * 1024

// FunctionError is an invocation that failed inside the function: an error the handler
// returned or a panic (Type and Message from its error report), an init error (Init), a
// timeout (Type "Sandbox.Timedout") or a runtime that exited (Type "Runtime.ExitError").
type FunctionError struct {
	Type    string
	Message string
	Init    bool   // reported through /runtime/init/error
	Payload []byte // the error document as Lambda would return it to the caller
}

func (e *FunctionError) Error() string {
	if e.Init {
		return fmt.Sprintf("lambda init error %s: %s", e.Type, e.Message)
	}
	return fmt.Sprintf("lambda function error %s: %s", e.Type, e.Message)
}

func newFunctionError(typ, msg string) *FunctionError {
	payload, _ := json.Marshal(map[string]string{"errorType": typ, "errorMessage": msg})
	return &FunctionError{Type: typ, Message: msg, Payload: payload}
}

// Emulator serves the Runtime API on 127.0.0.1 and runs the function binary against it.
type Emulator struct {
	FunctionName string
	FunctionARN  string
	// Timeout is the function's configured timeout: the deadline an invocation gets unless
	// Invoke is given WithTimeout. Lambda's default is 3 s; this default leaves room for a
	// loaded CI machine.
	Timeout time.Duration

	bin  string
	env  []string // without AWS_LAMBDA_RUNTIME_API, which is per runtime
	logs testserver.SyncBuffer
	sem  chan struct{} // one invocation at a time, like one Lambda execution environment

	mu sync.Mutex
	rt *runtime // the current process
}

type invocation struct {
	id       string
	payload  []byte
	deadline time.Time
	result   chan result // buffered: the handler never blocks on a caller that gave up
}

type result struct {
	body []byte
	err  error
}

// runtime is one run of the function process, one Lambda execution environment, with its
// own Runtime API server. Its own port keeps a killed process's lingering long poll from
// taking an invocation meant for its successor.
type runtime struct {
	e     *Emulator
	addr  string // host:port of this runtime's API
	srv   *http.Server
	proc  *testserver.Process
	offer chan *invocation // Invoke -> GET /invocation/next

	mu       sync.Mutex
	inflight map[string]*invocation // handed out, awaiting /response or /error

	served     atomic.Bool   // it has taken an invocation, so its init succeeded
	initFailed chan struct{} // closed by POST /runtime/init/error, after initErr is set
	initErr    *FunctionError
	once       sync.Once
}

// Start serves the Runtime API and starts binaryPath with AWS_LAMBDA_RUNTIME_API pointing
// at it. The process gets a Lambda-like environment (not the test's): function name, region,
// memory size, _HANDLER and so on; env entries ("K=V") are added last and win, so a test can
// pass credentials and configuration, or override AWS_LAMBDA_FUNCTION_NAME or AWS_REGION.
// Everything the function writes to stdout and stderr is in Logs.
func Start(t testing.TB, binaryPath string, env []string) *Emulator {
	t.Helper()
	bin, err := filepath.Abs(binaryPath)
	if err != nil {
		t.Fatal(err)
	}
	e := &Emulator{Timeout: 30 * time.Second, bin: bin, sem: make(chan struct{}, 1)}
	e.env = e.lambdaEnv(env)
	t.Cleanup(e.stopRuntime)
	if err := e.startRuntime(); err != nil {
		t.Fatalf("lambdaemu: %v", err)
	}
	return e
}

// RuntimeAPI returns the host:port the current process reaches the Runtime API at.
func (e *Emulator) RuntimeAPI() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rt.addr
}

// Logs returns everything the function has written to stdout and stderr, across restarts.
func (e *Emulator) Logs() string { return e.logs.String() }

// WaitLogs waits until cond holds for Logs (checked after each write) and returns them; false
// when timeout passes first. A process's output reaches the emulator through a pipe, so it may
// arrive after the answer of the invocation that wrote it.
func (e *Emulator) WaitLogs(timeout time.Duration, cond func(string) bool) (string, bool) {
	return e.logs.WaitFor(timeout, cond)
}

// Kill ends the current function process at once with SIGKILL, as Lambda does when an
// execution environment dies under an invocation (out of memory, a host failure). The
// invocation in progress, if any, fails with Runtime.ExitError; the next one gets a fresh
// runtime (a cold start). It returns once the process is reaped.
func (e *Emulator) Kill() {
	e.mu.Lock()
	rt := e.rt
	e.mu.Unlock()
	rt.proc.Stop(0)
}

func (e *Emulator) lambdaEnv(extra []string) []string {
	name, region := "storagegate-test", "us-east-1"
	for _, kv := range extra {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "AWS_LAMBDA_FUNCTION_NAME":
			name = v
		case "AWS_REGION":
			region = v
		}
	}
	e.FunctionName = name
	e.FunctionARN = fmt.Sprintf("arn:aws:lambda:%s:123456789012:function:%s", region, name)
	env := []string{
		"AWS_LAMBDA_FUNCTION_NAME=" + name,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + name,
		"AWS_LAMBDA_LOG_STREAM_NAME=2006/01/02/[$LATEST]" + newID(16),
		"AWS_REGION=" + region,
		"AWS_DEFAULT_REGION=" + region,
		"_HANDLER=" + filepath.Base(e.bin),
		"LAMBDA_TASK_ROOT=" + filepath.Dir(e.bin),
		"LAMBDA_RUNTIME_DIR=" + filepath.Dir(e.bin),
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"LANG=en_US.UTF-8",
		"TZ=:UTC",
	}
	return append(env, extra...)
}

func (e *Emulator) startRuntime() error {
	l, err := net.Listen("tcp", "127.0.0.1:0") // kept open, so no race for the port
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	rt := &runtime{
		e:          e,
		addr:       l.Addr().String(),
		offer:      make(chan *invocation),
		inflight:   map[string]*invocation{},
		initFailed: make(chan struct{}),
	}
	rt.srv = &http.Server{Handler: rt.routes(), ReadHeaderTimeout: 10 * time.Second}
	go rt.srv.Serve(l)

	cmd := exec.Command(e.bin)
	// Last, because exec keeps the last of duplicate keys: a caller's env cannot override it.
	cmd.Env = append(e.env[:len(e.env):len(e.env)], "AWS_LAMBDA_RUNTIME_API="+rt.addr)
	cmd.Dir = filepath.Dir(e.bin)
	cmd.Stdout = &e.logs
	cmd.Stderr = &e.logs
	if rt.proc, err = testserver.StartProcess("lambda function "+e.FunctionName, cmd); err != nil {
		rt.srv.Close()
		return err
	}
	e.mu.Lock()
	e.rt = rt
	e.mu.Unlock()
	return nil
}

// runtimeForInvoke returns a live runtime, starting a new one (a cold start) if the last exited.
func (e *Emulator) runtimeForInvoke() (*runtime, error) {
	e.mu.Lock()
	rt := e.rt
	e.mu.Unlock()
	if !rt.proc.Exited() {
		return rt, nil
	}
	rt.stop() // close the old runtime's API server
	if err := e.startRuntime(); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rt, nil
}

// stopRuntime kills the current process by its PID. Lambda sends SIGKILL when it ends an
// execution environment (SIGTERM first only for functions with extensions); a short grace
// lets such functions run their SIGTERM hooks here too.
func (e *Emulator) stopRuntime() {
	e.mu.Lock()
	rt := e.rt
	e.mu.Unlock()
	if rt != nil {
		rt.stop()
	}
}

func (rt *runtime) stop() {
	rt.proc.Stop(500 * time.Millisecond)
	rt.srv.Close()
}

// InvokeOption adjusts one invocation.
type InvokeOption func(*invokeOptions)

type invokeOptions struct {
	timeout time.Duration
}

// WithTimeout sets this invocation's deadline to now+d (what the function sees as
// Lambda-Runtime-Deadline-Ms and its context's deadline), instead of Emulator.Timeout.
func WithTimeout(d time.Duration) InvokeOption {
	return func(o *invokeOptions) { o.timeout = d }
}

// Invoke runs one synchronous invocation (RequestResponse) and returns the function's response
// payload. A failure inside the function is a *FunctionError; canceling ctx abandons the
// invocation and, since the function may still be running it, ends the runtime.
func (e *Emulator) Invoke(ctx context.Context, payload []byte, opts ...InvokeOption) ([]byte, error) {
	o := invokeOptions{timeout: e.Timeout}
	for _, opt := range opts {
		opt(&o)
	}
	if len(payload) > MaxPayload {
		return nil, fmt.Errorf("lambdaemu: request payload is %d bytes, over Lambda's %d (RequestTooLargeException)", len(payload), MaxPayload)
	}
	select {
	case e.sem <- struct{}{}:
		defer func() { <-e.sem }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	rt, err := e.runtimeForInvoke()
	if err != nil {
		return nil, err
	}
	inv := &invocation{
		id:       newUUID(),
		payload:  payload,
		deadline: time.Now().Add(o.timeout),
		result:   make(chan result, 1),
	}
	timer := time.NewTimer(o.timeout)
	defer timer.Stop()
	defer func() {
		rt.mu.Lock()
		delete(rt.inflight, inv.id)
		rt.mu.Unlock()
	}()

	// Wait for the runtime to ask for work. Until it does, it is initialising (or failing to).
dispatch:
	for {
		select {
		case rt.offer <- inv:
			break dispatch
		case <-rt.initFailed:
			rt.stop() // Lambda discards an environment whose init failed
			return nil, rt.initErr
		case <-rt.proc.Done():
			if !rt.served.Load() {
				return nil, e.exitError(rt, inv)
			}
			// A warm process exited between invocations (aws-lambda-go exits after reporting
			// a panic). Lambda gives the waiting invocation a fresh environment; so do we.
			if rt, err = e.runtimeForInvoke(); err != nil {
				return nil, err
			}
		case <-timer.C:
			rt.stop()
			return nil, e.timeoutError(inv, o.timeout)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}

	select {
	case r := <-inv.result:
		return r.body, r.err
	case <-rt.proc.Done():
		select { // the process may have exited right after answering
		case r := <-inv.result:
			return r.body, r.err
		default:
			return nil, e.exitError(rt, inv)
		}
	case <-timer.C:
		rt.stop() // like Lambda: a timed-out environment is not reused
		return nil, e.timeoutError(inv, o.timeout)
	case <-ctx.Done():
		rt.stop()
		return nil, ctx.Err()
	}
}

func (e *Emulator) exitError(rt *runtime, inv *invocation) error {
	select {
	case <-rt.initFailed: // the function reported why before it exited
		return rt.initErr
	default:
	}
	status := "exit status 0"
	if err := rt.proc.Err(); err != nil {
		status = err.Error()
	}
	return newFunctionError("Runtime.ExitError",
		fmt.Sprintf("RequestId: %s Error: Runtime exited with error: %s", inv.id, status))
}

func (e *Emulator) timeoutError(inv *invocation, d time.Duration) error {
	return newFunctionError("Sandbox.Timedout",
		fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", inv.id, d.Seconds()))
}

const apiPrefix = "/2018-06-01/runtime"

func (rt *runtime) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+apiPrefix+"/invocation/next", rt.next)
	mux.HandleFunc("POST "+apiPrefix+"/invocation/{id}/response", rt.response)
	mux.HandleFunc("POST "+apiPrefix+"/invocation/{id}/error", rt.invocationError)
	mux.HandleFunc("POST "+apiPrefix+"/init/error", rt.initError)
	// aws-lambda-go registers an internal extension when a function asks for SIGTERM
	// (lambda.WithEnableSIGTERM); it needs a register answer and a /next that never returns.
	mux.HandleFunc("POST /2020-01-01/extension/register", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Lambda-Extension-Identifier", newUUID())
		writeJSON(w, http.StatusOK, map[string]string{
			"functionName": rt.e.FunctionName, "functionVersion": "$LATEST", "handler": filepath.Base(rt.e.bin),
		})
	})
	mux.HandleFunc("GET /2020-01-01/extension/event/next", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // canceled when the server closes with the runtime
	})
	return mux
}

// next is the runtime's long poll: it returns when Invoke offers an invocation.
func (rt *runtime) next(w http.ResponseWriter, r *http.Request) {
	var inv *invocation
	select {
	case inv = <-rt.offer:
	case <-r.Context().Done():
		return
	}
	rt.served.Store(true)
	rt.mu.Lock()
	rt.inflight[inv.id] = inv
	rt.mu.Unlock()
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", rt.e.FunctionARN)
	h.Set("Lambda-Runtime-Trace-Id", fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", time.Now().Unix(), newID(12), newID(8)))
	w.WriteHeader(http.StatusOK)
	w.Write(inv.payload)
}

// take removes and returns the in-flight invocation named in the path, or answers 400.
func (rt *runtime) take(w http.ResponseWriter, r *http.Request) *invocation {
	id := r.PathValue("id")
	rt.mu.Lock()
	inv := rt.inflight[id]
	delete(rt.inflight, id)
	rt.mu.Unlock()
	if inv == nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{
			"errorType": "InvalidRequestID", "errorMessage": "unknown or already answered request ID " + id,
		})
	}
	return inv
}

func (rt *runtime) response(w http.ResponseWriter, r *http.Request) {
	inv := rt.take(w, r)
	if inv == nil {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxPayload+1))
	switch {
	case err != nil:
		inv.result <- result{err: fmt.Errorf("lambdaemu: reading the response: %w", err)}
	case len(body) > MaxPayload:
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{
			"errorType": "RequestEntityTooLarge", "errorMessage": "response payload over 6 MB",
		})
		inv.result <- result{err: newFunctionError("Function.ResponseSizeTooLarge",
			fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", MaxPayload))}
		return
	case r.Trailer.Get("Lambda-Runtime-Function-Error-Type") != "":
		// aws-lambda-go reports a failure while streaming the body in trailers.
		inv.result <- result{err: errorFromTrailer(r.Trailer)}
	default:
		inv.result <- result{body: body}
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "OK"})
}

func (rt *runtime) invocationError(w http.ResponseWriter, r *http.Request) {
	inv := rt.take(w, r)
	if inv == nil {
		return
	}
	inv.result <- result{err: readFunctionError(r)}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "OK"})
}

func (rt *runtime) initError(w http.ResponseWriter, r *http.Request) {
	fe := readFunctionError(r)
	fe.Init = true
	rt.once.Do(func() {
		rt.initErr = fe
		close(rt.initFailed)
	})
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "OK"})
}

// readFunctionError parses an error report: {"errorMessage", "errorType", "stackTrace"},
// with the type also in the Lambda-Runtime-Function-Error-Type header.
func readFunctionError(r *http.Request) *FunctionError {
	body, _ := io.ReadAll(io.LimitReader(r.Body, MaxPayload))
	var doc struct {
		Type    string `json:"errorType"`
		Message string `json:"errorMessage"`
	}
	_ = json.Unmarshal(body, &doc) // a runtime may send anything; keep what parses
	fe := &FunctionError{Type: doc.Type, Message: doc.Message, Payload: body}
	if fe.Type == "" {
		fe.Type = r.Header.Get("Lambda-Runtime-Function-Error-Type")
	}
	if fe.Type == "" {
		fe.Type = "Unhandled"
	}
	return fe
}

func errorFromTrailer(tr http.Header) *FunctionError {
	typ := tr.Get("Lambda-Runtime-Function-Error-Type")
	body, _ := base64.StdEncoding.DecodeString(tr.Get("Lambda-Runtime-Function-Error-Body"))
	var doc struct {
		Message string `json:"errorMessage"`
	}
	_ = json.Unmarshal(body, &doc)
	return &FunctionError{Type: typ, Message: doc.Message, Payload: body}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func newID(nbytes int) string {
	b := make([]byte, nbytes)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func newUUID() string {
	h := newID(16)
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:32]
}

// Build compiles a Lambda main package the way it is deployed on provided.al2023
// (CGO_ENABLED=0, -tags lambda.norpc) into a temporary "bootstrap" and returns its path.
// pkg is a go build argument, resolved from the test's package directory ("./testdata/echo",
// or a full import path).
func Build(t testing.TB, pkg string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bootstrap")
	if err := BuildTo(pkg, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// BuildTo is Build for a chosen output path, for a TestMain that builds once per package.
func BuildTo(pkg, out string) error {
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", out, pkg)
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("go build %s: %v\n%s", pkg, err, msg)
		}
		return fmt.Errorf("go build %s: %v (is go on PATH?)", pkg, err)
	}
	return nil
}
