package cleanup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/storagegate/storagegate/shared/config"
	"github.com/storagegate/storagegate/shared/credentials"
	"github.com/storagegate/storagegate/shared/matchset"
	"github.com/storagegate/storagegate/shared/storagesettings"
	"github.com/storagegate/storagegate/shared/storageurl"
	"github.com/storagegate/storagegate/shared/store"
)

// Resolver finds the configured store for a URL (*credentials.Resolver).
type Resolver interface {
	Resolve(u storageurl.URL, withDefaults bool) (credentials.Target, error)
	URLOptions() storageurl.Options
}

// Backoff tunes the retries of transient failures inside one invocation.
type Backoff struct {
	// Initial is the first wait; each further wait doubles, up to Max.
	// Every wait is drawn between half and all of its step (jitter), so
	// workers that failed together do not retry together.
	Initial, Max time.Duration
	// Attempts bounds the calls per store operation (the SDKs retry a few
	// times inside each). The deadline bounds them too.
	Attempts int
}

// DefaultBackoff waits about 0.2, 0.4, 0.8, 1.6, 3.2, 5, 5 s: some 16 s in
// all, enough for MinIO to restart or S3's SlowDown to pass, and well inside
// the default 4m deadline.
var DefaultBackoff = Backoff{Initial: 200 * time.Millisecond, Max: 5 * time.Second, Attempts: 8}

// Settings give each message the storage settings it runs with
// (*storagesettings.Settings: possibly from ClearML, refreshed between
// messages).
type Settings interface {
	Current(ctx context.Context) (*storagesettings.Snapshot, error)
}

// Options assemble a Deleter.
type Options struct {
	Config config.Cleanup
	// Settings, or a fixed Resolver.
	Settings Settings
	Resolver Resolver
	Logger   *slog.Logger
	// Backoff: zero fields take DefaultBackoff's.
	Backoff Backoff
}

// Deleter runs deletion messages. It is safe for concurrent use; each
// message gets cleanup.concurrency workers of its own.
type Deleter struct {
	cfg      config.Cleanup
	settings Settings
	res      Resolver // fixed settings, when Settings is nil
	rules    matchset.Sets
	log      *slog.Logger
	backoff  Backoff
	minDepth int
	workers  int
}

// New checks the options and compiles cleanup.match_sets.
func New(o Options) (*Deleter, error) {
	if o.Resolver == nil && o.Settings == nil {
		return nil, errors.New("cleanup: Settings or a Resolver are required")
	}
	rules, err := matchset.Compile(o.Config.MatchSets)
	if err != nil {
		return nil, fmt.Errorf("config: cleanup.%w", err)
	}
	d := &Deleter{
		cfg: o.Config, settings: o.Settings, res: o.Resolver, rules: rules, log: o.Logger,
		backoff: o.Backoff, minDepth: max(o.Config.PrefixDepth(), 1), workers: max(o.Config.Concurrency, 1),
	}
	if d.log == nil {
		d.log = slog.Default()
	}
	if d.backoff.Initial <= 0 {
		d.backoff.Initial = DefaultBackoff.Initial
	}
	if d.backoff.Max <= 0 {
		d.backoff.Max = DefaultBackoff.Max
	}
	if d.backoff.Attempts <= 0 {
		d.backoff.Attempts = DefaultBackoff.Attempts
	}
	if d.cfg.Deadline.D() <= 0 {
		d.cfg.Deadline = config.NewDuration(4 * time.Minute)
	}
	return d, nil
}

type requestIDKey struct{}

// WithRequestID sets the id that a message's log lines and Summary carry
// (the queue's message id, an HTTP request id); without one, Run makes one.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

