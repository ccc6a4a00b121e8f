package cleanup_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/storagegate/storagegate/shared/cleanup"
	"github.com/storagegate/storagegate/shared/config"
	"github.com/storagegate/storagegate/shared/store"
)

const host = "s3://fake:9000/art/"

var (
	old   = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	fresh = time.Date(2026, 11, 22, 10, 0, 5, 0, time.UTC)
)

// clearmlKeys are keys as ClearML writes them, with the neighbours that must
// survive: a task folder whose name extends another's, literal %xx, spaces,
// Unicode.
var clearmlKeys = []string{
	"proj/task.abc/artifacts/data/df.csv.gz",
	"proj/task.abc/artifacts/data %20 literal/x%2Fy.bin",
	"proj/task.abc/metrics/loss/train/loss_train_00000100.png",
	"proj/task.abc/models/Über model.pt",
	"proj/task.abcd/artifacts/keep.bin",
	"proj/task.abc-keep/models/m.pt",
	"proj/task.ab/models/m.pt",
	"proj/task.abc",
	"proj/other.1/models/model.pt",
	"proj/other.1/models/model.pt.bak",
}

func seed(m *memStore, bucket string, keys []string, at time.Time) {
	for _, k := range keys {
		m.put(bucket, k, at)
	}
}

func TestRunDeletesExactlyWhatIsNamed(t *testing.T) {
	f := newFixture(t, testConfig, nil)
	seed(f.mem, "art", clearmlKeys, old)
	s := f.d.Run(context.Background(), cleanup.Message{
		Version:  1,
		URLs:     []string{host + "proj/other.1/models/model.pt"},
		Prefixes: []string{host + "proj/task.abc"}, // no trailing slash: task.abc/ is meant
	})
	if !s.OK() {
		t.Fatalf("summary: %+v", s)
	}
	want := map[string]bool{ // key -> survives
		"proj/task.abc/artifacts/data/df.csv.gz":                   false,
		"proj/task.abc/artifacts/data %20 literal/x%2Fy.bin":       false,
		"proj/task.abc/metrics/loss/train/loss_train_00000100.png": false,
		"proj/task.abc/models/Über model.pt":                       false,
		"proj/task.abcd/artifacts/keep.bin":                        true,
		"proj/task.abc-keep/models/m.pt":                           true,
		"proj/task.ab/models/m.pt":                                 true,
		"proj/task.abc":                                            true,
		"proj/other.1/models/model.pt":                             false,
		"proj/other.1/models/model.pt.bak":                         true,
	}
	for k, survives := range want {
		if f.mem.has("art", k) != survives {
			t.Errorf("%q: present=%v, want %v", k, !survives, survives)
		}
	}
	if s.Deleted != 5 || s.Failed != 0 || s.Providers["s3"].Deleted != 5 {
		t.Errorf("counts: %+v, s3 %+v", s.Counts, s.Providers["s3"])
	}
}

// TestRunRedelivery: the same message twice succeeds twice; the second run
// finds everything gone (a store that reports missing keys, like GCS, or an
// inspection because of created).
func TestRunRedelivery(t *testing.T) {
	for _, tc := range []struct {
		name     string
		notFound bool
		created  *time.Time
	}{
		{"store reports missing keys", true, nil},
		{"created makes the run inspect", false, &fresh},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, testConfig, nil)
			f.mem.notFoundOnDelete = tc.notFound
			seed(f.mem, "art", clearmlKeys, old)
			m := cleanup.Message{Version: 1, URLs: []string{host + "proj/task.ab/models/m.pt", host + "proj/task.abc"},
				Prefixes: []string{host + "proj/task.abc/"}, Created: tc.created}
			first := f.d.Run(context.Background(), m)
			if !first.OK() || first.Deleted != 6 || first.AlreadyAbsent != 0 {
				t.Fatalf("first run: %+v", first.Counts)
			}
			second := f.d.Run(context.Background(), m)
			// Two URLs absent, and the prefix found empty.
			if !second.OK() || second.Deleted != 0 || second.AlreadyAbsent != 3 {
				t.Fatalf("second run: %s %+v", second.Status, second.Counts)
			}
			if got := f.mem.count(); got != len(clearmlKeys)-6 {
				t.Errorf("%d objects left, want %d", got, len(clearmlKeys)-6)
			}
		})
	}
}

