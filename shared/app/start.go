package app

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	"github.com/storagegate/storagegate/shared/cleanup"
	"github.com/storagegate/storagegate/shared/config"
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
	h, err := NewPresign(cfg, Options{Logger: log})
	if err != nil {
		exit(log, err)
	}
	return h
}

// PresignAndCleanupOrExit is the start-up of a process that serves both
// (the Azure custom handler): one config, one set of storage settings.
func PresignAndCleanupOrExit(fetch config.SecretFetcher) (http.Handler, *cleanup.Deleter) {
	log := NewLogger(os.Stderr)
	cfg, err := LoadConfig(context.Background(), log, fetch)
	if err != nil {
		exit(log, err)
	}
	settings, err := NewSettings(context.Background(), cfg, Options{Logger: log})
	if err != nil {
		exit(log, err)
	}
	h, err := NewPresign(cfg, Options{Logger: log, Settings: settings})
	if err != nil {
		exit(log, err)
	}
	d, err := NewCleanup(cfg, Options{Logger: log, Settings: settings})
	if err != nil {
		exit(log, err)
	}
	return h, d
}

func exit(log *slog.Logger, err error) {
	log.Error("start-up failed", "error", err.Error())
	os.Exit(2)
}
