package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// killJob is the message the kill tests run: a 5,000-object prefix, three
// objects named by URL outside it, and created (so that the run stats each
// URL and can tell one already gone), among neighbours that must survive.
// The proxy takes the store down once it has answered the three objects
// and at least half of the prefix: that is the event the test kills on, and
// nothing the killed consumer sends afterwards reaches the store.
type killJob struct {
	w          *cleanupWorld
	body       string
	prefixKeys []string
	urlKeys    []string
	neighbours []string
	halfway    <-chan struct{}
}

const (
	killPrefix  = "Proj/task.kill/"
	killObjects = 5000
)

func newKillJob(t *testing.T, w *cleanupWorld) *killJob {
	t.Helper()
	k := &killJob{w: w,
		urlKeys:    []string{"Proj/models/task.kill model 1.pt", "Proj/models/task.kill model 2.pt", "Proj/models/task.kill model 3.pt"},
		neighbours: []string{"Proj/models/other model.pt", "Proj/task.kill-keep/k.bin", "Proj/task.killer/artifacts/keep.bin"},
	}
	start := time.Now()
	k.prefixKeys = w.seed(t, "Proj/task.kill", killObjects)
	w.put(t, append(slices.Clone(k.urlKeys), k.neighbours...)...)
	t.Logf("seeded %d objects in %s", killObjects+len(k.urlKeys)+len(k.neighbours), time.Since(start).Round(time.Millisecond))
	// created is after every object's modification time (whole seconds
	// included), so the message deletes them all.
	created := time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339)
	var urls []string
	for _, key := range k.urlKeys {
		urls = append(urls, w.url(key))
	}
	b, _ := json.Marshal(map[string]any{"version": 1, "task": "kill", "urls": urls, "prefixes": []string{w.url(killPrefix)}, "created": created})
	k.body = string(b)
	k.halfway = w.proxy.downWhen(func(answered map[string]bool) bool {
		for _, key := range k.urlKeys {
			if !answered[key] {
				return false
			}
		}
		return countUnder(answered, killPrefix) >= killObjects/2
	})
	return k
}

// awaitHalfway waits for the store to go down half way through the job,
// then calls kill.
func (k *killJob) awaitHalfway(t *testing.T, kill func()) {
	t.Helper()
	select {
	case <-k.halfway:
	case <-time.After(60 * time.Second):
		t.Fatalf("the job never got half way: the store answered %d deletes", k.w.proxy.deletedKeys())
	}
	kill()
}

// afterKill brings the store back and checks what the killed run left:
// the three objects gone, the prefix partly deleted (exactly what the store
// answered), every neighbour there. It returns how many objects are left
// under the prefix.
func (k *killJob) afterKill(t *testing.T) int {
	t.Helper()
	k.w.proxy.up()
	left := k.w.keys(t, "Proj/")
	var under []string
	for _, key := range left {
		if strings.HasPrefix(key, killPrefix) {
			under = append(under, key)
		}
	}
	answered := k.w.proxy.answeredUnder(killPrefix)
	if len(under) == 0 || len(under) != killObjects-answered || answered < killObjects/2 {
		t.Fatalf("after the kill %d of %d objects are left under the prefix, the store answered %d: not half way", len(under), killObjects, answered)
	}
	want := append(slices.Clone(k.neighbours), under...)
	slices.Sort(want)
	if !slices.Equal(left, want) {
		t.Fatalf("after the kill: %d keys left, want the %d neighbours and %d prefix objects (the URL objects gone)", len(left), len(k.neighbours), len(under))
	}
	t.Logf("killed with %d of %d objects left under the prefix", len(under), killObjects)
	return len(under)
}

// finished checks the bucket and the one summary line of the run that
// finished the job: it deleted exactly what was left under the prefix and
// counts the three objects the killed run had removed as already absent.
func (k *killJob) finished(t *testing.T, sums []map[string]any, remaining int) {
	t.Helper()
	if left := k.w.keys(t, "Proj/"); !slices.Equal(left, k.neighbours) {
		t.Fatalf("after the rerun the bucket holds %d keys (first %v), want exactly the neighbours %v", len(left), left[:min(3, len(left))], k.neighbours)
	}
	if len(sums) != 1 {
		t.Fatalf("%d summary lines for the message, want 1 (the killed run logs none): %v", len(sums), sums)
	}
	checkFields(t, "summary of the run that finished", sums[0], map[string]any{
		"status": "ok", "level": "INFO", "task": "kill", "urls": len(k.urlKeys), "prefixes": 1,
		"deleted": remaining, "already_absent": len(k.urlKeys), "kept": 0, "failed": 0,
		"transient_failures": 0, "permanent_failures": 0,
	})
	providers, _ := sums[0]["providers"].(map[string]any)
	checkFields(t, "its s3 counts", func() map[string]any { m, _ := providers["s3"].(map[string]any); return m }(), map[string]any{
		"deleted": remaining, "already_absent": len(k.urlKeys), "kept": 0, "failed": 0,
	})
	if t.Failed() {
		t.Logf("summary: %s", fmt.Sprint(sums[0]))
	}
}
