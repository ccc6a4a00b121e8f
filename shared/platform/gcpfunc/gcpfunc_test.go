package gcpfunc

import (
	"context"
	"encoding/json"
	"net/http"
	"path"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/storagegate/storagegate/shared/cleanup"
	"github.com/storagegate/storagegate/shared/platform/internal/samples"
	"github.com/storagegate/storagegate/shared/sweep"
)

type fakeProcessor struct {
	bodies [][]byte
	status string
}

func (f *fakeProcessor) Process(_ context.Context, body []byte) cleanup.Summary {
	f.bodies = append(f.bodies, body)
	s := cleanup.Summary{Status: cleanup.StatusOK}
	if f.status != "" {
		s.Status = f.status
	}
	return s
}

type fakeRunner struct {
	runs   int
	status string
}

func (f *fakeRunner) Run(context.Context) *sweep.Report {
	f.runs++
	return &sweep.Report{Status: f.status}
}

// cloudEvent is the CloudEvent the Functions Framework hands a function for
// a request: a CloudEvent in binary or structured mode as it is, a plain
// Pub/Sub push as the messagePublished event whose data is the push's body.
func cloudEvent(t *testing.T, name string, r *http.Request) event.Event {
	t.Helper()
	if r.Header.Get("Ce-Id") != "" || strings.HasPrefix(r.Header.Get("Content-Type"), "application/cloudevents+json") {
		e, err := cehttp.NewEventFromHTTPRequest(r)
		if err != nil {
			t.Fatalf("%s: not a CloudEvent: %v", name, err)
		}
		return *e
	}
	var body json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		t.Fatalf("%s: push body: %v", name, err)
	}
	e := event.New()
	e.SetID("push")
	e.SetType("google.cloud.pubsub.topic.v1.messagePublished")
	e.SetSource("//pubsub.googleapis.com/" + strings.TrimPrefix(r.URL.Path, "/"))
	if err := e.SetData(event.ApplicationJSON, body); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestSamplesRoundTrip: every sample in events/gcp reads as what it is and
// writes back the same. A presign request is served by the Functions
// Framework as it arrives, so it need only read as HTTP; a cleanup or sweep
// message reads as a CloudEvent whose data is a MessagePublishedData that
// encodes back to the same JSON, and runs through its handler: a cleanup
// message hands its deletion message to the cleanup pipeline, a sweep message runs
// one sweep.
func TestSamplesRoundTrip(t *testing.T) {
	files := samples.Files(t, "gcp")
	for _, name := range samples.Names(files) {
		r := samples.Request(t, name, files[name])
		kind := path.Dir(name)
		if kind == "presign" {
			if r.URL.Path != "/presign" {
				t.Errorf("%s: path %q", name, r.URL.Path)
			}
			continue
		}
		e := cloudEvent(t, name, r)
		var data MessagePublishedData
		if err := json.Unmarshal(e.Data(), &data); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if data.Message.MessageID == "" || data.Subscription == "" || len(data.Message.Data) == 0 {
			t.Errorf("%s: %+v", name, data)
		}
		again, _ := json.Marshal(data)
		samples.JSONEqual(t, name, e.Data(), again)
		switch kind {
		case "cleanup":
			p := &fakeProcessor{}
			if err := PubSub(p)(context.Background(), e); err != nil || len(p.bodies) != 1 {
				t.Fatalf("%s: %v, %d messages", name, err, len(p.bodies))
			}
			if _, err := cleanup.ParseMessage(p.bodies[0]); err != nil {
				t.Errorf("%s: the data is not a deletion message: %v", name, err)
			}
		case "sweep":
			s := &fakeRunner{status: sweep.StatusOK}
			if err := Scheduled(s)(context.Background(), e); err != nil || s.runs != 1 {
				t.Fatalf("%s: %v, %d runs", name, err, s.runs)
			}
		default:
			t.Errorf("%s: a sample of no function this package serves", name)
		}
	}
}

// TestPubSubFailures: a message whose run fails, or data that is not a
// Pub/Sub message, is an error (a 500, and Pub/Sub redelivers).
func TestPubSubFailures(t *testing.T) {
	p := &fakeProcessor{status: cleanup.StatusTransient}
	e := event.New()
	e.SetID("e1")
	e.SetType("google.cloud.pubsub.topic.v1.messagePublished")
	_ = e.SetData(event.ApplicationJSON, MessagePublishedData{Message: PubsubMessage{Data: []byte(`{"version":1}`)}})
	if err := PubSub(p)(context.Background(), e); err == nil || string(p.bodies[0]) != `{"version":1}` {
		t.Fatalf("failed run: %v %q", err, p.bodies)
	}
	_ = e.SetData(event.ApplicationJSON, []byte(`"not a message"`))
	if err := PubSub(p)(context.Background(), e); err == nil || !strings.Contains(err.Error(), "cleanup e1:") || len(p.bodies) != 1 {
		t.Fatalf("bad data: %v (%d runs)", err, len(p.bodies))
	}
}

// TestScheduledAcknowledges: a failed sweep still acknowledges the message;
// only data that is not a Pub/Sub message is an error, and runs nothing.
func TestScheduledAcknowledges(t *testing.T) {
	s := &fakeRunner{status: sweep.StatusFailed}
	e := event.New()
	e.SetID("e2")
	_ = e.SetData(event.ApplicationJSON, MessagePublishedData{})
	if err := Scheduled(s)(context.Background(), e); err != nil || s.runs != 1 {
		t.Fatalf("failed run: %v, %d runs", err, s.runs)
	}
	_ = e.SetData(event.ApplicationJSON, []byte(`[1]`))
	if err := Scheduled(s)(context.Background(), e); err == nil || !strings.Contains(err.Error(), "sweep e2:") || s.runs != 1 {
		t.Fatalf("bad data: %v, %d runs", err, s.runs)
	}
}

// TestServes: FUNCTION_TARGET names the one function an instance builds;
// unset, every function is built.
func TestServes(t *testing.T) {
	t.Setenv("FUNCTION_TARGET", "")
	if !Serves("Presign") || !Serves("Cleanup") {
		t.Fatal("unset: not every function served")
	}
	t.Setenv("FUNCTION_TARGET", "Cleanup")
	if Serves("Presign") || !Serves("Cleanup") {
		t.Fatal("FUNCTION_TARGET=Cleanup")
	}
}
