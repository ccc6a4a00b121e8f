package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"

	"github.com/storagegate/storagegate/shared/clearmlauth/clearmltest"
	"github.com/storagegate/storagegate/shared/internal/testserver"
)

// sweepWorld is MinIO and the ClearML double holding tasks whose files are
// in MinIO: old archived tasks the policy deletes (artifacts, a draft
// model, debug images over 130 iterations, more than a page of events,
// plot images) and tasks it keeps, each with files.
type sweepWorld struct {
	minio  *testserver.MinIO
	s3     *s3.Client
	cml    *clearmltest.Server
	config string
	// doomed and kept task ids; files maps each task to its keys.
	doomed, kept []string
	files        map[string][]string
	// others are keys no task of the sweep owns (another task's model in
	// use, a neighbour folder).
	others []string
}

func newSweepWorld(t *testing.T) *sweepWorld {
	t.Helper()
	w := &sweepWorld{minio: testserver.StartMinIO(t), cml: clearmltest.New(t), files: map[string][]string{}}
	w.minio.MakeBucket(t, sampleBucket)
	w.s3 = w.minio.S3Client(t)
	w.cml.AddUser(clearmltest.User{ID: "svc", Name: "Sweeper", Role: "user", CompanyID: "c1", CompanyName: "Acme"})
	w.cml.AddKey("svc", "SWEEPKEY", "sweep-secret-0123456789")
	w.cml.AddProject(clearmltest.Project{ID: "p1", Name: "Vision", Company: "c1"})
	cfg, _ := json.Marshal(map[string]any{
		"storage": map[string]any{"aws": map[string]any{"buckets": []map[string]any{{
			"bucket": sampleBucket, "host": w.minio.HostPort, "key": w.minio.AccessKey, "secret": w.minio.SecretKey, "secure": false,
		}}}},
		"clearml": map[string]any{"api_server": w.cml.URL, "access_key": "SWEEPKEY", "secret_key": "sweep-secret-0123456789"},
		"sweep":   map[string]any{"older_than": "720h"},
	})
	w.config = string(cfg)
	w.seed(t)
	return w
}

func (w *sweepWorld) url(key string) string {
	return "s3://" + w.minio.HostPort + "/" + sampleBucket + "/" + key
}

func daysAgo(n int) time.Time { return time.Now().Add(-time.Duration(n) * 24 * time.Hour) }

// task adds a task of the given kind with an artifact, a draft model,
// debug images and a plot, all in MinIO.
func (w *sweepWorld) task(id string, iterations int, edit func(*clearmltest.Task)) {
	folder := "Vision/train " + id + "." + id
	tk := clearmltest.Task{
		ID: id, Name: "train " + id, Project: "p1", Company: "c1", User: "svc", Status: "completed",
		SystemTags: []string{"archived"}, Created: daysAgo(62), Started: daysAgo(62), StatusChanged: daysAgo(60), LastChange: daysAgo(45),
		Artifacts: []clearmltest.Artifact{{Key: "data", URI: w.url(folder + "/artifacts/data/data 100%.csv")}},
	}
	if edit != nil {
		edit(&tk)
	}
	w.cml.AddTask(tk)
	keys := []string{folder + "/artifacts/data/data 100%.csv", folder + "/models/draft.pt"}
	w.cml.AddModel(clearmltest.Model{ID: id + "-m", Company: "c1", Task: id, URI: w.url(folder + "/models/draft.pt")})
	var evs []clearmltest.Event
	for it := 0; it < iterations; it++ {
		for _, v := range []string{"rgb", "mask", "depth", "edges", "diff"} {
			k := fmt.Sprintf("%s/metrics/sample/%s/sample_%s_%08d.png", folder, v, v, it)
			keys = append(keys, k)
			evs = append(evs, clearmltest.Event{Task: id, Type: clearmltest.DebugImage, Metric: "sample", Variant: v, Iter: it, Timestamp: int64(it), URL: w.url(k)})
		}
	}
	plot := folder + "/metrics/confusion/val/cm.png"
	keys = append(keys, plot)
	evs = append(evs, clearmltest.Event{Task: id, Type: clearmltest.Plot, Metric: "confusion", Variant: "val", SourceURLs: []string{w.url(plot)}})
	w.cml.AddEvents(evs...)
	w.files[id] = keys
}

