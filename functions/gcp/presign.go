// Package gcp registers storagegate's Cloud Functions (gen2) with the
// Functions Framework: the HTTP function Presign. Deploy this package as the
// function source (see README, "Deploying on Google Cloud"); cmd/ runs it
// locally exactly as the platform does, selected by FUNCTION_TARGET.
package gcp

import (
	"context"
	"net/http"
	"os"
	"sync"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"

	"github.com/storagegate/storagegate/shared/app"
)

func init() {
	functions.HTTP("Presign", presign().ServeHTTP)
}

// presign builds the handler once, at instance start-up: an invalid config
// fails the instance with a message naming the field, never a request.
var presign = sync.OnceValue(func() http.Handler {
	log := app.NewLogger(os.Stderr)
	cfg, err := app.LoadConfig(context.Background(), log, nil)
	if err != nil {
		log.Error("start-up failed", "error", err.Error())
		os.Exit(2)
	}
	h, err := app.NewPresign(cfg, app.Options{Logger: log})
	if err != nil {
		log.Error("start-up failed", "error", err.Error())
		os.Exit(2)
	}
	return h
})