func TestRunCreatedKeepsNewerObjects(t *testing.T) {
	f := newFixture(t, testConfig, nil)
	created := time.Date(2026, 11, 22, 10, 0, 0, 700e6, time.UTC)
	f.mem.put("art", "proj/t.1/artifacts/old.bin", old)
	f.mem.put("art", "proj/t.1/artifacts/new.bin", fresh)
	// Same second as created, but before it: S3's HEAD would say 10:00:00,
	// so the object cannot be told apart from one written after created.
	f.mem.put("art", "proj/t.1/artifacts/same-second.bin", created.Add(-500*time.Millisecond))
	f.mem.put("art", "proj/t.1/artifacts/before.bin", created.Add(-time.Second))
	f.mem.put("art", "proj/t.1/models/old.pt", old)
	f.mem.put("art", "proj/t.1/models/new.pt", fresh)
	s := f.d.Run(context.Background(), cleanup.Message{
		Version: 1, Created: &created,
		URLs:     []string{host + "proj/t.1/models/old.pt", host + "proj/t.1/models/new.pt", host + "proj/t.1/models/gone.pt"},
		Prefixes: []string{host + "proj/t.1/artifacts/"},
	})
	if !s.OK() || s.Deleted != 3 || s.Kept != 3 || s.AlreadyAbsent != 1 {
		t.Fatalf("summary: %s %+v", s.Status, s.Counts)
	}
	for k, survives := range map[string]bool{
		"proj/t.1/artifacts/old.bin": false, "proj/t.1/artifacts/before.bin": false, "proj/t.1/models/old.pt": false,
		"proj/t.1/artifacts/new.bin": true, "proj/t.1/artifacts/same-second.bin": true, "proj/t.1/models/new.pt": true,
	} {
		if f.mem.has("art", k) != survives {
			t.Errorf("%q: survives=%v, want %v", k, !survives, survives)
		}
	}
}

func TestRunDryRun(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cfgDryRun bool
		msgDryRun bool
	}{{"message says so", false, true}, {"config says so", true, false}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, testConfig, func(c *config.Cleanup) { c.DryRun = tc.cfgDryRun })
			seed(f.mem, "art", clearmlKeys, old)
			s := f.d.Run(context.Background(), cleanup.Message{Version: 1, DryRun: tc.msgDryRun,
				URLs:     []string{host + "proj/other.1/models/model.pt", host + "proj/other.1/models/missing.pt"},
				Prefixes: []string{host + "proj/task.abc/"}})
			if !s.OK() || !s.DryRun || s.WouldDelete != 5 || s.Deleted != 0 || s.AlreadyAbsent != 1 {
				t.Fatalf("summary: %s dry=%v %+v", s.Status, s.DryRun, s.Counts)
			}
			if f.mem.count() != len(clearmlKeys) || f.mem.deletes.Load() != 0 {
				t.Errorf("a dry run deleted: %d objects left, %d delete calls", f.mem.count(), f.mem.deletes.Load())
			}
			if !strings.HasPrefix(s.String(), "dry run: would delete 5, already absent 1") {
				t.Errorf("String() = %q", s.String())
			}
		})
	}
}

