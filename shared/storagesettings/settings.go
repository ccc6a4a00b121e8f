// Package storagesettings holds the storage credentials that presign,
// cleanup and the CLI sign and delete with: the config document's storage
// section, or (storage.from_clearml) the ClearML server's own settings from
// storage.get_settings with the document's entries laid over them.
//
// Settings from ClearML are checked again at most every storage.refresh,
// when a request or message arrives: serverless instances are frozen
// between invocations, so no background timer is relied on. One refresh
// runs at a time; while a copy exists a request never waits for one (it is
// served the current copy while the refresh runs in a goroutine); an
// unchanged answer (the same last_update) rebuilds nothing. Until the first
// load succeeds, Current answers ErrUnavailable with a retry time.
package storagesettings

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/storagegate/storagegate/shared/config"
	"github.com/storagegate/storagegate/shared/credentials"
	"github.com/storagegate/storagegate/shared/storageurl"
)

// ErrUnavailable: settings from ClearML have never loaded (ClearML is
// unreachable or refuses the service credentials). Test with errors.Is; the
// error is an *UnavailableError.
var ErrUnavailable = errors.New("storage settings from ClearML are unavailable")

// UnavailableError says when to try again and why (a reason without
// secrets).
type UnavailableError struct {
	RetryAfter time.Duration
	Reason     string
}

func (e *UnavailableError) Error() string {
	return ErrUnavailable.Error() + ": " + e.Reason
}

// Is makes errors.Is(err, ErrUnavailable) hold.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

// maxRetry bounds the wait after a failed load: a cold instance retries
// ClearML at least this often while requests arrive.
const maxRetry = 5 * time.Second

// Snapshot is one built set of settings; it never changes. A request or
// message uses one snapshot from start to end.
type Snapshot struct {
	// Resolver holds one prepared store per entry.
	Resolver *credentials.Resolver
	// AllowedCompanies replaces an empty clearml.allowed_companies: the
	// service account's company when the settings come from ClearML (they
	// are that company's), else nil.
	AllowedCompanies []string
	urlOpts          storageurl.Options
	sources          map[string]string
}

// URLOptions are the storage URL parser options of this snapshot
// (configured Azure endpoint hosts).
func (s *Snapshot) URLOptions() storageurl.Options { return s.urlOpts }

// Source says where the entry named by field (an Entry's Name) comes from:
// SourceDocument, SourceClearML or SourceBoth.
func (s *Snapshot) Source(field string) string {
	if src, ok := s.sources[field]; ok {
		return src
	}
	return SourceDocument
}

// Options assemble Settings.
type Options struct {
	Config   *config.Config
	Builders credentials.Builders
	Logger   *slog.Logger
	// HTTPClient calls ClearML; the default follows no redirects.
	HTTPClient *http.Client
	// Now is the clock (tests move it); time.Now when nil.
	Now func() time.Time
	// OnBuild, when set, is called after each build of a snapshot (tests
	// count rebuilds).
	OnBuild func()
}

// Settings is the one source of storage settings in a process.
type Settings struct {
	fromClearML bool
	doc         config.Storage
	allowed     []string // clearml.allowed_companies as configured
	builders    credentials.Builders
	client      *client
	timeout     time.Duration
	refresh     time.Duration
	log         *slog.Logger
	now         func() time.Time
	onBuild     func()

	cur    atomic.Pointer[state]
	next   atomic.Int64 // unix nanoseconds before which no load starts
	flight singleflight.Group
	builds atomic.Int64

	mu      sync.Mutex // guards company, lastErr
	company string     // the service account's, once known
	lastErr string     // why the last load failed; "" after a success
}

// state is the current snapshot with what is known about its freshness.
type state struct {
	snap       *Snapshot
	version    string    // what the ClearML answer was (last_update or a hash)
	lastUpdate string    // ClearML's last_update, "" when null
	checked    time.Time // when ClearML last confirmed or delivered it
}

