package cleanup

import (
	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"time"

	"github.com/storagegate/storagegate/shared/store"
)

// Backoff tunes the retries of transient failures inside one invocation.
type Backoff struct {
	// Initial is the first wait; each further wait doubles, up to Max.
	// Every wait is drawn between half and all of its step (jitter), so
	// workers that failed together do not retry together.
	Initial, Max time.Duration
	// Attempts bounds the calls per store operation. The drivers' clients
	// do not retry inside a call (docs/cleanup.md#retries-and-the-deadline),
	// so this is every request an operation sends. The deadline bounds
	// them too.
	Attempts int
}

// DefaultBackoff waits about 0.2, 0.4, 0.8, 1.6, 3.2, 5, 5 s: some 16 s in
// all, enough for MinIO to restart or S3's SlowDown to pass, and well inside
// the default 4m deadline.
var DefaultBackoff = Backoff{Initial: 200 * time.Millisecond, Max: 5 * time.Second, Attempts: 8}

// outcome is what one store answer means for the entry it was about.
type outcome int

const (
	// succeeded: the call did what it was asked.
	succeeded outcome = iota
	// alreadyGone: what the call was to remove is not there (NotFound; for
	// a listing, nothing under the prefix). Deleting is idempotent, so this
	// is done too: counted as already absent, never retried.
	alreadyGone
	// permanent: retrying can never help (permission denied, an invalid
	// argument such as no such bucket). The entry fails at once, with its
	// reason.
	permanent
	// retryable: transient, or not classified at all. Tried again while
	// attempts and time last, then failed as transient, so the platform
	// redelivers the message.
	retryable
)

// decide is the one place where a store's answer becomes an action, as
// rclone's pacer asks one shouldRetry: every store call of the pipeline
// (stats, listings, and each key of a batch) goes through it. Drivers only
// classify their provider's errors into store codes; they never drop one
// nor retry one.
func decide(err error) outcome {
	switch {
	case err == nil:
		return succeeded
	case store.Code(err) == store.NotFound:
		return alreadyGone
	case store.Permanent(err):
		return permanent
	}
	return retryable
}

// call sends op to the store unless the run's time is up: a call made past
// the deadline could only fail, and fails as transient without being made.
func (r *run) call(op func(ctx context.Context) error) error {
	if err := r.ctx.Err(); err != nil {
		return &store.Error{Code: store.Transient, Err: err}
	}
	return op(r.ctx)
}

// retry runs op until decide says it is over: succeeded, already gone,
// permanent, or retryable with no attempt or time left (then the error says
// so, gaveUp). Each retry first waits out the backoff.
func (r *run) retry(op func(ctx context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := op(r.ctx)
		if decide(err) != retryable {
			return err
		}
		if !r.wait(attempt) {
			return r.gaveUp(err, attempt)
		}
	}
}

// wait sleeps before the next attempt, with exponential backoff and jitter;
// false means stop: attempts used up, or the deadline would pass first.
func (r *run) wait(attempt int) bool {
	b := r.p.backoff
	if attempt >= b.Attempts {
		return false
	}
	step := b.Initial << min(attempt-1, 30)
	if step > b.Max || step <= 0 {
		step = b.Max
	}
	sleep := step/2 + mrand.N(step/2+1)
	if dl, ok := r.ctx.Deadline(); ok && r.p.clock.now().Add(sleep).After(dl) {
		return false
	}
	return r.p.clock.sleep(r.ctx, sleep)
}

// gaveUp notes how a retryable failure ended (attempts used up, or no time
// left for another), keeping its code.
func (r *run) gaveUp(err error, attempts int) error {
	if decide(err) != retryable {
		return err
	}
	why := fmt.Sprintf("gave up after %d attempts", attempts)
	if attempts < r.p.backoff.Attempts {
		why = fmt.Sprintf("gave up at the deadline, after %d attempt(s)", attempts)
	}
	// Wrap the cause, not its *store.Error: that would print the code twice
	// ("transient: transient: ...") in the failure's reason.
	var se *store.Error
	if errors.As(err, &se) && se == err {
		err = se.Err
	}
	return &store.Error{Code: store.Transient, Err: fmt.Errorf("%w (%s)", err, why)}
}

// clock is the time a run reads and waits on: the real one, or a test's
// (SetClock in export_test.go), so that backoff and deadlines can be
// checked without sleeping through them.
type clock struct {
	now func() time.Time
	// sleep waits for d, or until ctx is done first (then false).
	sleep func(ctx context.Context, d time.Duration) bool
}

var realClock = clock{now: time.Now, sleep: func(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}}
