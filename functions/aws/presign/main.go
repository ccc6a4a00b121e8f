// Command presign is the presign function behind a BUFFERED Lambda function
// URL. Built as `bootstrap` for provided.al2023 (see the Makefile).
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/storagegate/storagegate/shared/app"
	"github.com/storagegate/storagegate/shared/config/awssecret"
	"github.com/storagegate/storagegate/shared/lambdahttp"
)

func main() {
	ctx := context.Background()
	log := app.NewLogger(os.Stderr)
	cfg, err := app.LoadConfig(ctx, log, awssecret.Fetch)
	if err != nil {
		log.Error("start-up failed", "error", err.Error())
		os.Exit(2)
	}
	h, err := app.NewPresign(cfg, app.Options{Logger: log})
	if err != nil {
		log.Error("start-up failed", "error", err.Error())
		os.Exit(2)
	}
	lambda.Start(lambdahttp.Handler(h))
}
