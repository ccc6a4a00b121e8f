// Command presign is the presign function behind a BUFFERED Lambda function
// URL. Built as `bootstrap` for provided.al2023 (see the Makefile).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/storagegate/storagegate/shared/app"
	"github.com/storagegate/storagegate/shared/config/awssecret"
	"github.com/storagegate/storagegate/shared/lambdahttp"
)

func main() {
	lambda.Start(lambdahttp.Handler(app.PresignOrExit(awssecret.Fetch)))
}
