package sweep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storagegate/storagegate/shared/cleanup"
	"github.com/storagegate/storagegate/shared/clearmlauth/clearmltest"
	"github.com/storagegate/storagegate/shared/config"
)

// world is the ClearML double holding tasks of every kind the policy must
// tell apart, and a store of URLs that a fake sink deletes from, as the
// queue and the cleanup function would.
type world struct {
	cml   *clearmltest.Server
	store *memStore
	sink  *fakeSink
	// owner maps every seeded URL to the task that wrote it.
	owner map[string]string
	// doomed are the tasks the default policy deletes.
	doomed []string
}

// memStore is the set of objects that exist.
type memStore struct {
	mu      sync.Mutex
	objects map[string]bool
	// deletes counts deletions per URL, already absent ones included.
	deletes map[string]int
}

func (m *memStore) has(u string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.objects[u]
}

func (m *memStore) snapshot() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for u := range m.objects {
		out = append(out, u)
	}
	sort.Strings(out)
	return out
}

// fakeSink "queues" by deleting at once; fail makes the next sends fail.
type fakeSink struct {
	store *memStore
	mu    sync.Mutex
	fail  int // sends left to fail; <0 every one
	sent  []cleanup.Message
	// after runs after each successful send.
	after func(m cleanup.Message)
}

func (f *fakeSink) Send(_ context.Context, m cleanup.Message) (int, error) {
	f.mu.Lock()
	if f.fail != 0 {
		if f.fail > 0 {
			f.fail--
		}
		f.mu.Unlock()
		return 0, errors.New("queue unavailable")
	}
	f.sent = append(f.sent, m)
	f.store.mu.Lock()
	for _, u := range m.URLs {
		delete(f.store.objects, u)
		f.store.deletes[u]++
	}
	f.store.mu.Unlock()
	after := f.after
	f.mu.Unlock()
	if after != nil {
		after(m)
	}
	return 1, nil
}

func (f *fakeSink) String() string { return "fake queue" }

func (f *fakeSink) setFail(n int) {
	f.mu.Lock()
	f.fail = n
	f.mu.Unlock()
}

const (
	company = "c1"
	bucket  = "s3://clearml-artifacts"
)

func ago(d time.Duration) time.Time { return time.Now().Add(-d) }

const day = 24 * time.Hour

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{cml: clearmltest.New(t), store: &memStore{objects: map[string]bool{}, deletes: map[string]int{}}, owner: map[string]string{}}
	w.sink = &fakeSink{store: w.store}
	w.cml.AddUser(clearmltest.User{ID: "svc", Name: "Sweeper", Role: "user", CompanyID: company, CompanyName: "Acme"})
	w.cml.AddKey("svc", "AK", "SK")
	w.cml.AddUser(clearmltest.User{ID: "other", Name: "Other", Role: "user", CompanyID: "c2", CompanyName: "Else"})
	w.cml.AddProject(clearmltest.Project{ID: "p-team", Name: "Team", Company: company})
	w.cml.AddProject(clearmltest.Project{ID: "p-sub", Name: "Team/Sub", Company: company})
	w.cml.AddProject(clearmltest.Project{ID: "p-other", Name: "Other", Company: company})
	return w
}

// put records a URL as an object written by task.
func (w *world) put(task string, urls ...string) {
	for _, u := range urls {
		w.store.objects[u] = true
		w.owner[u] = task
	}
}

// oldTask is an archived task finished 60 days ago (archived 40 days ago).
func oldTask(id, project string) clearmltest.Task {
	return clearmltest.Task{
		ID: id, Name: "train " + id, Project: project, Company: company, User: "svc", Status: "completed",
		SystemTags: []string{"archived"}, Created: ago(61 * day), Started: ago(61 * day),
		StatusChanged: ago(60 * day), LastChange: ago(40 * day), LastUpdate: ago(40 * day),
	}
}

func folder(project, id string) string { return bucket + "/" + project + "/train " + id + "." + id }

