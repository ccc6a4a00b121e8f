package e2e

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
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

// sqsWorld is a queue on moto_server with a dead-letter queue behind a real
// redrive policy (moto moves a message whose receive count passed
// maxReceiveCount), the built cleanup Lambda under the Runtime API
// emulator, and the test in the part of the Lambda event source mapping,
// which no emulator plays. The mapping's rules followed here, from "Using
// Lambda with Amazon SQS" and "Handling errors for an SQS event source in
// Lambda" (docs/testing.md):
//   - it long-polls the queue and invokes the function synchronously with a
//     batch of up to 10 records, each with the message's id, receipt handle,
//     body, MD5 and system attributes;
//   - with ReportBatchItemFailures, a successful invocation deletes every
//     record not named in batchItemFailures; a response naming an id that is
//     not in the batch, or an empty one, fails the whole batch;
//   - an invocation that fails (function error, timeout, a runtime that
//     died) fails the whole batch: nothing is deleted, and each message
//     becomes visible again when its visibility timeout ends.
//
// The queue's visibility timeout is short so that redeliveries come within
// the test; AWS requires it to be at least the function's timeout, which the
// stand-in needs not, since it delivers one batch at a time.
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
	maxReceive int
}

func newSQSWorld(t *testing.T, w *cleanupWorld, maxReceive int, visibility time.Duration) *sqsWorld {
	t.Helper()
	s := &sqsWorld{moto: testserver.StartMoto(t), visibility: visibility, maxReceive: maxReceive}
	s.client = sqs.NewFromConfig(s.moto.AWSConfig())
	ctx := context.Background()
	dlq, err := s.client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("storagegate-cleanup-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	s.dlqURL = aws.ToString(dlq.QueueUrl)
	dlqARN := s.attrs(t, s.dlqURL, types.QueueAttributeNameQueueArn)[string(types.QueueAttributeNameQueueArn)]
	redrive, _ := json.Marshal(map[string]string{"deadLetterTargetArn": dlqARN, "maxReceiveCount": fmt.Sprint(maxReceive)})
	q, err := s.client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("storagegate-cleanup"), Attributes: map[string]string{
		"VisibilityTimeout": fmt.Sprint(int(visibility.Seconds())),
		"RedrivePolicy":     string(redrive),
	}})
	if err != nil {
		t.Fatal(err)
	}
	s.queueURL = aws.ToString(q.QueueUrl)
	s.queueARN = s.attrs(t, s.queueURL, types.QueueAttributeNameQueueArn)[string(types.QueueAttributeNameQueueArn)]

	var sample events.SQSEvent
	if err := json.Unmarshal(loadSample(t, w.root, "aws", "cleanup", "sqs-batch.json"), &sample); err != nil {
		t.Fatal(err)
	}
	s.template = sample.Records[0]
	s.emu = lambdaemu.Start(t, buildLambda(t, "./functions/aws/cleanup"),
		[]string{"STORAGEGATE_CONFIG=" + w.config, "AWS_REGION=" + s.moto.Region})
	s.cliEnv = []string{"AWS_ACCESS_KEY_ID=" + s.moto.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s.moto.SecretKey, "AWS_REGION=" + s.moto.Region}
	return s
}

// buildLambda builds a Lambda main package as deployed (lambdaemu.BuildTo),
// once per test binary run.
func buildLambda(t *testing.T, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	key := "lambda:" + pkg
	if out, ok := built[key]; ok {
		return out
	}
	out := filepath.Join(binDir, "lambda-"+strings.ReplaceAll(strings.Trim(pkg, "./"), "/", "-"), "bootstrap")
	root, _ := testserver.ModuleRoot()
	if err := lambdaemu.BuildTo(filepath.Join(root, pkg), out); err != nil {
		t.Fatal(err)
	}
	built[key] = out
	return out
}

func (s *sqsWorld) attrs(t *testing.T, queueURL string, names ...types.QueueAttributeName) map[string]string {
	t.Helper()
	out, err := s.client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queueURL), AttributeNames: names,
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Attributes
}

// depth is a queue's visible and in-flight message counts.
func (s *sqsWorld) depth(t *testing.T, queueURL string) (visible, inFlight string) {
	t.Helper()
	a := s.attrs(t, queueURL, types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)
	return a["ApproximateNumberOfMessages"], a["ApproximateNumberOfMessagesNotVisible"]
}

