package storetest

// RunDeleter is the Deleter conformance suite: one set of cases, run against
// every store's Deleter on its real local server.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storagegate/storagegate/shared/store"
)

// DeleterFixture is one Deleter under test against its real local server.
type DeleterFixture struct {
	Deleter store.Deleter
	// Bucket exists and is empty; MissingBucket does not exist.
	Bucket, MissingBucket string
	// Put and Exists use the server's own API, not the Deleter.
	Put    func(t testing.TB, key string, body []byte)
	Exists func(t testing.TB, key string) bool
	// PageSize is the size of the Deleter's List pages, small enough that
	// listedObjects objects take several.
	PageSize int
	// ReportsAbsent says the provider tells an absent key from a deleted
	// one (GCS, Azure): an absent key's result must then be NotFound. S3's
	// DeleteObjects cannot tell, and answers nil for both.
	ReportsAbsent bool
	// NoObjectBesideFolder says the server cannot hold an object "a/b"
	// beside objects under "a/b/" (MinIO's on-disk layout; S3 can), so that
	// neighbour is left out.
	NoObjectBesideFolder bool
}

// listedObjects is how many objects the listing case puts under one prefix.
const listedObjects = 1200

// RunDeleter runs every case against f.
func RunDeleter(t *testing.T, f DeleterFixture) {
	ctx := context.Background()
	d := f.Deleter
	put := func(t *testing.T, keys ...string) {
		t.Helper()
		PutParallel(t, f.Put, keys)
	}
	wantExist := func(t *testing.T, want bool, keys ...string) {
		t.Helper()
		for _, k := range keys {
			if got := f.Exists(t, k); got != want {
				t.Errorf("%q exists: %v, want %v", k, got, want)
			}
		}
	}
	wantNil := func(t *testing.T, errs []error, keys []string) {
		t.Helper()
		if len(errs) != len(keys) {
			t.Fatalf("%d errors for %d keys", len(errs), len(keys))
		}
		for i, err := range errs {
			if err != nil {
				t.Errorf("key %d (%q): %v", i, keys[i], err)
			}
		}
	}

	// wantResults checks one result per key, in order: nil for a key that
	// was there, done (nil, or NotFound when the provider reports absence)
	// for one that was not.
	wantResults := func(t *testing.T, errs []error, keys []string, present map[string]bool) {
		t.Helper()
		if len(errs) != len(keys) {
			t.Fatalf("%d errors for %d keys", len(errs), len(keys))
		}
		for i, err := range errs {
			switch {
			case present[keys[i]] && err != nil:
				t.Errorf("key %d (%q), deleted: %v, want nil", i, keys[i], err)
			case !present[keys[i]] && f.ReportsAbsent && store.Code(err) != store.NotFound:
				t.Errorf("key %d (%q), absent: %v, want NotFound", i, keys[i], err)
			case !present[keys[i]] && err != nil && store.Code(err) != store.NotFound:
				t.Errorf("key %d (%q), absent: %v, want nil or NotFound", i, keys[i], err)
			}
		}
	}

	t.Run("PresentAndAbsent", func(t *testing.T) {
		put(t, "mixed/1", "mixed/2", "mixed/3", "mixed/4")
		keys := []string{"mixed/1", "mixed/absent", "mixed/2", "never/there"}
		wantResults(t, d.DeleteObjects(ctx, f.Bucket, keys), keys, map[string]bool{"mixed/1": true, "mixed/2": true})
		wantExist(t, false, "mixed/1", "mixed/2")
		wantExist(t, true, "mixed/3", "mixed/4")
		// Again, as a redelivery would: everything is already gone.
		wantResults(t, d.DeleteObjects(ctx, f.Bucket, keys), keys, nil)
		// A key twice (a message may repeat one): whichever delete comes
		// second finds it gone.
		errs := d.DeleteObjects(ctx, f.Bucket, []string{"mixed/3", "mixed/3"})
		for i, err := range errs {
			if err != nil && store.Code(err) != store.NotFound {
				t.Errorf("mixed/3, time %d: %v", i+1, err)
			}
		}
		wantExist(t, false, "mixed/3")
		wantExist(t, true, "mixed/4")
	})

	t.Run("Keys", func(t *testing.T) {
		// ClearML's keys, literal: "a b", "a%20b" and "a+b" are three
		// objects, and deleting one leaves the others.
		var doomed []string
		for _, k := range Keys {
			doomed = append(doomed, "keys/"+k.Key)
		}
		doomed = append(doomed, "keys/twins/a b.txt")
		kept := []string{"keys/twins/a%20b.txt", "keys/twins/a+b.txt", "keys/twins/a%2Bb.txt"}
		put(t, append(append([]string{}, doomed...), kept...)...)
		wantNil(t, d.DeleteObjects(ctx, f.Bucket, doomed), doomed)
		wantExist(t, false, doomed...)
		wantExist(t, true, kept...)
		for _, k := range kept {
			if info, err := d.Stat(ctx, f.Bucket, k); err != nil || info.Key != k {
				t.Errorf("Stat(%q): %+v, %v", k, info, err)
			}
		}
	})

	t.Run("ListPrefixAndDeleteAsItStreams", func(t *testing.T) {
		const prefix = "list/task.abc/"
		// Neighbours whose names share the prefix's text but are not under it.
		neighbours := []string{"list/task.abcd/x", "list/task.ab/y", "list/task.abc.bak/z", "list/task.abc0"}
		if !f.NoObjectBesideFolder {
			neighbours = append(neighbours, "list/task.abc")
		}
		keys := make([]string, listedObjects)
		for i := range keys {
			keys[i] = fmt.Sprintf("%sartifacts/%04d/file %d.bin", prefix, i, i)
		}
		before := time.Now().Add(-time.Minute)
		put(t, append(append([]string{}, keys...), neighbours...)...)

		var pages, listed int
		var last string
		err := d.List(ctx, f.Bucket, prefix, func(page []store.ObjectInfo) error {
			pages++
			if len(page) == 0 || len(page) > f.PageSize {
				t.Errorf("page %d has %d objects, want 1..%d", pages, len(page), f.PageSize)
			}
			batch := make([]string, 0, d.BatchLimit())
			for _, o := range page {
				if !strings.HasPrefix(o.Key, prefix) {
					t.Errorf("listed %q, outside %q", o.Key, prefix)
				}
				if o.Key <= last {
					t.Errorf("listed %q after %q: not in name order", o.Key, last)
				}
				last = o.Key
				if o.Size != int64(len(o.Key)) || o.Modified.Before(before) || o.Modified.After(time.Now().Add(time.Minute)) {
					t.Errorf("%q: size %d, modified %s", o.Key, o.Size, o.Modified)
				}
				listed++
				// Delete as the listing streams, BatchLimit keys a call,
				// as the core does.
				if batch = append(batch, o.Key); len(batch) == d.BatchLimit() {
					wantNil(t, d.DeleteObjects(ctx, f.Bucket, batch), batch)
					batch = batch[:0]
				}
			}
			if len(batch) > 0 {
				wantNil(t, d.DeleteObjects(ctx, f.Bucket, batch), batch)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if listed != listedObjects {
			t.Errorf("listed %d objects, want %d", listed, listedObjects)
		}
		if want := (listedObjects + f.PageSize - 1) / f.PageSize; pages < want {
			t.Errorf("%d pages, want at least %d of up to %d", pages, want, f.PageSize)
		}
		if err := d.List(ctx, f.Bucket, prefix, func(page []store.ObjectInfo) error {
			return fmt.Errorf("%d objects left after deleting them all, e.g. %q", len(page), page[0].Key)
		}); err != nil {
			t.Error(err)
		}
		wantExist(t, true, neighbours...)
		wantExist(t, false, keys[0], keys[listedObjects-1])
	})

	t.Run("ListStopsOnCallbackError", func(t *testing.T) {
		put(t, "stop/a", "stop/b")
		stop := errors.New("stop")
		calls := 0
		err := d.List(ctx, f.Bucket, "stop/", func([]store.ObjectInfo) error { calls++; return stop })
		if !errors.Is(err, stop) || calls != 1 {
			t.Errorf("List: %v after %d calls, want the callback's error after 1", err, calls)
		}
	})

	t.Run("ListNothing", func(t *testing.T) {
		err := d.List(ctx, f.Bucket, "nothing-here/", func(page []store.ObjectInfo) error {
			return fmt.Errorf("called with %d objects", len(page))
		})
		if err != nil {
			t.Error(err)
		}
	})

	t.Run("Stat", func(t *testing.T) {
		before := time.Now().Add(-time.Minute)
		put(t, "stat/object.bin")
		info, err := d.Stat(ctx, f.Bucket, "stat/object.bin")
		if err != nil {
			t.Fatal(err)
		}
		if info.Key != "stat/object.bin" || info.Size != int64(len("stat/object.bin")) ||
			info.Modified.Before(before) || info.Modified.After(time.Now().Add(time.Minute)) {
			t.Errorf("Stat: %+v", info)
		}
		if _, err := d.Stat(ctx, f.Bucket, "stat/absent.bin"); store.Code(err) != store.NotFound {
			t.Errorf("Stat of an absent object: %v, want NotFound", err)
		}
	})

	t.Run("FullBatch", func(t *testing.T) {
		keys := make([]string, d.BatchLimit())
		for i := range keys {
			keys[i] = fmt.Sprintf("full/%04d", i)
		}
		put(t, keys...)
		wantNil(t, d.DeleteObjects(ctx, f.Bucket, keys), keys)
		if err := d.List(ctx, f.Bucket, "full/", func(page []store.ObjectInfo) error {
			return fmt.Errorf("%d of %d objects left", len(page), len(keys))
		}); err != nil {
			t.Error(err)
		}
	})

	t.Run("Refused", func(t *testing.T) {
		if errs := d.DeleteObjects(ctx, f.Bucket, nil); len(errs) != 0 {
			t.Errorf("no keys: %v", errs)
		}
		put(t, "refused/kept")
		errs := d.DeleteObjects(ctx, f.Bucket, []string{"", "refused/absent"})
		if len(errs) != 2 || store.Code(errs[0]) != store.InvalidArgument {
			t.Fatalf("an empty key: %v, want InvalidArgument", errs)
		}
		wantResults(t, errs[1:], []string{"refused/absent"}, nil)
		wantExist(t, true, "refused/kept")
		err := d.List(ctx, f.MissingBucket, "x/", func([]store.ObjectInfo) error { return nil })
		if store.Code(err) != store.InvalidArgument {
			t.Errorf("List of a missing bucket: %v, want InvalidArgument", err)
		}
	})
}

// PutParallel stores objects whose body is their own key, eight at a time.
func PutParallel(t *testing.T, put func(testing.TB, string, []byte), keys []string) {
	t.Helper()
	work := make(chan string)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for k := range work {
				put(t, k, []byte(k))
			}
		})
	}
	for _, k := range keys {
		work <- k
	}
	close(work)
	wg.Wait()
}
