package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/storagegate/storagegate/shared/internal/lambdaemu"
)

// TestCleanupBadMessagesArePermanent: messages that can never be processed
// fail, each with a reason a person can act on, at error level, and without
// a single request reaching the store; a good message in the same batch is
// done. Failing them (not dropping them) sends them to the dead-letter
// queue, where an operator sees them. A message unusable as a whole is
// invalid_message with the reason in its summary line; one whose entries
// can never be done (unknown scheme, bucket root, `..`) is
// permanent_failure with the reason on each entry's failure line.
func TestCleanupBadMessagesArePermanent(t *testing.T) {
	w := newCleanupWorld(t)
	var sample events.SQSEvent
	if err := json.Unmarshal(loadSample(t, w.root, "aws", "cleanup", "sqs-batch.json"), &sample); err != nil {
		t.Fatal(err)
	}
	many := make([]string, 10001)
	for i := range many {
		many[i] = w.url(fmt.Sprintf("Proj/task.many/%d", i))
	}
	bad := []struct {
		body, reason string
		entry        bool // an entry's failure, not the message's
	}{
		{`this is not JSON`, "not a JSON object", false},
		{`{"version": 1, "urls": ["` + w.url("Proj/task.x/a") + `"`, "not valid JSON", false},
		{`{"version": 2, "urls": ["` + w.url("Proj/task.x/a") + `"]}`, "version: is 2; this reader understands version 1 only", false},
		{message("many", many, nil), "holds 10001 URLs and prefixes; the limit is 10000", false},
		{message("ftp", []string{"ftp://" + w.proxy.hostPort + "/" + sampleBucket + "/Proj/task.x/a"}, nil), `unsupported scheme \"ftp\"`, true},
		{message("root", nil, []string{w.url("")}), "is a bucket root", true},
		{message("dotdot", []string{w.url("Proj/task.x/../../etc/passwd")}, nil), `contains a \"..\" path segment`, true},
		{message("empty", nil, nil), "neither urls nor prefixes", false},
	}
	var ev events.SQSEvent
	for i, b := range bad {
		r := sample.Records[0]
		r.MessageId, r.Body = fmt.Sprintf("bad-%d", i), b.body
		ev.Records = append(ev.Records, r)
	}
	w.seed(t, "Proj/task.good", 2)
	good := sample.Records[1]
	good.MessageId, good.Body = "good", message("good", nil, []string{w.url("Proj/task.good")})

	emu := lambdaemu.Start(t, buildLambda(t, "./functions/aws/cleanup"), []string{"STORAGEGATE_CONFIG=" + w.config})
	invoke := func(ev events.SQSEvent) []string {
		payload, _ := json.Marshal(ev)
		out, err := emu.Invoke(context.Background(), payload)
		if err != nil {
			t.Fatalf("invoke: %v\n%s", err, emu.Logs())
		}
		var resp events.SQSEventResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatal(err)
		}
		var failed []string
		for _, f := range resp.BatchItemFailures {
			failed = append(failed, f.ItemIdentifier)
		}
		return failed
	}
	var all []string
	for _, r := range ev.Records {
		all = append(all, r.MessageId)
	}
	if failed := invoke(ev); !slices.Equal(failed, all) {
		t.Fatalf("batchItemFailures %v, want every message of the batch by id, in order: %v", failed, all)
	}
	if n := w.proxy.requests.Load(); n != 0 {
		t.Fatalf("bad messages sent %d requests to the store", n)
	}
	var logs string
	for i, b := range bad {
		id := fmt.Sprintf("bad-%d", i)
		reason := strings.ReplaceAll(b.reason, `\"`, `"`)
		logs = waitSummaries(t, emu.WaitLogs, id, 1, 10*time.Second)
		lines := summaries(logs, id)
		if !b.entry {
			if len(lines) != 1 || lines[0]["status"] != "invalid_message" || lines[0]["level"] != "ERROR" ||
				!strings.Contains(fmt.Sprint(lines[0]["error"]), reason) {
				t.Errorf("bad message %d (%q): summary %v", i, b.reason, lines)
			}
			continue
		}
		if len(lines) != 1 || lines[0]["status"] != "permanent_failure" || lines[0]["level"] != "ERROR" ||
			lines[0]["permanent_failures"] != 1.0 || lines[0]["transient_failures"] != 0.0 {
			t.Errorf("bad message %d (%q): summary %v", i, b.reason, lines)
		}
		failures := failureLines(logs, id)
		if len(failures) != 1 || failures[0]["level"] != "ERROR" || failures[0]["transient"] != false ||
			!strings.Contains(fmt.Sprint(failures[0]["reason"]), reason) {
			t.Errorf("bad message %d (%q): failure lines %v", i, b.reason, failures)
		}
	}

	ev.Records = append(ev.Records[:1], good)
	if failed := invoke(ev); !slices.Equal(failed, []string{"bad-0"}) {
		t.Fatalf("with a good message: %v", failed)
	}
	if left := w.keys(t, "Proj/task.good/"); len(left) != 0 || w.proxy.deletes.Load() != 1 {
		t.Fatalf("good message: left %v, %d DeleteObjects", left, w.proxy.deletes.Load())
	}
	logs = waitSummaries(t, emu.WaitLogs, "good", 1, 10*time.Second)
	checkFields(t, "good message", summaries(logs, "good")[0], map[string]any{"status": "ok", "deleted": 2, "failed": 0})
	if n := len(summaries(logs, "bad-0")); n != 2 {
		t.Fatalf("bad-0 ran %d times, want 2", n)
	}
}
