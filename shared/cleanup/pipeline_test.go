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

// TestRunInvalidTouchesNothing: a message unusable as a whole (not JSON, a
// wrong type, another version, nothing or too much to delete) is
// StatusInvalid, reaches no store and says why.
func TestRunInvalidTouchesNothing(t *testing.T) {
	f := newFixture(t, testConfig, nil)
	many := make([]string, cleanup.MaxItems+1)
	for i := range many {
		many[i] = `"` + host + fmt.Sprintf("p/t.1/%d", i) + `"`
	}
	for _, tc := range []struct{ body, want string }{
		{`not json`, "not a JSON object"},
		{`{"version": 1, "urls": "` + host + `x/y"}`, "urls: must be a list"},
		{`{"version": 2, "urls": ["` + host + `x/y"]}`, "version: is 2"},
		{`{"version": 1, "urls": [], "prefixes": []}`, "neither urls nor prefixes"},
		{`{"version": 1, "urls": [` + strings.Join(many, ",") + `]}`, "holds 10001 URLs and prefixes"},
	} {
		s := f.d.Process(context.Background(), []byte(tc.body))
		if !s.Invalid() || !s.Permanent() || s.Transient() || !strings.Contains(s.Error, tc.want) || s.HTTPStatus() != 422 || s.Err() == nil {
			t.Errorf("%.60s: summary %+v", tc.body, s)
		}
	}
	s := f.d.Run(context.Background(), cleanup.Message{Version: 2, URLs: []string{host + "x/y"}})
	if !s.Invalid() || !strings.Contains(s.Error, "version: is 2") {
		t.Errorf("built message: %+v", s)
	}
	if n := f.mem.calls(); n != 0 {
		t.Errorf("%d store calls for invalid messages", n)
	}
}

// TestRunBadEntriesTouchNothing: a message whose entries can never be done
// (bad URL, bucket root, `..`, a folder in urls) is a clear permanent
// failure, each entry named with its code and reason, and not a single
// store call.
func TestRunBadEntriesTouchNothing(t *testing.T) {
	tests := []struct {
		name, body, url, code, reason string
	}{
		{"unknown scheme", `{"version": 1, "urls": ["webdav://x/y/z"]}`, "webdav://x/y/z", "invalid_url", `unsupported scheme "webdav"`},
		{"ClearML fileserver", `{"version": 1, "urls": ["http://fs.example.com:8081/p/t.1/artifacts/a.csv"]}`,
			"http://fs.example.com:8081/p/t.1/artifacts/a.csv", "invalid_url", `unsupported scheme "http"`},
		{"bucket root", `{"version": 1, "prefixes": ["s3://fake:9000/art/"]}`, "s3://fake:9000/art/", "refused", "is a bucket root: whole buckets are never deleted"},
		{"dot-dot", `{"version": 1, "urls": ["` + host + `a/../b"]}`, host + "a/../b", "invalid_url", `".." path segment`},
		{"folder in urls", `{"version": 1, "urls": ["` + host + `p/t.1/"]}`, host + "p/t.1/", "invalid_url", "a folder goes in prefixes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, testConfig, nil)
			seed(f.mem, "art", clearmlKeys, old)
			s := f.d.Process(context.Background(), []byte(tc.body))
			if s.Status != cleanup.StatusPermanent || s.Invalid() || !s.Permanent() || s.Transient() || s.OK() ||
				s.Failed != 1 || s.PermanentFailures != 1 || s.HTTPStatus() != 422 || s.Err() == nil {
				t.Fatalf("summary: %s %+v", s.Status, s.Counts)
			}
			fl := s.Failures[0]
			if fl.URL != tc.url || fl.Code != tc.code || !strings.Contains(fl.Reason, tc.reason) || fl.Transient {
				t.Errorf("failure %+v, want url %s code %s reason %q", fl, tc.url, tc.code, tc.reason)
			}
			if !strings.Contains(s.Err().Error(), tc.reason) || !strings.Contains(s.String(), "failed 1 (0 transient, 1 permanent)") {
				t.Errorf("Err() %v, String() %q", s.Err(), s.String())
			}
			if n := f.mem.calls(); n != 0 || f.mem.count() != len(clearmlKeys) {
				t.Errorf("%d store calls, %d objects left", n, f.mem.count())
			}
			if !strings.Contains(f.logs.String(), `"msg":"cleanup failure"`) || !strings.Contains(f.logs.String(), `"level":"ERROR","msg":"cleanup"`) {
				t.Errorf("no failure line, or the summary line is not at error level:\n%s", f.logs)
			}
		})
	}
}

