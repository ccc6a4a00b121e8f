package cleanup

import (
	"context"
	"time"
)

// SetClock makes the pipelines built from o read now and wait with sleep
// instead of the real clock, so that tests check backoff and deadlines
// without sleeping through them.
func SetClock(o *Options, now func() time.Time, sleep func(ctx context.Context, d time.Duration) bool) {
	o.clock = clock{now: now, sleep: sleep}
}
