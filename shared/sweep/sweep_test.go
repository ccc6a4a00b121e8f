package sweep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/storagegate/storagegate/shared/cleanup"
	"github.com/storagegate/storagegate/shared/clearmlauth/clearmltest"
	"github.com/storagegate/storagegate/shared/config"
	"github.com/storagegate/storagegate/shared/storageurl"
)

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestSweepDeletesWhatThePolicyNames: the old archived tasks go, with every
// file they own (output artifacts, the draft model no other task uses, all
// 650 debug images over 130 iterations, 700 iteration-0/1 images behind the
// scroll's restart trap, plot images); every task the policy keeps stays
// with its files, and so do the input artifact, the model another task
// uses and the fileserver URL. The server is never asked to delete files
// itself. A second run finds nothing more.
func TestSweepDeletesWhatThePolicyNames(t *testing.T) {
	w := newWorld(t)
	w.seed()
	r := w.sweeper(t, baseConfig(w), false).Run(context.Background())
	if !r.OK() || r.Deleted != 3 || !slices.Equal(sorted(r.TaskIDs), w.doomed) {
		t.Fatalf("report %+v", r)
	}
	for _, id := range w.doomed {
		if w.cml.HasTask(id) || w.cml.EventCount(id) != 0 {
			t.Errorf("task %s is still there", id)
		}
	}
	for _, id := range []string{"k-recent", "k-archived-yesterday", "k-unarchived", "k-published", "k-running", "k-public",
		"k-foreign", "k-nodate", "k-pubmodel", "k-parent", "user-of-t-full"} {
		if !w.cml.HasTask(id) {
			t.Errorf("task %s was deleted", id)
		}
	}
	w.checkNoOrphans(t, nil)
	if ext := w.cml.ExternalDeletions(); len(ext) != 0 {
		t.Errorf("the server was asked to delete %d files itself", len(ext))
	}
	for reason, n := range map[string]int{skipRecent: 1, skipNotArchived: 0, skipPublished: 1, skipRunning: 1, skipNoDate: 0,
		skipPublishedModels: 1, skipPublished + "_children": 1} {
		if r.SkippedReasons[reason] != n {
			t.Errorf("skipped %s: %d, want %d (%v)", reason, r.SkippedReasons[reason], n, r.SkippedReasons)
		}
	}
	if r.FilesSkippedReasons[fileSkipFileserver] != 2 || r.FilesQueued != 2+1+650+1+700+1 {
		t.Errorf("files: queued %d, skipped %v", r.FilesQueued, r.FilesSkippedReasons)
	}
	for _, m := range w.sink.sent {
		if m.Task == "" || m.Company != company || m.Created == nil || time.Since(*m.Created) > time.Minute {
			t.Errorf("message %s/%s created %v", m.Task, m.Company, m.Created)
		}
	}
	if w.cml.Calls("tasks.delete") != 3 {
		t.Errorf("tasks.delete called %d times", w.cml.Calls("tasks.delete"))
	}

	again := w.sweeper(t, baseConfig(w), false).Run(context.Background())
	if !again.OK() || again.Deleted != 0 || again.Failed != 0 || again.Skipped != r.Skipped {
		t.Fatalf("second run %+v", again)
	}
	w.checkNoOrphans(t, nil)
}

// TestSweepRechecksWhatTheServerIgnores: a server that drops the tags and
// date filters returns every task; the local re-check keeps the outcome.
func TestSweepRechecksWhatTheServerIgnores(t *testing.T) {
	w := newWorld(t)
	w.seed()
	w.cml.IgnoreFilter("system_tags")
	w.cml.IgnoreFilter("status_changed")
	r := w.sweeper(t, baseConfig(w), false).Run(context.Background())
	if !r.OK() || !slices.Equal(sorted(r.TaskIDs), w.doomed) || r.SkippedReasons[skipNotArchived] < 1 || r.SkippedReasons[skipNoDate] != 1 || r.SkippedReasons[skipRecent] != 2 {
		t.Fatalf("report %+v", r)
	}
	w.checkNoOrphans(t, nil)
}

