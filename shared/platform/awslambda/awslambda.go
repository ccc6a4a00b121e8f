// Package awslambda is storagegate's AWS Lambda glue, one handler per
// trigger, each taking aws-lambda-go's events types: a BUFFERED function URL
// serving an http.Handler (FunctionURL), an SQS event source mapping with
// ReportBatchItemFailures (SQS), and an EventBridge schedule (Scheduled).
// The commands in functions/aws hand what shared/app builds to one of these
// and to lambda.Start.
package awslambda
