package cleanup

import (
	"context"
	"sync"
	"time"

	"github.com/storagegate/storagegate/shared/store"
)

// objects handles one group's URLs: inspect them when the run needs each
// object's state (created, dry run), then delete in batches.
func (r *run) objects(g *group) {
	items := g.items
	if r.dry || !r.created.IsZero() {
		items = r.inspect(g)
	}
	if r.dry {
		r.count(g.provider, Counts{WouldDelete: int64(len(items))})
		return
	}
	limit := max(g.del.BatchLimit(), 1)
	for len(items) > 0 {
		n := min(limit, len(items))
		j := batchJob{t: g.target, base: g.base, keys: make([]string, n), urls: make([]string, n)}
		for i, it := range items[:n] {
			j.keys[i], j.urls[i] = it.u.Key, it.raw
		}
		items = items[n:]
		r.spawnDelete(j)
	}
}

// inspect stats each object, counting the absent and the newer ones, and
// returns those still to delete. S3 cannot tell from a delete whether a key
// existed, and created needs each object's time, so here it asks.
func (r *run) inspect(g *group) []item {
	keep := make([]bool, len(g.items))
	var wg sync.WaitGroup
	for i, it := range g.items {
		r.acquire()
		wg.Add(1)
		go func() {
			defer func() { r.release(); wg.Done() }()
			var info store.ObjectInfo
			err := r.retry(func(context.Context) error {
				return r.call(func(ctx context.Context) error {
					var err error
					info, err = g.del.Stat(ctx, it.u.Key)
					return err
				})
			})
			switch o := decide(err); {
			case o == alreadyGone:
				r.count(g.provider, Counts{AlreadyAbsent: 1})
			case o != succeeded:
				r.failErr(g.provider, it.raw, err)
			case r.newer(info.Modified):
				r.count(g.provider, Counts{Kept: 1})
			default:
				keep[i] = true
			}
		}()
	}
	wg.Wait()
	out := g.items[:0:0]
	for i, it := range g.items {
		if keep[i] {
			out = append(out, it)
		}
	}
	return out
}

// newer reports whether an object modified at t stays. Some answers carry
// whole seconds only (S3's HEAD), so the second of created itself counts as
// newer: keeping a little too much is safe, deleting a re-run's artifact is
// not. An unknown time is kept for the same reason.
func (r *run) newer(t time.Time) bool {
	if r.created.IsZero() {
		return false
	}
	return t.IsZero() || !t.Before(r.created.Truncate(time.Second))
}