func requestID(ctx context.Context) string {
	if id, ok := ctx.Value(requestIDKey{}).(string); ok && id != "" {
		return id
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ParseMessage decodes and checks a message like the package's
// ParseMessage (an *InvalidError, or the message with an *ItemError), also
// accepting Azure URLs on the configured endpoints. It is the producers'
// check; Process itself runs a message whose entries are partly bad.
func (d *Deleter) ParseMessage(data []byte) (Message, error) {
	_, opts, err := d.current(context.Background())
	if err != nil {
		return Message{}, err
	}
	return parseMessage(data, opts)
}

// current is the resolver and URL options a message runs with, from one
// snapshot of the settings.
func (d *Deleter) current(ctx context.Context) (Resolver, storageurl.Options, error) {
	if d.settings == nil {
		return d.res, d.res.URLOptions(), nil
	}
	snap, err := d.settings.Current(ctx)
	if err != nil {
		return nil, storageurl.Options{}, err
	}
	return snap.Resolver, snap.URLOptions(), nil
}

// Process is the queue path, the same on every platform: parse the message
// body, run it, log and return the Summary. A message that is unusable as a
// whole (an *InvalidError) is StatusInvalid and reaches no store; entries
// that can never be done fail one by one while the rest run.
func (d *Deleter) Process(ctx context.Context, body []byte) Summary {
	m, err := decodeMessage(body)
	if err != nil {
		s := Summary{RequestID: requestID(ctx), Status: StatusInvalid, Error: err.Error()}
		s.log(ctx, d.log)
		return s
	}
	return d.Run(ctx, m)
}

// Run deletes what m names, within the deadline: ctx's own (the platform's
// remaining time, less a reserve for reporting) or cleanup.deadline. It
// returns once every item is done or has failed, and logs the summary line
// and one line per failure.
func (d *Deleter) Run(ctx context.Context, m Message) Summary {
	start := time.Now()
	s := Summary{
		RequestID: requestID(ctx), Company: m.Company, User: m.User, Task: m.Task,
		DryRun: d.cfg.DryRun || m.DryRun, URLs: len(m.URLs), Prefixes: len(m.Prefixes),
		Providers: map[string]*Counts{},
	}
	res, opts, err := d.current(ctx)
	if err != nil {
		// No settings yet (ClearML unreachable since the cold start): the
		// whole message fails as transient, so the platform redelivers it.
		d.unavailable(&s, m, err)
		s.Duration = time.Since(start)
		s.DurationMS = s.Duration.Milliseconds()
		s.log(ctx, d.log)
		return s
	}
	items, err := m.check(opts)
	if err != nil {
		s.Status, s.Error, s.Providers = StatusInvalid, err.Error(), nil
		s.Duration = time.Since(start)
		s.DurationMS = s.Duration.Milliseconds()
		s.log(ctx, d.log)
		return s
	}
	ctx, cancel := d.withDeadline(ctx)
	defer cancel()
	r := &run{
		d: d, res: res, ctx: ctx, sum: &s, dry: s.DryRun,
		work:  make(chan struct{}, d.workers),
		lists: make(chan struct{}, d.workers),
	}
	if m.Created != nil {
		r.created = *m.Created
	}
	r.start(items)
	r.wg.Wait()

	switch {
	case s.TransientFailures > 0:
		s.Status = StatusTransient
	case s.PermanentFailures > 0:
		s.Status = StatusPermanent
	default:
		s.Status = StatusOK
	}
	if r.logged > maxLoggedFailures {
		d.log.LogAttrs(ctx, slog.LevelError, "cleanup: further failures not logged one by one",
			slog.String("request_id", s.RequestID), slog.Int("not_logged", r.logged-maxLoggedFailures))
	}
	s.Duration = time.Since(start)
	s.DurationMS = s.Duration.Milliseconds()
	s.log(ctx, d.log)
	return s
}

// unavailable fails every entry of m as transient: the settings to run it
// with could not be had.
func (d *Deleter) unavailable(s *Summary, m Message, err error) {
	s.Status = StatusTransient
	reason := err.Error()
	for _, u := range append(append([]string(nil), m.URLs...), m.Prefixes...) {
		s.Failed++
		s.TransientFailures++
		if len(s.Failures) < MaxReportedFailures {
			s.Failures = append(s.Failures, Failure{URL: u, Code: store.Transient.String(), Reason: reason, Transient: true})
		} else {
			s.FailuresOmitted++
		}
	}
	if s.TransientFailures == 0 {
		// A message with nothing in it is refused later, when it can be
		// checked; for now it waits like the rest.
		s.TransientFailures = 1
	}
	d.log.LogAttrs(context.Background(), slog.LevelError, "cleanup: no storage settings",
		slog.String("request_id", s.RequestID), slog.String("error", reason))
}

// withDeadline bounds a run. A platform deadline keeps a reserve (a tenth of
// the time left, at most 5 s) so that the answer is written before the
// platform ends the invocation; without one, cleanup.deadline applies.
func (d *Deleter) withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok {
		reserve := min(time.Until(dl)/10, 5*time.Second)
		return context.WithDeadline(ctx, dl.Add(-max(reserve, 0)))
	}
	return context.WithTimeout(ctx, d.cfg.Deadline.D())
}

// run is one message in progress.
type run struct {
	d       *Deleter
	res     Resolver
	ctx     context.Context
	dry     bool
	created time.Time // zero: no created in the message
	// work bounds store calls (deletes and stats); lists bounds listings,
	// which hand their batches to work slots, so a listing never waits on
	// a slot it holds itself.
	work, lists chan struct{}
	wg          sync.WaitGroup

	mu     sync.Mutex
	sum    *Summary
	logged int
}

// target is a resolved item's store.
type target struct {
	del      store.Deleter
	entry    string
	provider string
}

// group is the objects of one message in one bucket of one store.
type group struct {
	target
	base  storageurl.URL // provider, host, account and bucket
	items []item
}

type groupKey struct {
	entry, bucket string
}

// start checks each item's scope and starts the work; items that cannot be
// done or that fail a guard are reported without any store call.
func (r *run) start(items []item) {
	var urls []resolved
	var prefixes []resolved
	covered := map[string]bool{} // accepted prefixes, normalised
	for _, it := range items {
		if it.bad != nil {
			r.fail(providerOf(it.raw), *it.bad)
			continue
		}
		t, f := r.resolve(it)
		if f != nil {
			r.fail(string(it.u.Provider), *f)
			continue
		}
		if it.prefix {
			prefixes = append(prefixes, resolved{it, t})
			covered[it.u.String()] = true
		} else {
			urls = append(urls, resolved{it, t})
		}
	}
	groups := map[groupKey]*group{}
	var order []*group
	for _, x := range urls {
		// An object under a prefix of the same message is the listing's
		// to delete; deleting it twice would count it twice.
		if underAny(x.it.u, covered) {
			continue
		}
		k := groupKey{x.t.entry, x.it.u.Bucket}
		g := groups[k]
		if g == nil {
			base := x.it.u
			base.Key = ""
			g = &group{target: x.t, base: base}
			groups[k] = g
			order = append(order, g)
		}
		g.items = append(g.items, x.it)
	}
	for _, g := range order {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.objects(g)
		}()
	}
	for _, p := range prefixes {
		r.lists <- struct{}{}
		r.wg.Add(1)
		go func() {
			defer func() { <-r.lists; r.wg.Done() }()
			r.prefix(p.it, p.t)
		}()
	}
}

