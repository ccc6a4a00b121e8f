// Package app assembles storagegate from a loaded config: the logger, the
// ClearML verifier, the credentials resolver and the presign handler. Every
// entrypoint (Lambda, Cloud Functions, Azure, local) calls the same functions
// here, so every platform runs the same core path.
package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/storagegate/storagegate/shared/clearmlauth"
	"github.com/storagegate/storagegate/shared/config"
	"github.com/storagegate/storagegate/shared/presign"
	"github.com/storagegate/storagegate/shared/storagesettings"
)

// Version is set at build time (-ldflags "-X .../shared/app.Version=...").
var Version = "dev"

// Options tune assembly; zero values are the production defaults.
type Options struct {
	Logger *slog.Logger
	// LogWriter is where Logger writes (NewLogger's w): the presign audit
	// line is written there directly, built by hand. Nil: through Logger.
	LogWriter  io.Writer
	HTTPClient *http.Client
	Now        func() time.Time
	// Settings share one set of storage settings between the functions of
	// one process (presign and cleanup); built from the config when nil.
	Settings *storagesettings.Settings
}

// NewLogger is the JSON logger every platform uses, on stderr.
func NewLogger(w io.Writer) *slog.Logger {
	if w == nil {
		w = os.Stderr
	}
	return slog.New(slog.NewJSONHandler(w, nil))
}

// LoadConfig reads the config from the environment and logs ignored fields.
func LoadConfig(ctx context.Context, log *slog.Logger, fetch config.SecretFetcher) (*config.Config, error) {
	cfg, warnings, err := config.FromEnv(ctx, os.Getenv, fetch)
	for _, w := range warnings {
		log.Warn("config: unknown field ignored", slog.String("field", w))
	}
	return cfg, err
}

// maxStartupLoad bounds how long start-up waits for settings from ClearML:
// Lambda gives a function's init 10 s in all. A load still running then
// finishes in the background and serves the next request.
const maxStartupLoad = 5 * time.Second

// NewSettings prepares the storage settings for cfg. From ClearML they are
// loaded here once; a ClearML that does not answer is logged and is not
// fatal: the function starts, answers 503 (presign) or fails messages as
// transient (cleanup) and loads them when a later request arrives.
func NewSettings(ctx context.Context, cfg *config.Config, o Options) (*storagesettings.Settings, error) {
	if o.Settings != nil {
		return o.Settings, nil
	}
	if o.Logger == nil {
		o.Logger = NewLogger(nil)
	}
	s, err := storagesettings.New(storagesettings.Options{
		Config: cfg, Builders: Builders(), Logger: o.Logger, HTTPClient: o.HTTPClient, Now: o.Now,
	})
	if err != nil {
		return nil, err
	}
	if s.FromClearML() {
		lctx, cancel := context.WithTimeout(ctx, min(cfg.ClearML.Timeout.D(), maxStartupLoad))
		defer cancel()
		_ = s.Load(lctx) // a failure is logged once by the load itself
	}
	return s, nil
}

// NewPresign builds the presign handler for cfg.
func NewPresign(cfg *config.Config, o Options) (*presign.Handler, error) {
	if o.Logger == nil {
		o.Logger = NewLogger(nil)
	}
	settings, err := NewSettings(context.Background(), cfg, o)
	if err != nil {
		return nil, err
	}
	var vopts []clearmlauth.Option
	if o.HTTPClient != nil {
		vopts = append(vopts, clearmlauth.WithHTTPClient(o.HTTPClient))
	}
	if o.Now != nil {
		vopts = append(vopts, clearmlauth.WithClock(o.Now))
	}
	v, err := clearmlauth.New(cfg.ClearML, vopts...)
	if err != nil {
		return nil, fmt.Errorf("config: clearml: %w", err)
	}
	return presign.New(presign.Options{
		Config: cfg, Verifier: v, Settings: settings, Logger: o.Logger, AuditLog: o.LogWriter, Now: o.Now, Version: Version,
	})
}
