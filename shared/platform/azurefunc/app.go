package azurefunc

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/storagegate/storagegate/shared/cleanup"
	"github.com/storagegate/storagegate/shared/requestid"
	"github.com/storagegate/storagegate/shared/sweep"
)

// The trigger bindings' names, as functions/azure/Cleanup/function.json and
// functions/azure/Sweep/function.json declare them.
const (
	QueueBinding = "message"
	TimerBinding = "timer"
)

// Processor is the part of *cleanup.Pipeline the Cleanup function uses.
type Processor interface {
	Process(ctx context.Context, body []byte) cleanup.Summary
}

// Runner is the part of *sweep.Sweeper the Sweep function uses.
type Runner interface {
	Run(ctx context.Context) *sweep.Report
}

// App is the custom handler of storagegate's function app, one process for
// all three functions:
//
//   - Presign, an HTTP trigger: the host posts each request to /Presign as
//     an invocation (Data.req in, Outputs.res out). host.json's empty route
//     prefix and catch-all route keep the client's path in Data.req, so
//     paths are the same as on every platform. host.json leaves
//     enableForwardingHttpRequest off on purpose: forwarding hands the
//     handler the client's own path, so a client could POST a forged
//     invocation to /Cleanup. The forwarded form is still served (at every
//     other path) for an app that holds only Presign and turns forwarding on.
//   - Cleanup, a Storage Queue trigger: each message is one deletion message
//     run through p under the queue's message id; on a non-2xx answer the
//     host retries it and finally moves it to <queue>-poison (host.json sets
//     how often).
//   - Sweep, a timer trigger (its schedule from the STORAGEGATE_SWEEP_SCHEDULE
//     app setting): each tick runs r once; a failed run is a failed
//     invocation.
func App(presign http.Handler, p Processor, r Runner) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /Presign", HTTPTrigger(presign))
	mux.Handle("POST /Cleanup", QueueTrigger(QueueBinding, func(ctx context.Context, m QueueMessage) error {
		s := p.Process(requestid.With(ctx, m.ID), m.Body)
		return s.Err()
	}))
	mux.Handle("POST /Sweep", TimerTrigger(TimerBinding, func(ctx context.Context, _ TimerInfo) error {
		return r.Run(ctx).Err()
	}))
	mux.Handle("/", presign)
	return mux
}

// ListenAndServe serves h where the host expects it (ListenAddr) until the
// server fails.
func ListenAndServe(getenv func(string) string, h http.Handler) error {
	srv := &http.Server{Addr: ListenAddr(getenv), Handler: h, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
