package cleanup

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/storagegate/storagegate/shared/storageurl"
)

// acquire takes a work slot; release gives it back.
func (r *run) acquire() { r.work <- struct{}{} }

func (r *run) release() { <-r.work }

// batchJob is one DeleteObjects call's worth of keys.
type batchJob struct {
	t    target
	base storageurl.URL
	keys []string
	// urls are the URLs as sent, for reports; nil builds them from base
	// (objects listed under a prefix).
	urls []string
	// done and failed, when set, follow the batch for its prefix.
	done   *sync.WaitGroup
	failed *atomic.Int64
}

// spawnDelete runs one batch on a work slot, waiting for a free one: this
// back-pressure is what keeps a listing from running ahead of the deletes.
func (r *run) spawnDelete(j batchJob) {
	r.acquire()
	r.wg.Add(1)
	if j.done != nil {
		j.done.Add(1)
	}
	go func() {
		defer func() {
			r.release()
			if j.done != nil {
				j.done.Done()
			}
			r.wg.Done()
		}()
		r.deleteBatch(j)
	}()
}

// deleteBatch deletes a batch, retrying only the keys that failed
// transiently.
func (r *run) deleteBatch(j batchJob) {
	t := j.t
	urlOf := func(i int) string {
		if j.urls != nil {
			return j.urls[i]
		}
		u := j.base
		u.Key = j.keys[i]
		return u.String()
	}
	fail := func(i int, err error) {
		if j.failed != nil {
			j.failed.Add(1)
		}
		r.failErr(t.provider, urlOf(i), err)
	}
	pending := make([]int, len(j.keys)) // indexes into j.keys
	for i := range pending {
		pending[i] = i
	}
	// Each attempt sends the keys still pending; decide sorts every key's
	// result, and only the retryable ones are sent again.
	err := r.retry(func(context.Context) error {
		batch := make([]string, len(pending))
		for n, i := range pending {
			batch[n] = j.keys[i]
		}
		var errs []error
		if err := r.call(func(ctx context.Context) error {
			errs = t.del.DeleteObjects(ctx, batch)
			return nil
		}); err != nil {
			errs = repeat(err, len(batch))
		}
		var c Counts
		var again []int
		var lastErr error
		for n, i := range pending {
			var err error
			if n < len(errs) {
				err = errs[n]
			} else {
				err = errors.New("the store returned no result for this key")
			}
			switch decide(err) {
			case succeeded:
				c.Deleted++
			case alreadyGone:
				c.AlreadyAbsent++
			case permanent:
				fail(i, err)
			case retryable:
				again, lastErr = append(again, i), err
			}
		}
		r.count(t.provider, c)
		pending = again
		return lastErr // nil once no key is left to retry
	})
	// What is still pending gave up: attempts used up, or no time left.
	for _, i := range pending {
		fail(i, err)
	}
}

func repeat(err error, n int) []error {
	errs := make([]error, n)
	for i := range errs {
		errs[i] = err
	}
	return errs
}
