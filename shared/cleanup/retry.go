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
	// Attempts bounds the calls per store operation (the SDKs retry a few
	// times inside each). The deadline bounds them too.
	Attempts int
}

// DefaultBackoff waits about 0.2, 0.4, 0.8, 1.6, 3.2, 5, 5 s: some 16 s in
// all, enough for MinIO to restart or S3's SlowDown to pass, and well inside
// the default 4m deadline.
var DefaultBackoff = Backoff{Initial: 200 * time.Millisecond, Max: 5 * time.Second, Attempts: 8}

// retry calls op until it succeeds, fails permanently, finds nothing
// (NotFound is an answer, not a failure), or runs out of attempts or time.
func (r *run) retry(op func(ctx context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := r.ctx.Err()
		if err == nil {
			err = op(r.ctx)
		} else {
			err = &store.Error{Code: store.Transient, Err: err}
		}
		if err == nil || store.Code(err) == store.NotFound || store.Permanent(err) {
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
	if dl, ok := r.ctx.Deadline(); ok && time.Now().Add(sleep).After(dl) {
		return false
	}
	t := time.NewTimer(sleep)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.ctx.Done():
		return false
	}
}

// gaveUp notes how a transient failure ended (attempts used up, or no time
// left for another), keeping its code.
func (r *run) gaveUp(err error, attempts int) error {
	if store.Permanent(err) {
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