// seedFull adds a task with every kind of file: output artifacts (an input
// one and a fileserver one that must not be deleted), draft and published
// models, a draft model another task uses, debug images over many
// iterations (more than one page), plots with images.
func (w *world) seedFull(id, project string, withPublishedModel bool) {
	tk := oldTask(id, project)
	f := folder(project, id)
	tk.Artifacts = []clearmltest.Artifact{
		{Key: "data", URI: f + "/artifacts/data/data.csv"},
		{Key: "weights", URI: f + "/artifacts/weights/w.bin", Mode: "output"},
		{Key: "in", URI: bucket + "/shared/input.csv", Mode: "input"},
		{Key: "srv", URI: "http://files.clearml.example.com:8081/" + id + "/a.txt"},
	}
	w.put(id, f+"/artifacts/data/data.csv", f+"/artifacts/weights/w.bin")
	w.put("shared", bucket+"/shared/input.csv")
	w.cml.AddTask(tk)
	w.cml.AddModel(clearmltest.Model{ID: id + "-draft", Company: company, Task: id, URI: f + "/models/draft.pt"})
	w.put(id, f+"/models/draft.pt")
	w.cml.AddModel(clearmltest.Model{ID: id + "-used", Company: company, Task: id, URI: f + "/models/used.pt"})
	w.put("user-of-"+id, f+"/models/used.pt")
	w.cml.AddTask(clearmltest.Task{ID: "user-of-" + id, Company: company, Status: "completed", InputModels: []string{id + "-used"},
		StatusChanged: ago(time.Hour), LastChange: ago(time.Hour)})
	if withPublishedModel {
		w.cml.AddModel(clearmltest.Model{ID: id + "-pub", Company: company, Task: id, URI: f + "/models/published.pt", Ready: true})
		w.put("published-model-of-"+id, f+"/models/published.pt")
	}
	var evs []clearmltest.Event
	for iter := 0; iter < 130; iter++ {
		for _, v := range []string{"a", "b", "c", "d", "e"} {
			u := fmt.Sprintf("%s/metrics/img/%s/img_%s_%08d.png", f, v, v, iter)
			evs = append(evs, clearmltest.Event{Task: id, Type: clearmltest.DebugImage, Metric: "img", Variant: v, Iter: iter, Timestamp: int64(iter), URL: u})
			w.put(id, u)
		}
	}
	plot := f + "/metrics/plot/confusion.png"
	evs = append(evs, clearmltest.Event{Task: id, Type: clearmltest.Plot, Metric: "plot", Variant: "cm", Iter: 0, SourceURLs: []string{plot}})
	w.put(id, plot)
	w.cml.AddEvents(evs...)
}

