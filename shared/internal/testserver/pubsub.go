package testserver

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// PubSub is Google's Pub/Sub emulator (a JVM; it really pushes to push subscriptions and
// re-pushes on non-2xx), alive until the test ends.
type PubSub struct {
	Endpoint string // "http://127.0.0.1:P"; REST under /v1/
	HostPort string // "127.0.0.1:P", the value for PUBSUB_EMULATOR_HOST
	Project  string // any project name works; this one is used by the helpers

	Process *Process
}

// pubsubEmulatorScript finds the emulator in the Google Cloud SDK that gcloud belongs to
// (Debian package google-cloud-cli-pubsub-emulator), without running gcloud, which is slow.
func pubsubEmulatorScript() (string, error) {
	if p := os.Getenv("STORAGEGATE_PUBSUB_EMULATOR"); p != "" {
		return p, nil
	}
	gcloud, err := exec.LookPath("gcloud")
	if err != nil {
		return "", fmt.Errorf("gcloud is not on PATH: install google-cloud-cli and google-cloud-cli-pubsub-emulator (Google's apt repository), or set STORAGEGATE_PUBSUB_EMULATOR")
	}
	if gcloud, err = filepath.EvalSymlinks(gcloud); err != nil {
		return "", err
	}
	script := filepath.Join(filepath.Dir(filepath.Dir(gcloud)), "platform", "pubsub-emulator", "bin", "cloud-pubsub-emulator")
	if _, err := os.Stat(script); err != nil {
		return "", fmt.Errorf("no Pub/Sub emulator at %s: install google-cloud-cli-pubsub-emulator, or set STORAGEGATE_PUBSUB_EMULATOR", script)
	}
	if _, err := exec.LookPath("java"); err != nil {
		return "", fmt.Errorf("the Pub/Sub emulator needs java on PATH (Debian: default-jre-headless)")
	}
	return script, nil
}

// StartPubSub starts the Pub/Sub emulator; it takes about 4 s.
func StartPubSub(t testing.TB) *PubSub {
	t.Helper()
	script, err := pubsubEmulatorScript()
	if err != nil {
		Require(t, "Pub/Sub emulator", err.Error())
	}
	dir := t.TempDir()
	ps := &PubSub{Project: "storagegate-test"}
	ps.Process, _ = startServer(t, "pubsub-emulator", 1, func(ports []int) (*exec.Cmd, func(context.Context) error) {
		ps.HostPort = fmt.Sprintf("127.0.0.1:%d", ports[0])
		ps.Endpoint = "http://" + ps.HostPort
		// The script ends in `exec java`, so the PID we stop is the JVM's.
		cmd := exec.Command(script, "--host=127.0.0.1", fmt.Sprintf("--port=%d", ports[0]))
		cmd.Dir = dir
		return cmd, httpStatus(ps.Endpoint+"/", http.StatusOK)
	})
	return ps
}

// CreateTopic creates projects/{Project}/topics/{topic}.
func (ps *PubSub) CreateTopic(t testing.TB, topic string) {
	t.Helper()
	ps.call(t, http.MethodPut, "/v1/projects/"+ps.Project+"/topics/"+topic, struct{}{})
}

// CreatePushSubscription creates a subscription that POSTs each message to pushEndpoint
// (the push envelope: {"message": {"data", "attributes", "messageId", ...}, "subscription"}).
func (ps *PubSub) CreatePushSubscription(t testing.TB, sub, topic, pushEndpoint string) {
	t.Helper()
	ps.CreateSubscription(t, sub, topic, Subscription{PushEndpoint: pushEndpoint, AckDeadlineSeconds: 10})
}

// Subscription is what CreateSubscription sets; zero fields are left to the emulator.
type Subscription struct {
	PushEndpoint       string // empty: a pull subscription
	AckDeadlineSeconds int
	// DeadLetterTopic (a topic name in Project) and MaxDeliveryAttempts (5 to 100 on Google
	// Cloud) make the emulator forward a message to that topic once it has been delivered
	// MaxDeliveryAttempts times without an acknowledgement, as Pub/Sub does.
	DeadLetterTopic     string
	MaxDeliveryAttempts int
}