// TestRunGuards: items refused by a guard fail permanently with their reason,
// reach no store, and do not stop the rest of the message.
func TestRunGuards(t *testing.T) {
	matchSets := `{"storage": {"aws": {"key": "dk", "secret": "ds", "buckets": [{"bucket": "art", "host": "fake:9000", "key": "k", "secret": "s", "secure": false}]}},
	  "cleanup": {"match_sets": [{"rules": [{"regex": "^s3://(fake:9000/art|aws-bucket)/"}]}]}}`
	tests := []struct {
		name, cfg, url, code, reason string
		prefix                       bool
	}{
		{"shallow prefix", testConfig, host + "proj/", "refused", "the prefix is 1 folder(s) below the bucket; cleanup.min_prefix_depth is 2", true},
		{"bucket not configured", testConfig, "s3://fake:9000/unlisted/proj/t.1/m.pt", "not_configured", "no storage credentials are configured for s3://fake:9000/unlisted", false},
		{"host not configured", testConfig, "s3://elsewhere:9000/art/proj/t.1/m.pt", "not_configured", "s3://elsewhere:9000/art", false},
		{"AWS bucket with defaults but no rules", testConfig, "s3://aws-bucket/proj/t.1/m.pt", "not_configured", "s3://aws-bucket", false},
		{"no rule matches", matchSets, "s3://other-aws-bucket/proj/t.1/m.pt", "no_matching_rule", "no cleanup.match_sets rule matches this URL", false},
		{"gcs without config", testConfig, "gs://bucket/proj/t.1/m.pt", "not_configured", "gs://bucket", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.cfg, nil)
			seed(f.mem, "art", []string{"proj/t.1/ok.bin"}, old)
			m := cleanup.Message{Version: 1, URLs: []string{host + "proj/t.1/ok.bin"}}
			if tc.prefix {
				m.Prefixes = []string{tc.url}
			} else {
				m.URLs = append(m.URLs, tc.url)
			}
			s := f.d.Run(context.Background(), m)
			if s.Status != cleanup.StatusPermanent || !s.Permanent() || s.Transient() || s.Deleted != 1 || s.PermanentFailures != 1 {
				t.Fatalf("summary: %s %+v", s.Status, s.Counts)
			}
			fl := s.Failures[0]
			if fl.URL != tc.url || fl.Code != tc.code || !strings.Contains(fl.Reason, tc.reason) || fl.Transient {
				t.Errorf("failure %+v, want url %s code %s reason %q", fl, tc.url, tc.code, tc.reason)
			}
			if f.mem.deletes.Load() != 1 || f.mem.lists.Load() != 0 {
				t.Errorf("store calls: %d deletes, %d lists; the refused item must reach no store", f.mem.deletes.Load(), f.mem.lists.Load())
			}
			if !strings.Contains(f.logs.String(), `"msg":"cleanup failure"`) || !strings.Contains(f.logs.String(), tc.reason) {
				t.Errorf("no failure line with the reason in the logs:\n%s", f.logs)
			}
		})
	}
	t.Run("match_sets lets defaults supply keys", func(t *testing.T) {
		f := newFixture(t, matchSets, nil)
		f.mem.put("aws-bucket", "proj/t.1/m.pt", old)
		s := f.d.Run(context.Background(), cleanup.Message{Version: 1, URLs: []string{"s3://aws-bucket/proj/t.1/m.pt"}})
		if !s.OK() || s.Deleted != 1 || f.mem.has("aws-bucket", "proj/t.1/m.pt") {
			t.Fatalf("summary: %s %+v %v", s.Status, s.Counts, s.Failures)
		}
	})
}

// TestRunInvalidTouchesNothing: a message that does not parse, or a built
// one that is invalid, reaches no store and says why.
func TestRunInvalidTouchesNothing(t *testing.T) {
	f := newFixture(t, testConfig, nil)
	for _, body := range []string{
		`not json`, `{"version": 2, "urls": ["` + host + `x/y"]}`, `{"version": 1, "prefixes": ["s3://fake:9000/art/"]}`,
		`{"version": 1, "urls": ["` + host + `a/../b"]}`, `{"version": 1, "urls": ["webdav://x/y/z"]}`,
	} {
		s := f.d.Process(context.Background(), []byte(body))
		if !s.Invalid() || !s.Permanent() || s.Transient() || s.Error == "" || s.HTTPStatus() != 422 || s.Err() == nil {
			t.Errorf("%s: summary %+v", body, s)
		}
	}
	s := f.d.Run(context.Background(), cleanup.Message{Version: 1, URLs: []string{host + "x/"}})
	if !s.Invalid() || !strings.Contains(s.Error, "a folder goes in prefixes") {
		t.Errorf("built message: %+v", s)
	}
	if n := f.mem.calls(); n != 0 {
		t.Errorf("%d store calls for invalid messages", n)
	}
}

var errTransient = &store.Error{Code: store.Transient, Err: errors.New("SlowDown: please reduce your request rate")}

func TestRunRetriesTransientFailures(t *testing.T) {
	f := newFixture(t, testConfig, nil)
	seed(f.mem, "art", []string{"p/t.1/a", "p/t.1/b", "p/t.1/c", "p/t.2/x"}, old)
	var failures atomic.Int64
	f.mem.fault = func(op, bucket, key string) error {
		// The first two attempts at b fail; a and c go through at once.
		if op == "delete" && key == "p/t.1/b" && failures.Add(1) <= 2 {
			return errTransient
		}
		return nil
	}
	s := f.d.Run(context.Background(), cleanup.Message{Version: 1, URLs: []string{host + "p/t.2/x"}, Prefixes: []string{host + "p/t.1/"}})
	if !s.OK() || s.Deleted != 4 || f.mem.count() != 0 {
		t.Fatalf("summary: %s %+v %v", s.Status, s.Counts, s.Failures)
	}
	if got := f.mem.deletes.Load(); got != 4 { // x; a, b, c; b; b
		t.Errorf("%d delete calls, want 4 (only the failed key is retried)", got)
	}
}

