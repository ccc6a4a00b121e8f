package awslambda

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/storagegate/storagegate/shared/cleanup"
)

// fakeProcessor answers by body: a body containing "fail" fails.
type fakeProcessor struct {
	mu      sync.Mutex
	ids     []string
	running atomic.Int32
	peak    atomic.Int32
}

func (f *fakeProcessor) Process(ctx context.Context, body []byte) cleanup.Summary {
	n := f.running.Add(1)
	defer f.running.Add(-1)
	for {
		p := f.peak.Load()
		if n <= p || f.peak.CompareAndSwap(p, n) {
			break
		}
	}
	time.Sleep(20 * time.Millisecond)
	d := cleanup.Summary{Status: cleanup.StatusOK}
	if strings.Contains(string(body), "fail") {
		d.Status = cleanup.StatusTransient
	}
	m, _ := cleanup.ParseMessage(body)
	f.mu.Lock()
	f.ids = append(f.ids, m.Task)
	f.mu.Unlock()
	return d
}

func sqsSample(t *testing.T, name string) events.SQSEvent {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "events", "aws", "cleanup", name))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SQSEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	if len(ev.Records) == 0 || ev.Records[0].Body == "" || ev.Records[0].Attributes["ApproximateReceiveCount"] == "" {
		t.Fatalf("%s: not an SQS event", name)
	}
	return ev
}

func failures(resp events.SQSEventResponse) []string {
	var ids []string
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

// TestOnlyFailedRecordsReported: the sample batch with one record made to
// fail answers that record's id alone; the others are acknowledged.
func TestOnlyFailedRecordsReported(t *testing.T) {
	ev := sqsSample(t, "sqs-batch.json")
	for _, r := range ev.Records {
		if _, err := cleanup.ParseMessage([]byte(r.Body)); err != nil {
			t.Fatalf("sample body %s: %v", r.MessageId, err)
		}
	}
	ev.Records[1].Body = strings.Replace(ev.Records[1].Body, `"version":1`, `"version":1,"note":"fail"`, 1)
	resp, err := SQS(&fakeProcessor{})(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if got := failures(resp); !slices.Equal(got, []string{ev.Records[1].MessageId}) {
		t.Fatalf("batchItemFailures = %v", got)
	}
	// The answer's JSON is what Lambda reads.
	b, _ := json.Marshal(resp)
	if !strings.Contains(string(b), `"batchItemFailures":[{"itemIdentifier":"`+ev.Records[1].MessageId+`"}]`) {
		t.Fatalf("response JSON %s", b)
	}
	resp, _ = SQS(&fakeProcessor{})(context.Background(), sqsSample(t, "sqs-batch.json"))
	if b, _ := json.Marshal(resp); string(b) != `{"batchItemFailures":[]}` {
		t.Fatalf("all done: %s", b)
	}
}

// TestRecordsRunSideBySide: a standard queue's records run in parallel,
// bounded by maxParallel.
func TestRecordsRunSideBySide(t *testing.T) {
	base := sqsSample(t, "sqs-batch.json").Records[0]
	var ev events.SQSEvent
	for i := range 25 {
		r := base
		r.MessageId = string(rune('a'+i)) + base.MessageId[1:]
		ev.Records = append(ev.Records, r)
	}
	f := &fakeProcessor{}
	if _, err := SQS(f)(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if p := f.peak.Load(); p < 2 || p > maxParallel {
		t.Fatalf("peak parallelism %d, want 2..%d", p, maxParallel)
	}
	if len(f.ids) != 25 {
		t.Fatalf("%d records processed", len(f.ids))
	}
}

// TestFIFOStopsAtFirstFailure: on a FIFO queue the first failure and every
// record after it are returned, unprocessed, so order within the group holds.
func TestFIFOStopsAtFirstFailure(t *testing.T) {
	one := sqsSample(t, "sqs-fifo.json").Records[0]
	var ev events.SQSEvent
	for i, task := range []string{"t1", "fail", "t3"} {
		r := one
		r.MessageId = task + "-" + string(rune('0'+i))
		r.Body = `{"version":1,"task":"` + task + `","urls":["s3://b/p/t/x"]}`
		ev.Records = append(ev.Records, r)
	}
	f := &fakeProcessor{}
	resp, _ := SQS(f)(context.Background(), ev)
	if got := failures(resp); !slices.Equal(got, []string{"fail-1", "t3-2"}) {
		t.Fatalf("batchItemFailures = %v", got)
	}
	if !slices.Equal(f.ids, []string{"t1", "fail"}) || f.peak.Load() != 1 {
		t.Fatalf("processed %v (peak %d): the record after a failure must not run", f.ids, f.peak.Load())
	}
}
