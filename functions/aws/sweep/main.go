// Command sweep is the retention sweeper on an EventBridge schedule. Built
// as `bootstrap` for provided.al2023 (see the Makefile).
//
// Each scheduled event runs the core's sweep (sweep.Sweeper.Run) under the
// Lambda deadline: it stops starting tasks a margin before it, and the next
// run continues. The files go to the cleanup queue named by
// STORAGEGATE_SQS_QUEUE_URL. A run with failures returns an error, so that
// it shows in the function's Errors metric; Terraform turns the
// asynchronous retries off, since the next scheduled run retries anyway.
package main

import (
	"context"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/storagegate/storagegate/shared/app"
	"github.com/storagegate/storagegate/shared/config/awssecret"
	"github.com/storagegate/storagegate/shared/sweep"
)

// runner is the part of *sweep.Sweeper this adapter uses.
type runner interface {
	Run(ctx context.Context) *sweep.Report
}

func main() {
	lambda.Start(handler(app.SweepOrExit(awssecret.Fetch)))
}

// handler answers a scheduled event with the run's report.
func handler(s runner) func(context.Context, events.EventBridgeEvent) (*sweep.Report, error) {
	return func(ctx context.Context, ev events.EventBridgeEvent) (*sweep.Report, error) {
		if ev.DetailType != "" && ev.DetailType != "Scheduled Event" {
			return nil, fmt.Errorf("sweep: expected an EventBridge Scheduled Event, got %q from %q", ev.DetailType, ev.Source)
		}
		r := s.Run(ctx)
		return r, r.Err()
	}
}
