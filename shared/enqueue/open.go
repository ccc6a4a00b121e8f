package enqueue

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"golang.org/x/oauth2/google"
)

// Environment variables that name a destination when no flag does.
const (
	EnvSQSQueueURL = "STORAGEGATE_SQS_QUEUE_URL"
	EnvPubSubTopic = "STORAGEGATE_PUBSUB_TOPIC"
	EnvAzureQueue  = "STORAGEGATE_AZURE_QUEUE"
)

// Destination names exactly one queue.
type Destination struct {
	// SQSQueueURL is the queue URL, e.g.
	// https://sqs.eu-west-1.amazonaws.com/123456789012/storagegate-cleanup.
	SQSQueueURL string
	// PubSubTopic is projects/PROJECT/topics/TOPIC.
	PubSubTopic string
	// AzureQueue is the queue URL
	// (https://ACCOUNT.queue.core.windows.net/QUEUE, or an emulator's
	// http://HOST:PORT/ACCOUNT/QUEUE), or a bare queue name in the account of
	// AZURE_STORAGE_CONNECTION_STRING (or AzureWebJobsStorage).
	AzureQueue string
}

// FromEnv fills the destination from the STORAGEGATE_* variables.
func FromEnv(getenv func(string) string) Destination {
	return Destination{SQSQueueURL: getenv(EnvSQSQueueURL), PubSubTopic: getenv(EnvPubSubTopic), AzureQueue: getenv(EnvAzureQueue)}
}

// IsZero reports whether no queue is named.
func (d Destination) IsZero() bool { return d == Destination{} }

// OpenOptions supply credentials that are not in the environment.
type OpenOptions struct {
	// Getenv reads the environment; nil is os.Getenv.
	Getenv func(string) string
	// AzureAccountKey returns a storage account's key (from the config's
	// storage.azure.containers), or "".
	AzureAccountKey func(account string) string
}

var topicRE = regexp.MustCompile(`^projects/[^/]+/topics/[^/]+$`)

// Open connects to the destination with the platform's usual credentials:
// the AWS SDK's default chain for SQS (region and, off AWS, endpoint from
// the queue URL); Application Default Credentials for Pub/Sub, or none
// with PUBSUB_EMULATOR_HOST; for Azure a connection string, AZURE_STORAGE_KEY,
// the config's account key, or else Entra ID (DefaultAzureCredential, with
// the Storage Queue Data Message Sender role).
func Open(ctx context.Context, d Destination, o OpenOptions) (Publisher, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	n := 0
	for _, v := range []string{d.SQSQueueURL, d.PubSubTopic, d.AzureQueue} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return nil, errors.New("enqueue: name exactly one queue: --sqs-queue-url, --pubsub-topic or --azure-queue (or " +
			EnvSQSQueueURL + ", " + EnvPubSubTopic + ", " + EnvAzureQueue + ")")
	}
	switch {
	case d.SQSQueueURL != "":
		return openSQS(ctx, d.SQSQueueURL, getenv)
	case d.PubSubTopic != "":
		return openPubSub(ctx, d.PubSubTopic, getenv)
	}
	return openAzure(d.AzureQueue, getenv, o.AzureAccountKey)
}

var sqsRegionRE = regexp.MustCompile(`^(?:sqs\.)?([a-z0-9-]+)\.(?:queue\.)?amazonaws\.com(?:\.cn)?$`)

