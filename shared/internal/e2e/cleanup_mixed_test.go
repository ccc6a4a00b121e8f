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
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/storagegate/storagegate/shared/internal/testserver"
)

// TestCleanupMixedStores: one message naming objects and prefixes in MinIO (the
// one cleanup test on a real S3 server),
// fake-gcs-server and Azurite, run through the queue path (storagegate
// cleanup --event), deletes exactly those objects: neighbours that share a
// name prefix (task.abc vs task.abcd, task.abc-keep) survive, and the same
// message again succeeds with nothing left to do.
func TestCleanupMixedStores(t *testing.T) {
	w := newCleanupWorldMinIO(t)
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
		return map[string][]string{"s3": w.keys(t, "My Project/"), "gs": gcsKeys(t, fake, "clearml-gcs"),
			"azure": azureKeys(ctx, t, blobs, "clearml-azure")}
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

// azureKeys lists an Azurite container, sorted.
func azureKeys(ctx context.Context, t *testing.T, blobs *azblob.Client, container string) []string {
	t.Helper()
	var out []string
	pager := blobs.NewListBlobsFlatPager(container, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range page.Segment.BlobItems {
			out = append(out, *b.Name)
		}
	}
	sort.Strings(out)
	return out
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

// TestCleanupKilledMidway: `storagegate cleanup --event` is killed
// (SIGKILL) half way through the kill job (the event: the store has answered
// the job's three objects and half of its 5,000-object prefix); the same
// message run again finishes the job and its summary counts what the killed
// run had removed.
func TestCleanupKilledMidway(t *testing.T) {
	w := newCleanupWorld(t, func(c map[string]any) { c["concurrency"] = 2 })
	k := newKillJob(t, w)
	event := filepath.Join(t.TempDir(), "message.json")
	if err := os.WriteFile(event, []byte(k.body), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(buildLocal(t), "cleanup", "--event", event)
	cmd.Env = append(os.Environ(), "STORAGEGATE_CONFIG="+w.config)
	p, err := testserver.StartProcess("storagegate cleanup", cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(0) })
	k.awaitHalfway(t, func() { p.Stop(0) })
	if err := p.Err(); err == nil || err.Error() != "signal: killed" {
		t.Fatalf("the killed cleanup exited with %v, want signal: killed\n%s", err, p.Output())
	}
	if strings.Contains(p.Output(), `"msg":"cleanup"`) {
		t.Fatalf("the killed run logged a summary:\n%s", p.Output())
	}
	remaining := k.afterKill(t)

	out, errOut, code := runCLI(t, []string{"STORAGEGATE_CONFIG=" + w.config}, "cleanup", "--event", event)
	if code != 0 {
		t.Fatalf("rerun: exit %d\n%s\n%s", code, out, errOut)
	}
	var sums []map[string]any
	for _, l := range strings.Split(errOut, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "cleanup" {
			sums = append(sums, m)
		}
	}
	k.finished(t, sums, remaining)
	if !strings.HasPrefix(out, fmt.Sprintf("deleted %d, already absent 3, kept 0, failed 0 in ", remaining)) {
		t.Errorf("the CLI's line: %q", out)
	}
}