// send queues body as it is and returns the message id.
func (s *sqsWorld) send(t *testing.T, body string) string {
	t.Helper()
	out, err := s.client.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(s.queueURL), MessageBody: aws.String(body)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.MessageId)
}

// poll is one long poll of queueURL (up to 10 messages, waiting up to a
// second), as the event source mapping's pollers make.
func (s *sqsWorld) poll(t *testing.T, queueURL string, max int32) []types.Message {
	t.Helper()
	out, err := s.client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(queueURL), MaxNumberOfMessages: max, WaitTimeSeconds: 1,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Messages
}

// receive polls queueURL until it has n distinct messages or timeout
// passes. A message that came back meanwhile (its visibility timeout
// ended) is a failure: the caller would otherwise count it twice.
func (s *sqsWorld) receive(t *testing.T, queueURL string, n int, timeout time.Duration) []types.Message {
	t.Helper()
	var got []types.Message
	deadline := time.Now().Add(timeout)
	for len(got) < n && time.Now().Before(deadline) {
		for _, m := range s.poll(t, queueURL, int32(min(n-len(got), 10))) {
			if slices.Contains(ids(got), aws.ToString(m.MessageId)) {
				t.Fatalf("message %s received again before the batch was complete", aws.ToString(m.MessageId))
			}
			got = append(got, m)
		}
	}
	return got
}

// next waits up to timeout for the next batch the mapping would receive.
func (s *sqsWorld) next(t *testing.T, timeout time.Duration) []types.Message {
	t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); {
		if msgs := s.poll(t, s.queueURL, 10); len(msgs) > 0 {
			return msgs
		}
	}
	return nil
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

// delivery is one invocation by the event source mapping.
type delivery struct {
	ids    []string // the batch, in order
	failed []string // batchItemFailures, or every id when the invocation failed
	err    error    // the invocation's failure, if it failed as a whole
}

