// Command echo is a tiny Lambda function for lambdaemu's own tests. The event's "action"
// picks the behaviour; ECHO_INIT_FAIL makes its start-up fail the way a runtime reports it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Action string `json:"action"`
	Sleep  string `json:"sleep,omitempty"`
}

type reply struct {
	Event        json.RawMessage `json:"event"`
	RequestID    string          `json:"requestId"`
	FunctionARN  string          `json:"functionArn"`
	DeadlineInMs int64           `json:"deadlineInMs"`
	Env          string          `json:"env"`
}

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var ev event
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, err
	}
	lc, _ := lambdacontext.FromContext(ctx)
	deadline, _ := ctx.Deadline()
	log.Printf("action %q request %s", ev.Action, lc.AwsRequestID)
	switch ev.Action {
	case "error":
		return nil, errors.New("asked to fail")
	case "panic":
		panic("asked to panic")
	case "exit":
		os.Exit(3)
	case "sleep":
		d, err := time.ParseDuration(ev.Sleep)
		if err != nil {
			return nil, err
		}
		time.Sleep(d)
	}
	return reply{
		Event:        raw,
		RequestID:    lc.AwsRequestID,
		FunctionARN:  lc.InvokedFunctionArn,
		DeadlineInMs: time.Until(deadline).Milliseconds(),
		Env:          os.Getenv("ECHO_ENV"),
	}, nil
}

func main() {
	if msg := os.Getenv("ECHO_INIT_FAIL"); msg != "" {
		// aws-lambda-go has no API for init errors; report one as a custom runtime would.
		body := fmt.Sprintf(`{"errorType":"InitFailed","errorMessage":%q}`, msg)
		url := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/init/error"
		resp, err := http.Post(url, "application/json", strings.NewReader(body))
		if err == nil {
			resp.Body.Close()
		}
		os.Exit(1)
	}
	lambda.Start(handle)
}
