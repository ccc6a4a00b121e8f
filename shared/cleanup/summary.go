package cleanup

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Statuses of a processed message.
const (
	StatusOK = "ok"
	// StatusTransient: something may succeed on redelivery (it may also
	// hold permanent failures; redelivery is idempotent, so the rest of the
	// job is finished and the permanent ones are dead-lettered in the end).
	StatusTransient = "transient_failure"
	// StatusPermanent: every failure is one that retrying cannot fix
	// (entries that can never be done among them: every other entry was
	// still done).
	StatusPermanent = "permanent_failure"
	// StatusInvalid: the message as a whole is unusable (not JSON, a wrong
	// type, another version, nothing or more than MaxItems to delete);
	// nothing was touched.
	StatusInvalid = "invalid_message"
)

// MaxReportedFailures bounds the failures a Summary carries (and so its
// memory and the size of an HTTP answer); every failure is still counted,
// and logged up to maxLoggedFailures.
const MaxReportedFailures = 100

// maxLoggedFailures bounds the failure lines of one message: a bucket whose
// credentials may list but not delete would otherwise log one line for each
// of 100,000 objects, all with the same reason.
const maxLoggedFailures = 1000

// Counts are the results for one provider, or for a whole message. URLs
// count one object each; a prefix counts the objects listed under it, and
// counts once as already absent when nothing at all is under it.
type Counts struct {
	Deleted int64 `json:"deleted"`
	// WouldDelete is what a dry run found to delete.
	WouldDelete int64 `json:"would_delete,omitempty"`
	// AlreadyAbsent objects were gone before this run: success. A delete
	// reports a missing object as deleted (S3 does, and so does the
	// store.Deleter contract), so objects count here when the run inspected
	// them first (a message with created, or a dry run); a prefix with
	// nothing under it counts once.
	AlreadyAbsent int64 `json:"already_absent"`
	// Kept objects were modified after the message's created time.
	Kept   int64 `json:"kept"`
	Failed int64 `json:"failed"`
}

func (c *Counts) add(o Counts) {
	c.Deleted += o.Deleted
	c.WouldDelete += o.WouldDelete
	c.AlreadyAbsent += o.AlreadyAbsent
	c.Kept += o.Kept
	c.Failed += o.Failed
}

// Failure is one URL (an object, or a prefix whose listing failed) that was
// not done, with its reason.
type Failure struct {
	URL string `json:"url"`
	// Code is what kind of failure: transient, permission_denied,
	// invalid_argument, invalid_url, not_configured, no_matching_rule,
	// refused.
	Code      string `json:"code"`
	Reason    string `json:"reason"`
	Transient bool   `json:"transient"`
}

// Failure codes of items that reach no store.
const (
	// codeInvalidURL: the entry does not parse, names no object, or is a
	// folder in urls.
	codeInvalidURL = "invalid_url"
	// codeRefused: a guard refuses the prefix (bucket root, shallower than
	// cleanup.min_prefix_depth).
	codeRefused = "refused"
)

// Summary is the outcome of one message: the JSON answer of POST /cleanup,
// the fields of its summary log line, and what every entrypoint decides on.
type Summary struct {
	RequestID string `json:"request_id"`
	Status    string `json:"status"`
	// Error is why an invalid message was refused.
	Error    string `json:"error,omitempty"`
	Company  string `json:"company,omitempty"`
	User     string `json:"user,omitempty"`
	Task     string `json:"task,omitempty"`
	DryRun   bool   `json:"dry_run"`
	URLs     int    `json:"urls"`
	Prefixes int    `json:"prefixes"`
	Counts
	TransientFailures int64              `json:"transient_failures"`
	PermanentFailures int64              `json:"permanent_failures"`
	Providers         map[string]*Counts `json:"providers,omitempty"`
	// Failures holds the first MaxReportedFailures failures;
	// FailuresOmitted counts the rest.
	Failures        []Failure     `json:"failures,omitempty"`
	FailuresOmitted int64         `json:"failures_omitted,omitempty"`
	Duration        time.Duration `json:"-"`
	DurationMS      int64         `json:"duration_ms"`
}

// OK reports whether every URL and prefix is gone (or, in a dry run, was
// listed).
func (s *Summary) OK() bool { return s.Status == StatusOK }

// Invalid reports whether the message itself was refused.
func (s *Summary) Invalid() bool { return s.Status == StatusInvalid }

