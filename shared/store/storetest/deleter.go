package storetest

// RunDeleter is the Deleter conformance suite: one set of cases, a function
// each (as go-cloud's drivertest), run against every store's Deleter on its
// real local server.

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
	// one (GCS, Azure): an absent key's result must then be NotFound.
	// AbsentIsDeleted says the server answers an absent key as deleted (S3
	// and MinIO: DeleteObjects cannot tell), so its result must be nil.
	// With neither, nil and NotFound both pass.
	ReportsAbsent, AbsentIsDeleted bool
	// NoObjectBesideFolder says the server cannot hold an object "a/b"
	// beside objects under "a/b/" (MinIO's on-disk layout; S3 can), so that
	// neighbour is left out.
	NoObjectBesideFolder bool
	// PagingSkipsDeleted says the server's paging skips a key when the key
	// before it was deleted meanwhile (gofakes3, which the core's closing
	// listing copes with), so the case that deletes while it lists is
	// skipped.
	PagingSkipsDeleted bool
	// MissingBucketDeleteIsNotFound says a delete in a missing bucket
	// cannot be told from a delete of a missing object (the GCS JSON API
	// answers both 404), so it is done rather than InvalidArgument.
	MissingBucketDeleteIsNotFound bool
	// Requests, when set, counts the requests the Deleter has sent so far:
	// deletes and listing pages. Stores that send one request per
	// DeleteObjects call (S3, Azure Blob Batch) set it, and the
	// PagesAndBatches case checks that the calls are the requests.
	Requests func() (deletes, lists int)
	// Denied is the same store with credentials the server refuses; nil
	// skips that case, saying so (fake-gcs-server checks no credentials).
	Denied store.Deleter
	// DeniedWhy says why Denied is nil.
	DeniedWhy string
}

// listedObjects is how many objects the listing case puts under one prefix.
const listedObjects = 1200

// RunDeleter runs every case against f.
func RunDeleter(t *testing.T, f DeleterFixture) {
	for _, c := range []struct {
		name string
		run  func(*testing.T, *DeleterFixture)
	}{
		{"PresentAndAbsent", testPresentAndAbsent},
		{"MixedBatch", testMixedBatch},
		{"Keys", testKeys},
		{"ListPrefixAndDeleteAsItStreams", testListPrefixAndDeleteAsItStreams},
		{"PagesAndBatches", testPagesAndBatches},
		{"ListStopsOnCallbackError", testListStopsOnCallbackError},
		{"ListNothing", testListNothing},
		{"Stat", testStat},
		{"FullBatch", testFullBatch},
		{"Refused", testRefused},
		{"MissingBucket", testMissingBucket},
		{"WrongCredentials", testWrongCredentials},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, &f) })
	}
}

func (f *DeleterFixture) put(t *testing.T, keys ...string) {
	t.Helper()
	PutParallel(t, f.Put, keys)
}

func (f *DeleterFixture) wantExist(t *testing.T, want bool, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if got := f.Exists(t, k); got != want {
			t.Errorf("%q exists: %v, want %v", k, got, want)
		}
	}
}

func wantNil(t *testing.T, errs []error, keys []string) {
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

// wantResults checks one result per key, in order: nil for a key that was
// there, done for one that was not (NotFound where the provider reports
// absence, nil where it answers deleted, either otherwise).
func (f *DeleterFixture) wantResults(t *testing.T, errs []error, keys []string, present map[string]bool) {
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
		case !present[keys[i]] && f.AbsentIsDeleted && err != nil:
			t.Errorf("key %d (%q), absent: %v, want nil (the server answers deleted)", i, keys[i], err)
		case !present[keys[i]] && err != nil && store.Code(err) != store.NotFound:
			t.Errorf("key %d (%q), absent: %v, want nil or NotFound", i, keys[i], err)
		}
	}
}

