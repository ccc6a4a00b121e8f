// Command cleanup is the cleanup function behind an SQS event source mapping
// with ReportBatchItemFailures (awslambda.SQS: one deletion message per
// record, partial batch failures, FIFO order). Built as `bootstrap` for
// provided.al2023 (see the Makefile).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/storagegate/storagegate/shared/app"
	"github.com/storagegate/storagegate/shared/config/awssecret"
	"github.com/storagegate/storagegate/shared/platform/awslambda"
)

func main() {
	lambda.Start(awslambda.SQS(app.CleanupOrExit(awssecret.Fetch)))
}