// Transient reports whether some failure may pass on redelivery: the
// entrypoint fails the message so the platform redelivers it.
func (s *Summary) Transient() bool { return s.TransientFailures > 0 }

// Permanent reports whether the message was invalid or some failure cannot
// pass by retrying. The message still fails
// (docs/cleanup.md#mixed-messages), so that after the configured attempts
// it is dead-lettered rather than dropped; the failures are in the logs
// with their reasons.
func (s *Summary) Permanent() bool { return s.Invalid() || s.PermanentFailures > 0 }

// Err is nil when the message is done, else an error saying why, for
// entrypoints whose platform takes an error (Pub/Sub, the Azure queue).
func (s *Summary) Err() error {
	switch s.Status {
	case StatusOK:
		return nil
	case StatusInvalid:
		return fmt.Errorf("cleanup %s: %s", s.RequestID, s.Error)
	}
	return fmt.Errorf("cleanup %s: %d transient and %d permanent failures (first: %s)",
		s.RequestID, s.TransientFailures, s.PermanentFailures, s.firstReason())
}

func (s *Summary) firstReason() string {
	if len(s.Failures) == 0 {
		return "none recorded"
	}
	return s.Failures[0].URL + ": " + s.Failures[0].Reason
}

// HTTPStatus is the answer of POST /cleanup: 200 done, 422 invalid message
// or permanent failures only, 503 when redelivery may help.
func (s *Summary) HTTPStatus() int {
	switch {
	case s.OK():
		return http.StatusOK
	case s.Transient():
		return http.StatusServiceUnavailable
	}
	return http.StatusUnprocessableEntity
}

// String is the CLI's one human line.
func (s *Summary) String() string {
	if s.Invalid() {
		return "invalid message: " + s.Error
	}
	var b strings.Builder
	if s.DryRun {
		fmt.Fprintf(&b, "dry run: would delete %d", s.WouldDelete)
	} else {
		fmt.Fprintf(&b, "deleted %d", s.Deleted)
	}
	fmt.Fprintf(&b, ", already absent %d, kept %d, failed %d", s.AlreadyAbsent, s.Kept, s.Failed)
	if s.Failed > 0 {
		fmt.Fprintf(&b, " (%d transient, %d permanent)", s.TransientFailures, s.PermanentFailures)
	}
	fmt.Fprintf(&b, " in %s", s.Duration.Round(time.Millisecond))
	return b.String()
}

// log writes the one summary line of a message.
func (s *Summary) log(ctx context.Context, log *slog.Logger) {
	attrs := []slog.Attr{
		slog.String("request_id", s.RequestID),
		slog.String("status", s.Status),
	}
	if s.Error != "" {
		attrs = append(attrs, slog.String("error", s.Error))
	}
	for _, f := range []struct{ k, v string }{{"company", s.Company}, {"user", s.User}, {"task", s.Task}} {
		if f.v != "" {
			attrs = append(attrs, slog.String(f.k, f.v))
		}
	}
	attrs = append(attrs,
		slog.Bool("dry_run", s.DryRun),
		slog.Int("urls", s.URLs),
		slog.Int("prefixes", s.Prefixes),
		slog.Int64("deleted", s.Deleted),
		slog.Int64("would_delete", s.WouldDelete),
		slog.Int64("already_absent", s.AlreadyAbsent),
		slog.Int64("kept", s.Kept),
		slog.Int64("failed", s.Failed),
		slog.Int64("transient_failures", s.TransientFailures),
		slog.Int64("permanent_failures", s.PermanentFailures),
	)
	providers := make([]string, 0, len(s.Providers))
	for p := range s.Providers {
		providers = append(providers, p)
	}
	sort.Strings(providers)
	var groups []any
	for _, p := range providers {
		c := s.Providers[p]
		groups = append(groups, slog.Group(p,
			slog.Int64("deleted", c.Deleted), slog.Int64("would_delete", c.WouldDelete),
			slog.Int64("already_absent", c.AlreadyAbsent), slog.Int64("kept", c.Kept), slog.Int64("failed", c.Failed)))
	}
	if len(groups) > 0 {
		attrs = append(attrs, slog.Group("providers", groups...))
	}
	attrs = append(attrs, slog.Int64("duration_ms", s.DurationMS))
	level := slog.LevelInfo
	switch {
	case s.Permanent():
		level = slog.LevelError
	case s.Transient():
		level = slog.LevelWarn
	}
	log.LogAttrs(ctx, level, "cleanup", attrs...)
}
