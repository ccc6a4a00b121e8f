package enqueue

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// SQSAPI is the part of *sqs.Client that SQS uses.
type SQSAPI interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// SQS publishes to one SQS queue.
type SQS struct {
	Client   SQSAPI
	QueueURL string
}

func (q *SQS) MaxBytes() int  { return SQSMaxBytes }
func (q *SQS) String() string { return "SQS queue " + q.QueueURL }

// Publish sends the body as one message. On a FIFO queue the message group
// is the queue itself and the deduplication id the body's hash, so a resent
// part within five minutes is not queued twice.
func (q *SQS) Publish(ctx context.Context, body []byte) (string, error) {
	in := &sqs.SendMessageInput{QueueUrl: aws.String(q.QueueURL), MessageBody: aws.String(string(body))}
	if strings.HasSuffix(q.QueueURL, ".fifo") {
		in.MessageGroupId = aws.String("storagegate-cleanup")
		in.MessageDeduplicationId = aws.String(contentID(body))
	}
	out, err := q.Client.SendMessage(ctx, in)
	if err != nil {
		return "", err
	}
	return aws.ToString(out.MessageId), nil
}

// PubSub publishes to one Pub/Sub topic over the REST API, which needs no
// gRPC stack in the binary.
type PubSub struct {
	// HTTP carries the credentials (an oauth2 transport); none for the
	// emulator.
	HTTP *http.Client
	// Endpoint is https://pubsub.googleapis.com, or the emulator's URL.
	Endpoint string
	// Topic is projects/PROJECT/topics/TOPIC.
	Topic string
}

func (p *PubSub) MaxBytes() int  { return PubSubMaxBytes }
func (p *PubSub) String() string { return "Pub/Sub topic " + p.Topic }

// Publish sends the body as one message's data.
func (p *PubSub) Publish(ctx context.Context, body []byte) (string, error) {
	req, err := json.Marshal(map[string]any{"messages": []any{map[string]any{
		"data":       base64.StdEncoding.EncodeToString(body),
		"attributes": map[string]string{"content-type": "application/json", "schema": "deletion-message.v1"},
	}}})
	if err != nil {
		return "", err
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(p.Endpoint, "/")+"/v1/"+p.Topic+":publish", bytes.NewReader(req))
	if err != nil {
		return "", err
	}
	r.Header.Set("Content-Type", "application/json")
	client := p.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(r)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("Pub/Sub answered %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	var out struct {
		MessageIDs []string `json:"messageIds"`
	}
	if err := json.Unmarshal(b, &out); err != nil || len(out.MessageIDs) != 1 {
		return "", fmt.Errorf("Pub/Sub answered %s with %q", resp.Status, b)
	}
	return out.MessageIDs[0], nil
}

// AzureQueue publishes to one Storage Queue.
type AzureQueue struct {
	Client *azqueue.QueueClient
}

func (a *AzureQueue) MaxBytes() int { return AzureMaxBytes }

// String names the queue by its URL without the query: a client made from a
// SAS connection string carries the SAS (a signature) there, and this name
// reaches logs and reports (the sweeper's destination).
func (a *AzureQueue) String() string {
	u, _, _ := strings.Cut(a.Client.URL(), "?")
	return "Azure queue " + u
}

// Publish sends the body base64-encoded, as the Functions host's queue
// trigger expects by default, and with no expiry: a queue's default seven
// days would drop a deletion job that waits out an outage.
func (a *AzureQueue) Publish(ctx context.Context, body []byte) (string, error) {
	ttl := int32(-1)
	out, err := a.Client.EnqueueMessage(ctx, base64.StdEncoding.EncodeToString(body), &azqueue.EnqueueMessageOptions{TimeToLive: &ttl})
	if err != nil {
		return "", err
	}
	if len(out.Messages) == 0 || out.Messages[0] == nil || out.Messages[0].MessageID == nil {
		return "", nil
	}
	return *out.Messages[0].MessageID, nil
}

// contentID identifies a body by its content.
func contentID(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}
