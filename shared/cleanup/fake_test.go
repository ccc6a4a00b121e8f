package cleanup_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/storagegate/storagegate/shared/cleanup"
	"github.com/storagegate/storagegate/shared/config"
	"github.com/storagegate/storagegate/shared/credentials"
	"github.com/storagegate/storagegate/shared/storageurl"
	"github.com/storagegate/storagegate/shared/store"
)

// memStore is an in-memory store.Deleter with fault injection, for the
// core's logic: retries, guards, batching and streaming. The real drivers
// are tested against real servers (s3store on MinIO and gofakes3).
type memStore struct {
	mu       sync.Mutex
	objects  map[string]time.Time // bucket + "/" + key -> modified
	batch    int
	pageSize int
	// fault, when set, may fail an operation on a key ("delete", "stat")
	// or a listing page ("list", with the page's first key).
	fault func(op, bucket, key string) error
	// notFoundOnDelete reports missing keys as NotFound, as GCS and Azure do
	// (S3 reports them deleted).
	notFoundOnDelete bool

	deletes, lists, stats atomic.Int64 // calls; lists counts pages
	listCalls             atomic.Int64 // List calls, empty listings too
	inFlight, maxInFlight atomic.Int64
	// listed-but-not-deleted keys, to show that a prefix streams.
	outstanding, maxOutstanding atomic.Int64
}

func newMemStore() *memStore {
	return &memStore{objects: map[string]time.Time{}, batch: 1000, pageSize: 1000}
}

func (m *memStore) Sign(context.Context, store.SignRequest) (store.Signed, error) {
	return store.Signed{}, errors.New("memStore does not sign")
}

func (m *memStore) put(bucket, key string, modified time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objects[bucket+"/"+key] = modified
}

func (m *memStore) has(bucket, key string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.objects[bucket+"/"+key]
	return ok
}

func (m *memStore) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.objects)
}

func (m *memStore) enter() func() {
	n := m.inFlight.Add(1)
	for {
		old := m.maxInFlight.Load()
		if n <= old || m.maxInFlight.CompareAndSwap(old, n) {
			break
		}
	}
	return func() { m.inFlight.Add(-1) }
}

func (m *memStore) BatchLimit() int { return m.batch }

