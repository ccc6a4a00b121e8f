package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/storagegate/storagegate/shared/internal/testserver"
)

const azureQueue = "storagegate-cleanup"

// queueHost plays the Functions host's Storage Queue trigger for the custom
// handler, since the host itself cannot be installed here. It follows the
// rules of "Azure Queue storage trigger for Azure Functions" (poison
// messages, host.json settings) and of the WebJobs queue listener that
// implements them (docs/testing.md):
//   - it dequeues up to host.json's batchSize messages at a time, each
//     under a lease (a visibility timeout) for as long as it runs;
//   - it undoes host.json's messageEncoding (base64) and posts the
//     invocation to /<Function> with Data.<binding> and the metadata
//     (DequeueCount, Id, PopReceipt, times);
//   - a 2xx answer deletes the message; a failure (non-2xx, or no answer
//     at all: a worker that died) makes it visible again after host.json's
//     visibilityTimeout, the retry delay, unless it has been dequeued
//     maxDequeueCount times: then it is added to <queue>-poison with its
//     text unchanged and deleted from the queue;
//   - a message dequeued more than maxDequeueCount times (its worker died
//     on the last attempt) goes to <queue>-poison without an invocation.
//
// Settings come from host.json and Cleanup/function.json, so the test checks
// what is deployed; only the retry delay is shortened (retryDelay), so that
// five attempts fit in seconds. The shim does not restart a worker that
// died, which the host does: a test that kills the handler starts it again.
type queueHost struct {
	handler         string // base URL of the custom handler
	function        string
	binding         string
	maxDequeueCount int32
	batchSize       int32
	retryDelay      time.Duration // host.json says 30 s; tests shorten it
	queue, poison   *azqueue.QueueClient

	mu          sync.Mutex
	invocations map[string]int // by message id
}

