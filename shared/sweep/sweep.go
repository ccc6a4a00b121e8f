// Package sweep is the retention sweeper (README "Retention sweeper"): on a
// schedule, it deletes the ClearML tasks that the `sweep` policy names,
// together with every file they wrote. Every entrypoint (the scheduled
// function of each cloud, `storagegate sweep`) calls Sweeper.Run.
//
// A run selects first (every id collected before anything is deleted),
// then takes the tasks one by one, in an order of steps that leaves no
// orphan whatever step fails or wherever the process dies:
//
//  1. list every file the task owns (read only);
//  2. hand the files to the sink: deletion messages on the cleanup queue,
//     or the cleanup pipeline in process; nothing more happens to a task
//     whose files are not certain to go;
//  3. delete the task (delete_external_artifacts false, so that the server
//     does not delete the same files beside us; return_file_urls true);
//  4. queue any URL the answer names that the listing missed.
//
// A failure before 3 leaves the task in place, to be listed and queued
// again by the next run (deletion is idempotent, and a file already gone
// counts as deleted); a failure at 3 leaves the task in place with its
// files queued. Only the URLs of step 4 (files the listing could not have
// seen: a model added while the task was being swept) depend on the step
// after the deletion; they are retried, and reported by name if they still
// cannot be queued.
package sweep

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/storagegate/storagegate/shared/cleanup"
	"github.com/storagegate/storagegate/shared/config"
	"github.com/storagegate/storagegate/shared/storageurl"

	"github.com/storagegate/storagegate/shared/clearmlapi"
)

// Outcomes of a task in a run.
const (
	outcomeDeleted     = "deleted"
	outcomeWouldDelete = "would_delete"
	outcomeSkipped     = "skipped"
	outcomeFailed      = "failed"
)

// Report statuses.
const (
	StatusOK     = "ok"
	StatusFailed = "failed"
	StatusOff    = "off"
)

// ErrOff is Run's error when sweep.older_than is not set.
var ErrOff = errors.New("sweep: off: set sweep.older_than to turn the retention sweeper on")

// Options assemble a Sweeper.
type Options struct {
	Config *config.Config
	// Sink takes the files; it may be nil for a dry run.
	Sink Sink
	// URLOptions give, at the start of each run, the options that parse
	// storage URLs as the cleanup function will (configured Azure endpoints),
	// from the current storage settings; nil: the defaults. A run whose
	// settings cannot be had stops before selecting anything, so no task is
	// deleted with files it could not read.
	URLOptions func(context.Context) (storageurl.Options, error)
	// Client calls ClearML; nil builds one from the clearml section.
	Client *clearmlapi.Client
	Logger *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// DryRun lists what would go and changes nothing (also on when
	// sweep.dry_run is).
	DryRun bool
}

// Sweeper runs the retention policy.
type Sweeper struct {
	cfg      config.Sweep
	deadline time.Duration
	api      *clearmlapi.Client
	sink     Sink
	urlOpts  func(context.Context) (storageurl.Options, error)
	log      *slog.Logger
	now      func() time.Time
	dry      bool
}

