package enqueue

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/storagegate/storagegate/shared/cleanup"
)

func urls(n int, prefix string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s/My Project/train model.3f2a9c0e/artifacts/obj <%d> & \"x\".bin", prefix, i)
	}
	return out
}

// checkParts: every part fits, keeps the metadata, and together they hold
// exactly the input's items in order.
func checkParts(t *testing.T, m cleanup.Message, parts []cleanup.Message, maxBytes int) {
	t.Helper()
	var gotURLs, gotPrefixes []string
	for i, p := range parts {
		b, err := Encode(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > maxBytes {
			t.Fatalf("part %d is %d bytes, over %d", i, len(b), maxBytes)
		}
		if n := len(p.URLs) + len(p.Prefixes); n == 0 || n > cleanup.MaxItems {
			t.Fatalf("part %d holds %d items", i, n)
		}
		if p.Task != m.Task || p.Company != m.Company || p.DryRun != m.DryRun || (m.Created != nil && !p.Created.Equal(*m.Created)) {
			t.Fatalf("part %d lost metadata: %+v", i, p)
		}
		if _, err := cleanup.ParseMessage(b); err != nil {
			t.Fatalf("part %d does not parse: %v", i, err)
		}
		gotURLs = append(gotURLs, p.URLs...)
		gotPrefixes = append(gotPrefixes, p.Prefixes...)
	}
	if !slices.Equal(gotURLs, m.URLs) || !slices.Equal(gotPrefixes, m.Prefixes) {
		t.Fatalf("items lost or reordered: %d/%d urls, %d/%d prefixes", len(gotURLs), len(m.URLs), len(gotPrefixes), len(m.Prefixes))
	}
}

func TestSplitBySize(t *testing.T) {
	created := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	m := cleanup.NewMessage(append(urls(3000, "s3://clearml-artifacts"), "s3://clearml-artifacts/My Project/a.1/", "gs://d/x/y/"))
	m.Task, m.Company, m.Created, m.DryRun = "t1", "c1", &created, true
	for _, max := range []int{AzureMaxBytes, SQSMaxBytes, PubSubMaxBytes, 1000} {
		parts, err := Split(m, max)
		if err != nil {
			t.Fatal(err)
		}
		checkParts(t, m, parts, max)
		// Greedy packing: every part but the last is nearly full.
		for i, p := range parts[:len(parts)-1] {
			b, _ := Encode(p)
			if len(b) < max-200 {
				t.Errorf("max %d: part %d only %d bytes", max, i, len(b))
			}
		}
		if max == PubSubMaxBytes && len(parts) != 1 {
			t.Errorf("Pub/Sub: %d parts for %d items", len(parts), 3002)
		}
		if max == AzureMaxBytes && len(parts) < 5 {
			t.Errorf("Azure: only %d parts", len(parts))
		}
	}
}

// TestSplitAzureFitsBase64: a part for Azure is at most 64 KiB once base64-encoded.
func TestSplitAzureFitsBase64(t *testing.T) {
	parts, err := Split(cleanup.NewMessage(urls(2000, "azure://acct.blob.core.windows.net/c")), AzureMaxBytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		b, _ := Encode(p)
		if n := len(base64.StdEncoding.EncodeToString(b)); n > 64*1024 {
			t.Fatalf("base64 part of %d bytes", n)
		}
	}
}

func TestSplitByCount(t *testing.T) {
	var targets []string
	for i := range 25000 {
		targets = append(targets, fmt.Sprintf("s3://b/p/t/%d", i))
	}
	targets = append(targets, "s3://b/p/t/")
	m := cleanup.NewMessage(targets)
	parts, err := Split(m, PubSubMaxBytes)
	if err != nil {
		t.Fatal(err)
	}
	checkParts(t, m, parts, PubSubMaxBytes)
	var counts []int
	for _, p := range parts {
		counts = append(counts, len(p.URLs)+len(p.Prefixes))
	}
	if !slices.Equal(counts, []int{10000, 10000, 5001}) {
		t.Fatalf("parts of %v items", counts)
	}
	// Exactly the cap is one message.
	parts, _ = Split(cleanup.NewMessage(targets[:cleanup.MaxItems]), PubSubMaxBytes)
	if len(parts) != 1 {
		t.Fatalf("%d parts for exactly %d items", len(parts), cleanup.MaxItems)
	}
}

func TestSplitRefuses(t *testing.T) {
	if _, err := Split(cleanup.NewMessage(nil), SQSMaxBytes); err == nil {
		t.Fatal("empty message split")
	}
	huge := "s3://b/p/t/" + strings.Repeat("k", 500)
	_, err := Split(cleanup.NewMessage([]string{"s3://b/p/t/small", huge}), 200)
	var tl *ItemTooLargeError
	if !errors.As(err, &tl) || tl.MaxBytes != 200 || tl.Bytes <= 200 || !strings.Contains(err.Error(), "kkk") {
		t.Fatalf("oversized item: %v", err)
	}
}

func TestNewMessage(t *testing.T) {
	m := cleanup.NewMessage([]string{"s3://b/p/t/a.bin", "s3://b/p/t/", "gs://g/x/y"})
	if m.Version != 1 || !slices.Equal(m.URLs, []string{"s3://b/p/t/a.bin", "gs://g/x/y"}) || !slices.Equal(m.Prefixes, []string{"s3://b/p/t/"}) {
		t.Fatalf("%+v", m)
	}
}

type memQueue struct {
	max    int
	bodies [][]byte
	failAt int // 1-based publish that fails; 0 never
}

func (q *memQueue) MaxBytes() int  { return q.max }
func (q *memQueue) String() string { return "memory queue" }
func (q *memQueue) Publish(ctx context.Context, body []byte) (string, error) {
	if len(q.bodies)+1 == q.failAt {
		return "", errors.New("throttled")
	}
	q.bodies = append(q.bodies, body)
	return fmt.Sprint("id-", len(q.bodies)), nil
}

// TestEnqueueChecksBeforePublishing: an item the cleanup function would
// refuse stops the whole job before any part is queued.
func TestEnqueueChecksBeforePublishing(t *testing.T) {
	q := &memQueue{max: 2000}
	targets := append(urls(100, "s3://clearml-artifacts"), "s3://clearml-artifacts/p/../etc/passwd")
	_, err := Enqueue(context.Background(), q, cleanup.NewMessage(targets), Options{})
	if err == nil || !strings.Contains(err.Error(), "part ") || len(q.bodies) != 0 {
		t.Fatalf("err %v, %d published", err, len(q.bodies))
	}
	for _, bad := range []string{"ftp://host/x/y", "s3://bucket-only/"} {
		if _, err := Enqueue(context.Background(), q, cleanup.NewMessage([]string{bad}), Options{}); err == nil || len(q.bodies) != 0 {
			t.Fatalf("%s: %v", bad, err)
		}
	}
	sent, err := Enqueue(context.Background(), q, cleanup.NewMessage(urls(100, "s3://clearml-artifacts")), Options{})
	if err != nil || len(sent) != len(q.bodies) || len(sent) < 2 || sent[0].ID != "id-1" {
		t.Fatalf("%v %+v", err, sent)
	}
	total := 0
	for i, p := range sent {
		total += p.URLs
		if p.Bytes != len(q.bodies[i]) {
			t.Fatalf("bytes %d vs %d", p.Bytes, len(q.bodies[i]))
		}
	}
	if total != 100 {
		t.Fatalf("%d URLs sent", total)
	}
	// A failure midway says which part and returns what was sent.
	q = &memQueue{max: 2000, failAt: 2}
	sent, err = Enqueue(context.Background(), q, cleanup.NewMessage(urls(100, "s3://clearml-artifacts")), Options{})
	var pe *PublishError
	if !errors.As(err, &pe) || pe.Part != 2 || len(sent) != 1 || !strings.Contains(err.Error(), "throttled") {
		t.Fatalf("%v %+v", err, sent)
	}
}

type fakeSQS struct{ in []*sqs.SendMessageInput }

func (f *fakeSQS) SendMessage(ctx context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	f.in = append(f.in, in)
	return &sqs.SendMessageOutput{MessageId: aws.String("m1")}, nil
}

func TestSQSPublisher(t *testing.T) {
	f := &fakeSQS{}
	q := &SQS{Client: f, QueueURL: "https://sqs.eu-west-1.amazonaws.com/1/q"}
	if id, err := q.Publish(context.Background(), []byte(`{"version":1}`)); err != nil || id != "m1" {
		t.Fatal(id, err)
	}
	if f.in[0].MessageGroupId != nil || aws.ToString(f.in[0].MessageBody) != `{"version":1}` {
		t.Fatalf("standard queue: %+v", f.in[0])
	}
	q.QueueURL += ".fifo"
	_, _ = q.Publish(context.Background(), []byte(`{"version":1}`))
	if aws.ToString(f.in[1].MessageGroupId) == "" || len(aws.ToString(f.in[1].MessageDeduplicationId)) != 64 {
		t.Fatalf("FIFO queue: %+v", f.in[1])
	}
}

func TestPubSubPublisher(t *testing.T) {
	var got struct {
		Messages []struct {
			Data       []byte            `json:"data"`
			Attributes map[string]string `json:"attributes"`
		} `json:"messages"`
	}
	var path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path = r.URL.Path
		b, _ := io.ReadAll(r.Body)
		if json.Unmarshal(b, &got) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if strings.Contains(string(got.Messages[0].Data), "fail") {
			http.Error(w, `{"error":{"code":403,"message":"denied"}}`, http.StatusForbidden)
			return
		}
		w.Write([]byte(`{"messageIds":["42"]}`))
	}))
	defer srv.Close()
	p := &PubSub{Endpoint: srv.URL, Topic: "projects/p/topics/t"}
	id, err := p.Publish(context.Background(), []byte(`{"version":1}`))
	if err != nil || id != "42" || path != "/v1/projects/p/topics/t:publish" || string(got.Messages[0].Data) != `{"version":1}` {
		t.Fatalf("%q %v %s %+v", id, err, path, got)
	}
	if _, err := p.Publish(context.Background(), []byte(`fail`)); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("error answer: %v", err)
	}
}