// New prepares the settings. From the document alone they are built here,
// and a bad entry is an error naming its field, as at any start-up. From
// ClearML nothing is fetched yet: call Load at start-up (its failure is not
// fatal) or let the first request do it.
func New(o Options) (*Settings, error) {
	if o.Config == nil {
		return nil, errors.New("storagesettings: a Config is required")
	}
	cfg := o.Config
	s := &Settings{
		fromClearML: cfg.Storage.UseClearML(),
		doc:         cfg.Storage,
		allowed:     cfg.ClearML.AllowedCompanies,
		builders:    o.Builders,
		timeout:     cfg.ClearML.Timeout.D(),
		refresh:     cfg.Storage.Refresh.D(),
		log:         o.Logger,
		now:         o.Now,
		onBuild:     o.OnBuild,
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.timeout <= 0 {
		s.timeout = 5 * time.Second
	}
	if s.refresh <= 0 {
		s.refresh = time.Minute
	}
	if !s.fromClearML {
		res, err := credentials.New(cfg.Storage, o.Builders)
		if err != nil {
			return nil, err
		}
		s.cur.Store(&state{snap: &Snapshot{Resolver: res, urlOpts: res.URLOptions()}, checked: s.now()})
		s.builds.Add(1)
		return s, nil
	}
	s.client = newClient(cfg.ClearML.APIServer, cfg.ClearML.AccessKey, cfg.ClearML.SecretKey, o.HTTPClient)
	return s, nil
}

// FromClearML reports whether the settings come from ClearML.
func (s *Settings) FromClearML() bool { return s.fromClearML }

// Builds counts the snapshots built so far.
func (s *Settings) Builds() int64 { return s.builds.Load() }

// Load fetches the settings from ClearML now and waits for the answer (at
// start-up, and for the CLI). It is a no-op for document settings.
func (s *Settings) Load(ctx context.Context) error {
	if !s.fromClearML {
		return nil
	}
	return s.wait(ctx, s.flight.DoChan("load", s.load))
}

// Current is the snapshot to use now. With a copy at hand it never waits:
// when the copy is due for a check, one refresh starts in a goroutine and
// this request is served the copy. Without one it loads inline (concurrent
// callers share the load) unless a load failed moments ago, and answers an
// *UnavailableError when there is still none.
func (s *Settings) Current(ctx context.Context) (*Snapshot, error) {
	st := s.cur.Load()
	if !s.fromClearML {
		return st.snap, nil
	}
	now := s.now().UnixNano()
	if st != nil {
		if next := s.next.Load(); now >= next && s.next.CompareAndSwap(next, now+int64(s.refresh)) {
			s.flight.DoChan("load", s.load) // not waited for: stale-while-revalidate
		}
		return st.snap, nil
	}
	if next := s.next.Load(); now < next {
		return nil, s.unavailable(time.Duration(next - now))
	}
	if err := s.wait(ctx, s.flight.DoChan("load", s.load)); err != nil {
		return nil, err
	}
	if st := s.cur.Load(); st != nil {
		return st.snap, nil
	}
	return nil, s.unavailable(s.retryAfter())
}

// Peek is the current snapshot without loading or waiting (nil when none);
// it starts a load when one is due, as Current does.
func (s *Settings) Peek() *Snapshot {
	st := s.cur.Load()
	if s.fromClearML {
		now := s.now().UnixNano()
		if next := s.next.Load(); now >= next && s.next.CompareAndSwap(next, now+int64(s.refresh)) {
			s.flight.DoChan("load", s.load)
		}
	}
	if st == nil {
		return nil
	}
	return st.snap
}

func (s *Settings) wait(ctx context.Context, ch <-chan singleflight.Result) error {
	select {
	case r := <-ch:
		if r.Err != nil {
			return s.unavailable(s.retryAfter())
		}
		return nil
	case <-ctx.Done():
		return s.unavailable(s.retryAfter())
	}
}

func (s *Settings) retryAfter() time.Duration {
	d := time.Duration(s.next.Load() - s.now().UnixNano())
	return max(d, time.Second)
}

func (s *Settings) unavailable(retry time.Duration) error {
	s.mu.Lock()
	reason := s.lastErr
	s.mu.Unlock()
	if reason == "" {
		reason = "the first load has not finished"
	}
	return &UnavailableError{RetryAfter: max(retry, time.Second), Reason: reason}
}

// retryInterval is the wait after a failed load.
func (s *Settings) retryInterval() time.Duration { return min(s.refresh, maxRetry) }

// load is the one load in flight: it asks ClearML and swaps in a new
// snapshot when the answer changed. Its own deadline (not a caller's) bounds
// it, so one impatient caller does not fail it for the others.
func (s *Settings) load() (any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*s.timeout)
	defer cancel()
	err := s.fetchAndBuild(ctx)
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		// Each failed load logs one line; requests meanwhile are served
		// the last good copy, or 503 until the first one.
		s.lastErr = err.Error()
		s.next.Store(now.Add(s.retryInterval()).UnixNano())
		attrs := []slog.Attr{slog.String("error", err.Error()), slog.Duration("retry_in", s.retryInterval())}
		if st := s.cur.Load(); st != nil {
			attrs = append(attrs, slog.Duration("serving_settings_of_age", now.Sub(st.checked).Round(time.Second)))
		}
		s.log.LogAttrs(ctx, slog.LevelError, "storage settings: loading from ClearML failed", attrs...)
		return nil, err
	}
	if s.lastErr != "" {
		s.log.LogAttrs(ctx, slog.LevelInfo, "storage settings: ClearML answers again")
	}
	s.lastErr = ""
	s.next.Store(now.Add(s.refresh).UnixNano())
	return nil, nil
}

