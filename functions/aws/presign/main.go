// Command presign is the presign function behind a BUFFERED Lambda function
// URL (awslambda.FunctionURL). Built as `bootstrap` for provided.al2023 (see
// the Makefile).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/storagegate/storagegate/shared/app"
	"github.com/storagegate/storagegate/shared/config/awssecret"
	"github.com/storagegate/storagegate/shared/platform/awslambda"
)

func main() {
	lambda.Start(awslambda.FunctionURL(app.PresignOrExit(awssecret.Fetch)))
}