// testPresentAndAbsent: present keys are deleted, absent ones are done, a
// redelivery finds everything done, and a key twice is deleted once.
func testPresentAndAbsent(t *testing.T, f *DeleterFixture) {
	ctx := context.Background()
	d := f.Deleter
	f.put(t, "mixed/1", "mixed/2", "mixed/3", "mixed/4")
	keys := []string{"mixed/1", "mixed/absent", "mixed/2", "never/there"}
	f.wantResults(t, d.DeleteObjects(ctx, f.Bucket, keys), keys, map[string]bool{"mixed/1": true, "mixed/2": true})
	f.wantExist(t, false, "mixed/1", "mixed/2")
	f.wantExist(t, true, "mixed/3", "mixed/4")
	// Again, as a redelivery would: everything is already gone.
	f.wantResults(t, d.DeleteObjects(ctx, f.Bucket, keys), keys, nil)
	// A key twice (a message may repeat one): whichever delete comes
	// second finds it gone.
	errs := d.DeleteObjects(ctx, f.Bucket, []string{"mixed/3", "mixed/3"})
	for i, err := range errs {
		if err != nil && store.Code(err) != store.NotFound {
			t.Errorf("mixed/3, time %d: %v", i+1, err)
		}
	}
	f.wantExist(t, false, "mixed/3")
	f.wantExist(t, true, "mixed/4")
}

// testKeys: ClearML's keys are deleted literally.
func testKeys(t *testing.T, f *DeleterFixture) {
	ctx := context.Background()
	d := f.Deleter
	// ClearML's keys, literal: "a b", "a%20b" and "a+b" are three
	// objects, and deleting one leaves the others.
	var doomed []string
	for _, k := range Keys {
		doomed = append(doomed, "keys/"+k.Key)
	}
	doomed = append(doomed, "keys/twins/a b.txt")
	kept := []string{"keys/twins/a%20b.txt", "keys/twins/a+b.txt", "keys/twins/a%2Bb.txt"}
	f.put(t, append(append([]string{}, doomed...), kept...)...)
	wantNil(t, d.DeleteObjects(ctx, f.Bucket, doomed), doomed)
	f.wantExist(t, false, doomed...)
	f.wantExist(t, true, kept...)
	for _, k := range kept {
		if info, err := d.Stat(ctx, f.Bucket, k); err != nil || info.Key != k {
			t.Errorf("Stat(%q): %+v, %v", k, info, err)
		}
	}
}

// testListPrefixAndDeleteAsItStreams: a listing yields the prefix's objects
// only, in name order, page by page, with size and time, while the keys
// already listed are deleted as the core deletes them.
func testListPrefixAndDeleteAsItStreams(t *testing.T, f *DeleterFixture) {
	if f.PagingSkipsDeleted {
		t.Skip("the server's paging skips keys deleted meanwhile; PagesAndBatches lists first, then deletes")
	}
	ctx := context.Background()
	d := f.Deleter
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
	f.put(t, append(append([]string{}, keys...), neighbours...)...)

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
	f.wantExist(t, true, neighbours...)
	f.wantExist(t, false, keys[0], keys[listedObjects-1])
}

// testListStopsOnCallbackError: an error from the callback stops the listing
// and is returned.
func testListStopsOnCallbackError(t *testing.T, f *DeleterFixture) {
	ctx := context.Background()
	d := f.Deleter
	f.put(t, "stop/a", "stop/b")
	stop := errors.New("stop")
	calls := 0
	err := d.List(ctx, f.Bucket, "stop/", func([]store.ObjectInfo) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("List: %v after %d calls, want the callback's error after 1", err, calls)
	}
}

// testListNothing: an empty prefix calls the callback never.
func testListNothing(t *testing.T, f *DeleterFixture) {
	ctx := context.Background()
	d := f.Deleter
	err := d.List(ctx, f.Bucket, "nothing-here/", func(page []store.ObjectInfo) error {
		return fmt.Errorf("called with %d objects", len(page))
	})
	if err != nil {
		t.Error(err)
	}
}

