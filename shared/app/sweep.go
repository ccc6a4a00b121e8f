package app

import (
	"context"
	"os"

	"github.com/storagegate/storagegate/shared/cleanup"
	"github.com/storagegate/storagegate/shared/config"
	"github.com/storagegate/storagegate/shared/enqueue"
	"github.com/storagegate/storagegate/shared/storageurl"
	"github.com/storagegate/storagegate/shared/sweep"

	"github.com/storagegate/storagegate/shared/clearmlapi"
)

// NewSweep builds the retention sweeper for cfg, the same for every
// entrypoint: the files go to the cleanup queue that dest names (the
// STORAGEGATE_SQS_QUEUE_URL, STORAGEGATE_PUBSUB_TOPIC or
// STORAGEGATE_AZURE_QUEUE of `storagegate enqueue`), or, with none, through
// the cleanup pipeline in process. A sweeper that is off (no
// sweep.older_than) opens nothing.
func NewSweep(ctx context.Context, cfg *config.Config, dest enqueue.Destination, dryRun bool, o Options) (*sweep.Sweeper, error) {
	if o.Logger == nil {
		o.Logger = NewLogger(nil)
	}
	so := sweep.Options{Config: cfg, Logger: o.Logger, Now: o.Now, DryRun: dryRun}
	if o.HTTPClient != nil {
		so.Client = &clearmlapi.Client{APIServer: cfg.ClearML.APIServer, AccessKey: cfg.ClearML.AccessKey,
			SecretKey: cfg.ClearML.SecretKey, Timeout: cfg.ClearML.Timeout.D(), Attempts: 3, HTTP: o.HTTPClient}
	}
	if !cfg.Sweep.Enabled() {
		return sweep.New(so)
	}
	// The same storage settings as presign and cleanup (from the document or from ClearML): the
	// in-process pipeline resolves with them, and file URLs parse as the cleanup function will.
	settings, err := NewSettings(ctx, cfg, o)
	if err != nil {
		return nil, err
	}
	so.URLOptions = func(ctx context.Context) (storageurl.Options, error) {
		snap, err := settings.Current(ctx)
		if err != nil {
			return storageurl.Options{}, err
		}
		return snap.URLOptions(), nil
	}
	d, err := cleanup.New(cleanup.Options{Config: cfg.Cleanup, Settings: settings, Logger: o.Logger})
	if err != nil {
		return nil, err
	}
	switch {
	case !dest.IsZero():
		pub, err := enqueue.Open(ctx, dest, enqueue.OpenOptions{AzureAccountKey: func(account string) string {
			for _, c := range cfg.Storage.Azure.Containers {
				if c.AccountName == account && c.AccountKey != "" {
					return c.AccountKey
				}
			}
			return ""
		}})
		if err != nil {
			return nil, err
		}
		so.Sink = &sweep.Queue{Publisher: pub, Check: d.ParseMessage}
	default:
		so.Sink = &sweep.InProcess{Pipeline: d}
	}
	return sweep.New(so)
}

// SweepOrExit is a scheduled sweep function's start-up: the config from the
// environment, the queue from the STORAGEGATE_* queue variables, JSON logs
// on stderr. A bad config ends the process with status 2.
func SweepOrExit(fetch config.SecretFetcher) *sweep.Sweeper {
	log := NewLogger(os.Stderr)
	ctx := context.Background()
	cfg, err := LoadConfig(ctx, log, fetch)
	if err != nil {
		exit(log, err)
	}
	s, err := NewSweep(ctx, cfg, enqueue.FromEnv(os.Getenv), false, Options{Logger: log})
	if err != nil {
		exit(log, err)
	}
	return s
}