func (s *Settings) fetchAndBuild(ctx context.Context) error {
	s.mu.Lock()
	company := s.company
	s.mu.Unlock()
	if company == "" {
		c, err := s.client.company(ctx)
		if err != nil {
			return err
		}
		company = c
		s.mu.Lock()
		s.company = c
		s.mu.Unlock()
	}
	f, err := s.client.settings(ctx)
	if err != nil {
		return err
	}
	prev := s.cur.Load()
	if prev != nil && prev.version == f.version {
		// Unchanged: keep every prepared store, note the confirmation.
		s.cur.Store(&state{snap: prev.snap, version: prev.version, lastUpdate: prev.lastUpdate, checked: s.now()})
		return nil
	}
	snap := s.build(ctx, f, company)
	s.cur.Store(&state{snap: snap, version: f.version, lastUpdate: f.lastUpdate, checked: s.now()})
	return nil
}

// build decodes ClearML's settings, lays the document over them and
// prepares every store, skipping (with one warning each) entries that
// cannot serve.
func (s *Settings) build(ctx context.Context, f *fetched, company string) *Snapshot {
	cml, skips := decodeClearML(f.settings)
	merged, sources := overlay(cml, s.doc)
	names := entryNames(merged)
	res, _ := credentials.Build(merged, s.builders, func(field string, err error) {
		entry := entryField.FindString(field)
		name, ok := names[entry]
		if !ok {
			name = field
		}
		if src := sources[entry]; src == SourceDocument {
			name += " (from the config document)"
		}
		skips = append(skips, skipped{name, err.Error()})
	})
	for _, sk := range skips {
		s.log.LogAttrs(ctx, slog.LevelWarn, "storage settings: an entry from ClearML is skipped",
			slog.String("entry", sk.entry), slog.String("reason", sk.reason))
	}
	snap := &Snapshot{Resolver: res, urlOpts: res.URLOptions(), sources: sources}
	if len(s.allowed) == 0 {
		snap.AllowedCompanies = []string{company}
	}
	n := s.builds.Add(1)
	s.log.LogAttrs(ctx, slog.LevelInfo, "storage settings: loaded from ClearML",
		slog.Int("entries", len(res.Entries())), slog.Int("skipped", len(skips)),
		slog.String("last_update", f.lastUpdate), slog.Int64("build", n))
	if s.onBuild != nil {
		s.onBuild()
	}
	return snap
}

// entryField is the entry part of a field name.
var entryField = regexp.MustCompile(`^storage\.(aws|google)(\.buckets\[\d+\])?|^storage\.azure\.containers\[\d+\]`)

// entryNames names each merged entry by what it serves.
func entryNames(st config.Storage) map[string]string {
	names := map[string]string{"storage.aws": "aws default credentials", "storage.google": "google default credentials"}
	for i, b := range st.AWS.Buckets {
		names[fmt.Sprintf("storage.aws.buckets[%d]", i)] = s3Name(map[string]any{"bucket": b.Bucket, "host": b.Host, "subdir": b.Subdir})
	}
	for i, b := range st.Google.Buckets {
		names[fmt.Sprintf("storage.google.buckets[%d]", i)] = gsName(map[string]any{"bucket": b.Bucket, "subdir": b.Subdir})
	}
	for i, c := range st.Azure.Containers {
		names[fmt.Sprintf("storage.azure.containers[%d]", i)] = azureName(map[string]any{"account_name": c.AccountName, "container_name": c.ContainerName})
	}
	return names
}

// Status is what /healthz reports about the settings.
type Status struct {
	Source string `json:"source"` // "document" or "clearml"
	Loaded bool   `json:"loaded"`
	// AgeSeconds: since ClearML last delivered or confirmed the settings.
	AgeSeconds int64  `json:"age_seconds"`
	LastUpdate string `json:"last_update,omitempty"`
	// Failing: the last load failed (the copy, if any, is still served).
	Failing bool `json:"failing,omitempty"`
}

// Status reports the settings' source and age; it starts a load when one
// is due but never waits for it.
func (s *Settings) Status() Status {
	if !s.fromClearML {
		return Status{Source: SourceDocument, Loaded: true}
	}
	s.Peek()
	st := Status{Source: SourceClearML}
	if cur := s.cur.Load(); cur != nil {
		st.Loaded = true
		st.AgeSeconds = int64(s.now().Sub(cur.checked) / time.Second)
		st.LastUpdate = cur.lastUpdate
	}
	s.mu.Lock()
	st.Failing = s.lastErr != ""
	s.mu.Unlock()
	return st
}

// Fixed is settings that never change, around a resolver built elsewhere
// (tests, embedders).
func Fixed(res *credentials.Resolver) *Settings {
	s := &Settings{now: time.Now, log: slog.Default(), refresh: time.Minute}
	s.cur.Store(&state{snap: &Snapshot{Resolver: res, urlOpts: res.URLOptions()}, checked: time.Now()})
	s.builds.Add(1)
	return s
}
