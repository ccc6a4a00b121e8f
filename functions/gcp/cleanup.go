package gcp

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/storagegate/storagegate/shared/app"
	"github.com/storagegate/storagegate/shared/cleanup"
)

// MessagePublishedData is the data of a Pub/Sub CloudEvent
// (google.cloud.pubsub.topic.v1.messagePublished). Google's own Go type for
// it is not available from the module proxy; this is its JSON shape.
type MessagePublishedData struct {
	Message      PubsubMessage `json:"message"`
	Subscription string        `json:"subscription"`
}

// PubsubMessage is the published message; Data arrives base64-encoded in
// the JSON and is decoded here.
type PubsubMessage struct {
	Data        []byte            `json:"data"`
	Attributes  map[string]string `json:"attributes,omitempty"`
	MessageID   string            `json:"messageId"`
	PublishTime string            `json:"publishTime"`
	OrderingKey string            `json:"orderingKey,omitempty"`
}

// init registers the CloudEvent function Cleanup. The pipeline is built at
// instance start-up when this instance serves Cleanup (FUNCTION_TARGET), so
// an invalid config fails the instance rather than every message, and an
// instance serving Presign does not build it.
func init() {
	var p processor
	if t := os.Getenv("FUNCTION_TARGET"); t == "" || t == "Cleanup" {
		p = app.CleanupOrExit(nil)
	}
	functions.CloudEvent("Cleanup", cleanupHandler(p))
}

// processor is the part of *cleanup.Pipeline this function uses.
type processor interface {
	Process(ctx context.Context, body []byte) cleanup.Summary
}

// cleanupHandler runs the message's data through the queue path. A non-nil
// error makes the Functions Framework answer 500, so Pub/Sub redelivers the
// message and, after the subscription's maximum delivery attempts, sends it
// to the dead-letter topic.
func cleanupHandler(p processor) func(context.Context, event.Event) error {
	return func(ctx context.Context, e event.Event) error {
		var data MessagePublishedData
		if err := json.Unmarshal(e.Data(), &data); err != nil {
			return fmt.Errorf("cleanup %s: the event's data is not a Pub/Sub MessagePublishedData (type %s): %v", e.ID(), e.Type(), err)
		}
		id := data.Message.MessageID
		if id == "" {
			id = e.ID()
		}
		s := p.Process(cleanup.WithRequestID(ctx, id), data.Message.Data)
		return s.Err()
	}
}