// seed builds the default world: what the default policy deletes (doomed)
// and every kind of task it must keep.
func (w *world) seed() {
	w.seedFull("t-full", "p-sub", false)
	// Only iteration-0 events, beyond one page: the scroll restarts for ever.
	trap := oldTask("t-trap", "p-team")
	w.cml.AddTask(trap)
	var evs []clearmltest.Event
	for i := 0; i < 600; i++ {
		u := fmt.Sprintf("%s/metrics/zero/v/img_%04d.png", folder("p-team", "t-trap"), i)
		evs = append(evs, clearmltest.Event{Task: "t-trap", Type: clearmltest.DebugImage, Metric: "zero", Variant: fmt.Sprint(i), Iter: 0, Timestamp: int64(i), URL: u})
		w.put("t-trap", u)
	}
	for i := 0; i < 100; i++ {
		u := fmt.Sprintf("%s/metrics/one/v/img_%04d.png", folder("p-team", "t-trap"), i)
		evs = append(evs, clearmltest.Event{Task: "t-trap", Type: clearmltest.DebugImage, Metric: "one", Variant: fmt.Sprint(i), Iter: 1, Timestamp: int64(i), URL: u})
		w.put("t-trap", u)
	}
	plot := folder("p-team", "t-trap") + "/plots/only.png"
	evs = append(evs, clearmltest.Event{Task: "t-trap", Type: clearmltest.Plot, Metric: "p", Variant: "v", SourceURLs: []string{plot}})
	w.put("t-trap", plot)
	w.cml.AddEvents(evs...)
	// An old task with nothing but a fileserver artifact.
	empty := oldTask("t-empty", "")
	empty.Artifacts = []clearmltest.Artifact{{Key: "x", URI: "https://files.example.com/x.bin"}}
	w.cml.AddTask(empty)
	w.doomed = []string{"t-empty", "t-full", "t-trap"}

	keep := func(tk clearmltest.Task, url string) {
		w.cml.AddTask(tk)
		if url != "" {
			tk.Artifacts = []clearmltest.Artifact{{Key: "a", URI: url}}
			w.cml.AddTask(tk)
			w.put(tk.ID, url)
		}
	}
	recent := oldTask("k-recent", "p-team")
	recent.StatusChanged, recent.LastChange = ago(2*day), ago(2*day)
	keep(recent, folder("p-team", "k-recent")+"/artifacts/a.bin")
	rearchived := oldTask("k-archived-yesterday", "p-team")
	rearchived.LastChange = ago(day)
	keep(rearchived, folder("p-team", "k-archived-yesterday")+"/artifacts/a.bin")
	live := oldTask("k-unarchived", "p-team")
	live.SystemTags = nil
	keep(live, folder("p-team", "k-unarchived")+"/artifacts/a.bin")
	pub := oldTask("k-published", "p-team")
	pub.Status = "published"
	keep(pub, folder("p-team", "k-published")+"/artifacts/a.bin")
	running := oldTask("k-running", "p-team")
	running.Status = "in_progress"
	keep(running, folder("p-team", "k-running")+"/artifacts/a.bin")
	public := oldTask("k-public", "p-team")
	public.Company = ""
	keep(public, folder("p-team", "k-public")+"/artifacts/a.bin")
	foreign := oldTask("k-foreign", "")
	foreign.Company = "c2"
	keep(foreign, bucket+"/c2/a.bin")
	hidden := oldTask("k-nodate", "p-team")
	hidden.StatusChanged = time.Time{}
	keep(hidden, folder("p-team", "k-nodate")+"/artifacts/a.bin")
	w.seedFull("k-pubmodel", "p-team", true)
	parent := oldTask("k-parent", "p-team")
	keep(parent, folder("p-team", "k-parent")+"/artifacts/a.bin")
	w.cml.AddTask(clearmltest.Task{ID: "k-child", Company: company, Status: "published", Parent: "k-parent", StatusChanged: ago(day)})
}

func baseConfig(w *world) *config.Config {
	cfg, _, err := config.Parse([]byte(`{"clearml": {"api_server": "` + w.cml.URL + `", "access_key": "AK", "secret_key": "SK"},
		"sweep": {"older_than": "720h"}, "cleanup": {"deadline": "1m"}}`))
	if err != nil {
		panic(err)
	}
	return cfg
}

func (w *world) sweeper(t *testing.T, cfg *config.Config, dry bool) *Sweeper {
	t.Helper()
	s, err := New(Options{Config: cfg, Sink: w.sink, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), DryRun: dry})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkNoOrphans: every URL of a task that no longer exists is gone from
// the store (or named in unqueued); every URL of a task the policy keeps,
// or of the models and inputs that stay, is still there and was never sent
// for deletion. (A doomed task that a failure left in place may have its
// files queued already: the next run deletes it.)
func (w *world) checkNoOrphans(t *testing.T, unqueued []string) {
	t.Helper()
	mustStay := func(owner string) bool {
		if slices.Contains(w.doomed, owner) {
			return false
		}
		return owner == "shared" || strings.HasPrefix(owner, "published-model-of-") || w.cml.HasTask(owner)
	}
	for u, owner := range w.owner {
		switch stay := mustStay(owner); {
		case stay && !w.store.has(u):
			t.Errorf("deleted in error: %s of %s, which stays", u, owner)
		case !stay && !w.cml.HasTask(owner) && w.store.has(u) && !slices.Contains(unqueued, u):
			t.Errorf("orphan: %s of deleted task %s is still in the store", u, owner)
		}
	}
	for u, n := range w.store.deletes {
		if owner := w.owner[u]; mustStay(owner) {
			t.Errorf("%s (of %s, which stays) was sent for deletion %d times", u, owner, n)
		}
	}
}
