package app

import (
	"context"

	"github.com/storagegate/storagegate/shared/cleanup"
	"github.com/storagegate/storagegate/shared/config"
)

// NewCleanup builds the cleanup pipeline for cfg: every platform's cleanup function
// (SQS, Pub/Sub, Azure queue, POST /cleanup, the CLI) runs its Process or
// Run.
func NewCleanup(cfg *config.Config, o Options) (*cleanup.Pipeline, error) {
	if o.Logger == nil {
		o.Logger = NewLogger(nil)
	}
	settings, err := NewSettings(context.Background(), cfg, o)
	if err != nil {
		return nil, err
	}
	return cleanup.New(cleanup.Options{Config: cfg.Cleanup, Settings: settings, Logger: o.Logger})
}

// NewCleanupHTTP is POST /cleanup for `serve --enable-cleanup`; a config
// without cleanup.token is refused.
func NewCleanupHTTP(cfg *config.Config, o Options) (*cleanup.HTTPHandler, error) {
	if cfg.Cleanup.Token == "" {
		return nil, cleanup.ErrNoToken
	}
	d, err := NewCleanup(cfg, o)
	if err != nil {
		return nil, err
	}
	return cleanup.NewHTTPHandler(d, cfg.Cleanup.Token)
}
