package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// serving is `storagegate serve` running in-process.
type serving struct {
	addr   string
	done   chan int
	cancel context.CancelFunc
	stderr bytes.Buffer // read only after stop
}

// stop shuts the server down as SIGTERM would and returns its exit status.
func (s *serving) stop() int {
	s.cancel()
	return <-s.done
}

// runServe starts `storagegate serve` in-process on a free port with args
// added and waits until it answers; the caller stops it.
func runServe(t *testing.T, args ...string) *serving {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &serving{addr: l.Addr().String(), done: make(chan int, 1)}
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	var stdout bytes.Buffer
	go func() { s.done <- run(ctx, append([]string{"serve", "--addr", s.addr}, args...), &stdout, &s.stderr) }()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get("http://" + s.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			return s
		}
		if time.Now().After(deadline) {
			code := s.stop()
			t.Fatalf("serve did not start (exit %d): %v\n%s", code, err, s.stderr.String())
		}
	}
}

// startServe is runServe, stopped when the test ends; it returns the address.
func startServe(t *testing.T, args ...string) string {
	t.Helper()
	s := runServe(t, args...)
	t.Cleanup(func() {
		if code := s.stop(); code != 0 {
			t.Errorf("serve exited %d: %s", code, s.stderr.String())
		}
	})
	return s.addr
}

// rawRequest writes raw bytes on a new connection and reads the answer.
func rawRequest(t *testing.T, addr, raw string) *http.Response {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the answer to %.40q: %v", raw, err)
	}
	return resp
}

// TestServeLimits: serve closes idle, slow and oversized connections
// (issue 9, item 7).
func TestServeLimits(t *testing.T) {
	s := newServer(http.NotFoundHandler(), slog.New(slog.NewTextHandler(io.Discard, nil)), 0)
	if s.ReadHeaderTimeout != 10*time.Second || s.ReadTimeout != 30*time.Second || s.WriteTimeout != 30*time.Second ||
		s.IdleTimeout != 60*time.Second || s.MaxHeaderBytes != 64<<10 {
		t.Errorf("limits: header %s, read %s, write %s, idle %s, header bytes %d", s.ReadHeaderTimeout, s.ReadTimeout, s.WriteTimeout, s.IdleTimeout, s.MaxHeaderBytes)
	}
	if s := newServer(http.NotFoundHandler(), slog.Default(), 4*time.Minute); s.WriteTimeout <= 4*time.Minute {
		t.Errorf("with POST /cleanup (4m deadline) the write timeout is %s", s.WriteTimeout)
	}
}

// TestServeAnswersJSONItCannotRoute: the answers net/http writes before any
// handler runs have the JSON error shape (issue 9, item 8).
func TestServeAnswersJSONItCannotRoute(t *testing.T) {
	startFakeS3(t, "")
	addr := startServe(t)
	for _, tc := range []struct {
		name, raw string
		status    int
		code      string
		msg       string
	}{
		{"headers over 64 KiB", "GET /presign HTTP/1.1\r\nHost: x\r\nCookie: a=" + strings.Repeat("b", 70<<10) + "\r\n\r\n", 431, "invalid_parameter", "larger than 64 KiB"},
		{"malformed request line", "GET\r\n\r\n", 400, "invalid_parameter", "malformed"},
		{"no Host", "GET /presign HTTP/1.1\r\n\r\n", 400, "invalid_parameter", "missing required Host header"},
		{"invalid header name", "GET /presign HTTP/1.1\r\nHost: x\r\nBad Name: 1\r\n\r\n", 400, "invalid_parameter", "malformed"},
		{"unsupported transfer encoding", "POST /presign HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "invalid_body", "transfer encoding"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := rawRequest(t, addr, tc.raw)
			defer resp.Body.Close()
			var b struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("%d %v %s", resp.StatusCode, resp.Header, body)
			}
			if err := json.Unmarshal(body, &b); err != nil || b.Error.Code != tc.code || !strings.Contains(b.Error.Message, tc.msg) {
				t.Fatalf("body %s (%v)", body, err)
			}
		})
	}
	// An answer of the service itself passes through untouched.
	resp, err := http.Get("http://" + addr + "/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /nope: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// TestDemoUncleanPath: --demo answers //presign 404 like every other mode,
// not a mux's 307 (issue 9, item 8).
func TestDemoUncleanPath(t *testing.T) {
	t.Setenv("STORAGEGATE_CONFIG", "")
	addr := startServe(t, "--demo")
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for path, want := range map[string]int{"//presign": 404, "/presign/../presign": 404, "/x//": 404, "/demo": 200, "/presign": 401} {
		resp, err := c.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d (Location %q), want %d", path, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
	resp, err := c.Post("http://"+addr+"/auth.login", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("POST /auth.login without credentials: %d", resp.StatusCode)
	}
}

// TestServeWritesItsLinesOnShutdown: the batched log lines of the requests
// served reach stderr by the time serve returns.
func TestServeWritesItsLinesOnShutdown(t *testing.T) {
	s := runServe(t, "--demo")
	for range 3 {
		resp, err := http.Get("http://" + s.addr + "/nowhere")
		if err != nil {
			s.stop()
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if code := s.stop(); code != 0 {
		t.Fatalf("serve exited %d: %s", code, s.stderr.String())
	}
	if n := strings.Count(s.stderr.String(), `"path":"/nowhere","status":404`); n != 3 {
		t.Fatalf("%d of 3 audit lines on stderr after shutdown:\n%s", n, s.stderr.String())
	}
}
