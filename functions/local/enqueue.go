package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/storagegate/storagegate/shared/app"
	"github.com/storagegate/storagegate/shared/cleanup"
	"github.com/storagegate/storagegate/shared/config"
	"github.com/storagegate/storagegate/shared/enqueue"
)

// enqueueCmd publishes deletion messages for its arguments to one queue,
// split to fit it. The config is optional here: a producer (the ClearML
// side) may hold no storage credentials; when present, it supplies the
// configured Azure endpoints for checking URLs and Azure account keys.
func enqueueCmd(ctx context.Context, args []string, stdout, stderr io.Writer, log *slog.Logger) int {
	fs := newFlags("enqueue", stderr)
	task := fs.String("task", "", "ClearML task id, kept for the logs")
	company := fs.String("company", "", "ClearML company id, kept for the logs")
	user := fs.String("user", "", "ClearML user id, kept for the logs")
	created := fs.String("created", "", "RFC 3339 time: objects modified after it are kept")
	dryRun := fs.Bool("dry-run", false, "ask the cleanup function to list and count only")
	from := fs.String("from", "", "read more URLs and prefixes from FILE, one a line (- reads stdin)")
	var dest enqueue.Destination
	fs.StringVar(&dest.SQSQueueURL, "sqs-queue-url", "", "SQS queue URL (or $"+enqueue.EnvSQSQueueURL+")")
	fs.StringVar(&dest.PubSubTopic, "pubsub-topic", "", "Pub/Sub topic projects/P/topics/T (or $"+enqueue.EnvPubSubTopic+")")
	fs.StringVar(&dest.AzureQueue, "azure-queue", "", "Azure queue URL, or a name with $AZURE_STORAGE_CONNECTION_STRING (or $"+enqueue.EnvAzureQueue+")")
	if code := parseFlags(fs, args, stderr, false); code >= 0 {
		return code
	}
	targets := fs.Args()
	if *from != "" {
		more, err := readTargets(*from)
		if err != nil {
			fmt.Fprintf(stderr, "storagegate enqueue: %v\n", err)
			return 2
		}
		targets = append(targets, more...)
	}
	if len(targets) == 0 {
		fmt.Fprintln(stderr, "storagegate enqueue: give one or more storage URLs (a prefix ends in /), or --from FILE")
		return 2
	}
	if dest.IsZero() {
		dest = enqueue.FromEnv(os.Getenv)
	}
	m := cleanup.NewMessage(targets)
	m.Task, m.Company, m.User, m.DryRun = *task, *company, *user, *dryRun
	if *created != "" {
		t, err := time.Parse(time.RFC3339Nano, *created)
		if err != nil {
			fmt.Fprintf(stderr, "storagegate enqueue: --created %q is not an RFC 3339 time such as 2026-11-22T10:00:00Z\n", *created)
			return 2
		}
		m.Created = &t
	}

	var opts enqueue.Options
	var open enqueue.OpenOptions
	if os.Getenv(config.EnvInline)+os.Getenv(config.EnvFile) != "" {
		cfg, ok := loadConfig(ctx, stderr, log)
		if !ok {
			return 2
		}
		d, err := app.NewCleanup(cfg, app.Options{Logger: log})
		if err != nil {
			fmt.Fprintf(stderr, "storagegate: %v\n", err)
			return 2
		}
		opts.Check = d.ParseMessage
		open.AzureAccountKey = func(account string) string {
			for _, c := range cfg.Storage.Azure.Containers {
				if c.AccountName == account && c.AccountKey != "" {
					return c.AccountKey
				}
			}
			return ""
		}
	}
	pub, err := enqueue.Open(ctx, dest, open)
	if err != nil {
		fmt.Fprintf(stderr, "storagegate %v\n", err)
		return 2
	}
	sent, err := enqueue.Enqueue(ctx, pub, m, opts)
	for _, p := range sent {
		fmt.Fprintf(stdout, "%s\turls=%d prefixes=%d bytes=%d\n", p.ID, p.URLs, p.Prefixes, p.Bytes)
	}
	if err != nil {
		fmt.Fprintf(stderr, "storagegate enqueue: %v\n", err)
		var pe *enqueue.PublishError
		if errors.As(err, &pe) {
			return 1 // some part may be queued: the lines above name those
		}
		return 2 // refused before anything was sent
	}
	log.Info("enqueue", slog.String("destination", pub.String()), slog.Int("messages", len(sent)),
		slog.Int("urls", len(m.URLs)), slog.Int("prefixes", len(m.Prefixes)), slog.String("task", m.Task))
	return 0
}

// readTargets reads one URL or prefix a line; blank lines and # comments are
// skipped.
func readTargets(path string) ([]string, error) {
	var r io.Reader = stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// Only the line ending is cut: a key may end in a space.
		line := strings.TrimSuffix(sc.Text(), "\r")
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--from %s: %w", path, err)
	}
	return out, nil
}
