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
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/storagegate/storagegate/shared/internal/testserver"
)

// gcfFunction is the Cloud Functions binary serving Cleanup, run as Cloud
// Run starts it: the Functions Framework on PORT with FUNCTION_TARGET. A
// test that kills it starts it again on the same port, as Cloud Run starts
// a new instance behind the same URL.
type gcfFunction struct {
	port int
	env  []string
	proc *testserver.Process
}

func startGCFCleanup(t *testing.T, w *cleanupWorld) (string, *testserver.Process) {
	t.Helper()
	f := startGCFFunction(t, w)
	return f.base(), f.proc
}

func startGCFFunction(t *testing.T, w *cleanupWorld) *gcfFunction {
	t.Helper()
	f := &gcfFunction{port: testserver.FreePort(t)}
	f.env = []string{"STORAGEGATE_CONFIG=" + w.config, "FUNCTION_TARGET=Cleanup", fmt.Sprintf("PORT=%d", f.port), "LOCAL_ONLY=true"}
	f.restart(t)
	return f
}

func (f *gcfFunction) base() string { return fmt.Sprintf("http://127.0.0.1:%d", f.port) }

// restart starts a new instance on the function's port.
func (f *gcfFunction) restart(t *testing.T) {
	t.Helper()
	f.proc = startProcess(t, "gcf cleanup", exec.Command(build(t, "./functions/gcp/cmd")), f.port, f.env)
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
// objects; a failing one (a bucket the config does not name) is answered
// 500, pushed again, and logged each time with its code and reason.
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
	logs := waitSummaries(t, fn.WaitOutput, id, 1, 30*time.Second)
	checkFields(t, "summary", summaries(logs, id)[0], map[string]any{"status": "ok", "task": "ps", "deleted": 4, "failed": 0})
	if left := w.keys(t, "Proj/"); !slices.Equal(left, []string{"Proj/task.ps2/keep.bin"}) {
		t.Fatalf("left %v", left)
	}

	badURL := w.unconfigured("p/t/x")
	bad := ps.Publish(t, "cleanup", []byte(message("bad", []string{badURL}, nil)), nil)
	logs = waitSummaries(t, fn.WaitOutput, bad, 2, 60*time.Second)
	for _, l := range summaries(logs, bad) {
		checkFields(t, "summary of the failing message", l, map[string]any{"status": "permanent_failure", "level": "ERROR",
			"failed": 1, "permanent_failures": 1, "transient_failures": 0})
	}
	for _, l := range failureLines(logs, bad) {
		checkFields(t, "failure line", l, map[string]any{"url": badURL, "code": "not_configured", "transient": false,
			"reason": "no storage credentials are configured for s3://" + w.proxy.hostPort + "/not-configured"})
	}
	if n := len(summaries(logs, id)); n != 1 {
		t.Fatalf("the good message ran %d times: it was acknowledged late", n)
	}
	if strings.Contains(logs, w.secret) {
		t.Fatal("the function logged the store's secret")
	}
}

// pubsubWorld is the emulator's push subscription to the built function,
// with a dead-letter policy: after maxDeliveryAttempts deliveries without an
// acknowledgement (a non-2xx answer), the emulator forwards the message to
// the dead-letter topic, read here through a pull subscription.
type pubsubWorld struct {
	ps          *testserver.PubSub
	fn          *gcfFunction
	maxAttempts int
}

func newPubSubWorld(t *testing.T, w *cleanupWorld) *pubsubWorld {
	t.Helper()
	p := &pubsubWorld{ps: testserver.StartPubSub(t), fn: startGCFFunction(t, w), maxAttempts: 5} // 5 is Pub/Sub's minimum
	p.ps.CreateTopic(t, "cleanup")
	p.ps.CreateTopic(t, "cleanup-dead")
	p.ps.CreateSubscription(t, "cleanup-dead-pull", "cleanup-dead", testserver.Subscription{})
	p.ps.CreateSubscription(t, "cleanup-push", "cleanup", testserver.Subscription{
		PushEndpoint:       p.fn.base() + "/projects/" + p.ps.Project + "/topics/cleanup",
		AckDeadlineSeconds: 10, DeadLetterTopic: "cleanup-dead", MaxDeliveryAttempts: p.maxAttempts,
	})
	return p
}

