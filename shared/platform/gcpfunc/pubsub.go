package gcpfunc

import (
	"encoding/json"

	"github.com/cloudevents/sdk-go/v2/event"
)

// MessagePublishedData is the data of a Pub/Sub CloudEvent
// (google.cloud.pubsub.topic.v1.messagePublished), and the body of a plain
// Pub/Sub push, which the Functions Framework turns into that CloudEvent.
// Google's own Go type for it is not available from the module proxy; this
// is its JSON shape.
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
	// A push (and Eventarc's CloudEvent) repeats the id and the time under
	// their snake_case names; they are kept only so that a message encodes
	// back as it came.
	MessageIDSnake   string `json:"message_id,omitempty"`
	PublishTimeSnake string `json:"publish_time,omitempty"`
}

// decode reads the event's data as a MessagePublishedData.
func decode(e event.Event) (MessagePublishedData, error) {
	var data MessagePublishedData
	err := json.Unmarshal(e.Data(), &data)
	return data, err
}
