package e2e

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/storagegate/storagegate/shared/internal/testserver"
)

// startGCFCleanup runs the Cloud Functions binary serving Cleanup, as Cloud
// Run starts it: the Functions Framework on PORT with FUNCTION_TARGET.
func startGCFCleanup(t *testing.T, w *cleanupWorld) (string, *testserver.Process) {
	t.Helper()
	port := testserver.FreePort(t)
	p := startProcess(t, "gcf cleanup", exec.Command(build(t, "./functions/gcp/cmd")), port, []string{
		"STORAGEGATE_CONFIG=" + w.config, "FUNCTION_TARGET=Cleanup", fmt.Sprintf("PORT=%d", port), "LOCAL_ONLY=true",
	})
	return fmt.Sprintf("http://127.0.0.1:%d", port), p
}

// withData puts body in a Pub/Sub sample's message.data, wherever the
// sample's shape keeps the message (push body, CloudEvent data).
func withData(t *testing.T, sample []byte, body string) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(sample, &doc); err != nil {
		t.Fatal(err)
	}
	holder := doc
	if d, ok := doc["data"].(map[string]any); ok {
		holder = d
	}
	msg, ok := holder["message"].(map[string]any)
	if !ok {
		t.Fatalf("no message in %s", sample)
	}
	msg["data"] = base64.StdEncoding.EncodeToString([]byte(body))
	out, _ := json.Marshal(doc)
	return out
}

// postSample sends an events/gcp/cleanup sample, its message replaced by
// body, to the function as the sample's sender would.
func postSample(t *testing.T, w *cleanupWorld, base, name, body string) int {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(loadSample(t, w.root, "gcp", "cleanup", name))))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	sample, _ := io.ReadAll(r.Body)
	req, _ := http.NewRequest(r.Method, base+r.URL.RequestURI(), bytes.NewReader(withData(t, sample, body)))
	for k, v := range r.Header {
		if k != "Content-Length" {
			req.Header[k] = v
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestCleanupPubSubSamples: every Pub/Sub sample (binary and structured
// CloudEvents, the raw push body that the Functions Framework converts)
// runs the message it carries; a failing message is a 500, so Pub/Sub would
// redeliver it.
func TestCleanupPubSubSamples(t *testing.T) {
	w := newCleanupWorld(t)
	base, _ := startGCFCleanup(t, w)
	for i, name := range []string{"cloudevent-binary.http", "cloudevent-structured.http", "pubsub-push.http"} {
		folder := fmt.Sprintf("Proj/task.gcf%d", i)
		keys := w.seed(t, folder, 3)
		w.put(t, folder+"x/keep.bin")
		if status := postSample(t, w, base, name, message("gcf", []string{w.url(keys[0])}, []string{w.url(folder)})); status != 200 {
			t.Fatalf("%s: %d", name, status)
		}
		if left := w.keys(t, folder); len(left) != 1 || left[0] != folder+"x/keep.bin" {
			t.Fatalf("%s: left %v", name, left)
		}
		if status := postSample(t, w, base, name, message("gcf", []string{w.unconfigured("p/t/x")}, nil)); status != http.StatusInternalServerError {
			t.Fatalf("%s failing: %d", name, status)
		}
	}
}

// TestCleanupPubSubPush: the real Pub/Sub emulator pushes to the built
// function. A message published by `storagegate enqueue` deletes its
// objects; a failing one is answered 500 and pushed again.
func TestCleanupPubSubPush(t *testing.T) {
	w := newCleanupWorld(t)
	ps := testserver.StartPubSub(t)
	base, fn := startGCFCleanup(t, w)
	ps.CreateTopic(t, "cleanup")
	// The push endpoint's path names the topic, as the Functions Framework
	// wants for raw push bodies.
	ps.CreatePushSubscription(t, "cleanup-push", "cleanup", base+"/projects/"+ps.Project+"/topics/cleanup")
	topic := "projects/" + ps.Project + "/topics/cleanup"

	w.seed(t, "Proj/task.ps", 4)
	w.put(t, "Proj/task.ps2/keep.bin")
	env := []string{"PUBSUB_EMULATOR_HOST=" + ps.HostPort}
	id := enqueueCLI(t, env, "--pubsub-topic", topic, "--task", "ps", w.url("Proj/task.ps/"))[0]
	eventually(t, 30*time.Second, "the pushed message to delete its objects", func() bool {
		return len(w.keys(t, "Proj/task.ps/")) == 0
	})
	eventually(t, 10*time.Second, "its summary line", func() bool {
		l := summaries(fn.Output(), id)
		return len(l) == 1 && l[0]["status"] == "ok"
	})
	if left := w.keys(t, "Proj/"); len(left) != 1 {
		t.Fatalf("left %v", left)
	}

	bad := ps.Publish(t, "cleanup", []byte(message("bad", []string{w.unconfigured("p/t/x")}, nil)), nil)
	eventually(t, 60*time.Second, "the failing message to be pushed again", func() bool {
		return len(summaries(fn.Output(), bad)) >= 2
	})
	for _, l := range summaries(fn.Output(), bad) {
		if l["status"] != "permanent_failure" {
			t.Fatalf("summary %v", l)
		}
	}
	if n := len(summaries(fn.Output(), id)); n != 1 {
		t.Fatalf("the good message ran %d times: it was acknowledged late", n)
	}
	if strings.Contains(fn.Output(), w.minio.SecretKey) {
		t.Fatal("the function logged the store's secret")
	}
}