// CreateSubscription creates projects/{Project}/subscriptions/{sub} on topic.
func (ps *PubSub) CreateSubscription(t testing.TB, sub, topic string, o Subscription) {
	t.Helper()
	body := map[string]any{"topic": "projects/" + ps.Project + "/topics/" + topic}
	if o.PushEndpoint != "" {
		body["pushConfig"] = map[string]any{"pushEndpoint": o.PushEndpoint}
	}
	if o.AckDeadlineSeconds > 0 {
		body["ackDeadlineSeconds"] = o.AckDeadlineSeconds
	}
	if o.DeadLetterTopic != "" {
		body["deadLetterPolicy"] = map[string]any{
			"deadLetterTopic":     "projects/" + ps.Project + "/topics/" + o.DeadLetterTopic,
			"maxDeliveryAttempts": o.MaxDeliveryAttempts,
		}
	}
	ps.call(t, http.MethodPut, "/v1/projects/"+ps.Project+"/subscriptions/"+sub, body)
}

// ReceivedMessage is one message of a pull.
type ReceivedMessage struct {
	AckID   string `json:"ackId"`
	Message struct {
		Data       []byte            `json:"data"`
		Attributes map[string]string `json:"attributes"`
		MessageID  string            `json:"messageId"`
	} `json:"message"`
}

// Pull returns up to max messages of a pull subscription that are there now, and
// acknowledges them.
func (ps *PubSub) Pull(t testing.TB, sub string, max int) []ReceivedMessage {
	t.Helper()
	var out struct {
		ReceivedMessages []ReceivedMessage `json:"receivedMessages"`
	}
	path := "/v1/projects/" + ps.Project + "/subscriptions/" + sub
	body := ps.call(t, http.MethodPost, path+":pull", map[string]any{"maxMessages": max, "returnImmediately": true})
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("Pub/Sub pull: unexpected answer %s (%v)", body, err)
	}
	if len(out.ReceivedMessages) > 0 {
		var acks []string
		for _, m := range out.ReceivedMessages {
			acks = append(acks, m.AckID)
		}
		ps.call(t, http.MethodPost, path+":acknowledge", map[string]any{"ackIds": acks})
	}
	return out.ReceivedMessages
}

// PublishBatch publishes messages in one request and returns their IDs, in order.
func (ps *PubSub) PublishBatch(t testing.TB, topic string, data ...[]byte) []string {
	t.Helper()
	var out struct {
		MessageIDs []string `json:"messageIds"`
	}
	var msgs []any
	for _, d := range data {
		msgs = append(msgs, map[string]any{"data": base64.StdEncoding.EncodeToString(d)})
	}
	body := ps.call(t, http.MethodPost, "/v1/projects/"+ps.Project+"/topics/"+topic+":publish", map[string]any{"messages": msgs})
	if err := json.Unmarshal(body, &out); err != nil || len(out.MessageIDs) != len(data) {
		t.Fatalf("Pub/Sub publish: unexpected answer %s (%v)", body, err)
	}
	return out.MessageIDs
}

// Publish publishes one message and returns its ID.
func (ps *PubSub) Publish(t testing.TB, topic string, data []byte, attrs map[string]string) string {
	t.Helper()
	var out struct {
		MessageIDs []string `json:"messageIds"`
	}
	msg := map[string]any{"data": base64.StdEncoding.EncodeToString(data)}
	if len(attrs) > 0 {
		msg["attributes"] = attrs
	}
	body := ps.call(t, http.MethodPost, "/v1/projects/"+ps.Project+"/topics/"+topic+":publish",
		map[string]any{"messages": []any{msg}})
	if err := json.Unmarshal(body, &out); err != nil || len(out.MessageIDs) != 1 {
		t.Fatalf("Pub/Sub publish: unexpected answer %s (%v)", body, err)
	}
	return out.MessageIDs[0]
}

func (ps *PubSub) call(t testing.TB, method, path string, in any) []byte {
	t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, ps.Endpoint+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("Pub/Sub emulator: %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("Pub/Sub emulator: %s %s: %s: %s", method, path, resp.Status, out)
	}
	return out
}
