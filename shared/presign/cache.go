package presign

import (
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/storagegate/storagegate/shared/store"
)

// cacheKey names one signed URL: the same object, method and disposition in
// the same signing window get the very same URL
// (docs/http.md#lifetimes-and-stable-urls).
type cacheKey struct {
	store               store.Signer
	bucket, key, method string
	disposition         string
	signedAt            int64
	lifetime            time.Duration
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
