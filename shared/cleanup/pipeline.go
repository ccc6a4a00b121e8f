package cleanup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/storagegate/storagegate/shared/config"
	"github.com/storagegate/storagegate/shared/requestid"
	"github.com/storagegate/storagegate/shared/scope"
	"github.com/storagegate/storagegate/shared/storagesettings"
	"github.com/storagegate/storagegate/shared/storageurl"
	"github.com/storagegate/storagegate/shared/store"
)

// Resolver finds the configured store for a URL (*credentials.Resolver),
// and says how to parse URLs.
type Resolver interface {
	scope.Resolver
	URLOptions() storageurl.Options
}

// Settings give each message the storage settings it runs with
// (*storagesettings.Settings: possibly from ClearML, refreshed between
// messages).
type Settings interface {
	Current(ctx context.Context) (*storagesettings.Snapshot, error)
}

// Options assemble a Pipeline.
type Options struct {
	Config config.Cleanup
	// Settings, or a fixed Resolver.
	Settings Settings
	Resolver Resolver
	Logger   *slog.Logger
	// Backoff: zero fields take DefaultBackoff's.
	Backoff Backoff

	// clock: zero is the real one (SetClock in tests).
	clock clock
}

// Pipeline runs deletion messages. It is safe for concurrent use; each
// message gets cleanup.concurrency workers of its own.
type Pipeline struct {
	cfg      config.Cleanup
	settings Settings
	res      Resolver // fixed settings, when Settings is nil
	rules    scope.Rules
	log      *slog.Logger
	backoff  Backoff
	clock    clock
	minDepth int
	workers  int
}

// New checks the options and compiles cleanup.match_sets.
func New(o Options) (*Pipeline, error) {
	if o.Resolver == nil && o.Settings == nil {
		return nil, errors.New("cleanup: Settings or a Resolver are required")
	}
	rules, err := scope.Compile("cleanup", o.Config.MatchSets)
	if err != nil {
		return nil, fmt.Errorf("config: cleanup.%w", err)
	}
	p := &Pipeline{
		cfg: o.Config, settings: o.Settings, res: o.Resolver, rules: rules, log: o.Logger,
		backoff: o.Backoff, clock: o.clock, minDepth: max(o.Config.PrefixDepth(), 1), workers: max(o.Config.Concurrency, 1),
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	if p.clock.now == nil || p.clock.sleep == nil {
		p.clock = realClock
	}
	if p.backoff.Initial <= 0 {
		p.backoff.Initial = DefaultBackoff.Initial
	}
	if p.backoff.Max <= 0 {
		p.backoff.Max = DefaultBackoff.Max
	}
	if p.backoff.Attempts <= 0 {
		p.backoff.Attempts = DefaultBackoff.Attempts
	}
	if p.cfg.Deadline.D() <= 0 {
		p.cfg.Deadline = config.NewDuration(4 * time.Minute)
	}
	return p, nil
}

// ParseMessage decodes and checks a message like the package's
// ParseMessage (an *InvalidError, or the message with an *ItemError), also
// accepting Azure URLs on the configured endpoints. It is the producers'
// check; Process itself runs a message whose entries are partly bad.
func (p *Pipeline) ParseMessage(data []byte) (Message, error) {
	_, opts, err := p.current(context.Background())
	if err != nil {
		return Message{}, err
	}
	return parseMessage(data, opts)
}

// current is the resolver and URL options a message runs with, from one
// snapshot of the settings.
func (p *Pipeline) current(ctx context.Context) (Resolver, storageurl.Options, error) {
	if p.settings == nil {
		return p.res, p.res.URLOptions(), nil
	}
	snap, err := p.settings.Current(ctx)
	if err != nil {
		return nil, storageurl.Options{}, err
	}
	return snap.Resolver, snap.URLOptions(), nil
}

// Process is the queue path, the same on every platform: parse the message
// body, run it, log and return the Summary. A message that is unusable as a
// whole (an *InvalidError) is StatusInvalid and reaches no store; entries
// that can never be done fail one by one while the rest run.
func (p *Pipeline) Process(ctx context.Context, body []byte) Summary {
	m, err := decodeMessage(body)
	if err != nil {
		s := Summary{RequestID: requestid.From(ctx), Status: StatusInvalid, Error: err.Error()}
		s.log(ctx, p.log)
		return s
	}
	return p.Run(ctx, m)
}

// Run deletes what m names, within the deadline: ctx's own (the platform's
// remaining time, less a reserve for reporting) or cleanup.deadline. It
// returns once every item is done or has failed, and logs the summary line
// and one line per failure.
func (p *Pipeline) Run(ctx context.Context, m Message) Summary {
	start := p.clock.now()
	s := Summary{
		RequestID: requestid.From(ctx), Company: m.Company, User: m.User, Task: m.Task,
		DryRun: p.cfg.DryRun || m.DryRun, URLs: len(m.URLs), Prefixes: len(m.Prefixes),
		Providers: map[string]*Counts{},
	}
	res, opts, err := p.current(ctx)
	if err != nil {
		// No settings yet (ClearML unreachable since the cold start): the
		// whole message fails as transient, so the platform redelivers it.
		p.unavailable(&s, m, err)
		s.Duration = p.clock.now().Sub(start)
		s.DurationMS = s.Duration.Milliseconds()
		s.log(ctx, p.log)
		return s
	}
	items, err := m.check(opts)
	if err != nil {
		s.Status, s.Error, s.Providers = StatusInvalid, err.Error(), nil
		s.Duration = p.clock.now().Sub(start)
		s.DurationMS = s.Duration.Milliseconds()
		s.log(ctx, p.log)
		return s
	}
	ctx, cancel := p.withDeadline(ctx)
	defer cancel()
	r := &run{
		p: p, res: res, ctx: ctx, sum: &s, dry: s.DryRun,
		work:  make(chan struct{}, p.workers),
		lists: make(chan struct{}, p.workers),
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
		p.log.LogAttrs(ctx, slog.LevelError, "cleanup: further failures not logged one by one",
			slog.String("request_id", s.RequestID), slog.Int("not_logged", r.logged-maxLoggedFailures))
	}
	s.Duration = p.clock.now().Sub(start)
	s.DurationMS = s.Duration.Milliseconds()
	s.log(ctx, p.log)
	return s
}

// unavailable fails every entry of m as transient: the settings to run it
// with could not be had.
func (p *Pipeline) unavailable(s *Summary, m Message, err error) {
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
	p.log.LogAttrs(context.Background(), slog.LevelError, "cleanup: no storage settings",
		slog.String("request_id", s.RequestID), slog.String("error", reason))
}

// withDeadline bounds a run. A platform deadline keeps a reserve (a tenth of
// the time left, at most 5 s) so that the answer is written before the
// platform ends the invocation; without one, cleanup.deadline applies.
func (p *Pipeline) withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok {
		reserve := min(dl.Sub(p.clock.now())/10, 5*time.Second)
		return context.WithDeadline(ctx, dl.Add(-max(reserve, 0)))
	}
	return context.WithDeadline(ctx, p.clock.now().Add(p.cfg.Deadline.D()))
}

// run is one message in progress.
type run struct {
	p       *Pipeline
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
