package cleanup_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/storagegate/storagegate/shared/cleanup"
	"github.com/storagegate/storagegate/shared/store"
)

// genStore lists n generated objects under any prefix, page by page, and
// deletes by counting: the pipeline's own memory is all that grows.
type genStore struct {
	*memStore
	n       int
	deleted atomic.Int64
	listed  atomic.Bool
}

func (g *genStore) List(ctx context.Context, bucket, prefix string, fn func([]store.ObjectInfo) error) error {
	if g.listed.Swap(true) {
		return nil // the closing listing finds the prefix gone
	}
	for i := 0; i < g.n; i += 1000 {
		page := make([]store.ObjectInfo, 0, 1000)
		for j := i; j < min(i+1000, g.n); j++ {
			page = append(page, store.ObjectInfo{Key: fmt.Sprintf("%sdata/chunk_%08d.bin", prefix, j), Size: 1 << 20, Modified: old})
		}
		if err := fn(page); err != nil {
			return err
		}
	}
	return nil
}

func (g *genStore) DeleteObjects(ctx context.Context, bucket string, keys []string) []error {
	g.deleted.Add(int64(len(keys)))
	return make([]error, len(keys))
}

// BenchmarkRunPrefix100k deletes a 100,000-object prefix and reports the peak
// heap seen while it ran: it stays near the pages and batches in flight
// (a few MB), whatever the prefix's size.
func BenchmarkRunPrefix100k(b *testing.B) {
	for b.Loop() {
		g := &genStore{memStore: newMemStore(), n: 100000}
		d := newPipeline(b, testConfig, g)
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		var peak atomic.Uint64
		stop := make(chan struct{})
		go func() {
			var m runtime.MemStats
			t := time.NewTicker(5 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					runtime.ReadMemStats(&m)
					if m.HeapAlloc > peak.Load() {
						peak.Store(m.HeapAlloc)
					}
				}
			}
		}()
		s := d.Run(context.Background(), cleanup.Message{Version: 1, Prefixes: []string{host + "p/dataset.1/"}})
		close(stop)
		if !s.OK() || g.deleted.Load() != 100000 {
			b.Fatalf("summary: %s %+v", s.Status, s.Counts)
		}
		b.ReportMetric(float64(peak.Load()-min(peak.Load(), base.HeapAlloc))/(1<<20), "peak-heap-MB")
	}
}
