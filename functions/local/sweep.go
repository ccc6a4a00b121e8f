package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"

	"github.com/storagegate/storagegate/shared/app"
	"github.com/storagegate/storagegate/shared/enqueue"
	"github.com/storagegate/storagegate/shared/sweep"
)

// sweepCmd runs the retention sweeper once, on the same core path as the
// scheduled functions: the files go to the cleanup queue named by
// STORAGEGATE_SQS_QUEUE_URL, STORAGEGATE_PUBSUB_TOPIC or
// STORAGEGATE_AZURE_QUEUE, or, with none, through the cleanup pipeline in
// this process. A table on stdout, the JSON summary line on stderr.
func sweepCmd(ctx context.Context, args []string, stdout, stderr io.Writer, log *slog.Logger) int {
	fs := newFlags("sweep", stderr)
	dryRun := fs.Bool("dry-run", false, "list what would be deleted; change nothing")
	if code := parseFlags(fs, args, stderr, true); code >= 0 {
		return code
	}
	cfg, ok := loadConfig(ctx, stderr, log)
	if !ok {
		return 2
	}
	if !cfg.Sweep.Enabled() {
		fmt.Fprintf(stderr, "storagegate sweep: %v\n", sweep.ErrOff)
		return 2
	}
	s, err := app.NewSweep(ctx, cfg, enqueue.FromEnv(os.Getenv), *dryRun, app.Options{Logger: log})
	if err != nil {
		fmt.Fprintf(stderr, "storagegate sweep: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	r := s.Run(ctx)
	printSweep(stdout, r)
	if !r.OK() {
		if r.Error != "" {
			fmt.Fprintf(stderr, "storagegate sweep: %s\n", r.Error)
		}
		for _, u := range r.UnqueuedURLs {
			fmt.Fprintf(stderr, "storagegate sweep: not queued, delete by hand: %s\n", u)
		}
		return 1
	}
	return 0
}

// printSweep writes one row per task the run looked at, then a total.
func printSweep(w io.Writer, r *sweep.Report) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TASK\tOUTCOME\tFILES\tNOT FILES\tPROJECT\tNAME\tREASON")
	for _, t := range r.Tasks {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\n", t.ID, t.Outcome, t.Files, t.FilesSkipped, t.Project, t.Name, t.Reason)
	}
	tw.Flush()
	verb := fmt.Sprintf("deleted %d", r.Deleted)
	if r.DryRun {
		verb = fmt.Sprintf("dry run: would delete %d", r.WouldDelete)
	}
	fmt.Fprintf(w, "%s of %d selected tasks (listed %d), skipped %d, failed %d; files %d to %s, %d not deletable; messages %d",
		verb, r.Selected, r.Listed, r.Skipped, r.Failed, r.FilesQueued, r.Destination, r.FilesSkipped, r.MessagesPublished)
	if r.Stopped != "" {
		fmt.Fprintf(w, "; stopped at %s: the next run continues", r.Stopped)
	}
	fmt.Fprintln(w)
}
