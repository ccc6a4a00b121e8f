package app

import (
	"context"
	"log/slog"
	"net/http"
	"os"

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
	h, err := NewPresign(cfg, Options{Logger: log, LogWriter: os.Stderr})
	if err != nil {
		exit(log, err)
	}
	return h
}

func exit(log *slog.Logger, err error) {
	log.Error("start-up failed", "error", err.Error())
	os.Exit(2)
}