// TestRunMixedMessage: every entry that can be done is done; the ones that
// cannot fail one by one, without a store call, and fail the message
// permanently (docs/cleanup.md#mixed-messages). A prefix at the bucket
// root and one too shallow are refused alike.
func TestRunMixedMessage(t *testing.T) {
	f := newFixture(t, testConfig, nil)
	seed(f.mem, "art", clearmlKeys, old)
	body := `{"version": 1, "task": "abc",
	  "urls": ["` + host + `proj/other.1/models/model.pt", "http://fs.example.com:8081/proj/task.abc/artifacts/a.csv",
	           "` + host + `proj/x/../y", "` + host + `proj/task.ab/", "http://fs.example.com:8081/proj/task.abc/artifacts/a.csv"],
	  "prefixes": ["` + host + `proj/task.abc", "s3://fake:9000/art/", "` + host + `proj/"]}`
	if _, err := f.d.ParseMessage([]byte(body)); err == nil || !strings.Contains(err.Error(), "and 3 more") {
		t.Errorf("ParseMessage (the producers' check) = %v", err)
	}
	s := f.d.Process(context.Background(), []byte(body))
	if s.Status != cleanup.StatusPermanent || s.Deleted != 5 || s.Failed != 5 || s.PermanentFailures != 5 || s.TransientFailures != 0 {
		t.Fatalf("summary: %s %+v %+v", s.Status, s.Counts, s.Failures)
	}
	for k, survives := range map[string]bool{
		"proj/other.1/models/model.pt": false, "proj/task.abc/models/Über model.pt": false,
		"proj/task.abcd/artifacts/keep.bin": true, "proj/task.ab/models/m.pt": true, "proj/other.1/models/model.pt.bak": true,
	} {
		if f.mem.has("art", k) != survives {
			t.Errorf("%q: survives=%v, want %v", k, !survives, survives)
		}
	}
	got := map[string]string{}
	for _, fl := range s.Failures {
		got[fl.URL] = fl.Code
	}
	want := map[string]string{
		"http://fs.example.com:8081/proj/task.abc/artifacts/a.csv": "invalid_url", // once, though sent twice
		host + "proj/x/../y":   "invalid_url",
		host + "proj/task.ab/": "invalid_url",
		"s3://fake:9000/art/":  "refused",
		host + "proj/":         "refused",
	}
	if len(s.Failures) != len(want) {
		t.Errorf("failures %v", got)
	}
	for u, code := range want {
		if got[u] != code {
			t.Errorf("failure for %s: code %q, want %q (all: %v)", u, got[u], code, got)
		}
	}
	// The good entries' calls only: one DeleteObjects for the URL, one for
	// the prefix's batch, and the prefix's two listings (the second empty).
	if d, l, st := f.mem.deletes.Load(), f.mem.listCalls.Load(), f.mem.stats.Load(); d != 2 || l != 2 || st != 0 {
		t.Errorf("store calls: %d deletes, %d lists, %d stats", d, l, st)
	}
	// The http:// URL has no provider: it counts in the totals only.
	if s.Providers["s3"].Failed != 4 || s.Providers["s3"].Deleted != 5 || len(s.Providers) != 1 {
		t.Errorf("providers: s3 %+v, %d providers", s.Providers["s3"], len(s.Providers))
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
		}, cleanup.StatusTransient, "transient", true, "connection reset by peer (gave up after 4 attempts)", 503},
		{"listing denied", func(op, _, _ string) error {
			if op == "list" {
				return denied
			}
			return nil
		}, cleanup.StatusPermanent, "permission_denied", false, "AccessDenied: Access Denied", 422},
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
			if fl.Code != tc.code || fl.Transient != tc.transient || fl.Reason != tc.reason {
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

// TestRunConfirmsThePrefixIsGone: when the last sweep still deleted
// something, a writer may still be at work; one more listing decides. A
// writer that has stopped leaves the prefix empty (done); one that keeps
// writing fails the prefix transiently, so the message is redelivered
// rather than reported done with objects left behind.
func TestRunConfirmsThePrefixIsGone(t *testing.T) {
	for _, tc := range []struct {
		name   string
		writes int64 // objects the writer adds, one per DeleteObjects call
		ok     bool
	}{
		{"writer stops during the sweeps", 2, true},
		{"writer keeps writing", 1 << 30, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, testConfig, nil)
			seed(f.mem, "art", []string{"p/t.1/a", "p/t.1/b", "p/t.1/c"}, old)
			f.mem.put("art", "p/t.10/keep", old)
			var written atomic.Int64
			f.mem.fault = func(op, bucket, key string) error {
				// Called with the store's lock held: write directly.
				if op == "delete" && key == "p/t.1/a" || op == "delete" && strings.HasPrefix(key, "p/t.1/new-") {
					if n := written.Add(1); n <= tc.writes {
						f.mem.objects[bucket+"/"+fmt.Sprintf("p/t.1/new-%03d", n)] = old
					}
				}
				return nil
			}
			s := f.d.Run(context.Background(), cleanup.Message{Version: 1, Prefixes: []string{host + "p/t.1/"}})
			left := f.mem.count() - 1 // p/t.10/keep stays
			if tc.ok {
				if !s.OK() || s.Deleted != 5 || left != 0 {
					t.Fatalf("summary: %s %+v %v, %d left", s.Status, s.Counts, s.Failures, left)
				}
			} else {
				if s.Status != cleanup.StatusTransient || !s.Transient() || s.HTTPStatus() != 503 || s.Failed != 1 || left != 1 {
					t.Fatalf("summary: %s %+v %v, %d left", s.Status, s.Counts, s.Failures, left)
				}
				fl := s.Failures[0]
				if fl.URL != host+"p/t.1/" || fl.Code != "transient" || !fl.Transient || !strings.Contains(fl.Reason, "1 object(s) still under the prefix") {
					t.Errorf("failure %+v", fl)
				}
				if s.Deleted != 3+1+1 { // the seeded three, then one per later sweep
					t.Errorf("deleted %d", s.Deleted)
				}
			}
			// Three deleting sweeps, then one confirming listing.
			if got := f.mem.listCalls.Load(); got != 4 {
				t.Errorf("%d listings, want 4", got)
			}
			if !f.mem.has("art", "p/t.10/keep") {
				t.Error("a neighbouring folder was touched")
			}
		})
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

// TestFailureReasonDoesNotRepeatItsCode: the failure's code is its own
// field, and its reason neither repeats it nor doubles it (issue 9, item 8).
func TestFailureReasonDoesNotRepeatItsCode(t *testing.T) {
	f := newFixture(t, testConfig, nil)
	seed(f.mem, "art", []string{"p/t.1/a"}, old)
	f.mem.fault = func(op, _, _ string) error {
		if op == "delete" {
			return &store.Error{Code: store.Transient, Err: errTransient} // as gcsstore wraps a listing's error
		}
		return nil
	}
	s := f.d.Run(context.Background(), cleanup.Message{Version: 1, URLs: []string{host + "p/t.1/a"}})
	if len(s.Failures) != 1 {
		t.Fatalf("failures %+v", s.Failures)
	}
	if fl := s.Failures[0]; fl.Code != "transient" || !strings.HasPrefix(fl.Reason, "SlowDown: please reduce your request rate") {
		t.Errorf("failure %+v", fl)
	}
	if err := s.Err().Error(); strings.Contains(err, "transient: transient") {
		t.Errorf("summary error repeats itself: %s", err)
	}
}
