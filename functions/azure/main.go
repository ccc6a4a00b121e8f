// Command handler is storagegate's Azure Functions custom handler: one Go
// binary that the Functions host starts and talks to on
// FUNCTIONS_CUSTOMHANDLER_PORT. host.json forwards HTTP trigger requests
// unchanged (enableForwardingHttpRequest, an empty route prefix), so paths
// are the same as on every platform; the invocation form (Data.req in,
// Outputs.res out) is served too, at /Presign.
package main

import (
	"errors"
	"net/http"
	"os"
	"time"

	"github.com/storagegate/storagegate/shared/app"
	"github.com/storagegate/storagegate/shared/azurefunc"
)

func main() {
	presign := app.PresignOrExit(nil)
	mux := http.NewServeMux()
	mux.Handle("POST /Presign", azurefunc.HTTPTrigger(presign))
	mux.Handle("/", presign)
	srv := &http.Server{Addr: azurefunc.ListenAddr(os.Getenv), Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		app.NewLogger(os.Stderr).Error("serve", "error", err.Error())
		os.Exit(1)
	}
}
