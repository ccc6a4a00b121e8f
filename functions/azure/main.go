// Command handler is storagegate's Azure Functions custom handler: one Go
// binary that the Functions host starts and talks to on
// FUNCTIONS_CUSTOMHANDLER_PORT. The host posts each HTTP request to
// /Presign as an invocation (Data.req in, Outputs.res out); host.json's
// empty route prefix and catch-all route keep the client's path in
// Data.req, so paths are the same as on every platform.
//
// host.json leaves enableForwardingHttpRequest off on purpose: forwarding
// hands the handler the client's own path, so a client could POST a forged
// invocation to /Cleanup. The forwarded form is still served (at every other
// path) for an app that holds only Presign and turns forwarding on.
//
// The Cleanup function is a Storage Queue trigger (Cleanup/function.json):
// the host posts each message to /Cleanup and, on a non-2xx answer, retries
// it and finally moves it to <queue>-poison (host.json sets how often).
//
// The Sweep function is a timer trigger (Sweep/function.json, its schedule
// from the STORAGEGATE_SWEEP_SCHEDULE app setting): each tick runs the
// retention sweeper once, its files going to STORAGEGATE_AZURE_QUEUE.
package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"time"

	"github.com/storagegate/storagegate/shared/app"
	"github.com/storagegate/storagegate/shared/cleanup"
	"github.com/storagegate/storagegate/shared/platform/azurefunc"
)

// queueBinding is the trigger binding's name in Cleanup/function.json.
const queueBinding = "message"

// timerBinding is the trigger binding's name in Sweep/function.json.
const timerBinding = "timer"

func main() {
	presign, deleter, sweeper := app.AllOrExit(nil)
	mux := http.NewServeMux()
	mux.Handle("POST /Presign", azurefunc.HTTPTrigger(presign))
	mux.Handle("POST /Cleanup", azurefunc.QueueTrigger(queueBinding, func(ctx context.Context, m azurefunc.QueueMessage) error {
		s := deleter.Process(cleanup.WithRequestID(ctx, m.ID), m.Body)
		return s.Err()
	}))
	mux.Handle("POST /Sweep", azurefunc.TimerTrigger(timerBinding, func(ctx context.Context, _ azurefunc.TimerInfo) error {
		return sweeper.Run(ctx).Err()
	}))
	mux.Handle("/", presign)
	srv := &http.Server{Addr: azurefunc.ListenAddr(os.Getenv), Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		app.NewLogger(os.Stderr).Error("serve", "error", err.Error())
		os.Exit(1)
	}
}