func (m *memStore) DeleteObjects(ctx context.Context, bucket string, keys []string) []error {
	defer m.enter()()
	m.deletes.Add(1)
	time.Sleep(time.Millisecond) // let concurrent calls overlap
	errs := make([]error, len(keys))
	if len(keys) > m.batch {
		for i := range errs {
			errs[i] = &store.Error{Code: store.InvalidArgument, Err: errors.New("batch too large")}
		}
		return errs
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, k := range keys {
		if m.fault != nil {
			if err := m.fault("delete", bucket, k); err != nil {
				errs[i] = err
				continue
			}
		}
		if _, ok := m.objects[bucket+"/"+k]; !ok && m.notFoundOnDelete {
			errs[i] = &store.Error{Code: store.NotFound, Err: errors.New("no such key")}
		}
		delete(m.objects, bucket+"/"+k)
	}
	m.outstanding.Add(-int64(len(keys)))
	return errs
}

func (m *memStore) List(ctx context.Context, bucket, prefix string, fn func([]store.ObjectInfo) error) error {
	defer m.enter()()
	m.listCalls.Add(1)
	m.mu.Lock()
	var keys []string
	for k := range m.objects {
		if b, key, _ := strings.Cut(k, "/"); b == bucket && strings.HasPrefix(key, prefix) {
			keys = append(keys, key)
		}
	}
	m.mu.Unlock()
	sort.Strings(keys)
	for len(keys) > 0 {
		n := min(m.pageSize, len(keys))
		m.lists.Add(1)
		if m.fault != nil {
			if err := m.fault("list", bucket, keys[0]); err != nil {
				return err
			}
		}
		page := make([]store.ObjectInfo, 0, n)
		m.mu.Lock()
		for _, k := range keys[:n] {
			if t, ok := m.objects[bucket+"/"+k]; ok {
				page = append(page, store.ObjectInfo{Key: k, Modified: t})
			}
		}
		m.mu.Unlock()
		keys = keys[n:]
		o := m.outstanding.Add(int64(len(page)))
		for {
			old := m.maxOutstanding.Load()
			if o <= old || m.maxOutstanding.CompareAndSwap(old, o) {
				break
			}
		}
		if err := fn(page); err != nil {
			return err
		}
	}
	return nil
}

func (m *memStore) Stat(ctx context.Context, bucket, key string) (store.ObjectInfo, error) {
	defer m.enter()()
	m.stats.Add(1)
	if m.fault != nil {
		if err := m.fault("stat", bucket, key); err != nil {
			return store.ObjectInfo{}, err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.objects[bucket+"/"+key]
	if !ok {
		return store.ObjectInfo{}, &store.Error{Code: store.NotFound, Err: errors.New("no such key")}
	}
	return store.ObjectInfo{Key: key, Modified: t}, nil
}

func (m *memStore) calls() int64 { return m.deletes.Load() + m.lists.Load() + m.stats.Load() }

// swapResolver resolves with the real credentials rules and then swaps the
// store of a named entry, so scope checks stay real while the store is a
// fake or an instrumented client.
type swapResolver struct {
	*credentials.Resolver
	stores map[string]store.Store
}

func (r swapResolver) Resolve(u storageurl.URL, withDefaults bool) (credentials.Target, error) {
	t, err := r.Resolver.Resolve(u, withDefaults)
	if err != nil {
		return t, err
	}
	if s, ok := r.stores[t.Entry]; ok {
		t.Store = s
	}
	return t, nil
}

// testConfig is a config whose first S3 bucket entry is bucket "art" on host
// fake:9000 and second "other" on the same host; AWS defaults exist (for
// match_sets tests) but cover nothing without rules.
const testConfig = `{
  "storage": {"aws": {"key": "default-key", "secret": "default-secret", "buckets": [
    {"bucket": "art", "host": "fake:9000", "key": "k", "secret": "s", "secure": false},
    {"bucket": "other", "host": "fake:9000", "key": "k", "secret": "s", "secure": false}
  ]}},
  "cleanup": {"concurrency": 4}
}`

// fixture is a Pipeline over a memStore serving every configured entry.
type fixture struct {
	mem  *memStore
	d    *cleanup.Pipeline
	logs *bytes.Buffer
}

func newFixture(t testing.TB, cfgJSON string, edit func(*config.Cleanup), opts ...func(*cleanup.Options)) *fixture {
	t.Helper()
	mem := newMemStore()
	logs := &bytes.Buffer{}
	opts = append([]func(*cleanup.Options){func(o *cleanup.Options) {
		o.Logger = slog.New(slog.NewJSONHandler(&lockedWriter{w: logs}, nil))
		if edit != nil {
			edit(&o.Config)
		}
	}}, opts...)
	return &fixture{mem: mem, d: newPipeline(t, cfgJSON, mem, opts...), logs: logs}
}

// newPipeline builds a Pipeline whose every configured S3 entry is served by
// st, with fast retries.
func newPipeline(t testing.TB, cfgJSON string, st store.Store, opts ...func(*cleanup.Options)) *cleanup.Pipeline {
	t.Helper()
	cfg, _, err := config.Parse([]byte(cfgJSON))
	if err != nil {
		t.Fatal(err)
	}
	res, err := credentials.New(cfg.Storage, credentials.Builders{})
	if err != nil {
		t.Fatal(err)
	}
	stores := map[string]store.Store{"storage.aws": st}
	for i := range cfg.Storage.AWS.Buckets {
		stores[fmt.Sprintf("storage.aws.buckets[%d]", i)] = st
	}
	o := cleanup.Options{
		Config: cfg.Cleanup, Resolver: swapResolver{res, stores},
		Logger:  slog.New(slog.DiscardHandler),
		Backoff: cleanup.Backoff{Initial: time.Millisecond, Max: 4 * time.Millisecond, Attempts: 4},
	}
	for _, fn := range opts {
		fn(&o)
	}
	d, err := cleanup.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
