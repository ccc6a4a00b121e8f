package sweep

import (
	"context"
	"fmt"
	"math"

	"github.com/storagegate/storagegate/shared/cleanup"
	"github.com/storagegate/storagegate/shared/enqueue"
)

// Sink takes a task's files. Send returns once they are certain to be
// deleted: queued (the queue's redelivery and dead-letter queue take it
// from there) or already deleted; an error means they may not be, and the
// sweeper then leaves the task in place for the next run.
type Sink interface {
	// Send returns the number of queue messages it published.
	Send(ctx context.Context, m cleanup.Message) (int, error)
	// String names the destination for the report; never a secret.
	String() string
}

// Queue publishes deletion messages to the cleanup queue, split to the
// queue's message size and the 10,000-item cap (enqueue.Enqueue).
type Queue struct {
	Publisher enqueue.Publisher
	// Check is the cleanup function's own parse (Pipeline.ParseMessage);
	// nil is cleanup.ParseMessage.
	Check func([]byte) (cleanup.Message, error)
}

func (q *Queue) Send(ctx context.Context, m cleanup.Message) (int, error) {
	sent, err := enqueue.Enqueue(ctx, q.Publisher, m, enqueue.Options{Check: q.Check})
	return len(sent), err
}

func (q *Queue) String() string { return q.Publisher.String() }

// InProcess deletes through the cleanup pipeline itself, for an install
// with no queue: the same code as the cleanup function, the same guards
// and scope, and a task whose files are not all gone stays for the next run.
type InProcess struct {
	Pipeline *cleanup.Pipeline
}

func (d *InProcess) Send(ctx context.Context, m cleanup.Message) (int, error) {
	parts, err := enqueue.Split(m, math.MaxInt)
	if err != nil {
		return 0, err
	}
	for _, p := range parts {
		s := d.Pipeline.Run(ctx, p)
		if s.DryRun {
			// Nothing was deleted: the task must stay.
			return 0, fmt.Errorf("cleanup.dry_run is on: the files would stay, so the task stays too")
		}
		if !s.OK() {
			return 0, fmt.Errorf("deleting the files: %w", s.Err())
		}
	}
	return 0, nil
}

func (d *InProcess) String() string { return "in-process deleter" }