type resolved struct {
	it item
	t  target
}

// underAny reports whether one of u's folders is in prefixes.
func underAny(u storageurl.URL, prefixes map[string]bool) bool {
	if len(prefixes) == 0 {
		return false
	}
	key := u.Key
	for i := 0; i < len(key); i++ {
		if key[i] == '/' {
			u.Key = key[:i+1]
			if prefixes[u.String()] {
				return true
			}
		}
	}
	return false
}

// resolve applies the guards: prefix depth, match_sets, the credentials
// config (docs/configuration.md#scope: with no match_sets an entry must name
// the bucket; with them, the rules are the scope and defaults may supply
// keys; the guards: docs/cleanup.md#guards).
func (r *run) resolve(it item) (target, *Failure) {
	u := it.u
	if it.prefix {
		if depth := u.PrefixDepth(); depth < r.d.minDepth {
			return target{}, &Failure{URL: it.raw, Code: codeRefused, Reason: fmt.Sprintf(
				"the prefix is %d folder(s) below the bucket; cleanup.min_prefix_depth is %d", depth, r.d.minDepth)}
		}
	}
	if !r.d.rules.Empty() && !r.d.rules.Match(u.String(), "", "") {
		return target{}, &Failure{URL: it.raw, Code: "no_matching_rule", Reason: "no cleanup.match_sets rule matches this URL"}
	}
	t, err := r.res.Resolve(u, !r.d.rules.Empty())
	if err != nil {
		return target{}, &Failure{URL: it.raw, Code: "not_configured", Reason: "no storage credentials are configured for " + scope(u)}
	}
	del, ok := t.Store.(store.Deleter)
	if !ok {
		return target{}, &Failure{URL: it.raw, Code: "not_supported", Reason: "the store of " + t.Entry + " cannot delete"}
	}
	return target{del: del, entry: t.Entry, provider: string(u.Provider)}, nil
}