// testStat: one object's size and time; NotFound for an absent one.
func testStat(t *testing.T, f *DeleterFixture) {
	ctx := context.Background()
	d := f.Deleter
	before := time.Now().Add(-time.Minute)
	f.put(t, "stat/object.bin")
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
}

// testFullBatch: a batch of BatchLimit keys is deleted in one call.
func testFullBatch(t *testing.T, f *DeleterFixture) {
	ctx := context.Background()
	d := f.Deleter
	keys := make([]string, d.BatchLimit())
	for i := range keys {
		keys[i] = fmt.Sprintf("full/%04d", i)
	}
	f.put(t, keys...)
	wantNil(t, d.DeleteObjects(ctx, f.Bucket, keys), keys)
	if err := d.List(ctx, f.Bucket, "full/", func(page []store.ObjectInfo) error {
		return fmt.Errorf("%d of %d objects left", len(page), len(keys))
	}); err != nil {
		t.Error(err)
	}
}

// testRefused: no keys is no call; an empty key fails alone, as
// InvalidArgument; a missing bucket's listing is InvalidArgument.
func testRefused(t *testing.T, f *DeleterFixture) {
	ctx := context.Background()
	d := f.Deleter
	if errs := d.DeleteObjects(ctx, f.Bucket, nil); len(errs) != 0 {
		t.Errorf("no keys: %v", errs)
	}
	f.put(t, "refused/kept")
	errs := d.DeleteObjects(ctx, f.Bucket, []string{"", "refused/absent"})
	if len(errs) != 2 || store.Code(errs[0]) != store.InvalidArgument {
		t.Fatalf("an empty key: %v, want InvalidArgument", errs)
	}
	f.wantResults(t, errs[1:], []string{"refused/absent"}, nil)
	f.wantExist(t, true, "refused/kept")
	err := d.List(ctx, f.MissingBucket, "x/", func([]store.ObjectInfo) error { return nil })
	if store.Code(err) != store.InvalidArgument {
		t.Errorf("List of a missing bucket: %v, want InvalidArgument", err)
	}
}

// testMixedBatch: one call with present keys, an absent key, a key twice
// and an empty key: the empty key fails alone, everything else is done, and
// a neighbour survives.
func testMixedBatch(t *testing.T, f *DeleterFixture) {
	ctx := context.Background()
	present := []string{"batch/task.abc/a", "batch/task.abc/b %20 c", "batch/task.abc/Über.pt"}
	f.put(t, append(slices.Clone(present), "batch/task.abcd/keep")...)
	keys := append(slices.Clone(present), "batch/task.abc/never-existed", present[0], "")
	errs := f.Deleter.DeleteObjects(ctx, f.Bucket, keys)
	if len(errs) != len(keys) {
		t.Fatalf("%d results for %d keys", len(errs), len(keys))
	}
	f.wantResults(t, errs[1:4], keys[1:4], map[string]bool{present[1]: true, present[2]: true})
	// The repeated key: whichever of its two deletes runs second (a driver
	// may run them in parallel) finds it gone; both are done, and one of
	// them deleted it.
	for _, i := range []int{0, 4} {
		if err := errs[i]; err != nil && store.Code(err) != store.NotFound {
			t.Errorf("%q (key %d): %v, want done", keys[i], i, err)
		}
	}
	if errs[0] != nil && errs[4] != nil {
		t.Errorf("%q twice: both found it gone (%v, %v), yet it was there", keys[0], errs[0], errs[4])
	}
	if store.Code(errs[5]) != store.InvalidArgument {
		t.Errorf("empty key: %v, want InvalidArgument", errs[5])
	}
	f.wantExist(t, false, present...)
	f.wantExist(t, true, "batch/task.abcd/keep")
}