// TestSweepDryRunChangesNothing: --dry-run lists what would go and sends
// nothing anywhere.
func TestSweepDryRunChangesNothing(t *testing.T) {
	w := newWorld(t)
	w.seed()
	tasks, models, objects := w.cml.TaskIDs(), w.cml.Models(), w.store.snapshot()
	for _, dry := range []string{"flag", "config"} {
		cfg := baseConfig(w)
		cfg.Sweep.DryRun = dry == "config"
		r := w.sweeper(t, cfg, dry == "flag").Run(context.Background())
		if !r.OK() || !r.DryRun || r.WouldDelete != 3 || r.Deleted != 0 || !slices.Equal(sorted(r.TaskIDs), w.doomed) || r.FilesQueued == 0 {
			t.Fatalf("%s: report %+v", dry, r)
		}
	}
	if !slices.Equal(w.cml.TaskIDs(), tasks) || len(w.cml.Models()) != len(models) || !slices.Equal(w.store.snapshot(), objects) ||
		len(w.sink.sent) != 0 || w.cml.Calls("tasks.delete") != 0 || w.cml.EventCount("t-full") != 651 {
		t.Fatal("a dry run changed something")
	}
}

// TestSweepFailureAtEachStep: whatever step fails (ClearML failing or
// gone, the queue unavailable, the URLs found only by tasks.delete not
// queueable), no deleted task leaves a file behind unreported and no file
// of a task that stays is deleted; a second run finishes the job.
func TestSweepFailureAtEachStep(t *testing.T) {
	for _, tc := range []struct {
		name   string
		inject func(w *world)
		// wantDeleted: tasks the failing run still deletes.
		wantDeleted int
	}{
		{"select", func(w *world) { w.cml.FailEndpoint("tasks.get_all_ex", 500, -1) }, 0},
		{"select answers then ClearML dies", func(w *world) { w.cml.FailEndpoint("models.get_all", 0, -1) }, 0},
		{"models", func(w *world) { w.cml.FailEndpoint("models.get_all", 503, -1) }, 0},
		{"events", func(w *world) { w.cml.FailEndpoint("events.get_task_events", 500, -1) }, 0},
		{"events connection dropped", func(w *world) { w.cml.FailEndpoint("events.get_task_events", 0, -1) }, 0},
		// t-empty has no file to queue.
		{"queue", func(w *world) { w.sink.setFail(-1) }, 1},
		{"queue fails once", func(w *world) { w.sink.setFail(1) }, 2},
		{"delete", func(w *world) { w.cml.FailEndpoint("tasks.delete", 500, -1) }, 0},
		{"delete connection dropped", func(w *world) { w.cml.FailEndpoint("tasks.delete", 0, -1) }, 0},
		{"delete refused", func(w *world) { w.cml.FailEndpoint("tasks.delete", 400, 1) }, 2},
		{"missed URL not queueable", func(w *world) {
			// A draft model appears after the listing: only the answer of
			// tasks.delete names it, and the queue is gone by then.
			late := folder("p-sub", "t-full") + "/models/late.pt"
			w.put("t-full", late)
			w.sink.after = func(m cleanup.Message) {
				if m.Task == "t-full" && !slices.Contains(m.URLs, late) {
					w.cml.AddModel(clearmltest.Model{ID: "late", Company: company, Task: "t-full", URI: late})
					w.sink.setFail(-1)
				}
			}
		}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.seed()
			tc.inject(w)
			r := w.sweeper(t, baseConfig(w), false).Run(context.Background())
			if r.OK() || r.Deleted != tc.wantDeleted {
				t.Fatalf("failing run: status %s, deleted %d, want %d: %+v", r.Status, r.Deleted, tc.wantDeleted, r)
			}
			w.checkNoOrphans(t, r.UnqueuedURLs)
			if tc.name == "missed URL not queueable" && (len(r.UnqueuedURLs) != 1 || !strings.HasSuffix(r.UnqueuedURLs[0], "late.pt")) {
				t.Fatalf("unqueued %v", r.UnqueuedURLs)
			}

			for _, ep := range []string{"tasks.get_all_ex", "models.get_all", "events.get_task_events", "tasks.delete"} {
				w.cml.FailEndpoint(ep, 0, 0)
			}
			w.sink.setFail(0)
			again := w.sweeper(t, baseConfig(w), false).Run(context.Background())
			if !again.OK() || again.Deleted != 3-tc.wantDeleted {
				t.Fatalf("second run %+v", again)
			}
			for _, id := range w.doomed {
				if w.cml.HasTask(id) {
					t.Errorf("%s survived the second run", id)
				}
			}
			w.checkNoOrphans(t, r.UnqueuedURLs)
		})
	}
}