// New checks the options.
func New(o Options) (*Sweeper, error) {
	if o.Config == nil {
		return nil, errors.New("sweep: a config is required")
	}
	s := &Sweeper{
		cfg: o.Config.Sweep, deadline: o.Config.Cleanup.Deadline.D(), api: o.Client, sink: o.Sink,
		urlOpts: o.URLOptions, log: o.Logger, now: o.Now, dry: o.DryRun || o.Config.Sweep.DryRun,
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.deadline <= 0 {
		s.deadline = 4 * time.Minute
	}
	if !s.cfg.Enabled() {
		return s, nil
	}
	if s.api == nil {
		cm := o.Config.ClearML
		if cm.AccessKey == "" || cm.SecretKey == "" {
			return nil, &config.FieldError{Field: "clearml.access_key", Message: "the sweeper needs service credentials (access_key and secret_key) to list and delete tasks"}
		}
		s.api = &clearmlapi.Client{APIServer: cm.APIServer, AccessKey: cm.AccessKey, SecretKey: cm.SecretKey, Timeout: cm.Timeout.D(), Attempts: 3}
	}
	if s.sink == nil && !s.dry {
		return nil, errors.New("sweep: no destination for the files: configure a cleanup queue or the stores")
	}
	return s, nil
}

// Enabled reports whether the policy is on (sweep.older_than is set).
func (s *Sweeper) Enabled() bool { return s.cfg.Enabled() }

// DryRun reports whether runs change nothing.
func (s *Sweeper) DryRun() bool { return s.dry }

// TaskResult is one task's line in the report.
type TaskResult = taskResult

type taskResult struct {
	ID      string `json:"id"`
	Name    string `json:"name,omitempty"`
	Project string `json:"project,omitempty"`
	Outcome string `json:"outcome"`
	// Reason: why it was skipped, or "<step>: <error>" for a failure.
	Reason       string `json:"reason,omitempty"`
	Files        int    `json:"files"`
	FilesSkipped int    `json:"files_skipped"`
	Messages     int    `json:"messages"`
}

// Report is one run's outcome: the JSON summary line, and the CLI's table.
type Report struct {
	RunID       string    `json:"run_id"`
	Status      string    `json:"status"`
	Error       string    `json:"error,omitempty"`
	DryRun      bool      `json:"dry_run"`
	Destination string    `json:"destination,omitempty"`
	OlderThan   string    `json:"older_than,omitempty"`
	Cutoff      time.Time `json:"cutoff"`
	// Listed: tasks the query returned; Selected: those that passed the
	// local re-check of the policy (at most max_tasks).
	Listed         int            `json:"listed"`
	Selected       int            `json:"selected"`
	Deleted        int            `json:"deleted"`
	WouldDelete    int            `json:"would_delete"`
	Skipped        int            `json:"skipped"`
	SkippedReasons map[string]int `json:"skipped_reasons"`
	Failed         int            `json:"failed"`
	// FilesQueued: files handed to the queue (or deleted in process);
	// in a dry run, the files that would be.
	FilesQueued         int            `json:"files_queued"`
	FilesSkipped        int            `json:"files_skipped"`
	FilesSkippedReasons map[string]int `json:"files_skipped_reasons"`
	MessagesPublished   int            `json:"messages_published"`
	// URLsFromDelete: URLs that tasks.delete returned and the listing had
	// missed, queued after the deletion.
	URLsFromDelete int `json:"urls_from_delete"`
	// UnqueuedURLs could not be queued after their task was deleted:
	// delete them by hand (storagegate enqueue or delete).
	UnqueuedURLs []string `json:"unqueued_urls,omitempty"`
	// Stopped says why the run ended before the list did (max_tasks,
	// deadline); the next run continues, since what is left is still there.
	Stopped string `json:"stopped,omitempty"`
	// TaskIDs are the tasks deleted (or that would be, in a dry run).
	TaskIDs    []string     `json:"task_ids"`
	Failures   []taskResult `json:"failures,omitempty"`
	DurationMS int64        `json:"duration_ms"`
	// Tasks is every task the run looked at, for the CLI's table.
	Tasks []taskResult `json:"-"`
}

// OK reports whether the run did everything it set out to do.
func (r *Report) OK() bool { return r.Status == StatusOK || r.Status == StatusOff }

// Err is nil for a run that is OK, else why not.
func (r *Report) Err() error {
	if r.OK() {
		return nil
	}
	if r.Error != "" {
		return fmt.Errorf("sweep %s: %s", r.RunID, r.Error)
	}
	return fmt.Errorf("sweep %s: %d tasks failed, %d URLs not queued", r.RunID, r.Failed, len(r.UnqueuedURLs))
}

func (r *Report) add(t taskResult) {
	r.Tasks = append(r.Tasks, t)
	switch t.Outcome {
	case outcomeDeleted:
		r.Deleted++
		r.TaskIDs = append(r.TaskIDs, t.ID)
	case outcomeWouldDelete:
		r.WouldDelete++
		r.TaskIDs = append(r.TaskIDs, t.ID)
	case outcomeSkipped:
		r.Skipped++
		r.SkippedReasons[t.Reason]++
	case outcomeFailed:
		r.Failed++
		if len(r.Failures) < 100 {
			r.Failures = append(r.Failures, t)
		}
	}
}

// maxMargin bounds the time kept back from the deadline.
const maxMargin = 30 * time.Second

// Run sweeps once, within ctx's deadline (the platform's) or
// cleanup.deadline: it stops starting tasks a margin before, so that the
// task in hand finishes and the report is written. It logs one summary line
// and returns the report.
func (s *Sweeper) Run(ctx context.Context) *Report {
	start := s.now()
	r := &Report{
		RunID: newRunID(), DryRun: s.dry, SkippedReasons: map[string]int{}, FilesSkippedReasons: map[string]int{},
		TaskIDs: []string{},
	}
	defer func() {
		r.DurationMS = s.now().Sub(start).Milliseconds()
		s.logReport(ctx, r)
	}()
	if !s.cfg.Enabled() {
		r.Status, r.Error = StatusOff, ErrOff.Error()
		return r
	}
	if s.sink != nil {
		r.Destination = s.sink.String()
	}
	r.OlderThan = s.cfg.OlderThan.D().String()
	r.Cutoff = start.Add(-s.cfg.OlderThan.D()).UTC()

	var cancel context.CancelFunc
	var stopAt time.Time
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		reserve := max(min(left/10, 5*time.Second), 0)
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-reserve))
		stopAt = dl.Add(-min(max(left/5, 0), maxMargin))
	} else {
		ctx, cancel = context.WithTimeout(ctx, s.deadline)
		stopAt = time.Now().Add(s.deadline - min(s.deadline/5, maxMargin))
	}
	defer cancel()

	var opts storageurl.Options
	if s.urlOpts != nil {
		o, err := s.urlOpts(ctx)
		if err != nil {
			r.Status, r.Error = StatusFailed, "storage settings: "+err.Error()
			return r
		}
		opts = o
	}

	ps, err := s.resolveProjects(ctx)
	if err != nil {
		r.Status, r.Error = StatusFailed, "resolving sweep.projects: "+err.Error()
		return r
	}
	sel, err := s.selectTasks(ctx, r.Cutoff, ps)
	r.Listed, r.Selected = sel.listed, len(sel.eligible)
	for _, t := range sel.skipped {
		r.add(t)
	}
	if err != nil {
		r.Status, r.Error = StatusFailed, "selecting tasks: "+err.Error()
		return r
	}
	if sel.more {
		r.Stopped = "max_tasks"
	}
	for _, t := range sel.eligible {
		if time.Now().After(stopAt) || ctx.Err() != nil {
			r.Stopped = "deadline"
			break
		}
		res := s.process(ctx, t, start, r, opts)
		r.add(res)
		if res.Outcome == outcomeFailed {
			s.log.LogAttrs(ctx, slog.LevelWarn, "sweep: task left in place", slog.String("run_id", r.RunID),
				slog.String("task", res.ID), slog.String("reason", res.Reason))
		}
	}
	r.Status = StatusOK
	if r.Failed > 0 || len(r.UnqueuedURLs) > 0 {
		r.Status = StatusFailed
	}
	return r
}