// TestCleanupPubSubStoreStaysDown: three messages published in one batch,
// one of them for a store that answers 503 to every request. The good ones
// are acknowledged once and their objects are gone; the bad one fails
// transiently on every push and, after exactly maxDeliveryAttempts, is in
// the dead-letter topic, its data byte for byte what was published.
func TestCleanupPubSubStoreStaysDown(t *testing.T) {
	w := newCleanupWorld(t, func(c map[string]any) { c["deadline"] = "1s" }) // each attempt gives up after 1 s
	p := newPubSubWorld(t, w)
	w.seed(t, "Proj/task.g1", 3)
	g2 := w.seed(t, "Proj/task.g2", 2)
	w.put(t, "Proj/task.g1x/keep.bin", "Proj/g2.keep")
	badPrefix := w.down("Proj/task.down/")
	bodies := [][]byte{
		[]byte(message("g1", nil, []string{w.url("Proj/task.g1")})),
		[]byte(message("down", nil, []string{badPrefix})),
		[]byte(message("g2", []string{w.url(g2[0]), w.url(g2[1])}, nil)),
	}
	ids := p.ps.PublishBatch(t, "cleanup", bodies...)
	bad := ids[1]

	var dead []testserver.ReceivedMessage
	eventually(t, 90*time.Second, "the failing message in the dead-letter topic", func() bool {
		dead = append(dead, p.ps.Pull(t, "cleanup-dead-pull", 10)...)
		return len(dead) > 0
	})
	if len(dead) != 1 || !bytes.Equal(dead[0].Message.Data, bodies[1]) {
		t.Fatalf("dead-letter topic: %d messages, first %q; want exactly the failing message's data %q", len(dead), dead[0].Message.Data, bodies[1])
	}
	if a := dead[0].Message.Attributes; a["CloudPubSubDeadLetterSourceSubscription"] != "cleanup-push" ||
		a["CloudPubSubDeadLetterSourceDeliveryCount"] != fmt.Sprint(p.maxAttempts) {
		t.Errorf("dead-letter attributes %v", a)
	}

	// The attempts as the function saw them: exactly maxDeliveryAttempts.
	logs := waitSummaries(t, p.fn.proc.WaitOutput, bad, p.maxAttempts, 10*time.Second)
	// Only the bad message failed; each good one ran once and is done.
	checkOutageRuns(t, logs, bad, badPrefix, []string{ids[0], ids[2]}, p.maxAttempts, "maxDeliveryAttempts")
	if left := w.keys(t, "Proj/"); !slices.Equal(left, []string{"Proj/g2.keep", "Proj/task.g1x/keep.bin"}) {
		t.Fatalf("left %v", left)
	}
	if more := p.ps.Pull(t, "cleanup-dead-pull", 10); len(more) != 0 {
		t.Fatalf("the dead-letter topic holds %d more messages", len(more))
	}
}

// TestCleanupPubSubFunctionKilled: the Cloud Functions binary is killed
// (SIGKILL) half way through the kill job; the push fails, a new instance
// starts on the same port, the emulator pushes the message again and the
// job finishes, the new instance's summary counting what the killed one
// had removed.
func TestCleanupPubSubFunctionKilled(t *testing.T) {
	w := newCleanupWorld(t, func(c map[string]any) { c["concurrency"] = 2 })
	p := newPubSubWorld(t, w)
	k := newKillJob(t, w)
	id := p.ps.Publish(t, "cleanup", []byte(k.body), nil)

	first := p.fn.proc
	k.awaitHalfway(t, func() { first.Stop(0) })
	if err := first.Err(); err == nil || err.Error() != "signal: killed" {
		t.Fatalf("the killed function exited with %v", err)
	}
	if n := len(summaries(first.Output(), id)); n != 0 {
		t.Fatalf("the killed instance logged %d summaries", n)
	}
	remaining := k.afterKill(t)
	p.fn.restart(t)
	logs := waitSummaries(t, p.fn.proc.WaitOutput, id, 1, 60*time.Second)
	k.finished(t, summaries(logs, id), remaining)
	if dead := p.ps.Pull(t, "cleanup-dead-pull", 10); len(dead) != 0 {
		t.Fatalf("the dead-letter topic holds %d messages", len(dead))
	}
}
