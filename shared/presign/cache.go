package presign

import (
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/storagegate/storagegate/shared/credentials"
	"github.com/storagegate/storagegate/shared/scope"
	"github.com/storagegate/storagegate/shared/store"
)

// cacheKey names one signed URL: the same object, method and disposition in
// the same signing window get the very same URL
// (docs/http.md#lifetimes-and-stable-urls).
type cacheKey struct {
	obj         scope.Object // the object and the entry's store
	method      string
	disposition string
	signedAt    int64
	lifetime    time.Duration
}

// signCache is a small bounded in-memory cache of signed URLs, so that a page
// of debug images costs one signature per image per window.
type signCache struct {
	c *lru.Cache[cacheKey, store.Signed]
}

func newSignCache(n int) *signCache {
	c, _ := lru.New[cacheKey, store.Signed](n)
	return &signCache{c: c}
}

func (s *signCache) get(k cacheKey) (store.Signed, bool) { return s.c.Get(k) }
func (s *signCache) put(k cacheKey, v store.Signed)      { s.c.Add(k, v) }

// planCache keeps the plans of recent GET and HEAD queries, keyed by the
// method and the raw query string, for the settings they were scoped with:
// new settings (a refresh from ClearML) empty it.
type planCache struct {
	c   *lru.Cache[planKey, *plan]
	res atomic.Pointer[credentials.Resolver] // the settings of the entries
}

type planKey struct{ method, query string }

// maxPlanQuery bounds a cached query, and so the cache's memory (4096
// entries of at most 1 KiB keys): a longer query is parsed every time.
const maxPlanQuery = 1 << 10

func newPlanCache(n int) *planCache {
	c, _ := lru.New[planKey, *plan](n)
	return &planCache{c: c}
}

func (pc *planCache) get(res *credentials.Resolver, method, query string) *plan {
	if cur := pc.res.Load(); cur != res {
		if pc.res.CompareAndSwap(cur, res) {
			pc.c.Purge()
		}
		return nil
	}
	if pl, ok := pc.c.Get(planKey{method, query}); ok && pl.res == res {
		return pl
	}
	return nil
}

func (pc *planCache) put(method, query string, pl *plan) {
	if len(query) <= maxPlanQuery && pc.res.Load() == pl.res {
		pc.c.Add(planKey{method, query}, pl)
	}
}