func TestRunClassifiesFailures(t *testing.T) {
	tests := []struct {
		name      string
		fault     func(op, bucket, key string) error
		status    string
		code      string
		transient bool
		reason    string
		http      int
	}{
		{"access denied on one key", func(op, _, key string) error {
			if op == "delete" && strings.HasSuffix(key, "/b") {
				return denied
			}
			return nil
		}, cleanup.StatusPermanent, "permission_denied", false, "AccessDenied: Access Denied", 422},
		{"throttled past every attempt", func(op, _, key string) error {
			if op == "delete" && strings.HasSuffix(key, "/b") {
				return errTransient
			}
			return nil
		}, cleanup.StatusTransient, "transient", true, "SlowDown: please reduce your request rate (gave up after 4 attempts)", 503},
		{"unknown errors count as transient", func(op, _, key string) error {
			if op == "delete" && strings.HasSuffix(key, "/b") {
				return errors.New("connection reset by peer")
			}
			return nil
		}, cleanup.StatusTransient, "transient", true, "connection reset by peer", 503},
		{"listing denied", func(op, _, _ string) error {
			if op == "list" {
				return denied
			}
			return nil
		}, cleanup.StatusPermanent, "permission_denied", false, "AccessDenied", 422},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, testConfig, nil)
			seed(f.mem, "art", []string{"p/t.1/a", "p/t.1/b", "p/t.1/c"}, old)
			f.mem.fault = tc.fault
			s := f.d.Run(context.Background(), cleanup.Message{Version: 1, Prefixes: []string{host + "p/t.1/"}})
			if s.Status != tc.status || s.Failed != 1 || s.HTTPStatus() != tc.http || s.Err() == nil {
				t.Fatalf("summary: %s %+v", s.Status, s.Counts)
			}
			fl := s.Failures[0]
			if fl.Code != tc.code || fl.Transient != tc.transient || !strings.Contains(fl.Reason, tc.reason) {
				t.Errorf("failure %+v, want code %s transient %v reason %q", fl, tc.code, tc.transient, tc.reason)
			}
			if tc.name != "listing denied" {
				if s.Deleted != 2 || fl.URL != host+"p/t.1/b" {
					t.Errorf("the other keys must be done and the failed one named: %+v %+v", s.Counts, fl)
				}
			} else if fl.URL != host+"p/t.1/" {
				t.Errorf("failure URL %q, want the prefix", fl.URL)
			}
		})
	}
}

// TestRunListingResumes: a listing that fails mid-way starts again after the
// last key it handled: nothing is counted twice.
func TestRunListingResumes(t *testing.T) {
	f := newFixture(t, testConfig, nil)
	f.mem.pageSize = 10
	var keys []string
	for i := range 35 {
		keys = append(keys, fmt.Sprintf("p/t.1/%03d", i))
	}
	created := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	seed(f.mem, "art", keys[:20], old)
	seed(f.mem, "art", keys[20:], fresh) // kept: the re-listing sees them again
	failed := false
	f.mem.fault = func(op, _, key string) error {
		if op == "list" && key == "p/t.1/030" && !failed {
			failed = true
			return errTransient
		}
		return nil
	}
	s := f.d.Run(context.Background(), cleanup.Message{Version: 1, Created: &created, Prefixes: []string{host + "p/t.1"}})
	if !s.OK() || s.Deleted != 20 || s.Kept != 15 || !failed {
		t.Fatalf("summary: %s %+v (fault hit: %v)", s.Status, s.Counts, failed)
	}
}

func TestRunBatchesAndBoundsConcurrency(t *testing.T) {
	f := newFixture(t, testConfig, func(c *config.Cleanup) { c.Concurrency = 3 })
	var keys []string
	for i := range 2500 {
		keys = append(keys, fmt.Sprintf("p/big.1/chunk_%05d.bin", i))
	}
	seed(f.mem, "art", keys, old)
	var urls []string
	for i := range 40 {
		k := fmt.Sprintf("p/small.%d/models/m.pt", i)
		f.mem.put("art", k, old)
		urls = append(urls, host+k)
	}
	f.mem.batch = 7 // 40 URLs -> 6 batches
	f.mem.pageSize = 1000
	s := f.d.Run(context.Background(), cleanup.Message{Version: 1, URLs: urls, Prefixes: []string{host + "p/big.1/"}})
	if !s.OK() || s.Deleted != 2540 || f.mem.count() != 0 {
		t.Fatalf("summary: %s %+v", s.Status, s.Counts)
	}
	if got, want := f.mem.deletes.Load(), int64(6+(2500+6)/7); got != want {
		t.Errorf("%d delete calls, want %d", got, want)
	}
	// Three delete workers and three listings at most.
	if got := f.mem.maxInFlight.Load(); got > 6 {
		t.Errorf("%d store calls at once; cleanup.concurrency is 3", got)
	}
}

