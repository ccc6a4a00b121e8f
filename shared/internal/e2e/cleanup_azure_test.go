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
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/storagegate/storagegate/shared/internal/testserver"
)

const azureQueue = "storagegate-cleanup"

// queueHost plays the Functions host's queue trigger for the custom
// handler: it dequeues from Azurite, undoes the base64 message encoding,
// posts the invocation to /<Function>, deletes the message on 2xx and
// otherwise lets it be retried, moving it to <queue>-poison once it has
// been dequeued maxDequeueCount times. Settings come from host.json and the
// function.json, so the test checks what is deployed.
type queueHost struct {
	handler         string // base URL of the custom handler
	function        string
	binding         string
	maxDequeueCount int32
	queue, poison   *azqueue.QueueClient
	invocations     map[string]int // by message id
}

func newQueueHost(t *testing.T, root, handler string, az *testserver.Azurite) *queueHost {
	t.Helper()
	var host struct {
		Extensions struct {
			Queues struct {
				MaxDequeueCount int32  `json:"maxDequeueCount"`
				MessageEncoding string `json:"messageEncoding"`
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
	if q.MaxDequeueCount < 2 || q.MessageEncoding != "base64" {
		t.Fatalf("host.json extensions.queues: %+v", q)
	}
	svc, err := azqueue.NewServiceClientFromConnectionString(az.ConnectionString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &queueHost{handler: handler, function: "Cleanup", binding: fn.Bindings[0].Name, maxDequeueCount: q.MaxDequeueCount,
		queue: svc.NewQueueClient(azureQueue), poison: svc.NewQueueClient(azureQueue + "-poison"), invocations: map[string]int{}}
	for _, c := range []*azqueue.QueueClient{h.queue, h.poison} {
		if _, err := c.Create(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// pump runs one polling round and reports how many messages it handled.
func (h *queueHost) pump(t *testing.T) int {
	t.Helper()
	ctx := context.Background()
	n, vis := int32(16), int32(30)
	resp, err := h.queue.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: &n, VisibilityTimeout: &vis})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range resp.Messages {
		id, pop, count := *m.MessageID, *m.PopReceipt, *m.DequeueCount
		body, err := base64.StdEncoding.DecodeString(*m.MessageText)
		if err != nil || count > int64(h.maxDequeueCount) {
			h.toPoison(t, m) // what the host does with a message it cannot decode or has tried enough
			continue
		}
		h.invocations[id]++
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
			t.Fatal(err)
		}
		var result struct {
			Outputs map[string]any
			Logs    []string
		}
		decErr := json.NewDecoder(res.Body).Decode(&result)
		res.Body.Close()
		switch {
		case res.StatusCode/100 == 2:
			if decErr != nil || result.Outputs == nil {
				t.Fatalf("success answer is not an invocation result: %v", decErr)
			}
			if _, err := h.queue.DeleteMessage(ctx, id, pop, nil); err != nil {
				t.Fatal(err)
			}
		case count >= int64(h.maxDequeueCount):
			h.toPoison(t, m)
		default:
			// The host waits host.json's visibilityTimeout before the retry;
			// the test retries at once.
			zero := int32(0)
			if _, err := h.queue.UpdateMessage(ctx, id, pop, *m.MessageText, &azqueue.UpdateMessageOptions{VisibilityTimeout: &zero}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return len(resp.Messages)
}

func (h *queueHost) toPoison(t *testing.T, m *azqueue.DequeuedMessage) {
	t.Helper()
	if _, err := h.poison.EnqueueMessage(context.Background(), *m.MessageText, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := h.queue.DeleteMessage(context.Background(), *m.MessageID, *m.PopReceipt, nil); err != nil {
		t.Fatal(err)
	}
}

func (h *queueHost) depth(t *testing.T, c *azqueue.QueueClient) int {
	t.Helper()
	n := int32(32)
	resp, err := c.PeekMessages(context.Background(), &azqueue.PeekMessagesOptions{NumberOfMessages: &n})
	if err != nil {
		t.Fatal(err)
	}
	return len(resp.Messages)
}

// TestCleanupAzureQueue: `storagegate enqueue` puts messages on Azurite's
// queue; the host shim feeds them to the built custom handler. A good
// message deletes its objects and is removed; a failing one is retried up
// to maxDequeueCount and then lands in the poison queue, unchanged.
func TestCleanupAzureQueue(t *testing.T) {
	w := newCleanupWorld(t)
	az := testserver.StartAzurite(t)
	port := testserver.FreePort(t)
	startProcess(t, "azure handler", exec.Command(build(t, "./functions/azure")), port, []string{
		"STORAGEGATE_CONFIG=" + w.config, fmt.Sprintf("FUNCTIONS_CUSTOMHANDLER_PORT=%d", port),
	})
	handler := fmt.Sprintf("http://127.0.0.1:%d", port)
	host := newQueueHost(t, w.root, handler, az)

	w.seed(t, "Proj/task.az", 3)
	w.put(t, "Proj/task.az-keep/keep.bin")
	env := []string{"AZURE_STORAGE_KEY=" + az.AccountKey}
	queueURL := az.QueueEndpoint + "/" + azureQueue
	good := enqueueCLI(t, env, "--azure-queue", queueURL, "--task", "az", w.url("Proj/task.az/"))[0]
	bad := enqueueCLI(t, env, "--azure-queue", queueURL, "--task", "bad", w.unconfigured("p/t/x.bin"))[0]

	for round := 0; host.depth(t, host.queue) > 0; round++ {
		if round > 20 {
			t.Fatalf("queue not drained after %d rounds: %v", round, host.invocations)
		}
		host.pump(t)
	}
	if left := w.keys(t, "Proj/"); len(left) != 1 || left[0] != "Proj/task.az-keep/keep.bin" {
		t.Fatalf("left %v", left)
	}
	if host.invocations[good] != 1 || host.invocations[bad] != int(host.maxDequeueCount) {
		t.Fatalf("invocations %v, want 1 for the good message and %d for the failing one", host.invocations, host.maxDequeueCount)
	}
	n := int32(1)
	peek, err := host.poison.PeekMessages(context.Background(), &azqueue.PeekMessagesOptions{NumberOfMessages: &n})
	if err != nil || len(peek.Messages) != 1 {
		t.Fatalf("poison queue: %v %v", peek.Messages, err)
	}
	body, _ := base64.StdEncoding.DecodeString(*peek.Messages[0].MessageText)
	if !strings.Contains(string(body), `"task":"bad"`) {
		t.Fatalf("poison message %s", body)
	}
}

// TestCleanupAzureSamplesAndGuard: the queue-trigger samples (the message as
// a JSON string and as an object) run against the built handler, and an
// invocation that arrives through the front end, as a forwarded HTTP
// request to /Cleanup would, is refused.
func TestCleanupAzureSamplesAndGuard(t *testing.T) {
	w := newCleanupWorld(t)
	port := testserver.FreePort(t)
	startProcess(t, "azure handler", exec.Command(build(t, "./functions/azure")), port, []string{
		"STORAGEGATE_CONFIG=" + w.config, fmt.Sprintf("FUNCTIONS_CUSTOMHANDLER_PORT=%d", port),
	})
	handler := fmt.Sprintf("http://127.0.0.1:%d", port)
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