// TestSweepCollectsBeforeDeleting: 1,200 old tasks, more than two pages of
// the server's 500: all go in one run (deleting while scrolling by offset
// would skip about half). With max_tasks 500 a run stops there and the
// next ones continue.
func TestSweepCollectsBeforeDeleting(t *testing.T) {
	w := newWorld(t)
	for i := 0; i < 1200; i++ {
		id := fmt.Sprintf("bulk-%04d", i)
		tk := oldTask(id, "p-other")
		tk.Artifacts = []clearmltest.Artifact{{Key: "a", URI: folder("Other", id) + "/a.bin"}}
		w.cml.AddTask(tk)
		w.put(id, folder("Other", id)+"/a.bin")
	}
	cfg := baseConfig(w)
	cfg.Sweep.MaxTasks = 5000
	r := w.sweeper(t, cfg, false).Run(context.Background())
	if !r.OK() || r.Deleted != 1200 || r.Stopped != "" || len(w.cml.TaskIDs()) != 0 {
		t.Fatalf("deleted %d, %d left, report status %s stopped %q", r.Deleted, len(w.cml.TaskIDs()), r.Status, r.Stopped)
	}
	w.checkNoOrphans(t, nil)

	w2 := newWorld(t)
	for i := 0; i < 1200; i++ {
		w2.cml.AddTask(oldTask(fmt.Sprintf("bulk-%04d", i), "p-other"))
	}
	for run, want := range []int{500, 500, 200} {
		r := w2.sweeper(t, baseConfig(w2), false).Run(context.Background())
		if r.Deleted != want || (want == 500) != (r.Stopped == "max_tasks") {
			t.Fatalf("run %d: deleted %d stopped %q", run, r.Deleted, r.Stopped)
		}
	}
}

// TestSweepProjects: projects and exclude_projects take names or ids and
// include subprojects.
func TestSweepProjects(t *testing.T) {
	for _, tc := range []struct {
		projects, exclude []string
		want              []string
	}{
		{[]string{"Team"}, nil, []string{"t-full", "t-trap"}},
		{[]string{"p-team"}, nil, []string{"t-full", "t-trap"}},
		{[]string{"Team/Sub"}, nil, []string{"t-full"}},
		{nil, []string{"Team/Sub"}, []string{"t-empty", "t-trap"}},
		{[]string{"Team"}, []string{"p-sub"}, []string{"t-trap"}},
	} {
		w := newWorld(t)
		w.seed()
		cfg := baseConfig(w)
		cfg.Sweep.Projects, cfg.Sweep.ExcludeProjects = tc.projects, tc.exclude
		r := w.sweeper(t, cfg, false).Run(context.Background())
		if !r.OK() || !slices.Equal(sorted(r.TaskIDs), tc.want) {
			t.Errorf("projects %v exclude %v: deleted %v (%v)", tc.projects, tc.exclude, r.TaskIDs, r.SkippedReasons)
		}
		w.checkNoOrphans(t, nil)
	}
}

// TestSweepIncludePublished: published tasks, tasks with published models
// and tasks with published children go too; published models and their
// files stay (re-pointed by the server).
func TestSweepIncludePublished(t *testing.T) {
	w := newWorld(t)
	w.seed()
	cfg := baseConfig(w)
	cfg.Sweep.IncludePublished = true
	r := w.sweeper(t, cfg, false).Run(context.Background())
	want := append(slices.Clone(w.doomed), "k-parent", "k-pubmodel", "k-published")
	if !r.OK() || !slices.Equal(sorted(r.TaskIDs), sorted(want)) {
		t.Fatalf("deleted %v: %+v", r.TaskIDs, r)
	}
	w.checkNoOrphans(t, nil)
	var kept bool
	for _, m := range w.cml.Models() {
		kept = kept || (m.ID == "k-pubmodel-pub" && m.Task == "__DELETED__k-pubmodel")
	}
	if !kept || !w.cml.HasTask("k-child") {
		t.Fatal("the published model or child went")
	}
}

