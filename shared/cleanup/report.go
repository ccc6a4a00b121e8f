package cleanup

import (
	"log/slog"

	"github.com/storagegate/storagegate/shared/store"
)

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
	f := Failure{URL: url, Code: code.String(), Reason: store.Reason(err), Transient: decide(err) != permanent}
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
	r.p.log.LogAttrs(r.ctx, level, "cleanup failure",
		slog.String("request_id", r.sum.RequestID),
		slog.String("url", f.URL),
		slog.String("code", f.Code),
		slog.Bool("transient", f.Transient),
		slog.String("reason", f.Reason))
}