// TestRunStreams: however many objects a prefix holds, only the pages and
// batches in flight are held: listed-but-not-deleted keys stay bounded by
// the workers, not by the folder's size.
func TestRunStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("50,000 objects")
	}
	f := newFixture(t, testConfig, func(c *config.Cleanup) { c.Concurrency = 2 })
	for i := range 50000 {
		f.mem.put("art", fmt.Sprintf("p/dataset.1/%06d", i), old)
	}
	s := f.d.Run(context.Background(), cleanup.Message{Version: 1, Prefixes: []string{host + "p/dataset.1/"}})
	if !s.OK() || s.Deleted != 50000 {
		t.Fatalf("summary: %s %+v", s.Status, s.Counts)
	}
	// Two batches deleting, one waiting for a slot, one page being split.
	if got := f.mem.maxOutstanding.Load(); got > 4*1000 {
		t.Errorf("up to %d keys listed but not yet deleted; the listing does not stream", got)
	}
}

func TestRunDeadline(t *testing.T) {
	f := newFixture(t, testConfig, func(c *config.Cleanup) { c.Deadline = config.NewDuration(50 * time.Millisecond) })
	seed(f.mem, "art", []string{"p/t.1/a"}, old)
	f.mem.fault = func(string, string, string) error { time.Sleep(20 * time.Millisecond); return errTransient }
	start := time.Now()
	s := f.d.Run(context.Background(), cleanup.Message{Version: 1, URLs: []string{host + "p/t.1/a"}})
	if !s.Transient() || s.Status != cleanup.StatusTransient {
		t.Fatalf("summary: %s %+v", s.Status, s.Counts)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("the run took %s; cleanup.deadline is 50ms", el)
	}
	// A platform deadline (Lambda's remaining time) wins over the config's.
	f = newFixture(t, testConfig, nil, func(o *cleanup.Options) {
		o.Backoff = cleanup.Backoff{Initial: 30 * time.Millisecond, Max: 30 * time.Millisecond, Attempts: 1000}
	})
	seed(f.mem, "art", []string{"p/t.1/a"}, old)
	f.mem.fault = func(string, string, string) error { return errTransient }
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	s = f.d.Run(ctx, cleanup.Message{Version: 1, URLs: []string{host + "p/t.1/a"}})
	if !s.Transient() || ctx.Err() != nil {
		t.Errorf("summary %s; the run must end before the platform's deadline (ctx err %v)", s.Status, ctx.Err())
	}
}

// TestRunSweepsWhatTheListingMissed: objects that appear under a prefix while
// it is being deleted (a straggling upload, or a store whose paging skips
// keys) are found by the closing listing.
func TestRunSweepsWhatTheListingMissed(t *testing.T) {
	f := newFixture(t, testConfig, nil)
	f.mem.pageSize = 2
	seed(f.mem, "art", []string{"p/t.1/b", "p/t.1/c", "p/t.1/d"}, old)
	added := false
	f.mem.fault = func(op, bucket, key string) error {
		if op == "list" && key == "p/t.1/d" && !added {
			added = true
			// Behind the listing's position: the first pass cannot see it.
			f.mem.put(bucket, "p/t.1/a", old)
		}
		return nil
	}
	s := f.d.Run(context.Background(), cleanup.Message{Version: 1, Prefixes: []string{host + "p/t.1/"}})
	if !s.OK() || s.Deleted != 4 || f.mem.count() != 0 || !added {
		t.Fatalf("summary: %s %+v, %d left", s.Status, s.Counts, f.mem.count())
	}
}

// TestRunURLUnderPrefix: a URL that a prefix of the same message covers is
// deleted once and counted once.
func TestRunURLUnderPrefix(t *testing.T) {
	f := newFixture(t, testConfig, nil)
	seed(f.mem, "art", []string{"p/t.1/models/m.pt", "p/t.1/x", "p/t.2/y"}, old)
	s := f.d.Run(context.Background(), cleanup.Message{Version: 1,
		URLs:     []string{host + "p/t.1/models/m.pt", host + "p/t.2/y", host + "p/t.2/y"},
		Prefixes: []string{host + "p/t.1"}})
	if !s.OK() || s.Deleted != 3 || f.mem.count() != 0 {
		t.Fatalf("summary: %s %+v", s.Status, s.Counts)
	}
}
