// Command handler is storagegate's Azure Functions custom handler: one Go
// binary that the Functions host starts and talks to on
// FUNCTIONS_CUSTOMHANDLER_PORT. host.json forwards HTTP trigger requests
// unchanged (enableForwardingHttpRequest, an empty route prefix), so paths
// are the same as on every platform; the invocation form (Data.req in,
// Outputs.res out) is served too, at /Presign.
package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"time"

	"github.com/storagegate/storagegate/shared/app"
	"github.com/storagegate/storagegate/shared/azurefunc"
)

func main() {
	log := app.NewLogger(os.Stderr)
	cfg, err := app.LoadConfig(context.Background(), log, nil)
	if err != nil {
		log.Error("start-up failed", "error", err.Error())
		os.Exit(2)
	}
	presign, err := app.NewPresign(cfg, app.Options{Logger: log})
	if err != nil {
		log.Error("start-up failed", "error", err.Error())
		os.Exit(2)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /Presign", azurefunc.HTTPTrigger(presign))
	mux.Handle("/", presign)
	srv := &http.Server{Addr: azurefunc.ListenAddr(os.Getenv), Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("serve", "error", err.Error())
		os.Exit(1)
	}
}
