package cleanup_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storagegate/storagegate/shared/cleanup"
	"github.com/storagegate/storagegate/shared/config"
	"github.com/storagegate/storagegate/shared/store"
)

// fakeClock moves only when the pipeline waits: a backoff wait returns at
// once and advances the time by what it would have slept.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	waits []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Now()} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) sleep(ctx context.Context, d time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	c.waits = append(c.waits, d)
	return ctx.Err() == nil
}

func (c *fakeClock) use(o *cleanup.Options) { cleanup.SetClock(o, c.now, c.sleep) }

// TestRetryDefaultBackoff: with DefaultBackoff a key that stays throttled
// is sent 8 times, after waits of about 0.2, 0.4, 0.8, 1.6, 3.2, 5 and 5 s,
// each drawn between half and all of its step; on a fake clock the test
// does not sleep through them.
func TestRetryDefaultBackoff(t *testing.T) {
	clk := newFakeClock()
	f := newFixture(t, testConfig, nil, clk.use, func(o *cleanup.Options) { o.Backoff = cleanup.DefaultBackoff })
	seed(f.mem, "art", []string{"p/t.1/a"}, old)
	f.mem.fault = func(op, _, _ string) error { return errTransient }
	start := time.Now()
	s := f.d.Run(context.Background(), cleanup.Message{Version: 1, URLs: []string{host + "p/t.1/a"}})
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("the run took %s: it slept through its backoff", el)
	}
	if s.Status != cleanup.StatusTransient || s.Failed != 1 || f.mem.deletes.Load() != 8 {
		t.Fatalf("summary: %s %+v %v, %d delete calls", s.Status, s.Counts, s.Failures, f.mem.deletes.Load())
	}
	if r := s.Failures[0].Reason; !strings.HasSuffix(r, "(gave up after 8 attempts)") {
		t.Errorf("reason %q", r)
	}
	if len(clk.waits) != 7 {
		t.Fatalf("waits %v, want 7", clk.waits)
	}
	var total time.Duration
	for i, w := range clk.waits {
		step := min(200*time.Millisecond<<i, 5*time.Second)
		if w < step/2 || w > step {
			t.Errorf("wait %d: %s, want between %s and %s", i+1, w, step/2, step)
		}
		total += w
	}
	if s.Duration != total {
		t.Errorf("duration %s on the run's clock, want the waits' %s", s.Duration, total)
	}
}

// TestRetryStopsAtTheDeadline: no wait is started that would end past the
// deadline (cleanup.deadline here, read on the run's clock); what is left
// fails transiently, saying so.
func TestRetryStopsAtTheDeadline(t *testing.T) {
	clk := newFakeClock()
	f := newFixture(t, testConfig, func(c *config.Cleanup) { c.Deadline = config.NewDuration(2 * time.Second) },
		clk.use, func(o *cleanup.Options) { o.Backoff = cleanup.DefaultBackoff })
	seed(f.mem, "art", []string{"p/t.1/a"}, old)
	f.mem.fault = func(op, _, _ string) error { return errTransient }
	s := f.d.Run(context.Background(), cleanup.Message{Version: 1, URLs: []string{host + "p/t.1/a"}})
	if s.Status != cleanup.StatusTransient || s.Failed != 1 {
		t.Fatalf("summary: %s %+v %v", s.Status, s.Counts, s.Failures)
	}
	if r := s.Failures[0].Reason; !strings.Contains(r, "(gave up at the deadline, after ") {
		t.Errorf("reason %q", r)
	}
	// 0.1-0.2, 0.2-0.4, 0.4-0.8 s fit in 2 s; the next, 0.8-1.6 s, may not.
	if n := f.mem.deletes.Load(); n < 4 || n > 5 {
		t.Errorf("%d delete calls, want 4 or 5", n)
	}
	if s.Duration > 2*time.Second {
		t.Errorf("ran %s on its clock, past the 2s deadline", s.Duration)
	}
}

// TestRetryAlreadyGoneIsDone: NotFound, from a stat, a listing or a delete,
// is done (already absent), never retried; a permanent failure is never
// retried either.
func TestRetryAlreadyGoneIsDone(t *testing.T) {
	notFound := &store.Error{Code: store.NotFound, Err: errors.New("no such key")}
	for _, tc := range []struct {
		name    string
		op      string
		created bool
		prefix  bool
	}{
		{"stat", "stat", true, false},
		{"delete", "delete", false, false},
		{"list", "list", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newFakeClock()
			f := newFixture(t, testConfig, nil, clk.use)
			seed(f.mem, "art", []string{"p/t.1/a"}, old)
			f.mem.fault = func(op, _, _ string) error {
				if op == tc.op {
					return notFound
				}
				return nil
			}
			m := cleanup.Message{Version: 1}
			if tc.prefix {
				m.Prefixes = []string{host + "p/t.1/"}
			} else {
				m.URLs = []string{host + "p/t.1/a"}
			}
			if tc.created {
				c := time.Now().Add(time.Hour)
				m.Created = &c
			}
			s := f.d.Run(context.Background(), m)
			if !s.OK() || s.AlreadyAbsent != 1 || s.Deleted != 0 || len(clk.waits) != 0 {
				t.Errorf("summary: %s %+v %v, %d waits", s.Status, s.Counts, s.Failures, len(clk.waits))
			}
		})
	}
	t.Run("permanent", func(t *testing.T) {
		clk := newFakeClock()
		f := newFixture(t, testConfig, nil, clk.use)
		seed(f.mem, "art", []string{"p/t.1/a"}, old)
		f.mem.fault = func(op, _, _ string) error { return denied }
		s := f.d.Run(context.Background(), cleanup.Message{Version: 1, URLs: []string{host + "p/t.1/a"}})
		if s.Status != cleanup.StatusPermanent || f.mem.deletes.Load() != 1 || len(clk.waits) != 0 {
			t.Errorf("summary: %s %+v, %d deletes, %d waits", s.Status, s.Counts, f.mem.deletes.Load(), len(clk.waits))
		}
	})
}
