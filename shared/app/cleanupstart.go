package app

import (
	"context"
	"os"

	"github.com/storagegate/storagegate/shared/cleanup"
	"github.com/storagegate/storagegate/shared/config"
)

// CleanupOrExit is a cloud cleanup function's start-up, the twin of
// PresignOrExit: the config from the environment (fetch reads
// STORAGEGATE_CONFIG_SECRET where the platform has one), the cleanup pipeline, JSON
// logs on stderr. A bad config ends the process with status 2 and a message
// naming the field, so the platform reports a failed start instead of
// receiving every message only to fail it.
func CleanupOrExit(fetch config.SecretFetcher) *cleanup.Pipeline {
	log := NewLogger(os.Stderr)
	cfg, err := LoadConfig(context.Background(), log, fetch)
	if err != nil {
		exit(log, err)
	}
	d, err := NewCleanup(cfg, Options{Logger: log})
	if err != nil {
		exit(log, err)
	}
	return d
}
