package awslambda

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/storagegate/storagegate/shared/sweep"
)

type fakeRunner struct {
	runs   int
	status string
}

func (f *fakeRunner) Run(context.Context) *sweep.Report {
	f.runs++
	return &sweep.Report{Status: f.status, Deleted: 2}
}

// TestScheduledEventSample: the sample in events/aws/sweep decodes as the
// Lambda service delivers it and runs one sweep; a failed run is an error.
func TestScheduledEventSample(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "events", "aws", "sweep", "eventbridge-scheduled.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.EventBridgeEvent
	if err := json.Unmarshal(b, &ev); err != nil || ev.DetailType != "Scheduled Event" || ev.Source != "aws.events" || len(ev.Resources) != 1 {
		t.Fatalf("sample: %v %+v", err, ev)
	}
	f := &fakeRunner{status: sweep.StatusOK}
	r, err := Scheduled(f)(context.Background(), ev)
	if err != nil || r.Deleted != 2 || f.runs != 1 {
		t.Fatalf("ok run: %v %+v", err, r)
	}
	f.status = sweep.StatusFailed
	if _, err := Scheduled(f)(context.Background(), ev); err == nil {
		t.Fatal("a failed run returned no error")
	}
	if _, err := Scheduled(f)(context.Background(), events.EventBridgeEvent{DetailType: "Object Created", Source: "aws.s3"}); err == nil || f.runs != 2 {
		t.Fatal("another event ran a sweep")
	}
}
