package app

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	"github.com/storagegate/storagegate/shared/cleanup"
	"github.com/storagegate/storagegate/shared/config"
	"github.com/storagegate/storagegate/shared/enqueue"
	"github.com/storagegate/storagegate/shared/sweep"
)

// PresignOrExit is a cloud entrypoint's start-up: the config from the
// environment (fetch reads STORAGEGATE_CONFIG_SECRET where the platform has
// one), the presign handler, JSON logs on stderr. A bad config ends the
// process with status 2 and a message naming the field, so the platform
// reports a failed start rather than failing requests.
func PresignOrExit(fetch config.SecretFetcher) http.Handler {
	log := NewLogger(os.Stderr)
	cfg, err := LoadConfig(context.Background(), log, fetch)
	if err != nil {
		exit(log, err)
	}
	h, err := NewPresign(cfg, Options{Logger: log, LogWriter: os.Stderr})
	if err != nil {
		exit(log, err)
	}
	return h
}

// AllOrExit is the start-up of a process that serves every function (the
// Azure custom handler: presign, the cleanup queue trigger and the sweep
// timer): one config and one set of storage settings, so the stores are
// built once per process.
func AllOrExit(fetch config.SecretFetcher) (http.Handler, *cleanup.Pipeline, *sweep.Sweeper) {
	log := NewLogger(os.Stderr)
	ctx := context.Background()
	cfg, err := LoadConfig(ctx, log, fetch)
	if err != nil {
		exit(log, err)
	}
	settings, err := NewSettings(ctx, cfg, Options{Logger: log})
	if err != nil {
		exit(log, err)
	}
	o := Options{Logger: log, LogWriter: os.Stderr, Settings: settings}
	h, err := NewPresign(cfg, o)
	if err != nil {
		exit(log, err)
	}
	d, err := NewCleanup(cfg, o)
	if err != nil {
		exit(log, err)
	}
	s, err := NewSweep(ctx, cfg, enqueue.FromEnv(os.Getenv), false, o)
	if err != nil {
		exit(log, err)
	}
	return h, d, s
}

func exit(log *slog.Logger, err error) {
	log.Error("start-up failed", "error", err.Error())
	os.Exit(2)
}