// testPagesAndBatches: two and a half pages of objects are listed in three
// pages, then deleted in full batches; where the store sends one request
// per call (Requests), the calls are exactly the requests.
func testPagesAndBatches(t *testing.T, f *DeleterFixture) {
	ctx := context.Background()
	d := f.Deleter
	const prefix = "pages/task.1/"
	n := 2*f.PageSize + f.PageSize/2
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%schunk_%05d.bin", prefix, i)
	}
	f.put(t, keys...)
	var deletes0, lists0 int
	if f.Requests != nil {
		deletes0, lists0 = f.Requests()
	}
	// Listed first, deleted after: deleting while listing is the core's
	// business (and some servers' paging skips keys deleted meanwhile).
	var listed []string
	pages := 0
	err := d.List(ctx, f.Bucket, prefix, func(page []store.ObjectInfo) error {
		pages++
		for _, o := range page {
			listed = append(listed, o.Key)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if pages != 3 || !slices.Equal(listed, keys) {
		t.Errorf("%d pages listing %d keys, want 3 pages of %d keys in order", pages, len(listed), n)
	}
	calls := 0
	for i := 0; i < len(listed); i += d.BatchLimit() {
		calls++
		batch := listed[i:min(i+d.BatchLimit(), len(listed))]
		wantNil(t, d.DeleteObjects(ctx, f.Bucket, batch), batch)
	}
	if want := (n + d.BatchLimit() - 1) / d.BatchLimit(); calls != want {
		t.Errorf("%d DeleteObjects calls, want %d", calls, want)
	}
	if f.Requests != nil {
		deletes, lists := f.Requests()
		if deletes-deletes0 != calls || lists-lists0 != pages {
			t.Errorf("%d delete requests for %d calls, %d list requests for %d pages", deletes-deletes0, calls, lists-lists0, pages)
		}
	}
	if err := d.List(ctx, f.Bucket, "pages/", func(page []store.ObjectInfo) error {
		return fmt.Errorf("%d objects left, e.g. %q", len(page), page[0].Key)
	}); err != nil {
		t.Error(err)
	}
}

// testMissingBucket: a bucket that does not exist is permanent, for a
// delete as for a listing (the listing: testRefused).
func testMissingBucket(t *testing.T, f *DeleterFixture) {
	ctx := context.Background()
	for _, err := range f.Deleter.DeleteObjects(ctx, f.MissingBucket, []string{"p/a"}) {
		switch {
		case f.MissingBucketDeleteIsNotFound && err != nil && store.Code(err) != store.NotFound:
			t.Errorf("DeleteObjects: %v (code %v), want done: the provider cannot tell a missing bucket here", err, store.Code(err))
		case !f.MissingBucketDeleteIsNotFound && store.Code(err) != store.InvalidArgument:
			t.Errorf("DeleteObjects: %v (code %v), want InvalidArgument", err, store.Code(err))
		}
	}
}

// testWrongCredentials: credentials the server refuses are
// PermissionDenied for every call, and delete nothing.
func testWrongCredentials(t *testing.T, f *DeleterFixture) {
	if f.Denied == nil {
		t.Skip("no refused credentials for this server: " + f.DeniedWhy)
	}
	ctx := context.Background()
	const key = "denied/task.1/kept.bin"
	f.put(t, key)
	for _, err := range f.Denied.DeleteObjects(ctx, f.Bucket, []string{key}) {
		if store.Code(err) != store.PermissionDenied {
			t.Errorf("DeleteObjects: %v (code %v), want PermissionDenied", err, store.Code(err))
		}
	}
	if err := f.Denied.List(ctx, f.Bucket, "denied/", func([]store.ObjectInfo) error { return nil }); store.Code(err) != store.PermissionDenied {
		t.Errorf("List: %v, want PermissionDenied", err)
	}
	if _, err := f.Denied.Stat(ctx, f.Bucket, key); store.Code(err) != store.PermissionDenied {
		t.Errorf("Stat: %v, want PermissionDenied", err)
	}
	f.wantExist(t, true, key)
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
