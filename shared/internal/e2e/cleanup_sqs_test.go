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
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/storagegate/storagegate/shared/internal/lambdaemu"
	"github.com/storagegate/storagegate/shared/internal/testserver"
)

// sqsWorld is a queue on moto_server with a dead-letter queue behind a
// redrive policy, and the event source mapping's part played by the test:
// receive, invoke the function with an events.SQSEvent, delete what it did
// not report as failed.
type sqsWorld struct {
	moto       *testserver.Moto
	client     *sqs.Client
	queueURL   string
	queueARN   string
	dlqURL     string
	template   events.SQSMessage // a record of events/aws/cleanup/sqs-batch.json
	emu        *lambdaemu.Emulator
	cliEnv     []string
	visibility time.Duration
}

func newSQSWorld(t *testing.T, w *cleanupWorld) *sqsWorld {
	t.Helper()
	s := &sqsWorld{moto: testserver.StartMoto(t), visibility: time.Second}
	s.client = sqs.NewFromConfig(s.moto.AWSConfig())
	ctx := context.Background()
	dlq, err := s.client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("storagegate-cleanup-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	s.dlqURL = aws.ToString(dlq.QueueUrl)
	dlqARN := s.attr(t, s.dlqURL, types.QueueAttributeNameQueueArn)
	redrive, _ := json.Marshal(map[string]string{"deadLetterTargetArn": dlqARN, "maxReceiveCount": "2"})
	q, err := s.client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("storagegate-cleanup"), Attributes: map[string]string{
		"VisibilityTimeout": fmt.Sprint(int(s.visibility.Seconds())),
		"RedrivePolicy":     string(redrive),
	}})
	if err != nil {
		t.Fatal(err)
	}
	s.queueURL = aws.ToString(q.QueueUrl)
	s.queueARN = s.attr(t, s.queueURL, types.QueueAttributeNameQueueArn)

	var sample events.SQSEvent
	if err := json.Unmarshal(loadSample(t, w.root, "aws", "cleanup", "sqs-batch.json"), &sample); err != nil {
		t.Fatal(err)
	}
	s.template = sample.Records[0]
	s.emu = lambdaemu.Start(t, lambdaemu.Build(t, "github.com/storagegate/storagegate/functions/aws/cleanup"),
		[]string{"STORAGEGATE_CONFIG=" + w.config, "AWS_REGION=" + s.moto.Region})
	s.cliEnv = []string{"AWS_ACCESS_KEY_ID=" + s.moto.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s.moto.SecretKey, "AWS_REGION=" + s.moto.Region}
	return s
}

func (s *sqsWorld) attr(t *testing.T, queueURL string, name types.QueueAttributeName) string {
	t.Helper()
	out, err := s.client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queueURL), AttributeNames: []types.QueueAttributeName{name},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Attributes[string(name)]
}

// receive waits up to timeout for n messages (fewer if none come).
func (s *sqsWorld) receive(t *testing.T, queueURL string, n int, timeout time.Duration) []types.Message {
	t.Helper()
	var got []types.Message
	deadline := time.Now().Add(timeout)
	for len(got) < n && time.Now().Before(deadline) {
		out, err := s.client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, out.Messages...)
	}
	return got
}

// event builds the SQS event the Lambda service would send for msgs, in the
// sample's shape with the real ids, receipt handles, bodies and attributes.
func (s *sqsWorld) event(msgs []types.Message) events.SQSEvent {
	var ev events.SQSEvent
	for _, m := range msgs {
		r := s.template
		r.MessageId, r.ReceiptHandle, r.Body, r.Md5OfBody = aws.ToString(m.MessageId), aws.ToString(m.ReceiptHandle), aws.ToString(m.Body), aws.ToString(m.MD5OfBody)
		r.Attributes = m.Attributes
		r.EventSourceARN, r.AWSRegion = s.queueARN, s.moto.Region
		ev.Records = append(ev.Records, r)
	}
	return ev
}

