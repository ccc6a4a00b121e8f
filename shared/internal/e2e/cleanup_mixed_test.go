package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/storagegate/storagegate/shared/internal/testserver"
)

// TestCleanupMixedStores: one message naming objects and prefixes in MinIO,
// fake-gcs-server and Azurite, run through the queue path (storagegate
// cleanup --event), deletes exactly those objects: neighbours that share a
// name prefix (task.abc vs task.abcd, task.abc-keep) survive, and the same
// message again succeeds with nothing left to do.
func TestCleanupMixedStores(t *testing.T) {
	w := newCleanupWorld(t)
	fake := testserver.StartFakeGCS(t)
	fake.MakeBucket(t, "clearml-gcs")
	az := testserver.StartAzurite(t)
	cred, err := azblob.NewSharedKeyCredential(az.AccountName, az.AccountKey)
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := azblob.NewClientWithSharedKeyCredential(az.BlobEndpoint+"/", cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := blobs.CreateContainer(ctx, "clearml-azure", nil); err != nil {
		t.Fatal(err)
	}

	all := []string{
		"My Project/task.abc/artifacts/data frame/df.csv.gz",
		"My Project/task.abc/models/model 50%.pt",
		"My Project/task.abc/metrics/loss/train/loss_0001.png",
		"My Project/task.abcd/artifacts/keep.bin",
		"My Project/task.abc-keep/k.bin",
		"My Project/other.bin",
		"My Project/other2.bin",
	}
	survivors := []string{"My Project/other2.bin", "My Project/task.abc-keep/k.bin", "My Project/task.abcd/artifacts/keep.bin"}
	w.put(t, all...)
	for _, k := range all {
		fake.Put(t, "clearml-gcs", k, []byte("x"))
		if _, err := blobs.UploadBuffer(ctx, "clearml-azure", k, []byte("x"), nil); err != nil {
			t.Fatal(err)
		}
	}

	var doc map[string]any
	_ = json.Unmarshal([]byte(w.config), &doc)
	st := doc["storage"].(map[string]any)
	st["google"] = map[string]any{"endpoint": fake.Endpoint, "buckets": []any{map[string]any{"bucket": "clearml-gcs"}}}
	st["azure"] = map[string]any{"containers": []any{map[string]any{"account_name": az.AccountName, "account_key": az.AccountKey, "container_name": "clearml-azure", "endpoint": az.BlobEndpoint}}}
	cfg, _ := json.Marshal(doc)
	env := []string{"STORAGEGATE_CONFIG=" + string(cfg)}

	roots := []string{w.url(""), "gs://clearml-gcs/", "azure://" + az.AccountName + ".blob.core.windows.net/clearml-azure/"}
	var urls, prefixes []string
	for _, r := range roots {
		urls = append(urls, r+"My Project/other.bin")
		prefixes = append(prefixes, r+"My Project/task.abc") // the trailing / is implied
	}
	event := filepath.Join(t.TempDir(), "message.json")
	if err := os.WriteFile(event, []byte(message("abc", urls, prefixes)), 0o600); err != nil {
		t.Fatal(err)
	}

	left := func() map[string][]string {
		out := map[string][]string{"s3": w.keys(t, "My Project/"), "gs": gcsKeys(t, fake, "clearml-gcs"), "azure": nil}
		pager := blobs.NewListBlobsFlatPager("clearml-azure", nil)
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range page.Segment.BlobItems {
				out["azure"] = append(out["azure"], *b.Name)
			}
		}
		sort.Strings(out["azure"])
		return out
	}
	for run := 1; run <= 2; run++ {
		out, errOut, code := runCLI(t, env, "cleanup", "--event", event)
		if code != 0 {
			t.Fatalf("run %d: exit %d\nstdout %s\nstderr %s", run, code, out, errOut)
		}
		for store, keys := range left() {
			if strings.Join(keys, "|") != strings.Join(survivors, "|") {
				t.Fatalf("run %d: %s holds %q, want exactly %q", run, store, keys, survivors)
			}
		}
	}
}

// gcsKeys lists a fake-gcs-server bucket through its JSON API.
func gcsKeys(t *testing.T, fake *testserver.FakeGCS, bucket string) []string {
	t.Helper()
	resp, err := http.Get(fake.Endpoint + "/storage/v1/b/" + bucket + "/o")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Items []struct{ Name string } `json:"items"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, i := range list.Items {
		out = append(out, i.Name)
	}
	sort.Strings(out)
	return out
}

// TestCleanupKilledMidway: the cleanup process is killed (SIGKILL) while it
// deletes a prefix; the same message run again finishes the job and reports
// success.
func TestCleanupKilledMidway(t *testing.T) {
	w := newCleanupWorld(t)
	keys := w.seed(t, "proj/task.kill", 3000)
	w.put(t, "proj/task.killer/keep.bin")
	env := append(os.Environ(), "STORAGEGATE_CONFIG="+w.config)
	event := filepath.Join(t.TempDir(), "message.json")
	if err := os.WriteFile(event, []byte(message("kill", nil, []string{w.url("proj/task.kill")})), 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(buildLocal(t), "cleanup", "--event", event)
	cmd.Env = env
	// Kill once the first DeleteObjects has been answered and before the
	// second reaches MinIO: the first batch is gone, the rest is not. (A
	// kill while a batch is in flight would abort it at the proxy too.)
	kill := make(chan struct{})
	var once sync.Once
	w.proxy.onDelete(func(n int64) {
		if n < 2 {
			return
		}
		for deadline := time.Now().Add(10 * time.Second); w.proxy.deleted.Load() < 1 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		once.Do(func() { close(kill) })
		time.Sleep(time.Second) // hold this batch until the process is dead
	})
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		select {
		case <-kill:
			_ = cmd.Process.Kill()
		case <-exited:
		}
	}()
	_ = cmd.Wait()
	close(exited)
	w.proxy.onDelete(nil)
	remaining := len(w.keys(t, "proj/task.kill/"))
	if remaining == 0 || remaining >= len(keys) {
		t.Fatalf("%d of %d objects left after the kill: the kill did not land midway", remaining, len(keys))
	}

	out, errOut, code := runCLI(t, []string{"STORAGEGATE_CONFIG=" + w.config}, "cleanup", "--event", event)
	if code != 0 {
		t.Fatalf("rerun: exit %d\n%s\n%s", code, out, errOut)
	}
	if left := w.keys(t, "proj/task.kil"); fmt.Sprint(left) != "[proj/task.killer/keep.bin]" {
		t.Fatalf("after the rerun: %q", left)
	}
}