func TestOpenRefuses(t *testing.T) {
	env := func(string) string { return "" }
	for name, d := range map[string]Destination{
		"none":        {},
		"two":         {SQSQueueURL: "https://sqs.us-east-1.amazonaws.com/1/q", PubSubTopic: "projects/p/topics/t"},
		"bad topic":   {PubSubTopic: "t"},
		"bad sqs":     {SQSQueueURL: "sqs://q"},
		"bare azure":  {AzureQueue: "storagegate-cleanup"},
		"azure path":  {AzureQueue: "https://acct.queue.core.windows.net/a/b"},
		"azure local": {AzureQueue: "http://127.0.0.1:10001/onlyaccount"},
	} {
		if _, err := Open(context.Background(), d, OpenOptions{Getenv: env}); err == nil {
			t.Errorf("%s: opened", name)
		}
	}
}

func TestQueueAccount(t *testing.T) {
	for in, want := range map[string]string{
		"https://clearmlstore.queue.core.windows.net/storagegate-cleanup":      "clearmlstore",
		"https://clearmlstore.queue.core.chinacloudapi.cn/storagegate-cleanup": "clearmlstore",
		"http://127.0.0.1:10001/devstoreaccount1/storagegate-cleanup":          "devstoreaccount1",
	} {
		if got, err := queueAccount(in); err != nil || got != want {
			t.Errorf("%s: %q %v", in, got, err)
		}
	}
}

// TestAzureQueueNameHasNoSAS: a queue client from a SAS connection string
// holds the SAS in its URL; the publisher's name, which logs and the
// sweeper's report print, must not.
func TestAzureQueueNameHasNoSAS(t *testing.T) {
	cs := "AccountName=acct;BlobEndpoint=https://acct.blob.core.windows.net/;QueueEndpoint=https://acct.queue.core.windows.net/;SharedAccessSignature=sv=2022-11-02&ss=q&srt=sco&sp=a&se=2030-01-01T00:00:00Z&sig=SECRETSIG%3D"
	p, err := openAzure("storagegate-cleanup", func(k string) string {
		if k == "AZURE_STORAGE_CONNECTION_STRING" {
			return cs
		}
		return ""
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.(*AzureQueue).Client.URL(), "sig=") {
		t.Fatalf("the client's URL %q should carry the SAS (else this test proves nothing)", p.(*AzureQueue).Client.URL())
	}
	if got := p.String(); strings.Contains(got, "sig") || strings.Contains(got, "SECRETSIG") || got != "Azure queue https://acct.queue.core.windows.net/storagegate-cleanup" {
		t.Fatalf("String() = %q", got)
	}
}