// deliver plays the event source mapping once: invoke with the batch, then
// delete every record not in batchItemFailures. It returns the failed ids.
func (s *sqsWorld) deliver(t *testing.T, msgs []types.Message, opts ...lambdaemu.InvokeOption) []string {
	t.Helper()
	ev := s.event(msgs)
	payload, _ := json.Marshal(ev)
	out, err := s.emu.Invoke(context.Background(), payload, opts...)
	if err != nil {
		t.Fatalf("invoke: %v\n%s", err, s.emu.Logs())
	}
	var resp events.SQSEventResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	for _, r := range ev.Records {
		if !slices.Contains(failed, r.MessageId) {
			if _, err := s.client.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{
				QueueUrl: aws.String(s.queueURL), ReceiptHandle: aws.String(r.ReceiptHandle),
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return failed
}

func ids(msgs []types.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, aws.ToString(m.MessageId))
	}
	return out
}

// TestCleanupSQSPartialBatch: messages queued by `storagegate enqueue` on
// moto's SQS reach the built Lambda in one batch; the one that fails (a
// bucket the config does not name) is the only one reported, so only it
// stays on the queue; it is redelivered until maxReceiveCount, then the
// redrive policy moves it, unchanged, to the dead-letter queue.
func TestCleanupSQSPartialBatch(t *testing.T) {
	w := newCleanupWorld(t)
	s := newSQSWorld(t, w)

	a := w.seed(t, "Proj/task.aaa", 3)
	b := w.seed(t, "Proj/task.bbb", 2)
	w.put(t, "Proj/task.aaab/artifacts/keep.bin", "Proj/task.bbb.keep")
	env := append(s.cliEnv, "STORAGEGATE_CONFIG="+w.config)
	enqueueCLI(t, env, "--sqs-queue-url", s.queueURL, "--task", "aaa", w.url("Proj/task.aaa/"))
	enqueueCLI(t, env, "--sqs-queue-url", s.queueURL, "--task", "bbb", w.url(b[0]), w.url(b[1]))
	bad := enqueueCLI(t, env, "--sqs-queue-url", s.queueURL, "--task", "ccc", w.unconfigured("Proj/task.ccc/x.bin"))[0]

	msgs := s.receive(t, s.queueURL, 3, 10*time.Second)
	if len(msgs) != 3 {
		t.Fatalf("received %d messages", len(msgs))
	}
	for _, m := range msgs {
		if m.Attributes["ApproximateReceiveCount"] != "1" || m.Attributes["SentTimestamp"] == "" {
			t.Fatalf("attributes %v", m.Attributes)
		}
	}
	if failed := s.deliver(t, msgs); !slices.Equal(failed, []string{bad}) {
		t.Fatalf("batchItemFailures %v, want only %s", failed, bad)
	}
	if left := w.keys(t, "Proj/"); !slices.Equal(left, []string{"Proj/task.aaab/artifacts/keep.bin", "Proj/task.bbb.keep"}) {
		t.Fatalf("left in the bucket: %v (deleted %v and %v?)", left, a, b)
	}
	lines := waitSummaries(t, s.emu.Logs, bad, 1)
	if len(lines) != 1 || lines[0]["status"] != "permanent_failure" || !strings.Contains(s.emu.Logs(), "not-configured") {
		t.Fatalf("summary of the failed message: %v\n%s", lines, s.emu.Logs())
	}

	// Redelivered after the visibility timeout, alone; it fails again.
	again := s.receive(t, s.queueURL, 1, 10*time.Second)
	if !slices.Equal(ids(again), []string{bad}) || again[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("redelivery: %v %v", ids(again), again)
	}
	if failed := s.deliver(t, again); !slices.Equal(failed, []string{bad}) {
		t.Fatalf("second attempt: %v", failed)
	}
	// Past maxReceiveCount it is in the dead-letter queue, body intact, and
	// the main queue is empty: no endless loop.
	if more := s.receive(t, s.queueURL, 1, 2*s.visibility+time.Second); len(more) != 0 {
		t.Fatalf("still on the queue: %v", ids(more))
	}
	dead := s.receive(t, s.dlqURL, 1, 5*time.Second)
	if len(dead) != 1 || aws.ToString(dead[0].MessageId) != bad || !strings.Contains(aws.ToString(dead[0].Body), "not-configured") {
		t.Fatalf("dead-letter queue holds %v", ids(dead))
	}
	if n := len(waitSummaries(t, s.emu.Logs, bad, 2)); n != 2 {
		t.Fatalf("the poison message ran %d times, want maxReceiveCount=2", n)
	}
}

// TestCleanupSQSStoreKilledMidMessage: MinIO dies between two DeleteObjects
// calls of one message. The core retries until the Lambda deadline (minus
// its reserve) and reports the message as failed, transient; the invocation
// answers in time rather than timing out. After MinIO restarts, the
// redelivered message finishes the job.
func TestCleanupSQSStoreKilledMidMessage(t *testing.T) {
	w := newCleanupWorld(t)
	s := newSQSWorld(t, w)
	keys := w.seed(t, "Proj/task.big", 1500) // two DeleteObjects calls of up to 1,000 keys
	w.put(t, "Proj/task.bigger/keep.bin")
	if _, err := s.client.SendMessage(context.Background(), &sqs.SendMessageInput{
		QueueUrl: aws.String(s.queueURL), MessageBody: aws.String(message("big", nil, []string{w.url("Proj/task.big/")})),
	}); err != nil {
		t.Fatal(err)
	}
	// Batches go out side by side: let the first one finish, then kill
	// MinIO under the second.
	w.proxy.onDelete(func(n int64) {
		if n == 2 {
			for i := 0; i < 100 && w.proxy.deleted.Load() < 1; i++ {
				time.Sleep(50 * time.Millisecond)
			}
			w.minio.Stop()
		}
	})
	msgs := s.receive(t, s.queueURL, 1, 10*time.Second)
	start := time.Now()
	failed := s.deliver(t, msgs, lambdaemu.WithTimeout(5*time.Second))
	if took := time.Since(start); !slices.Equal(failed, ids(msgs)) || took > 5*time.Second {
		t.Fatalf("failed %v after %s", failed, took)
	}
	lines := waitSummaries(t, s.emu.Logs, ids(msgs)[0], 1)
	if len(lines) != 1 || lines[0]["status"] != "transient_failure" {
		t.Fatalf("summary %v\n%s", lines, s.emu.Logs())
	}

	w.proxy.onDelete(nil)
	w.minio.Restart()
	if left := len(w.keys(t, "Proj/task.big/")); left == 0 || left == len(keys) {
		t.Fatalf("%d of %d objects left: the kill was not mid-message", left, len(keys))
	}
	again := s.receive(t, s.queueURL, 1, 10*time.Second)
	if !slices.Equal(ids(again), ids(msgs)) {
		t.Fatalf("redelivery %v", ids(again))
	}
	if failed := s.deliver(t, again); len(failed) != 0 {
		t.Fatalf("after the restart: %v\n%s", failed, s.emu.Logs())
	}
	if left := w.keys(t, "Proj/"); !slices.Equal(left, []string{"Proj/task.bigger/keep.bin"}) {
		t.Fatalf("left: %d keys, first %v", len(left), left[:min(3, len(left))])
	}
	if lines := waitSummaries(t, s.emu.Logs, ids(msgs)[0], 2); len(lines) != 2 || lines[1]["status"] != "ok" {
		t.Fatalf("second summary %v", lines)
	}
}