func scope(u storageurl.URL) string {
	switch {
	case u.Provider == storageurl.S3 && u.Host != "":
		return "s3://" + u.Host + "/" + u.Bucket
	case u.Provider == storageurl.Azure:
		return "azure://" + u.Host + "/" + u.Bucket
	}
	return string(u.Provider) + "://" + u.Bucket
}

// acquire takes a work slot; release gives it back.
func (r *run) acquire() { r.work <- struct{}{} }
func (r *run) release() { <-r.work }

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
			err := r.retry(func(ctx context.Context) error {
				var err error
				info, err = g.del.Stat(ctx, g.base.Bucket, it.u.Key)
				return err
			})
			switch {
			case store.Code(err) == store.NotFound:
				r.count(g.provider, Counts{AlreadyAbsent: 1})
			case err != nil:
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

// maxSweeps bounds the deleting listings of one prefix: the first, and
// checks that find what the first missed (objects written meanwhile, or
// stores whose paging skips a key when the key before it is deleted, as
// gofakes3 behind `rclone serve s3` does). When the last of them still
// deleted something, one more listing, which deletes nothing, confirms that
// the prefix is gone.
const maxSweeps = 3

// prefix deletes a folder: it lists page by page, handing each page's keys
// to delete workers as it goes, so only the pages and batches in flight are
// in memory. Once those batches are done it lists again, and stops when a
// listing finds nothing left to delete: a message succeeds only when the
// prefix is gone. Objects that keep appearing (a writer still at work)
// fail the prefix transiently, so that the message is redelivered.
func (r *run) prefix(it item, t target) {
	var batches sync.WaitGroup
	var failed atomic.Int64
	for sweep := 1; sweep <= maxSweeps; sweep++ {
		handed, ok := r.listPrefix(it, t, sweep == 1, false, &batches, &failed)
		batches.Wait()
		// Failed keys are reported already; listing them again would only
		// report them twice.
		if !ok || handed == 0 || r.dry || failed.Load() > 0 {
			return
		}
	}
	left, ok := r.listPrefix(it, t, false, true, nil, nil)
	if ok && left > 0 {
		r.fail(t.provider, Failure{URL: it.raw, Code: store.Transient.String(), Transient: true, Reason: fmt.Sprintf(
			"%d object(s) still under the prefix after %d listings that deleted what they found: "+
				"something may still be writing there; redelivery finishes the job", left, maxSweeps)})
	}
}

// listPrefix is one listing of a prefix: it counts what stays (on the first
// sweep only, so nothing is counted twice) and hands the rest to delete
// workers, or, when confirm is set, only counts the rest. It returns how
// many keys it handed on (or found to delete), and false when the listing
// itself failed (reported). A listing that fails transiently starts again
// after the last key it handled (every provider lists in key order).
func (r *run) listPrefix(it item, t target, first, confirm bool, batches *sync.WaitGroup, failed *atomic.Int64) (int, bool) {
	u := it.u
	base := u
	base.Key = ""
	limit := max(t.del.BatchLimit(), 1)
	var last string
	found, handed := false, 0
	for attempt := 1; ; attempt++ {
		resumeAfter := last
		err := t.del.List(r.ctx, u.Bucket, u.Key, func(page []store.ObjectInfo) error {
			batch := make([]string, 0, min(limit, len(page)))
			var c Counts
			for _, o := range page {
				// The store filters by prefix; checking again costs little
				// and keeps a lax store from widening the deletion.
				if !strings.HasPrefix(o.Key, u.Key) || (resumeAfter != "" && o.Key <= resumeAfter) {
					continue
				}
				found = true
				last = max(last, o.Key)
				switch {
				case r.newer(o.Modified):
					if first {
						c.Kept++
					}
				case r.dry:
					c.WouldDelete++
				case confirm:
					handed++
				default:
					batch = append(batch, o.Key)
					if len(batch) == limit {
						r.spawnDelete(batchJob{t: t, base: base, keys: batch, done: batches, failed: failed})
						handed += len(batch)
						batch = make([]string, 0, limit)
					}
				}
			}
			if len(batch) > 0 {
				r.spawnDelete(batchJob{t: t, base: base, keys: batch, done: batches, failed: failed})
				handed += len(batch)
			}
			r.count(t.provider, c)
			return r.ctx.Err()
		})
		if err == nil || store.Code(err) == store.NotFound {
			if first && !found {
				r.count(t.provider, Counts{AlreadyAbsent: 1})
			}
			return handed, true
		}
		if store.Permanent(err) || !r.wait(attempt) {
			r.failErr(t.provider, it.raw, r.gaveUp(err, attempt))
			return handed, false
		}
	}
}

// batchJob is one DeleteObjects call's worth of keys.
type batchJob struct {
	t    target
	base storageurl.URL
	keys []string
	// urls are the URLs as sent, for reports; nil builds them from base
	// (objects listed under a prefix).
	urls []string
	// done and failed, when set, follow the batch for its prefix.
	done   *sync.WaitGroup
	failed *atomic.Int64
}

// spawnDelete runs one batch on a work slot, waiting for a free one: this
// back-pressure is what keeps a listing from running ahead of the deletes.
func (r *run) spawnDelete(j batchJob) {
	r.acquire()
	r.wg.Add(1)
	if j.done != nil {
		j.done.Add(1)
	}
	go func() {
		defer func() {
			r.release()
			if j.done != nil {
				j.done.Done()
			}
			r.wg.Done()
		}()
		r.deleteBatch(j)
	}()
}

// deleteBatch deletes a batch, retrying only the keys that failed
// transiently.
func (r *run) deleteBatch(j batchJob) {
	t := j.t
	urlOf := func(i int) string {
		if j.urls != nil {
			return j.urls[i]
		}
		u := j.base
		u.Key = j.keys[i]
		return u.String()
	}
	fail := func(i int, err error) {
		if j.failed != nil {
			j.failed.Add(1)
		}
		r.failErr(t.provider, urlOf(i), err)
	}
	pending := make([]int, len(j.keys)) // indexes into j.keys
	for i := range pending {
		pending[i] = i
	}
	for attempt := 1; ; attempt++ {
		batch := make([]string, len(pending))
		for n, i := range pending {
			batch[n] = j.keys[i]
		}
		var errs []error
		if err := r.ctx.Err(); err != nil {
			errs = repeat(&store.Error{Code: store.Transient, Err: err}, len(batch))
		} else {
			errs = t.del.DeleteObjects(r.ctx, j.base.Bucket, batch)
		}
		var c Counts
		var retry []int
		var lastErr error
		for n, i := range pending {
			var err error
			if n < len(errs) {
				err = errs[n]
			} else {
				err = errors.New("the store returned no result for this key")
			}
			switch {
			case err == nil:
				c.Deleted++
			case store.Code(err) == store.NotFound:
				c.AlreadyAbsent++
			case store.Permanent(err):
				fail(i, err)
			default:
				retry, lastErr = append(retry, i), err
			}
		}
		r.count(t.provider, c)
		if len(retry) == 0 {
			return
		}
		if !r.wait(attempt) {
			err := r.gaveUp(lastErr, attempt)
			for _, i := range retry {
				fail(i, err)
			}
			return
		}
		pending = retry
	}
}

func repeat(err error, n int) []error {
	errs := make([]error, n)
	for i := range errs {
		errs[i] = err
	}
	return errs
}

// retry calls op until it succeeds, fails permanently, finds nothing
// (NotFound is an answer, not a failure), or runs out of attempts or time.
func (r *run) retry(op func(ctx context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := r.ctx.Err()
		if err == nil {
			err = op(r.ctx)
		} else {
			err = &store.Error{Code: store.Transient, Err: err}
		}
		if err == nil || store.Code(err) == store.NotFound || store.Permanent(err) {
			return err
		}
		if !r.wait(attempt) {
			return r.gaveUp(err, attempt)
		}
	}
}

// wait sleeps before the next attempt, with exponential backoff and jitter;
// false means stop: attempts used up, or the deadline would pass first.
func (r *run) wait(attempt int) bool {
	b := r.d.backoff
	if attempt >= b.Attempts {
		return false
	}
	step := b.Initial << min(attempt-1, 30)
	if step > b.Max || step <= 0 {
		step = b.Max
	}
	sleep := step/2 + mrand.N(step/2+1)
	if dl, ok := r.ctx.Deadline(); ok && time.Now().Add(sleep).After(dl) {
		return false
	}
	t := time.NewTimer(sleep)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.ctx.Done():
		return false
	}
}