// deliver plays the event source mapping once for msgs: invoke with the
// batch, then delete what the rules above say is done.
func (s *sqsWorld) deliver(t *testing.T, msgs []types.Message, opts ...lambdaemu.InvokeOption) delivery {
	t.Helper()
	ev := s.event(msgs)
	d := delivery{ids: ids(msgs)}
	payload, _ := json.Marshal(ev)
	out, err := s.emu.Invoke(context.Background(), payload, opts...)
	if err != nil {
		d.err, d.failed = err, d.ids
		return d
	}
	var resp events.SQSEventResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
	for _, f := range resp.BatchItemFailures {
		if !slices.Contains(d.ids, f.ItemIdentifier) {
			// Lambda fails the whole batch on an invalid response; the
			// function must never send one, so the test stops here.
			t.Fatalf("batchItemFailures names %q, not in the batch %v", f.ItemIdentifier, d.ids)
		}
		d.failed = append(d.failed, f.ItemIdentifier)
	}
	for _, r := range ev.Records {
		if !slices.Contains(d.failed, r.MessageId) {
			if _, err := s.client.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{
				QueueUrl: aws.String(s.queueURL), ReceiptHandle: aws.String(r.ReceiptHandle),
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return d
}

// drain runs the event source mapping until the queue holds nothing, visible
// or in flight, and returns its deliveries. Messages that keep failing come
// back after each visibility timeout until moto's redrive moves them.
func (s *sqsWorld) drain(t *testing.T, timeout time.Duration, opts ...lambdaemu.InvokeOption) []delivery {
	t.Helper()
	var out []delivery
	deadline := time.Now().Add(timeout)
	for {
		if time.Now().After(deadline) {
			t.Fatalf("the queue was not empty after %s; deliveries %+v", timeout, out)
		}
		if msgs := s.poll(t, s.queueURL, 10); len(msgs) > 0 {
			out = append(out, s.deliver(t, msgs, opts...))
			continue
		}
		if v, f := s.depth(t, s.queueURL); v == "0" && f == "0" {
			return out
		}
	}
}

func ids(msgs []types.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, aws.ToString(m.MessageId))
	}
	return out
}

// deadLetter checks that the dead-letter queue holds exactly one message,
// id, byte for byte the body that was sent.
func (s *sqsWorld) deadLetter(t *testing.T, id, body string) {
	t.Helper()
	if v, f := s.depth(t, s.dlqURL); v != "1" || f != "0" {
		t.Fatalf("dead-letter queue depth: %s visible, %s in flight; want exactly 1", v, f)
	}
	dead := s.receive(t, s.dlqURL, 1, 5*time.Second)
	sum := md5.Sum([]byte(body))
	if len(dead) != 1 || aws.ToString(dead[0].MessageId) != id || aws.ToString(dead[0].Body) != body ||
		aws.ToString(dead[0].MD5OfBody) != hex.EncodeToString(sum[:]) {
		t.Fatalf("dead-letter queue holds %v, want %s with the body sent:\n%s", dead, id, body)
	}
}

// TestCleanupSQSPartialBatch: messages queued by `storagegate enqueue` on
// moto's SQS reach the built Lambda in one batch; the one that fails (a
// bucket the config does not name, a permanent failure) is the only one
// reported, so only it stays on the queue. It fails on each of the
// maxReceiveCount deliveries, and moto's redrive moves it, byte for byte,
// to the dead-letter queue.
func TestCleanupSQSPartialBatch(t *testing.T) {
	w := newCleanupWorld(t)
	s := newSQSWorld(t, w, 3, time.Second)

	w.seed(t, "Proj/task.aaa", 3)
	b := w.seed(t, "Proj/task.bbb", 2)
	w.put(t, "Proj/task.aaab/artifacts/keep.bin", "Proj/task.bbb.keep")
	env := append(s.cliEnv, "STORAGEGATE_CONFIG="+w.config)
	good := enqueueCLI(t, env, "--sqs-queue-url", s.queueURL, "--task", "aaa", w.url("Proj/task.aaa/"))
	good = append(good, enqueueCLI(t, env, "--sqs-queue-url", s.queueURL, "--task", "bbb", w.url(b[0]), w.url(b[1]))...)
	badURL := w.unconfigured("Proj/task.ccc/x.bin")
	badBody := message("ccc", []string{badURL}, nil)
	bad := s.send(t, badBody)

	msgs := s.receive(t, s.queueURL, 3, 10*time.Second)
	if len(msgs) != 3 {
		t.Fatalf("received %d messages", len(msgs))
	}
	first := s.deliver(t, msgs)
	if first.err != nil || !slices.Equal(first.failed, []string{bad}) {
		t.Fatalf("batch %v: batchItemFailures %v (%v), want only %s", first.ids, first.failed, first.err, bad)
	}
	if left := w.keys(t, "Proj/"); !slices.Equal(left, []string{"Proj/task.aaab/artifacts/keep.bin", "Proj/task.bbb.keep"}) {
		t.Fatalf("left in the bucket: %v", left)
	}

	rest := s.drain(t, 30*time.Second)
	for _, d := range rest {
		if d.err != nil || !slices.Equal(d.ids, []string{bad}) || !slices.Equal(d.failed, []string{bad}) {
			t.Fatalf("redelivery %+v: want only %s, failed", d, bad)
		}
	}
	s.deadLetter(t, bad, badBody)

	// The attempts as the function saw them: one summary and one failure
	// line per delivery, exactly maxReceiveCount.
	logs := waitSummaries(t, s.emu.WaitLogs, bad, s.maxReceive, 10*time.Second)
	sums, fails := summaries(logs, bad), failureLines(logs, bad)
	if len(sums) != s.maxReceive || len(fails) != s.maxReceive {
		t.Fatalf("the failing message ran %d times (%d failure lines), want maxReceiveCount=%d", len(sums), len(fails), s.maxReceive)
	}
	for i := range sums {
		checkFields(t, "summary", sums[i], map[string]any{"status": "permanent_failure", "level": "ERROR", "task": "ccc",
			"urls": 1, "prefixes": 0, "deleted": 0, "failed": 1, "transient_failures": 0, "permanent_failures": 1})
		checkFields(t, "failure line", fails[i], map[string]any{"level": "ERROR", "url": badURL, "code": "not_configured",
			"transient": false, "reason": "no storage credentials are configured for s3://" + w.proxy.hostPort + "/not-configured"})
	}
	for _, id := range good {
		if l := summaries(logs, id); len(l) != 1 || l[0]["status"] != "ok" {
			t.Errorf("good message %s: summaries %v, want one ok", id, l)
		}
	}
}

// TestCleanupSQSStoreStaysDown: a message whose store answers 503 to every
// request fails transiently on every delivery; it is redelivered after each
// visibility timeout and, after exactly maxReceiveCount attempts, moto's
// redrive moves it, byte for byte, to the dead-letter queue. The good
// messages of its first batch are deleted and never come back.
func TestCleanupSQSStoreStaysDown(t *testing.T) {
	w := newCleanupWorld(t)
	s := newSQSWorld(t, w, 3, time.Second)
	a := w.seed(t, "Proj/task.up1", 3)
	w.seed(t, "Proj/task.up2", 2)
	w.put(t, "Proj/task.up1x/keep.bin", "Proj/up2.keep")
	env := append(s.cliEnv, "STORAGEGATE_CONFIG="+w.config)
	good := enqueueCLI(t, env, "--sqs-queue-url", s.queueURL, "--task", "up1", w.url(a[0]), w.url("Proj/task.up1/"))
	good = append(good, enqueueCLI(t, env, "--sqs-queue-url", s.queueURL, "--task", "up2", w.url("Proj/task.up2/"))...)
	badPrefix := w.down("Proj/task.down/")
	badBody := message("down", nil, []string{badPrefix})
	bad := s.send(t, badBody)

	// A Lambda timeout of 2 s: each attempt retries the store until the
	// deadline (less its reserve), then answers the batch.
	timeout := lambdaemu.WithTimeout(2 * time.Second)
	msgs := s.receive(t, s.queueURL, 3, 10*time.Second)
	if len(msgs) != 3 {
		t.Fatalf("received %d messages", len(msgs))
	}
	storeCalls := []int64{w.proxy.outage.Load()}
	first := s.deliver(t, msgs, timeout)
	storeCalls = append(storeCalls, w.proxy.outage.Load())
	if first.err != nil || !slices.Equal(first.failed, []string{bad}) {
		t.Fatalf("batch %v: batchItemFailures %v (%v), want only %s\n%s", first.ids, first.failed, first.err, bad, tail(s.emu.Logs(), 20))
	}
	if left := w.keys(t, "Proj/"); !slices.Equal(left, []string{"Proj/task.up1x/keep.bin", "Proj/up2.keep"}) {
		t.Fatalf("left in the bucket: %v", left)
	}
	for {
		msgs := s.next(t, 3*s.visibility)
		if len(msgs) == 0 {
			break
		}
		d := s.deliver(t, msgs, timeout)
		storeCalls = append(storeCalls, w.proxy.outage.Load())
		if d.err != nil || !slices.Equal(d.ids, []string{bad}) || !slices.Equal(d.failed, []string{bad}) {
			t.Fatalf("redelivery %+v: want only %s, failed", d, bad)
		}
	}
	if v, f := s.depth(t, s.queueURL); v != "0" || f != "0" {
		t.Fatalf("the queue still holds %s visible, %s in flight", v, f)
	}
	s.deadLetter(t, bad, badBody)

	logs := waitSummaries(t, s.emu.WaitLogs, bad, s.maxReceive, 10*time.Second)
	checkOutageRuns(t, logs, bad, badPrefix, good, s.maxReceive, "maxReceiveCount")
	// Each attempt reached the store: the failure is the store's, every time.
	for i := 1; i < len(storeCalls); i++ {
		if storeCalls[i] <= storeCalls[i-1] {
			t.Errorf("attempt %d sent no request to the store (%v)", i, storeCalls)
		}
	}
	if !strings.Contains(logs, good[0]) || strings.Contains(logs, w.secret) {
		t.Error("the function's logs lack a good message or hold the store's secret")
	}
}

// TestCleanupSQSStoreDownMidMessage: the store goes down once the first
// DeleteObjects of a 1,500-object prefix is answered (concurrency 1, so the
// second batch comes after). The core retries until the Lambda deadline less
// its reserve and reports the message as failed, transient, in time; once
// the store is back, the redelivered message finishes the job.
func TestCleanupSQSStoreDownMidMessage(t *testing.T) {
	w := newCleanupWorld(t, func(c map[string]any) { c["concurrency"] = 1 })
	s := newSQSWorld(t, w, 3, time.Second)
	w.seed(t, "Proj/task.big", 1500)
	w.put(t, "Proj/task.bigger/keep.bin")
	id := s.send(t, message("big", nil, []string{w.url("Proj/task.big/")}))
	wentDown := w.proxy.downWhen(func(answered map[string]bool) bool { return len(answered) >= 1000 })

	msgs := s.receive(t, s.queueURL, 1, 10*time.Second)
	start := time.Now()
	const lambdaTimeout = 3 * time.Second
	d := s.deliver(t, msgs, lambdaemu.WithTimeout(lambdaTimeout))
	took := time.Since(start)
	select {
	case <-wentDown:
	default:
		t.Fatal("the store never went down")
	}
	// The core stops when the next backoff would pass its deadline (3 s less
	// a tenth): no later than that, and no sooner than the deadline less the
	// longest backoff step it reaches (1.6 s with the default backoff).
	if d.err != nil || !slices.Equal(d.failed, []string{id}) || took > lambdaTimeout || took < time.Second {
		t.Fatalf("failed %v (%v) after %s, want the message reported between 1 s and %s", d.failed, d.err, took, lambdaTimeout)
	}
	logs := waitSummaries(t, s.emu.WaitLogs, id, 1, 10*time.Second)
	sum := summaries(logs, id)[0]
	checkFields(t, "first summary", sum, map[string]any{"status": "transient_failure", "deleted": 1000, "already_absent": 0,
		"failed": 500, "transient_failures": 500, "permanent_failures": 0})
	fails := failureLines(logs, id)
	if len(fails) != 500 {
		t.Fatalf("%d failure lines, want one per key of the batch that failed (500)", len(fails))
	}
	if r, _ := fails[0]["reason"].(string); fails[0]["code"] != "transient" || !strings.Contains(r, "gave up at the deadline") {
		t.Errorf("failure line %v", fails[0])
	}
	if left := w.keys(t, "Proj/task.big/"); len(left) != 500 {
		t.Fatalf("%d objects left, want the 500 of the second batch", len(left))
	}

	w.proxy.up()
	again := s.next(t, 10*time.Second)
	if !slices.Equal(ids(again), []string{id}) {
		t.Fatalf("redelivery %v", ids(again))
	}
	if d := s.deliver(t, again); d.err != nil || len(d.failed) != 0 {
		t.Fatalf("after the store came back: %+v\n%s", d, tail(s.emu.Logs(), 20))
	}
	if left := w.keys(t, "Proj/"); !slices.Equal(left, []string{"Proj/task.bigger/keep.bin"}) {
		t.Fatalf("left: %d keys, first %v", len(left), left[:min(3, len(left))])
	}
	logs = waitSummaries(t, s.emu.WaitLogs, id, 2, 10*time.Second)
	checkFields(t, "second summary", summaries(logs, id)[1], map[string]any{"status": "ok", "deleted": 500, "failed": 0})
}

// TestCleanupSQSLambdaKilled: the built Lambda, under the Runtime API
// emulator, is killed (SIGKILL) while it deletes a 5,000-object prefix: the
// store has answered the message's three objects and at least half of the
// prefix, and drops every later request. The invocation fails, so the event
// source mapping deletes nothing; the message comes back after its
// visibility timeout, a fresh runtime finishes the job, and its summary
// counts the objects the killed run had removed as already absent.
func TestCleanupSQSLambdaKilled(t *testing.T) {
	w := newCleanupWorld(t, func(c map[string]any) { c["concurrency"] = 2 })
	s := newSQSWorld(t, w, 3, 2*time.Second)
	k := newKillJob(t, w)
	id := s.send(t, k.body)

	msgs := s.receive(t, s.queueURL, 1, 10*time.Second)
	killed := make(chan delivery, 1)
	go func() { killed <- s.deliver(t, msgs) }()
	k.awaitHalfway(t, func() { s.emu.Kill() })
	d := <-killed
	var fe *lambdaemu.FunctionError
	if !errors.As(d.err, &fe) || fe.Type != "Runtime.ExitError" || !strings.HasSuffix(fe.Message, "signal: killed") {
		t.Fatalf("the killed invocation: %+v", d)
	}
	if n := len(summaries(s.emu.Logs(), id)); n != 0 {
		t.Fatalf("the killed run logged %d summaries", n)
	}
	remaining := k.afterKill(t)

	again := s.next(t, 10*time.Second)
	if !slices.Equal(ids(again), []string{id}) || again[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("redelivery: %v %v", ids(again), again)
	}
	if d := s.deliver(t, again); d.err != nil || len(d.failed) != 0 {
		t.Fatalf("the redelivery: %+v\n%s", d, tail(s.emu.Logs(), 20))
	}
	logs := waitSummaries(t, s.emu.WaitLogs, id, 1, 10*time.Second)
	k.finished(t, summaries(logs, id), remaining)
	if v, f := s.depth(t, s.queueURL); v != "0" || f != "0" {
		t.Fatalf("the queue still holds %s visible, %s in flight", v, f)
	}
}
