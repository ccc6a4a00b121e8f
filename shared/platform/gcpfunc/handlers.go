package gcpfunc

import (
	"context"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/storagegate/storagegate/shared/cleanup"
	"github.com/storagegate/storagegate/shared/requestid"
	"github.com/storagegate/storagegate/shared/sweep"
)

// Processor is the part of *cleanup.Pipeline PubSub uses.
type Processor interface {
	Process(ctx context.Context, body []byte) cleanup.Summary
}

// PubSub runs each Pub/Sub message's data, one deletion message, through the
// queue path, under the message's id. A non-nil error makes the Functions
// Framework answer 500, so Pub/Sub redelivers the message and, after the
// subscription's maximum delivery attempts, sends it to the dead-letter
// topic.
func PubSub(p Processor) func(context.Context, event.Event) error {
	return func(ctx context.Context, e event.Event) error {
		data, err := decode(e)
		if err != nil {
			return fmt.Errorf("cleanup %s: the event's data is not a Pub/Sub MessagePublishedData (type %s): %v", e.ID(), e.Type(), err)
		}
		id := data.Message.MessageID
		if id == "" {
			id = e.ID()
		}
		s := p.Process(requestid.With(ctx, id), data.Message.Data)
		return s.Err()
	}
}

// Runner is the part of *sweep.Sweeper Scheduled uses.
type Runner interface {
	Run(ctx context.Context) *sweep.Report
}

// Scheduled runs one sweep per message of the Cloud Scheduler topic. It
// acknowledges the message (nil) whatever the run's outcome: a redelivery
// would only sweep again, and a task that keeps failing would keep the
// message coming back until it expires. Failures are in the run's summary
// line (severity ERROR), and the next scheduled run retries them. Only data
// that is not a Pub/Sub message is an error.
func Scheduled(s Runner) func(context.Context, event.Event) error {
	return func(ctx context.Context, e event.Event) error {
		if _, err := decode(e); err != nil {
			return fmt.Errorf("sweep %s: the event's data is not a Pub/Sub MessagePublishedData (type %s): %v", e.ID(), e.Type(), err)
		}
		s.Run(ctx)
		return nil
	}
}
