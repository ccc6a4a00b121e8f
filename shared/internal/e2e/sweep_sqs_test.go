package e2e

import (
	"context"
	"encoding/json"
	"errors"
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

// TestSweepLambdaSQS: the built sweep Lambda, invoked with the EventBridge
// sample, queues deletion messages on moto's SQS and deletes the old
// archived tasks from the double; the built cleanup Lambda, fed those
// messages as the event source mapping would, deletes every file of theirs
// from MinIO. A failed publish (the queue is gone) leaves the tasks in
// place and is an error of the invocation; a run after it finishes the job.
func TestSweepLambdaSQS(t *testing.T) {
	w := newSweepWorld(t)
	moto := testserver.StartMoto(t)
	client := sqs.NewFromConfig(moto.AWSConfig())
	ctx := context.Background()
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("storagegate-cleanup")})
	if err != nil {
		t.Fatal(err)
	}
	queueURL := aws.ToString(q.QueueUrl)
	awsEnv := []string{"AWS_ACCESS_KEY_ID=" + moto.AccessKey, "AWS_SECRET_ACCESS_KEY=" + moto.SecretKey, "AWS_REGION=" + moto.Region}

	sweeper := lambdaemu.Start(t, lambdaemu.Build(t, "github.com/storagegate/storagegate/functions/aws/sweep"),
		append([]string{"STORAGEGATE_CONFIG=" + w.config, "STORAGEGATE_SQS_QUEUE_URL=" + queueURL}, awsEnv...))
	cleaner := lambdaemu.Start(t, lambdaemu.Build(t, "github.com/storagegate/storagegate/functions/aws/cleanup"),
		[]string{"STORAGEGATE_CONFIG=" + w.config, "AWS_REGION=" + moto.Region})
	scheduled := loadSample(t, mustRoot(t), "aws", "sweep", "eventbridge-scheduled.json")

	// The queue is down: nothing is deleted anywhere, and the invocation fails.
	moto.Process.Stop(5 * time.Second)
	_, err = sweeper.Invoke(ctx, scheduled, lambdaemu.WithTimeout(60*time.Second))
	var fe *lambdaemu.FunctionError
	if !errors.As(err, &fe) {
		t.Fatalf("sweep with the queue down: %v\n%s", err, sweeper.Logs())
	}
	w.check(t, false)
	moto = testserver.StartMoto(t)
	client = sqs.NewFromConfig(moto.AWSConfig())
	if q, err = client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("storagegate-cleanup")}); err != nil {
		t.Fatal(err)
	}
	queueURL = aws.ToString(q.QueueUrl)
	awsEnv = []string{"AWS_ACCESS_KEY_ID=" + moto.AccessKey, "AWS_SECRET_ACCESS_KEY=" + moto.SecretKey, "AWS_REGION=" + moto.Region}
	sweeper = lambdaemu.Start(t, lambdaemu.Build(t, "github.com/storagegate/storagegate/functions/aws/sweep"),
		append([]string{"STORAGEGATE_CONFIG=" + w.config, "STORAGEGATE_SQS_QUEUE_URL=" + queueURL}, awsEnv...))

	out, err := sweeper.Invoke(ctx, scheduled, lambdaemu.WithTimeout(60*time.Second))
	if err != nil {
		t.Fatalf("sweep: %v\n%s", err, sweeper.Logs())
	}
	var report map[string]any
	if err := json.Unmarshal(out, &report); err != nil || report["deleted"] != 2.0 || report["messages_published"] == 0.0 {
		t.Fatalf("report %s", out)
	}
	eventually(t, 10*time.Second, "the run's summary line", func() bool { return strings.Contains(sweeper.Logs(), `"msg":"sweep"`) })
	s := sweepSummary(t, sweeper.Logs())
	if s["deleted"] != 2.0 || !strings.Contains(s["destination"].(string), "SQS queue") {
		t.Fatalf("summary %v", s)
	}
	for _, id := range w.doomed {
		if w.cml.HasTask(id) {
			t.Fatalf("task %s still in ClearML", id)
		}
	}

	// The event source mapping's part: receive, invoke, delete what succeeded.
	var template events.SQSEvent
	_ = json.Unmarshal(loadSample(t, mustRoot(t), "aws", "cleanup", "sqs-batch.json"), &template)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		got, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Messages) == 0 {
			break
		}
		ev := events.SQSEvent{}
		for _, m := range got.Messages {
			r := template.Records[0]
			r.MessageId, r.ReceiptHandle, r.Body = aws.ToString(m.MessageId), aws.ToString(m.ReceiptHandle), aws.ToString(m.Body)
			ev.Records = append(ev.Records, r)
		}
		payload, _ := json.Marshal(ev)
		res, err := cleaner.Invoke(ctx, payload, lambdaemu.WithTimeout(60*time.Second))
		if err != nil {
			t.Fatalf("cleanup: %v\n%s", err, cleaner.Logs())
		}
		var resp events.SQSEventResponse
		_ = json.Unmarshal(res, &resp)
		if len(resp.BatchItemFailures) != 0 {
			t.Fatalf("cleanup failed %v\n%s", resp.BatchItemFailures, cleaner.Logs())
		}
		var entries []types.DeleteMessageBatchRequestEntry
		for _, m := range got.Messages {
			entries = append(entries, types.DeleteMessageBatchRequestEntry{Id: m.MessageId, ReceiptHandle: m.ReceiptHandle})
		}
		if _, err := client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: entries}); err != nil {
			t.Fatal(err)
		}
	}
	w.check(t, true)

	// Nothing more to do on the next tick.
	out, err = sweeper.Invoke(ctx, scheduled, lambdaemu.WithTimeout(60*time.Second))
	if err != nil || !strings.Contains(string(out), `"deleted":0`) {
		t.Fatalf("second tick: %v %s", err, out)
	}
	if logs := sweeper.Logs() + cleaner.Logs(); strings.Contains(logs, "sweep-secret-0123456789") || strings.Contains(logs, w.minio.SecretKey) {
		t.Fatal("a function logged a secret")
	}
}

func mustRoot(t *testing.T) string {
	t.Helper()
	root, err := testserver.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// lastRun keeps the log lines from the last sweep summary's run: every
// line after the previous summary.
func lastRun(logs string) string {
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	start := 0
	for i := 0; i < len(lines)-1; i++ {
		if strings.Contains(lines[i], `"msg":"sweep"`) {
			start = i + 1
		}
	}
	return strings.Join(lines[start:], "\n")
}
