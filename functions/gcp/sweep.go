package gcp

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/storagegate/storagegate/shared/app"
	"github.com/storagegate/storagegate/shared/sweep"
)

// init registers the CloudEvent function Sweep: Cloud Scheduler publishes
// to the sweep topic, whose push subscription delivers here. The sweeper
// is built when this instance serves Sweep.
func init() {
	var s runner
	if t := os.Getenv("FUNCTION_TARGET"); t == "" || t == "Sweep" {
		s = app.SweepOrExit(nil)
	}
	functions.CloudEvent("Sweep", sweepHandler(s))
}

// runner is the part of *sweep.Sweeper this function uses.
type runner interface {
	Run(ctx context.Context) *sweep.Report
}

// sweepHandler runs one sweep per scheduled message. It acknowledges the
// message (nil) whatever the run's outcome: a redelivery would only sweep
// again, and a task that keeps failing would keep the message coming back
// until it expires. Failures are in the run's summary line (severity
// ERROR), and the next scheduled run retries them.
func sweepHandler(s runner) func(context.Context, event.Event) error {
	return func(ctx context.Context, e event.Event) error {
		var data MessagePublishedData
		if err := json.Unmarshal(e.Data(), &data); err != nil {
			return fmt.Errorf("sweep %s: the event's data is not a Pub/Sub MessagePublishedData (type %s): %v", e.ID(), e.Type(), err)
		}
		s.Run(ctx)
		return nil
	}
}
