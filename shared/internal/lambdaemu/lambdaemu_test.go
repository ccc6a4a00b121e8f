package lambdaemu

import (
	"context"
	"encoding/json"
	"errors"
	"log"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// echoBin is testdata/echo, built once for all tests by TestMain.
var echoBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lambdaemu-test-")
	if err != nil {
		log.Fatal(err)
	}
	echoBin = filepath.Join(dir, "bootstrap")
	if err := BuildTo("./testdata/echo", echoBin); err != nil {
		os.RemoveAll(dir)
		log.Fatal(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func echo(*testing.T) string { return echoBin }

type reply struct {
	Event        json.RawMessage `json:"event"`
	RequestID    string          `json:"requestId"`
	FunctionARN  string          `json:"functionArn"`
	DeadlineInMs int64           `json:"deadlineInMs"`
	Env          string          `json:"env"`
}

func invoke(t *testing.T, e *Emulator, payload string, opts ...InvokeOption) (reply, error) {
	t.Helper()
	out, err := e.Invoke(context.Background(), []byte(payload), opts...)
	var r reply
	if err == nil {
		if jerr := json.Unmarshal(out, &r); jerr != nil {
			t.Fatalf("response %q: %v", out, jerr)
		}
	}
	return r, err
}

func TestEcho(t *testing.T) {
	e := Start(t, echo(t), []string{"ECHO_ENV=from-test", "AWS_LAMBDA_FUNCTION_NAME=presign"})
	for i := 0; i < 2; i++ { // the second runs in the same, warm process
		r, err := invoke(t, e, `{"action":"echo","n":1}`, WithTimeout(5*time.Second))
		if err != nil {
			t.Fatalf("invoke %d: %v\nlogs:\n%s", i, err, e.Logs())
		}
		if string(r.Event) != `{"action":"echo","n":1}` || r.Env != "from-test" || r.RequestID == "" {
			t.Fatalf("reply %+v", r)
		}
		if r.FunctionARN != "arn:aws:lambda:us-east-1:123456789012:function:presign" {
			t.Fatalf("function ARN %q", r.FunctionARN)
		}
		// The function's context carries the deadline we set.
		if r.DeadlineInMs <= 3000 || r.DeadlineInMs > 5000 {
			t.Fatalf("function saw %d ms left, want about 5000", r.DeadlineInMs)
		}
		// The function's stderr is read as it comes: wait for the line.
		if logs, ok := e.WaitLogs(5*time.Second, func(s string) bool { return strings.Contains(s, "request "+r.RequestID) }); !ok {
			t.Fatalf("logs lack the handler's line:\n%s", logs)
		}
	}
}

func TestFunctionErrors(t *testing.T) {
	e := Start(t, echo(t), nil)

	_, err := invoke(t, e, `{"action":"error"}`)
	var fe *FunctionError
	if !errors.As(err, &fe) || fe.Message != "asked to fail" || fe.Type != "errorString" || fe.Init {
		t.Fatalf("error action: %#v", err)
	}

	// aws-lambda-go reports a panic, then exits; the next invocation gets a fresh process.
	_, err = invoke(t, e, `{"action":"panic"}`)
	if !errors.As(err, &fe) || !strings.Contains(fe.Message, "asked to panic") {
		t.Fatalf("panic action: %#v", err)
	}
	if _, err := invoke(t, e, `{"action":"echo"}`); err != nil {
		t.Fatalf("after panic: %v", err)
	}

	_, err = invoke(t, e, `{"action":"exit"}`)
	if !errors.As(err, &fe) || fe.Type != "Runtime.ExitError" || !strings.Contains(fe.Message, "exit status 3") {
		t.Fatalf("exit action: %#v", err)
	}

	// Past its deadline the function is killed, like Lambda's "Task timed out".
	start := time.Now()
	_, err = invoke(t, e, `{"action":"sleep","sleep":"10s"}`, WithTimeout(300*time.Millisecond))
	if !errors.As(err, &fe) || fe.Type != "Sandbox.Timedout" || time.Since(start) > 3*time.Second {
		t.Fatalf("sleep action: %#v after %v", err, time.Since(start))
	}
	if _, err := invoke(t, e, `{"action":"echo"}`); err != nil {
		t.Fatalf("after timeout: %v\nlogs:\n%s", err, e.Logs())
	}
}

// TestKill: a runtime killed under an invocation fails it with Runtime.ExitError naming the
// signal, and the next invocation runs in a fresh process.
func TestKill(t *testing.T) {
	e := Start(t, echo(t), nil)
	done := make(chan error, 1)
	go func() {
		_, err := e.Invoke(context.Background(), []byte(`{"action":"sleep","sleep":"10s"}`))
		done <- err
	}()
	if logs, ok := e.WaitLogs(10*time.Second, func(s string) bool { return strings.Contains(s, `action "sleep"`) }); !ok {
		t.Fatalf("the invocation never started:\n%s", logs)
	}
	start := time.Now()
	e.Kill()
	err := <-done
	var fe *FunctionError
	if !errors.As(err, &fe) || fe.Type != "Runtime.ExitError" || !strings.HasSuffix(fe.Message, "Runtime exited with error: signal: killed") {
		t.Fatalf("killed invocation: %#v", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("the killed invocation answered after %s", took)
	}
	if _, err := invoke(t, e, `{"action":"echo"}`); err != nil {
		t.Fatalf("after the kill: %v", err)
	}
}

func TestInitError(t *testing.T) {
	e := Start(t, echo(t), []string{"ECHO_INIT_FAIL=no config"})
	for i := 0; i < 2; i++ { // each invocation retries init, as Lambda does
		_, err := invoke(t, e, `{}`)
		var fe *FunctionError
		if !errors.As(err, &fe) || !fe.Init || fe.Type != "InitFailed" || fe.Message != "no config" {
			t.Fatalf("invoke %d: %#v", i, err)
		}
	}
}

func TestCanceledInvoke(t *testing.T) {
	e := Start(t, echo(t), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := e.Invoke(ctx, []byte(`{"action":"sleep","sleep":"10s"}`)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want context.DeadlineExceeded", err)
	}
	if _, err := invoke(t, e, `{"action":"echo"}`); err != nil {
		t.Fatalf("after cancel: %v", err)
	}
}

func TestPayloadLimit(t *testing.T) {
	e := Start(t, echo(t), nil)
	if _, err := e.Invoke(context.Background(), make([]byte, MaxPayload+1)); err == nil {
		t.Fatal("a 6 MB + 1 payload was accepted")
	}
}
