package awslambda

import (
	"context"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/storagegate/storagegate/shared/sweep"
)

// Runner is the part of *sweep.Sweeper the scheduled handler uses.
type Runner interface {
	Run(ctx context.Context) *sweep.Report
}

// Scheduled answers an EventBridge scheduled event with one run's report.
// The run stops starting tasks a margin before the Lambda deadline, and the
// next run continues. A run with failures returns an error, so that it
// shows in the function's Errors metric; Terraform turns the asynchronous
// retries off, since the next scheduled run retries anyway. Any other
// EventBridge event is refused without a run.
func Scheduled(s Runner) func(context.Context, events.EventBridgeEvent) (*sweep.Report, error) {
	return func(ctx context.Context, ev events.EventBridgeEvent) (*sweep.Report, error) {
		if ev.DetailType != "" && ev.DetailType != "Scheduled Event" {
			return nil, fmt.Errorf("sweep: expected an EventBridge Scheduled Event, got %q from %q", ev.DetailType, ev.Source)
		}
		r := s.Run(ctx)
		return r, r.Err()
	}
}
