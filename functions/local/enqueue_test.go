package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/storagegate/storagegate/shared/cleanup"
)

// fakePubSub records what is published; PUBSUB_EMULATOR_HOST points at it.
type fakePubSub struct {
	mu     sync.Mutex
	bodies []cleanup.Message
	fail   bool
}

func startFakePubSub(t *testing.T) *fakePubSub {
	t.Helper()
	f := &fakePubSub{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Messages []struct {
				Data []byte `json:"data"`
			} `json:"messages"`
		}
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path != "/v1/projects/p/topics/t:publish" || json.Unmarshal(b, &req) != nil || len(req.Messages) != 1 {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.fail && len(f.bodies) == 1 {
			http.Error(w, `{"error":{"code":503}}`, http.StatusServiceUnavailable)
			return
		}
		m, err := cleanup.ParseMessage(req.Messages[0].Data)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.bodies = append(f.bodies, m)
		fmt.Fprintf(w, `{"messageIds":["%d"]}`, len(f.bodies))
	}))
	t.Cleanup(srv.Close)
	t.Setenv("PUBSUB_EMULATOR_HOST", srv.Listener.Addr().String())
	for _, k := range []string{"STORAGEGATE_CONFIG", "STORAGEGATE_CONFIG_FILE", "STORAGEGATE_CONFIG_SECRET",
		"STORAGEGATE_SQS_QUEUE_URL", "STORAGEGATE_PUBSUB_TOPIC", "STORAGEGATE_AZURE_QUEUE"} {
		t.Setenv(k, "")
	}
	return f
}

func TestEnqueueCommand(t *testing.T) {
	f := startFakePubSub(t)
	run1 := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"enqueue"}, args...), &out, &errb)
		return code, out.String(), errb.String()
	}
	code, out, errOut := run1("--pubsub-topic", "projects/p/topics/t", "--task", "t1", "--company", "c1",
		"--created", "2026-11-22T10:00:00Z", "s3://b/p/task.1/a.bin", "s3://b/p/task.1/")
	if code != 0 || !strings.HasPrefix(out, "1\turls=1 prefixes=1 bytes=") || len(f.bodies) != 1 {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	m := f.bodies[0]
	if m.Task != "t1" || m.Company != "c1" || m.Created == nil || m.URLs[0] != "s3://b/p/task.1/a.bin" || m.Prefixes[0] != "s3://b/p/task.1/" {
		t.Fatalf("published %+v", m)
	}

	// --from reads a list (keys may end in spaces; comments and blanks skipped);
	// the destination may come from the environment.
	list := filepath.Join(t.TempDir(), "urls.txt")
	var sb strings.Builder
	sb.WriteString("# task t2\n\n")
	for i := range 12000 {
		fmt.Fprintf(&sb, "s3://b/p/task.2/obj %d \r\n", i)
	}
	os.WriteFile(list, []byte(sb.String()), 0o600)
	t.Setenv("STORAGEGATE_PUBSUB_TOPIC", "projects/p/topics/t")
	if code, out, errOut = run1("--from", list); code != 0 || strings.Count(out, "\n") != 2 || len(f.bodies) != 3 {
		t.Fatalf("--from: exit %d, %q %q", code, out, errOut)
	}
	if n := len(f.bodies[1].URLs); n != cleanup.MaxItems || f.bodies[2].URLs[1999] != "s3://b/p/task.2/obj 11999 " {
		t.Fatalf("split %d + %d, last %q", n, len(f.bodies[2].URLs), f.bodies[2].URLs[len(f.bodies[2].URLs)-1])
	}

	// Refused before publishing: exit 2, nothing sent.
	f.bodies = nil
	for _, args := range [][]string{
		{},                // nothing to delete
		{"s3://b/p/../x"}, // the function would refuse it
		{"--created", "yesterday", "s3://b/p/t/x"},
		{"--sqs-queue-url", "https://sqs.us-east-1.amazonaws.com/1/q", "--pubsub-topic", "projects/p/topics/t", "s3://b/p/t/x"}, // two queues
	} {
		if code, _, errOut := run1(args...); code != 2 || len(f.bodies) != 0 {
			t.Errorf("%v: exit %d (%s)", args, code, errOut)
		}
	}
	// A publishing failure midway: exit 1, the part that was sent printed.
	f.fail = true
	sb.Reset()
	for i := range 10001 {
		fmt.Fprintf(&sb, "s3://b/p/task.3/%d\n", i)
	}
	os.WriteFile(list, []byte(sb.String()), 0o600)
	if code, out, errOut = run1("--from", list); code != 1 || strings.Count(out, "\n") != 1 || !strings.Contains(errOut, "part 2 of 2") {
		t.Fatalf("failure midway: exit %d, %q, %q", code, out, errOut)
	}
}