func newQueueHost(t *testing.T, root, handler string, az *testserver.Azurite) *queueHost {
	t.Helper()
	var host struct {
		Extensions struct {
			Queues struct {
				MaxDequeueCount   int32  `json:"maxDequeueCount"`
				BatchSize         int32  `json:"batchSize"`
				VisibilityTimeout string `json:"visibilityTimeout"`
				MessageEncoding   string `json:"messageEncoding"`
			} `json:"queues"`
		} `json:"extensions"`
	}
	readJSON(t, filepath.Join(root, "functions", "azure", "host.json"), &host)
	var fn struct {
		Bindings []struct{ Type, Name, QueueName, Connection string } `json:"bindings"`
	}
	readJSON(t, filepath.Join(root, "functions", "azure", "Cleanup", "function.json"), &fn)
	if len(fn.Bindings) != 1 || fn.Bindings[0].Type != "queueTrigger" || fn.Bindings[0].QueueName != azureQueue ||
		fn.Bindings[0].Connection != "AzureWebJobsStorage" {
		t.Fatalf("Cleanup/function.json: %+v", fn)
	}
	q := host.Extensions.Queues
	if q.MaxDequeueCount != 5 || q.BatchSize < 1 || q.VisibilityTimeout != "00:00:30" || q.MessageEncoding != "base64" {
		t.Fatalf("host.json extensions.queues: %+v", q)
	}
	svc, err := azqueue.NewServiceClientFromConnectionString(az.ConnectionString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &queueHost{handler: handler, function: "Cleanup", binding: fn.Bindings[0].Name,
		maxDequeueCount: q.MaxDequeueCount, batchSize: q.BatchSize, retryDelay: time.Second,
		queue: svc.NewQueueClient(azureQueue), poison: svc.NewQueueClient(azureQueue + "-poison"), invocations: map[string]int{}}
	for _, c := range []*azqueue.QueueClient{h.queue, h.poison} {
		if _, err := c.Create(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// attempt is one invocation the shim made.
type attempt struct {
	id           string
	dequeueCount int64
	status       int   // the handler's answer; 0 when it gave none
	err          error // why it gave none
}

// pump runs one polling round: dequeue a batch and invoke each message. It
// returns the invocations it made; an error is the queue's, not the
// handler's (the caller may run it off the test goroutine).
func (h *queueHost) pump() ([]attempt, error) {
	ctx := context.Background()
	lease := int32(60) // the host holds the message while the function runs
	resp, err := h.queue.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: &h.batchSize, VisibilityTimeout: &lease})
	if err != nil {
		return nil, err
	}
	var out []attempt
	for _, m := range resp.Messages {
		id, pop, count := *m.MessageID, *m.PopReceipt, *m.DequeueCount
		body, decErr := base64.StdEncoding.DecodeString(*m.MessageText)
		if decErr != nil || count > int64(h.maxDequeueCount) {
			if err := h.toPoison(m); err != nil {
				return out, err
			}
			continue
		}
		h.mu.Lock()
		h.invocations[id]++
		h.mu.Unlock()
		a := attempt{id: id, dequeueCount: count}
		a.status, a.err = h.invoke(id, pop, count, body, m)
		out = append(out, a)
		switch {
		case a.status/100 == 2:
			_, err = h.queue.DeleteMessage(ctx, id, pop, nil)
		case count >= int64(h.maxDequeueCount):
			err = h.toPoison(m)
		default:
			delay := int32(h.retryDelay / time.Second)
			_, err = h.queue.UpdateMessage(ctx, id, pop, *m.MessageText, &azqueue.UpdateMessageOptions{VisibilityTimeout: &delay})
		}
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// invoke posts one invocation as the host does and returns the status of a
// well-formed answer.
func (h *queueHost) invoke(id, pop string, count int64, body []byte, m *azqueue.DequeuedMessage) (int, error) {
	inv, _ := json.Marshal(map[string]any{
		"Data": map[string]any{h.binding: string(body)},
		"Metadata": map[string]any{
			"DequeueCount": count, "Id": id, "PopReceipt": pop,
			"InsertionTime": m.InsertionTime, "ExpirationTime": m.ExpirationTime, "NextVisibleTime": m.TimeNextVisible,
			"sys": map[string]any{"MethodName": h.function, "UtcNow": time.Now().UTC(), "RandGuid": "00000000-0000-4000-8000-000000000000"},
		},
	})
	req, _ := http.NewRequest(http.MethodPost, h.handler+"/"+h.function, bytes.NewReader(inv))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Azure-Functions-InvocationId", fmt.Sprintf("inv-%s-%d", id, count))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	var result struct {
		Outputs map[string]any
		Logs    []string
	}
	if err := json.NewDecoder(res.Body).Decode(&result); err != nil || result.Outputs == nil {
		return 0, fmt.Errorf("the answer (%s) is not an invocation result: %v", res.Status, err)
	}
	return res.StatusCode, nil
}

func (h *queueHost) toPoison(m *azqueue.DequeuedMessage) error {
	if _, err := h.poison.EnqueueMessage(context.Background(), *m.MessageText, nil); err != nil {
		return err
	}
	_, err := h.queue.DeleteMessage(context.Background(), *m.MessageID, *m.PopReceipt, nil)
	return err
}

// depth is how many messages a queue holds, visible or not.
func (h *queueHost) depth(t *testing.T, c *azqueue.QueueClient) int {
	t.Helper()
	props, err := c.GetProperties(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return int(*props.ApproximateMessagesCount)
}

// drain pumps until the queue holds nothing, retries included, and returns
// every invocation.
func (h *queueHost) drain(t *testing.T, timeout time.Duration) []attempt {
	t.Helper()
	var all []attempt
	deadline := time.Now().Add(timeout)
	for h.depth(t, h.queue) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("queue not drained after %s: %+v", timeout, all)
		}
		got, err := h.pump()
		all = append(all, got...)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			time.Sleep(100 * time.Millisecond) // nothing visible yet: poll again, as the host does
		}
	}
	return all
}

// peekAll returns the text of every visible message of c, by id.
func peekAll(t *testing.T, c *azqueue.QueueClient) map[string]string {
	t.Helper()
	n := int32(32)
	resp, err := c.PeekMessages(context.Background(), &azqueue.PeekMessagesOptions{NumberOfMessages: &n})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, m := range resp.Messages {
		out[*m.MessageID] = *m.MessageText
	}
	return out
}

// azureHandler is the built custom handler on FUNCTIONS_CUSTOMHANDLER_PORT.
type azureHandler struct {
	port int
	env  []string
	proc *testserver.Process
}

func startAzureHandler(t *testing.T, w *cleanupWorld) *azureHandler {
	t.Helper()
	a := &azureHandler{port: testserver.FreePort(t)}
	a.env = []string{"STORAGEGATE_CONFIG=" + w.config, fmt.Sprintf("FUNCTIONS_CUSTOMHANDLER_PORT=%d", a.port)}
	a.restart(t)
	return a
}

func (a *azureHandler) base() string { return fmt.Sprintf("http://127.0.0.1:%d", a.port) }

// restart starts the handler again on its port, as the host restarts a worker that exited.
func (a *azureHandler) restart(t *testing.T) {
	t.Helper()
	a.proc = startProcess(t, "azure handler", exec.Command(build(t, "./functions/azure")), a.port, a.env)
}

// TestCleanupAzureQueue: `storagegate enqueue` puts messages on Azurite's
// queue; the host shim feeds them to the built custom handler. A good
// message deletes its objects and is removed; a failing one (a bucket the
// config does not name) is tried maxDequeueCount times, each failure logged
// with its code and reason, and then is the one message of the poison
// queue, its text unchanged.
func TestCleanupAzureQueue(t *testing.T) {
	w := newCleanupWorld(t)
	az := testserver.StartAzurite(t)
	handler := startAzureHandler(t, w)
	host := newQueueHost(t, w.root, handler.base(), az)

	w.seed(t, "Proj/task.az", 3)
	w.put(t, "Proj/task.az-keep/keep.bin")
	env := []string{"AZURE_STORAGE_KEY=" + az.AccountKey}
	queueURL := az.QueueEndpoint + "/" + azureQueue
	good := enqueueCLI(t, env, "--azure-queue", queueURL, "--task", "az", w.url("Proj/task.az/"))[0]
	badURL := w.unconfigured("p/t/x.bin")
	bad := enqueueCLI(t, env, "--azure-queue", queueURL, "--task", "bad", badURL)[0]
	sent := peekAll(t, host.queue)

	host.drain(t, 30*time.Second)
	if left := w.keys(t, "Proj/"); !slices.Equal(left, []string{"Proj/task.az-keep/keep.bin"}) {
		t.Fatalf("left %v", left)
	}
	poisoned := peekAll(t, host.poison)
	if n := host.depth(t, host.poison); n != 1 || len(poisoned) != 1 {
		t.Fatalf("poison queue depth %d, want exactly the failing message", n)
	}
	for _, text := range poisoned {
		if text != sent[bad] {
			t.Fatalf("poison message %q, want the text sent %q", text, sent[bad])
		}
	}

	max := int(host.maxDequeueCount)
	logs := waitSummaries(t, handler.proc.WaitOutput, bad, max, 10*time.Second)
	sums, fails := summaries(logs, bad), failureLines(logs, bad)
	if len(sums) != max || len(fails) != max {
		t.Fatalf("the failing message ran %d times (%d failure lines), want maxDequeueCount=%d", len(sums), len(fails), max)
	}
	for i := range sums {
		checkFields(t, "summary", sums[i], map[string]any{"status": "permanent_failure", "level": "ERROR", "task": "bad",
			"failed": 1, "permanent_failures": 1, "transient_failures": 0})
		checkFields(t, "failure line", fails[i], map[string]any{"url": badURL, "code": "not_configured", "transient": false,
			"reason": "no storage credentials are configured for s3://" + w.proxy.hostPort + "/not-configured"})
	}
	if l := summaries(logs, good); len(l) != 1 {
		t.Fatalf("the good message ran %d times", len(l))
	} else {
		checkFields(t, "good summary", l[0], map[string]any{"status": "ok", "task": "az", "deleted": 3, "failed": 0})
	}
}

// TestCleanupAzureStoreStaysDown: three messages dequeued in one batch, one
// of them for a store that answers 503 to every request. The good ones are
// deleted after one invocation; the bad one fails transiently on each of
// maxDequeueCount attempts and then is the one message of the poison queue,
// its text unchanged.
func TestCleanupAzureStoreStaysDown(t *testing.T) {
	w := newCleanupWorld(t, func(c map[string]any) { c["deadline"] = "1s" })
	az := testserver.StartAzurite(t)
	handler := startAzureHandler(t, w)
	host := newQueueHost(t, w.root, handler.base(), az)
	w.seed(t, "Proj/task.g1", 3)
	g2 := w.seed(t, "Proj/task.g2", 2)
	w.put(t, "Proj/task.g1x/keep.bin", "Proj/g2.keep")
	badPrefix := w.down("Proj/task.down/")
	var ids, texts []string
	for _, body := range []string{
		message("g1", nil, []string{w.url("Proj/task.g1")}),
		message("down", nil, []string{badPrefix}),
		message("g2", []string{w.url(g2[0]), w.url(g2[1])}, nil),
	} {
		text := base64.StdEncoding.EncodeToString([]byte(body))
		resp, err := host.queue.EnqueueMessage(context.Background(), text, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids, texts = append(ids, *resp.Messages[0].MessageID), append(texts, text)
	}
	bad := ids[1]

	first, err := host.pump()
	if err != nil {
		t.Fatal(err)
	}
	var statuses []int
	for _, a := range first {
		statuses = append(statuses, a.status)
	}
	if len(first) != 3 || !slices.Equal(statuses, []int{200, 500, 200}) || first[1].id != bad {
		t.Fatalf("first batch: %+v, want the three messages, only %s failing", first, bad)
	}
	if left := w.keys(t, "Proj/"); !slices.Equal(left, []string{"Proj/g2.keep", "Proj/task.g1x/keep.bin"}) {
		t.Fatalf("left %v", left)
	}
	rest := host.drain(t, 60*time.Second)
	for i, a := range rest {
		if a.id != bad || a.status != 500 || a.dequeueCount != int64(i+2) {
			t.Fatalf("retry %d: %+v, want %s failing again", i+1, a, bad)
		}
	}
	poisoned := peekAll(t, host.poison)
	if n := host.depth(t, host.poison); n != 1 || len(poisoned) != 1 {
		t.Fatalf("poison queue depth %d, want exactly the failing message", n)
	}
	for _, text := range poisoned {
		if text != texts[1] {
			t.Fatalf("poison message %q, want the text sent %q", text, texts[1])
		}
	}

	max := int(host.maxDequeueCount)
	logs := waitSummaries(t, handler.proc.WaitOutput, bad, max, 10*time.Second)
	checkOutageRuns(t, logs, bad, badPrefix, []string{ids[0], ids[2]}, max, "maxDequeueCount")
}

// TestCleanupAzureHandlerKilled: the custom handler is killed (SIGKILL)
// half way through the kill job. The host shim gets no answer, which is a
// failed attempt: the message becomes visible again after the retry delay;
// the handler is started again, the message is dequeued a second time and
// the job finishes, the new handler's summary counting what the killed one
// had removed.
func TestCleanupAzureHandlerKilled(t *testing.T) {
	w := newCleanupWorld(t, func(c map[string]any) { c["concurrency"] = 2 })
	az := testserver.StartAzurite(t)
	handler := startAzureHandler(t, w)
	host := newQueueHost(t, w.root, handler.base(), az)
	k := newKillJob(t, w)
	resp, err := host.queue.EnqueueMessage(context.Background(), base64.StdEncoding.EncodeToString([]byte(k.body)), nil)
	if err != nil {
		t.Fatal(err)
	}
	id := *resp.Messages[0].MessageID

	type result struct {
		got []attempt
		err error
	}
	pumped := make(chan result, 1)
	go func() {
		got, err := host.pump()
		pumped <- result{got, err}
	}()
	first := handler.proc
	k.awaitHalfway(t, func() { first.Stop(0) })
	r := <-pumped
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(r.got) != 1 || r.got[0].id != id || r.got[0].status != 0 || r.got[0].err == nil {
		t.Fatalf("the killed invocation: %+v, want no answer", r.got)
	}
	if err := first.Err(); err == nil || err.Error() != "signal: killed" {
		t.Fatalf("the killed handler exited with %v", err)
	}
	if n := len(summaries(first.Output(), id)); n != 0 {
		t.Fatalf("the killed handler logged %d summaries", n)
	}
	remaining := k.afterKill(t)

	handler.restart(t)
	again := host.drain(t, 60*time.Second)
	if len(again) != 1 || again[0].id != id || again[0].status != 200 || again[0].dequeueCount != 2 {
		t.Fatalf("the redelivery: %+v", again)
	}
	logs := waitSummaries(t, handler.proc.WaitOutput, id, 1, 10*time.Second)
	k.finished(t, summaries(logs, id), remaining)
	if n := host.depth(t, host.poison); n != 0 {
		t.Fatalf("the poison queue holds %d messages", n)
	}
}

// TestCleanupAzureSamplesAndGuard: the queue-trigger samples (the message as
// a JSON string and as an object) run against the built handler, and an
// invocation that arrives through the front end, as a forwarded HTTP
// request to /Cleanup would, is refused.
func TestCleanupAzureSamplesAndGuard(t *testing.T) {
	w := newCleanupWorld(t)
	handler := startAzureHandler(t, w).base()
	post := func(inv []byte, hdr ...string) int {
		req, _ := http.NewRequest(http.MethodPost, handler+"/Cleanup", bytes.NewReader(inv))
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for i, name := range []string{"queue-invocation.json", "queue-invocation-object.json"} {
		var inv map[string]any
		if err := json.Unmarshal(loadSample(t, w.root, "azure", "cleanup", name), &inv); err != nil {
			t.Fatal(err)
		}
		data := inv["Data"].(map[string]any)
		folder := fmt.Sprintf("Proj/task.azs%d", i)
		w.seed(t, folder, 2)
		msg := message("s", nil, []string{w.url(folder)})
		if _, isString := data["message"].(string); isString {
			data["message"] = msg
		} else {
			var obj any
			_ = json.Unmarshal([]byte(msg), &obj)
			data["message"] = obj
		}
		b, _ := json.Marshal(inv)
		if status := post(b, "X-ARR-LOG-ID", "0c8d1f2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f", "X-Forwarded-For", "198.51.100.4:40112"); status != http.StatusNotFound {
			t.Fatalf("%s through the front end: %d", name, status)
		}
		if left := w.keys(t, folder); len(left) != 2 {
			t.Fatalf("%s: the refused request deleted objects", name)
		}
		if status := post(b); status != 200 {
			t.Fatalf("%s: %d", name, status)
		}
		if left := w.keys(t, folder); len(left) != 0 {
			t.Fatalf("%s: left %v", name, left)
		}
	}
}