// process takes one task through the steps (see the package comment). Each
// step has a helper below; process keeps their order, which is what leaves
// no orphan, and names the step of a failure in the task's reason.
func (s *Sweeper) process(ctx context.Context, t *task, created time.Time, r *Report, opts storageurl.Options) taskResult {
	res := taskResult{ID: t.ID, Name: t.Name, Project: t.projectName()}
	fail := func(step string, err error) taskResult {
		res.Outcome, res.Reason = outcomeFailed, step+": "+err.Error()
		return res
	}

	// 1. List (read only).
	files, skip, err := s.listTask(ctx, t, opts)
	if err != nil {
		return fail("list", err)
	}
	if skip != "" {
		res.Outcome, res.Reason = outcomeSkipped, skip
		return res
	}
	res.Files, res.FilesSkipped = files.count(), files.skippedCount()
	for k, v := range files.skipped {
		r.FilesSkippedReasons[k] += v
	}
	r.FilesSkipped += res.FilesSkipped
	if s.dry {
		r.FilesQueued += res.Files
		res.Outcome = outcomeWouldDelete
		return res
	}

	// 2. Queue the files (or delete them in process).
	created = created.UTC()
	msg := cleanup.Message{Version: cleanup.Version, Company: t.Company.ID, User: t.User.ID, Task: t.ID, Created: &created}
	if err := s.queueFiles(ctx, msg, files, &res, r); err != nil {
		return fail("queue", err)
	}

	// 3. Delete the task.
	answered, err := s.deleteTask(ctx, t)
	switch {
	case clearmlapi.IsCode(err, 400, 101):
		// Gone already: another run (or a person) deleted it after its
		// files were queued.
		res.Outcome, res.Reason = outcomeDeleted, "already deleted"
		return res
	case err != nil:
		return fail("delete", err)
	}
	res.Outcome = outcomeDeleted

	// 4. Queue what the answer names and the listing missed.
	s.queueMissed(ctx, msg, files, answered, opts, &res, r)
	return res
}

// listTask is step 1: the task's files, or why the task is skipped. It
// reads only, so that a task it fails on or skips is left as it was.
func (s *Sweeper) listTask(ctx context.Context, t *task, opts storageurl.Options) (*fileSet, string, error) {
	files, err := s.listFiles(ctx, t, opts)
	if err != nil {
		return nil, "", err
	}
	if files.publishedModels > 0 && !s.cfg.IncludePublished {
		return nil, skipPublishedModels, nil
	}
	if !s.cfg.IncludePublished {
		// The server refuses to delete a task with published children
		// without force; find out before any file is queued.
		kids, err := s.publishedChildren(ctx, t.ID)
		if err != nil {
			return nil, "", err
		}
		if kids {
			return nil, skipPublished + "_children", nil
		}
	}
	return files, "", nil
}