// gaveUp notes how a transient failure ended (attempts used up, or no time
// left for another), keeping its code.
func (r *run) gaveUp(err error, attempts int) error {
	if store.Permanent(err) {
		return err
	}
	why := fmt.Sprintf("gave up after %d attempts", attempts)
	if attempts < r.d.backoff.Attempts {
		why = fmt.Sprintf("gave up at the deadline, after %d attempt(s)", attempts)
	}
	// Wrap the cause, not its *store.Error: that would print the code twice
	// ("transient: transient: ...") in the failure's reason.
	var se *store.Error
	if errors.As(err, &se) && se == err {
		err = se.Err
	}
	return &store.Error{Code: store.Transient, Err: fmt.Errorf("%w (%s)", err, why)}
}

func (r *run) count(provider string, c Counts) {
	if c == (Counts{}) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sum.add(c)
	if provider == "" { // a URL of no known provider: in the totals only
		return
	}
	p := r.sum.Providers[provider]
	if p == nil {
		p = &Counts{}
		r.sum.Providers[provider] = p
	}
	p.add(c)
}

// failErr records a store failure, classified by its code.
func (r *run) failErr(provider, url string, err error) {
	code := store.Code(err)
	// The code is a field of its own: the reason does not repeat it.
	f := Failure{URL: url, Code: code.String(), Reason: store.Reason(err), Transient: !store.Permanent(err)}
	if f.Transient {
		f.Code = store.Transient.String()
	}
	r.fail(provider, f)
}

// fail counts, reports and logs one failure.
func (r *run) fail(provider string, f Failure) {
	r.count(provider, Counts{Failed: 1})
	r.mu.Lock()
	if f.Transient {
		r.sum.TransientFailures++
	} else {
		r.sum.PermanentFailures++
	}
	if len(r.sum.Failures) < MaxReportedFailures {
		r.sum.Failures = append(r.sum.Failures, f)
	} else {
		r.sum.FailuresOmitted++
	}
	r.logged++
	logIt := r.logged <= maxLoggedFailures
	r.mu.Unlock()
	if !logIt {
		return
	}
	level := slog.LevelError
	if f.Transient {
		level = slog.LevelWarn
	}
	r.d.log.LogAttrs(r.ctx, level, "cleanup failure",
		slog.String("request_id", r.sum.RequestID),
		slog.String("url", f.URL),
		slog.String("code", f.Code),
		slog.Bool("transient", f.Transient),
		slog.String("reason", f.Reason))
}