func openSQS(ctx context.Context, queueURL string, getenv func(string) string) (Publisher, error) {
	u, err := url.Parse(queueURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.Trim(u.Path, "/") == "" {
		return nil, fmt.Errorf("enqueue: --sqs-queue-url %q is not a queue URL such as https://sqs.eu-west-1.amazonaws.com/123456789012/storagegate-cleanup", queueURL)
	}
	var opts []func(*awsconfig.LoadOptions) error
	var endpoint string
	if m := sqsRegionRE.FindStringSubmatch(u.Hostname()); m != nil {
		if getenv("AWS_REGION") == "" && getenv("AWS_DEFAULT_REGION") == "" {
			opts = append(opts, awsconfig.WithRegion(m[1]))
		}
	} else {
		// Not AWS (LocalStack, moto, ElasticMQ): the queue URL's host is the
		// endpoint, and a region is only needed for signing.
		endpoint = u.Scheme + "://" + u.Host
		if getenv("AWS_REGION") == "" && getenv("AWS_DEFAULT_REGION") == "" {
			opts = append(opts, awsconfig.WithRegion("us-east-1"))
		}
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("enqueue: AWS config: %w", err)
	}
	client := sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	return &SQS{Client: client, QueueURL: queueURL}, nil
}

func openPubSub(ctx context.Context, topic string, getenv func(string) string) (Publisher, error) {
	if !topicRE.MatchString(topic) {
		return nil, fmt.Errorf("enqueue: --pubsub-topic %q is not projects/PROJECT/topics/TOPIC", topic)
	}
	if host := getenv("PUBSUB_EMULATOR_HOST"); host != "" {
		return &PubSub{Endpoint: "http://" + host, Topic: topic}, nil
	}
	client, err := google.DefaultClient(ctx, "https://www.googleapis.com/auth/pubsub")
	if err != nil {
		return nil, fmt.Errorf("enqueue: Google credentials: %w", err)
	}
	return &PubSub{HTTP: client, Endpoint: "https://pubsub.googleapis.com", Topic: topic}, nil
}

func openAzure(queue string, getenv func(string) string, accountKey func(string) string) (Publisher, error) {
	if !strings.Contains(queue, "://") {
		cs := getenv("AZURE_STORAGE_CONNECTION_STRING")
		if cs == "" {
			cs = getenv("AzureWebJobsStorage")
		}
		if cs == "" {
			return nil, fmt.Errorf("enqueue: --azure-queue %q is a queue name: set AZURE_STORAGE_CONNECTION_STRING, or give the queue's URL", queue)
		}
		c, err := azqueue.NewQueueClientFromConnectionString(cs, queue, nil)
		if err != nil {
			return nil, fmt.Errorf("enqueue: AZURE_STORAGE_CONNECTION_STRING: %w", err)
		}
		return &AzureQueue{Client: c}, nil
	}
	account, err := queueAccount(queue)
	if err != nil {
		return nil, err
	}
	key := getenv("AZURE_STORAGE_KEY")
	if key == "" && accountKey != nil {
		key = accountKey(account)
	}
	if key != "" {
		cred, err := azqueue.NewSharedKeyCredential(account, key)
		if err != nil {
			return nil, fmt.Errorf("enqueue: the account key of %s: %w", account, err)
		}
		c, err := azqueue.NewQueueClientWithSharedKeyCredential(queue, cred, nil)
		if err != nil {
			return nil, fmt.Errorf("enqueue: %w", err)
		}
		return &AzureQueue{Client: c}, nil
	}
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return nil, fmt.Errorf("enqueue: no key for storage account %s and no Entra ID credential: %w", account, err)
	}
	c, err := azqueue.NewQueueClient(queue, cred, nil)
	if err != nil {
		return nil, fmt.Errorf("enqueue: %w", err)
	}
	return &AzureQueue{Client: c}, nil
}

// queueAccount finds the storage account in a queue URL: the host's first
// label on Azure (ACCOUNT.queue.core.windows.net), the first path segment on
// an emulator (http://127.0.0.1:10001/ACCOUNT/QUEUE).
func queueAccount(queueURL string) (string, error) {
	u, err := url.Parse(queueURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("enqueue: --azure-queue %q is not a queue URL such as https://ACCOUNT.queue.core.windows.net/storagegate-cleanup", queueURL)
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	if label, rest, ok := strings.Cut(u.Hostname(), "."); ok && strings.HasPrefix(rest, "queue.") {
		if len(segs) != 1 || segs[0] == "" {
			return "", fmt.Errorf("enqueue: --azure-queue %q: the path must be the queue's name", queueURL)
		}
		return label, nil
	}
	if len(segs) != 2 || segs[0] == "" || segs[1] == "" {
		return "", fmt.Errorf("enqueue: --azure-queue %q: an emulator's queue URL is http://HOST:PORT/ACCOUNT/QUEUE", queueURL)
	}
	return segs[0], nil
}
