// Package testserver starts real servers (MinIO, Azurite, fake-gcs-server, moto, the Pub/Sub
// emulator) for tests, each on 127.0.0.1 with free ports, and stops each by its own PID when
// the test ends.
//
// Binaries come from the pinned tool cache that scripts/tools.sh fills (`make tools`); a test
// never builds one, because MinIO alone takes minutes. When a server cannot be started the test
// is skipped with a message saying what is missing, except under CI=true, where it fails:
// a CI run that silently skips its integration tests proves nothing.
package testserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// readyTimeout bounds how long a server may take to answer its readiness probe. The slowest,
// the Pub/Sub emulator (a JVM), needs about 4 s on an idle machine, but Azurite was once seen
// taking over 30 s on 2 cores busy with compilers; a healthy start never waits this long.
const readyTimeout = 60 * time.Second

// Require ends the test because `what` is unavailable; `why` says why and how to get it.
// It fails the test when the environment variable CI is "true" and skips it otherwise.
func Require(t testing.TB, what, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required but unavailable (CI=true, so this is a failure, not a skip): %s", what, why)
	}
	t.Skipf("skipping: %s is unavailable: %s (set CI=true to turn this skip into a failure)", what, why)
}

// ModuleRoot returns the directory holding the module's go.mod, found by walking up from the
// working directory (go test runs each package in its own folder).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

var toolPaths sync.Map // tool name -> toolResult; `scripts/tools.sh where` runs `go env`, so ask once

type toolResult struct {
	path string
	err  error
}

// ToolPath returns the path of a pinned tool from scripts/tools.sh (minio, fake-gcs-server,
// tflint, benchstat, azurite), or the value of envVar when that is set. It never installs: a
// missing tool is an error that tells how to install it.
func ToolPath(name, envVar string) (string, error) {
	if p := os.Getenv(envVar); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", envVar, p, err)
		}
		return p, nil
	}
	if r, ok := toolPaths.Load(name); ok {
		return r.(toolResult).path, r.(toolResult).err
	}
	path, err := lookupTool(name, envVar)
	toolPaths.Store(name, toolResult{path, err})
	return path, err
}

func lookupTool(name, envVar string) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	script := filepath.Join(root, "scripts", "tools.sh")
	var stderr bytes.Buffer
	cmd := exec.Command("bash", script, "where", name)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	path := strings.TrimSpace(string(out))
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit) && exit.ExitCode() == 1 && path != "":
		return "", fmt.Errorf("%s is not installed at %s: run `make tools` (or `scripts/tools.sh install %s`), or set %s", name, path, name, envVar)
	case err != nil:
		return "", fmt.Errorf("%s where %s: %v: %s", script, name, err, strings.TrimSpace(stderr.String()))
	}
	return path, nil
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. Another process may
// take it before the server binds it; start functions retry with new ports when that happens.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// SyncBuffer collects a process's output; exec writes from its own
// goroutine while the test reads. WaitFor lets a test wait for a line to
// appear without polling on a timer.
type SyncBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced on every write
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed != nil {
		close(b.changed)
		b.changed = nil
	}
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// WaitFor waits until cond holds for everything written so far, checking
// after each write, and returns that content; false when timeout passes first.
func (b *SyncBuffer) WaitFor(timeout time.Duration, cond func(string) bool) (string, bool) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		b.mu.Lock()
		s := b.buf.String()
		if b.changed == nil {
			b.changed = make(chan struct{})
		}
		changed := b.changed
		b.mu.Unlock()
		if cond(s) {
			return s, true
		}
		select {
		case <-changed:
		case <-timer.C:
			return s, cond(s)
		}
	}
}

// Process is a server started by this package. Its output is kept for failure messages.
type Process struct {
	Name string
	cmd  *exec.Cmd
	out  *SyncBuffer
	done chan struct{} // closed when the process has exited and been reaped
	err  error         // exit status, valid after done
}

// StartProcess starts cmd in its own process group, so that Stop reaches any helper it forks
// and nothing else; the kernel also kills it if the test binary dies first (for example on a
// go test -timeout panic, when no t.Cleanup runs). Pdeathsig strictly follows the OS thread
// that forked, which Go only retires when a goroutine exits while locked to it
// (runtime.LockOSThread); tests must not start servers from such goroutines.
func StartProcess(name string, cmd *exec.Cmd) (*Process, error) {
	p := &Process{Name: name, cmd: cmd, out: &SyncBuffer{}, done: make(chan struct{})}
	if cmd.Stdout == nil {
		cmd.Stdout = p.out
	}
	if cmd.Stderr == nil {
		cmd.Stderr = p.out
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// PID is the process's ID (also its process group's ID).
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Output returns what the process has written to stdout and stderr so far.
func (p *Process) Output() string { return p.out.String() }

// WaitOutput waits until cond holds for the process's output (see SyncBuffer.WaitFor).
func (p *Process) WaitOutput(timeout time.Duration, cond func(string) bool) (string, bool) {
	return p.out.WaitFor(timeout, cond)
}

// Done is closed when the process has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is the process's exit status (nil when it exited 0); valid once Done is closed.
func (p *Process) Err() error {
	<-p.done
	return p.err
}

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop ends the process group: SIGTERM, then SIGKILL after grace. It returns once the process
// is reaped, so its ports are free again. Calling it again is harmless.
func (p *Process) Stop(grace time.Duration) {
	if p.Exited() {
		return
	}
	pgid := -p.PID() // negative: the group we created in StartProcess, i.e. only our processes
	if grace > 0 {
		_ = syscall.Kill(pgid, syscall.SIGTERM)
		select {
		case <-p.done:
			return
		case <-time.After(grace):
		}
	}
	_ = syscall.Kill(pgid, syscall.SIGKILL)
	<-p.done
}

// WaitReady polls ready until it returns nil, the process exits, or timeout passes.
func (p *Process) WaitReady(timeout time.Duration, ready func(context.Context) error) error {
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := ready(ctx)
		cancel()
		if err == nil {
			return nil
		}
		if p.Exited() {
			return fmt.Errorf("%s exited before it was ready (%v); output:\n%s", p.Name, p.err, p.Output())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s: %v; output:\n%s", p.Name, timeout, err, p.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// addrInUse reports whether a failed start looks like a lost race for a free port.
func addrInUse(err error) bool {
	return err != nil && strings.Contains(strings.ToLower(err.Error()), "address already in use")
}

// httpStatus returns a readiness probe that wants the given status from GET url
// (any status when want is 0: "something answers HTTP").
func httpStatus(url string, want int) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if want != 0 && resp.StatusCode != want {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}
}

// startServer starts a server with fresh ports, retrying when another process took a port
// between FreePort and the server's bind. build makes the command for a set of ports, ready
// probes it. The process is stopped on t.Cleanup.
func startServer(t testing.TB, name string, nports int, build func(ports []int) (*exec.Cmd, func(context.Context) error)) (*Process, []int) {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		ports := make([]int, nports)
		for i := range ports {
			ports[i] = FreePort(t)
		}
		cmd, ready := build(ports)
		p, err := StartProcess(name, cmd)
		if err != nil {
			Require(t, name, err.Error())
		}
		if err = p.WaitReady(readyTimeout, ready); err == nil {
			t.Cleanup(func() { p.Stop(5 * time.Second) })
			return p, ports
		}
		p.Stop(0)
		lastErr = err
		if !addrInUse(err) {
			break
		}
	}
	t.Fatalf("%v", lastErr)
	return nil, nil
}
