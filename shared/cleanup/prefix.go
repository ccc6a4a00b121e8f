package cleanup

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/storagegate/storagegate/shared/store"
)

// maxSweeps bounds the deleting listings of one prefix: the first, and
// checks that find what the first missed (objects written meanwhile, or
// stores whose paging skips a key when the key before it is deleted, as
// gofakes3 behind `rclone serve s3` does). When the last of them still
// deleted something, one more listing, which deletes nothing, confirms that
// the prefix is gone.
const maxSweeps = 3

// prefix deletes a folder: it lists page by page, handing each page's keys
// to delete workers as it goes, so only the pages and batches in flight are
// in memory. Once those batches are done it lists again, and stops when a
// listing finds nothing left to delete: a message succeeds only when the
// prefix is gone. Objects that keep appearing (a writer still at work)
// fail the prefix transiently, so that the message is redelivered.
func (r *run) prefix(it item, t target) {
	var batches sync.WaitGroup
	var failed atomic.Int64
	for sweep := 1; sweep <= maxSweeps; sweep++ {
		handed, ok := r.listPrefix(it, t, sweep == 1, false, &batches, &failed)
		batches.Wait()
		// Failed keys are reported already; listing them again would only
		// report them twice.
		if !ok || handed == 0 || r.dry || failed.Load() > 0 {
			return
		}
	}
	left, ok := r.listPrefix(it, t, false, true, nil, nil)
	if ok && left > 0 {
		r.fail(t.provider, Failure{URL: it.raw, Code: store.Transient.String(), Transient: true, Reason: fmt.Sprintf(
			"%d object(s) still under the prefix after %d listings that deleted what they found: "+
				"something may still be writing there; redelivery finishes the job", left, maxSweeps)})
	}
}

// listPrefix is one listing of a prefix: it counts what stays (on the first
// sweep only, so nothing is counted twice) and hands the rest to delete
// workers, or, when confirm is set, only counts the rest. It returns how
// many keys it handed on (or found to delete), and false when the listing
// itself failed (reported). A listing that fails transiently starts again
// after the last key it handled (every provider lists in key order).
func (r *run) listPrefix(it item, t target, first, confirm bool, batches *sync.WaitGroup, failed *atomic.Int64) (int, bool) {
	u := it.u
	base := u
	base.Key = ""
	limit := max(t.del.BatchLimit(), 1)
	var last string
	found, handed := false, 0
	err := r.retry(func(ctx context.Context) error {
		resumeAfter := last
		return t.del.List(ctx, u.Key, func(page []store.ObjectInfo) error {
			batch := make([]string, 0, min(limit, len(page)))
			var c Counts
			for _, o := range page {
				// The store filters by prefix; checking again costs little
				// and keeps a lax store from widening the deletion.
				if !strings.HasPrefix(o.Key, u.Key) || (resumeAfter != "" && o.Key <= resumeAfter) {
					continue
				}
				found = true
				last = max(last, o.Key)
				switch {
				case r.newer(o.Modified):
					if first {
						c.Kept++
					}
				case r.dry:
					c.WouldDelete++
				case confirm:
					handed++
				default:
					batch = append(batch, o.Key)
					if len(batch) == limit {
						r.spawnDelete(batchJob{t: t, base: base, keys: batch, done: batches, failed: failed})
						handed += len(batch)
						batch = make([]string, 0, limit)
					}
				}
			}
			if len(batch) > 0 {
				r.spawnDelete(batchJob{t: t, base: base, keys: batch, done: batches, failed: failed})
				handed += len(batch)
			}
			r.count(t.provider, c)
			return r.ctx.Err()
		})
	})
	if o := decide(err); o == permanent || o == retryable {
		r.failErr(t.provider, it.raw, err)
		return handed, false
	}
	// Done: listed to the end, or not found, which is an empty listing.
	if first && !found {
		r.count(t.provider, Counts{AlreadyAbsent: 1})
	}
	return handed, true
}
