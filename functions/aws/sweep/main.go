// Command sweep is the retention sweeper on an EventBridge schedule
// (awslambda.Scheduled: one run per event, its report as the answer). Its
// files go to the cleanup queue named by STORAGEGATE_SQS_QUEUE_URL. Built as
// `bootstrap` for provided.al2023 (see the Makefile).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/storagegate/storagegate/shared/app"
	"github.com/storagegate/storagegate/shared/config/awssecret"
	"github.com/storagegate/storagegate/shared/platform/awslambda"
)

func main() {
	lambda.Start(awslambda.Scheduled(app.SweepOrExit(awssecret.Fetch)))
}
