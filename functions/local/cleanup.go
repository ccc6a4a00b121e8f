package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/storagegate/storagegate/shared/app"
	"github.com/storagegate/storagegate/shared/cleanup"
)

// stdin is where `cleanup --event -` reads (tests replace it).
var stdin io.Reader = os.Stdin

// deleteCmd turns its arguments into a deletion message and runs it through
// the same core path as the queues.
func deleteCmd(ctx context.Context, args []string, stdout, stderr io.Writer, log *slog.Logger) int {
	fs := newFlags("delete", stderr)
	dryRun := fs.Bool("dry-run", false, "list and count, delete nothing")
	if code := parseFlags(fs, args, stderr, false); code >= 0 {
		return code
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "storagegate delete: give one or more storage URLs (a prefix ends in /)")
		return 2
	}
	m := cleanup.NewMessage(fs.Args())
	m.DryRun = *dryRun
	return runPipeline(ctx, "delete", stdout, stderr, log, func(ctx context.Context, d *cleanup.Pipeline) cleanup.Summary {
		return d.Run(ctx, m)
	})
}

// cleanupCmd runs one bare deletion message exactly as a queue would.
func cleanupCmd(ctx context.Context, args []string, stdout, stderr io.Writer, log *slog.Logger) int {
	fs := newFlags("cleanup", stderr)
	event := fs.String("event", "", "a file holding one deletion message (- reads stdin)")
	if code := parseFlags(fs, args, stderr, true); code >= 0 {
		return code
	}
	if *event == "" {
		fmt.Fprintln(stderr, "storagegate cleanup: give --event FILE (- reads stdin)")
		return 2
	}
	var body []byte
	var err error
	if *event == "-" {
		body, err = io.ReadAll(io.LimitReader(stdin, cleanup.MaxHTTPBody+1))
	} else {
		body, err = os.ReadFile(*event)
	}
	if err != nil {
		fmt.Fprintf(stderr, "storagegate cleanup: reading the event: %v\n", err)
		return 2
	}
	return runPipeline(ctx, "cleanup", stdout, stderr, log, func(ctx context.Context, d *cleanup.Pipeline) cleanup.Summary {
		return d.Process(ctx, body)
	})
}

// runPipeline builds the cleanup pipeline from the config, runs one job until it ends
// or the operator interrupts it, and reports it.
func runPipeline(ctx context.Context, cmd string, stdout, stderr io.Writer, log *slog.Logger, job func(context.Context, *cleanup.Pipeline) cleanup.Summary) int {
	d, ok := newPipeline(ctx, stderr, log)
	if !ok {
		return 2
	}
	leanMemory()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	s := job(ctx, d)
	return report(&s, cmd, stdout, stderr)
}

// cleanupMemoryLimit is the Go runtime's soft memory limit while the CLI
// deletes (unless GOMEMLIMIT says otherwise). A deletion's live heap is a few
// MiB (a listing page, the batches in flight); without a limit the GC lets
// the heap double past it, and the process peaked at 38 MB over 100,000
// objects; with it, about 31 MB (make bench-cleanup), for a few percent
// more CPU. The limit is soft: a larger message only makes the GC work
// harder, never fails.
const cleanupMemoryLimit = 12 << 20

func leanMemory() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(cleanupMemoryLimit)
	}
}

func newPipeline(ctx context.Context, stderr io.Writer, log *slog.Logger) (*cleanup.Pipeline, bool) {
	cfg, ok := loadConfig(ctx, stderr, log)
	if !ok {
		return nil, false
	}
	d, err := app.NewCleanup(cfg, app.Options{Logger: log})
	if err != nil {
		fmt.Fprintf(stderr, "storagegate: %v\n", err)
		return nil, false
	}
	return d, true
}

// report prints the summary line and maps the outcome to the exit status:
// 0 done, 1 some item failed, 2 the input itself was unusable (nothing was
// attempted).
func report(s *cleanup.Summary, cmd string, stdout, stderr io.Writer) int {
	if s.Invalid() {
		fmt.Fprintf(stderr, "storagegate %s: %s\n", cmd, s.Error)
		return 2
	}
	fmt.Fprintln(stdout, s.String())
	if !s.OK() {
		for _, f := range s.Failures {
			fmt.Fprintf(stderr, "storagegate %s: %s: %s\n", cmd, f.URL, f.Reason)
		}
		if s.FailuresOmitted > 0 {
			fmt.Fprintf(stderr, "storagegate %s: %d more failures (see the log lines above)\n", cmd, s.FailuresOmitted)
		}
		return 1
	}
	return 0
}