// TestSweepStopsBeforeTheDeadline: a run stops starting tasks a margin
// before its deadline; what is left is still there, and the next run
// continues.
func TestSweepStopsBeforeTheDeadline(t *testing.T) {
	w := newWorld(t)
	for i := 0; i < 40; i++ {
		id := fmt.Sprintf("slow-%02d", i)
		tk := oldTask(id, "p-other")
		tk.Artifacts = []clearmltest.Artifact{{Key: "a", URI: folder("Other", id) + "/a.bin"}}
		w.cml.AddTask(tk)
		w.put(id, folder("Other", id)+"/a.bin")
	}
	w.cml.SetDelay(40 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	r := w.sweeper(t, baseConfig(w), false).Run(ctx)
	if took := time.Since(start); took > 2*time.Second || r.Stopped != "deadline" || r.Deleted == 0 || r.Deleted >= 40 || !r.OK() {
		t.Fatalf("took %s, stopped %q, deleted %d, status %s", took, r.Stopped, r.Deleted, r.Status)
	}
	w.checkNoOrphans(t, nil)
	w.cml.SetDelay(0)
	again := w.sweeper(t, baseConfig(w), false).Run(context.Background())
	if again.Deleted != 40-r.Deleted || len(w.cml.TaskIDs()) != 0 {
		t.Fatalf("second run deleted %d", again.Deleted)
	}
	w.checkNoOrphans(t, nil)
}

// TestSweepOff: without older_than the sweeper does nothing and says so.
func TestSweepOff(t *testing.T) {
	w := newWorld(t)
	w.seed()
	cfg, _, err := config.Parse([]byte(`{"clearml": {"api_server": "` + w.cml.URL + `"}}`))
	if err != nil {
		t.Fatal(err)
	}
	r := w.sweeper(t, cfg, false).Run(context.Background())
	if r.Status != StatusOff || !r.OK() || w.cml.Calls("tasks.get_all_ex") != 0 {
		t.Fatalf("%+v", r)
	}
	if _, _, err := config.Parse([]byte(`{"sweep": {"older_than": "10m"}}`)); err == nil || !strings.Contains(err.Error(), "sweep.older_than") {
		t.Fatalf("a 10m older_than: %v", err)
	}
}

// TestSweepWithoutStorageSettingsChangesNothing: a run whose storage
// settings cannot be had (ClearML's storage.get_settings down at a cold
// start) cannot tell which URLs the cleanup function will take, so it stops
// before selecting anything: no task is deleted with files it could not read.
func TestSweepWithoutStorageSettingsChangesNothing(t *testing.T) {
	w := newWorld(t)
	w.seed()
	tasks, objects := w.cml.TaskIDs(), w.store.snapshot()
	s, err := New(Options{Config: baseConfig(w), Sink: w.sink, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		URLOptions: func(context.Context) (storageurl.Options, error) {
			return storageurl.Options{}, errors.New("storage settings from ClearML are not loaded yet")
		}})
	if err != nil {
		t.Fatal(err)
	}
	r := s.Run(context.Background())
	if r.OK() || r.Status != StatusFailed || !strings.Contains(r.Error, "storage settings") || r.Selected != 0 {
		t.Fatalf("report %+v", r)
	}
	if !slices.Equal(w.cml.TaskIDs(), tasks) || !slices.Equal(w.store.snapshot(), objects) || len(w.sink.sent) != 0 ||
		w.cml.Calls("tasks.get_all_ex") != 0 || w.cml.Calls("tasks.delete") != 0 {
		t.Fatal("a run without storage settings changed or selected something")
	}
}