func (w *sweepWorld) seed(t *testing.T) {
	t.Helper()
	w.task("a1b2c3", 130, nil)
	w.task("d4e5f6", 3, nil)
	w.doomed = []string{"a1b2c3", "d4e5f6"}
	w.task("recent", 2, func(tk *clearmltest.Task) { tk.StatusChanged, tk.LastChange = daysAgo(3), daysAgo(3) })
	w.task("live", 2, func(tk *clearmltest.Task) { tk.SystemTags = nil })
	w.task("published", 2, func(tk *clearmltest.Task) { tk.Status = "published" })
	w.kept = []string{"live", "published", "recent"}
	// A model of a1b2c3 that another task uses as input stays, and so does
	// a neighbouring folder whose name starts with the task's.
	used := "Vision/train a1b2c3.a1b2c3/models/used-elsewhere.pt"
	w.cml.AddModel(clearmltest.Model{ID: "used", Company: "c1", Task: "a1b2c3", URI: w.url(used)})
	w.cml.AddTask(clearmltest.Task{ID: "consumer", Company: "c1", Status: "completed", InputModels: []string{"used"}, StatusChanged: daysAgo(1)})
	w.others = []string{used, "Vision/train a1b2c3.a1b2c3-copy/keep.bin"}

	var all []string
	for _, ks := range w.files {
		all = append(all, ks...)
	}
	all = append(all, w.others...)
	var g errgroup.Group
	g.SetLimit(16)
	for _, k := range all {
		g.Go(func() error {
			_, err := w.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(sampleBucket), Key: aws.String(k), Body: bytes.NewReader([]byte("x"))})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("seeding MinIO: %v", err)
	}
	// The sweep's messages carry created = the run's start, and the deleter
	// keeps what was modified in that second or later (HEAD answers whole
	// seconds): start the runs in a later second than the seeding.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 50*time.Millisecond)))
}

// keys lists the bucket, straight from MinIO.
func (w *sweepWorld) keys(t *testing.T) []string {
	t.Helper()
	var out []string
	p := s3.NewListObjectsV2Paginator(w.s3, &s3.ListObjectsV2Input{Bucket: aws.String(sampleBucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			out = append(out, aws.ToString(o.Key))
		}
	}
	sort.Strings(out)
	return out
}

// want is what must be left: the kept tasks' files and the others, plus
// the doomed tasks' files when nothing was to be deleted yet.
func (w *sweepWorld) want(withDoomed bool) []string {
	out := slices.Clone(w.others)
	for _, id := range w.kept {
		out = append(out, w.files[id]...)
	}
	if withDoomed {
		for _, id := range w.doomed {
			out = append(out, w.files[id]...)
		}
	}
	sort.Strings(out)
	return out
}

// check: the doomed tasks are gone from the double and their every file
// from MinIO (or, when swept is false, all is as seeded); the rest stays.
func (w *sweepWorld) check(t *testing.T, swept bool) {
	t.Helper()
	for _, id := range w.doomed {
		if w.cml.HasTask(id) == swept {
			t.Errorf("task %s: exists %v after a sweep that should have deleted it: %v", id, !swept, swept)
		}
	}
	for _, id := range append(slices.Clone(w.kept), "consumer") {
		if !w.cml.HasTask(id) {
			t.Errorf("task %s was deleted", id)
		}
	}
	if got, want := w.keys(t), w.want(!swept); !slices.Equal(got, want) {
		t.Errorf("left in the bucket: %d keys, want %d; first differences: %v", len(got), len(want), diff(got, want))
	}
	if n := len(w.cml.ExternalDeletions()); n != 0 {
		t.Errorf("the ClearML server was asked to delete %d files itself", n)
	}
}

func diff(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, "+"+x)
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			out = append(out, "-"+x)
		}
	}
	return out[:min(len(out), 5)]
}

// sweepSummary finds the run's JSON summary line (msg "sweep") in out.
func sweepSummary(t *testing.T, out string) map[string]any {
	t.Helper()
	var found map[string]any
	for _, l := range strings.Split(out, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "sweep" {
			if found != nil {
				t.Fatalf("two sweep summary lines in one run:\n%s", out)
			}
			found = m
		}
	}
	if found == nil {
		t.Fatalf("no sweep summary line in:\n%s", out)
	}
	return found
}