// queueFiles is step 2: one message with every listed file (none for a
// task without files). The files count as queued only once the sink has
// taken them all; the messages it did publish count either way.
func (s *Sweeper) queueFiles(ctx context.Context, msg cleanup.Message, files *fileSet, res *taskResult, r *Report) error {
	if files.count() == 0 {
		return nil
	}
	msg.URLs, msg.Prefixes = files.urls, files.prefixes
	n, err := s.sink.Send(ctx, msg)
	res.Messages += n
	r.MessagesPublished += n
	if err != nil {
		return err
	}
	r.FilesQueued += files.count()
	return nil
}

// deleteTask is step 3: tasks.delete, with the URLs of the task's files
// that the server's answer names (models, artifacts, events, in that
// order). The server is told to keep external files, which step 2 queued.
func (s *Sweeper) deleteTask(ctx context.Context, t *task) ([][]string, error) {
	// Without force the server refuses a task that is not archived (nor a
	// draft), and one with published children or models: those are
	// deleted only when the policy includes published work, and then the
	// server keeps the published models and re-points them.
	force := !t.archived() || s.cfg.IncludePublished
	var out struct {
		URLs struct {
			ModelURLs    []string `json:"model_urls"`
			ArtifactURLs []string `json:"artifact_urls"`
			EventURLs    []string `json:"event_urls"`
		} `json:"urls"`
	}
	err := s.api.Call(ctx, "tasks.delete", map[string]any{
		"task": t.ID, "force": force, "return_file_urls": true,
		"delete_output_models": true, "delete_external_artifacts": false,
	}, &out)
	if err != nil {
		return nil, err
	}
	return [][]string{out.URLs.ModelURLs, out.URLs.ArtifactURLs, out.URLs.EventURLs}, nil
}

// queueMissed is step 4: the URLs of the answer that the listing had not
// seen. The task is gone by now, so nothing can list them again: the send
// is retried, and URLs it still cannot queue go into the report by name,
// for deletion by hand, rather than failing the task.
func (s *Sweeper) queueMissed(ctx context.Context, msg cleanup.Message, files *fileSet, answered [][]string, opts storageurl.Options, res *taskResult, r *Report) {
	extra := newFileSet(opts)
	for k := range files.seen {
		extra.seen[k] = true
	}
	for _, list := range answered {
		for _, u := range list {
			extra.add(s, u)
		}
	}
	if extra.count() == 0 {
		return
	}
	msg.URLs, msg.Prefixes = extra.urls, extra.prefixes
	r.URLsFromDelete += extra.count()
	var n int
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if n, err = s.sink.Send(ctx, msg); err == nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(attempt+1) * 500 * time.Millisecond):
		}
	}
	res.Messages += n
	r.MessagesPublished += n
	if err != nil {
		r.UnqueuedURLs = append(r.UnqueuedURLs, msg.URLs...)
		r.UnqueuedURLs = append(r.UnqueuedURLs, msg.Prefixes...)
		s.log.LogAttrs(ctx, slog.LevelError, "sweep: files of a deleted task could not be queued: delete them by hand",
			slog.String("run_id", r.RunID), slog.String("task", res.ID), slog.Any("urls", append(msg.URLs, msg.Prefixes...)),
			slog.String("error", err.Error()))
	} else {
		r.FilesQueued += extra.count()
	}
	res.Files += extra.count()
}

// publishedChildren reports whether a published task names t as parent.
func (s *Sweeper) publishedChildren(ctx context.Context, id string) (bool, error) {
	var out struct {
		Tasks []struct {
			ID     string `json:"id"`
			Parent *ref   `json:"parent"`
			Status string `json:"status"`
		} `json:"tasks"`
	}
	if err := s.api.Call(ctx, "tasks.get_all_ex", map[string]any{
		"parent": []string{id}, "status": []string{"published"}, "only_fields": []string{"id", "parent", "status"},
		"search_hidden": true, "page": 0, "page_size": pageSize,
	}, &out); err != nil {
		return false, err
	}
	for _, c := range out.Tasks {
		if c.Parent != nil && c.Parent.ID == id && c.Status == "published" {
			return true, nil
		}
	}
	return false, nil
}

// logReport writes the run's one summary line.
func (s *Sweeper) logReport(ctx context.Context, r *Report) {
	b, _ := json.Marshal(r)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	attrs := make([]slog.Attr, 0, len(keys))
	for _, k := range keys {
		attrs = append(attrs, slog.Any(k, m[k]))
	}
	level := slog.LevelInfo
	if !r.OK() {
		level = slog.LevelError
	}
	s.log.LogAttrs(ctx, level, "sweep", attrs...)
}

func newRunID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
