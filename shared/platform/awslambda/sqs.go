package awslambda

import (
	"context"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/storagegate/storagegate/shared/cleanup"
	"github.com/storagegate/storagegate/shared/requestid"
)

// Processor is the part of *cleanup.Pipeline the SQS handler uses.
type Processor interface {
	Process(ctx context.Context, body []byte) cleanup.Summary
}

// maxParallel bounds the records of one batch that run at once (each has
// cleanup.concurrency workers of its own). Running them side by side rather
// than one after the other keeps one slow message from eating the deadline
// of the rest; a batching window can hand over far more than ten.
const maxParallel = 10

// SQS answers an SQS batch behind an event source mapping with
// ReportBatchItemFailures. Each record's body is one deletion message, run
// through the core's queue path (p.Process) under the Lambda deadline. The
// answer lists only the records that failed, so SQS deletes the others and
// makes only those visible again; after the queue's maxReceiveCount the
// redrive policy moves a message that keeps failing to the dead-letter
// queue.
//
// It never returns an error: that would fail (and redeliver) the whole
// batch, including the messages that are done.
func SQS(p Processor) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		failed := make([]bool, len(ev.Records))
		run := func(i int) bool {
			r := ev.Records[i]
			s := p.Process(requestid.With(ctx, r.MessageId), []byte(r.Body))
			return !s.OK()
		}
		if fifo(ev) {
			// A FIFO queue keeps order within a message group only if processing
			// stops at the first failure and everything after it is returned too.
			for i := range ev.Records {
				if run(i) {
					for j := i; j < len(failed); j++ {
						failed[j] = true
					}
					break
				}
			}
		} else {
			var wg sync.WaitGroup
			sem := make(chan struct{}, maxParallel)
			for i := range ev.Records {
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer func() { <-sem; wg.Done() }()
					failed[i] = run(i)
				}()
			}
			wg.Wait()
		}
		resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
		for i, f := range failed {
			if f {
				resp.BatchItemFailures = append(resp.BatchItemFailures,
					events.SQSBatchItemFailure{ItemIdentifier: ev.Records[i].MessageId})
			}
		}
		return resp, nil
	}
}

func fifo(ev events.SQSEvent) bool {
	return len(ev.Records) > 0 && strings.HasSuffix(ev.Records[0].EventSourceARN, ".fifo")
}
