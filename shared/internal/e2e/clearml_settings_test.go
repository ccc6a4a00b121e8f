package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/storagegate/storagegate/shared/clearmlauth/clearmltest"
	"github.com/storagegate/storagegate/shared/internal/testserver"
)

// Secrets of the service account and the bucket that must appear in no
// output of the binary.
const (
	svcAccessKey = "SVCSTORAGEGATE"
	svcSecretKey = "svc-secret-6d1e0b"
)

// clearmlOnly is a ClearML double holding the storage settings, a service
// account of company c1, a user of c1 and one of another company.
type clearmlOnly struct {
	cml        *clearmltest.Server
	alice, eve string
	env        []string // the three values, and nothing else
}

func newClearMLOnly(t *testing.T) *clearmlOnly {
	t.Helper()
	c := &clearmlOnly{cml: clearmltest.New(t)}
	c.cml.AddUser(clearmltest.User{ID: "svc", Name: "storagegate", Role: "user", CompanyID: "c1", CompanyName: "Acme"})
	c.cml.AddUser(clearmltest.User{ID: "alice", Name: "Alice", Role: "user", CompanyID: "c1", CompanyName: "Acme"})
	c.cml.AddUser(clearmltest.User{ID: "eve", Name: "Eve", Role: "admin", CompanyID: "c2", CompanyName: "Other"})
	c.cml.AddKey("svc", svcAccessKey, svcSecretKey)
	c.alice, c.eve = c.cml.Token("alice", time.Hour), c.cml.Token("eve", time.Hour)
	c.env = []string{"CLEARML_API_HOST=" + c.cml.URL, "CLEARML_API_ACCESS_KEY=" + svcAccessKey, "CLEARML_API_SECRET_KEY=" + svcSecretKey}
	return c
}

// TestPresignWithOnlyTheThreeValues: the built storagegate, started with
// CLEARML_API_HOST, CLEARML_API_ACCESS_KEY and CLEARML_API_SECRET_KEY and no
// config document, signs for a MinIO bucket configured only in ClearML's
// storage settings, and the URL fetches the object; a caller of another
// company is refused; /healthz reports settings from ClearML; check-config
// --probe names each entry's source; no secret reaches the output.
func TestPresignWithOnlyTheThreeValues(t *testing.T) {
	m := testserver.StartMinIO(t)
	m.MakeBucket(t, sampleBucket)
	m.Put(t, sampleBucket, "proj/t.1/artifacts/a/data.csv", []byte("from clearml settings"))
	c := newClearMLOnly(t)
	no := false
	c.cml.SetStorageSettings("c1", clearmltest.StorageSettings{AWS: &clearmltest.AWSSettings{Buckets: []clearmltest.S3Bucket{
		{Bucket: sampleBucket, Host: m.HostPort, Key: m.AccessKey, Secret: m.SecretKey, Secure: &no},
	}}})

	port := testserver.FreePort(t)
	cmd := exec.Command(buildLocal(t), "serve", "--addr", fmt.Sprintf("127.0.0.1:%d", port))
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, c.env...)
	p, err := testserver.StartProcess("storagegate", cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(5 * time.Second) })
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := p.WaitReady(30*time.Second, func(ctx context.Context) error {
		r, _ := http.NewRequestWithContext(ctx, "GET", base+"/healthz", nil)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, p.Output())
	}

	presign := func(token, key string) *http.Response {
		t.Helper()
		r, _ := http.NewRequest("GET", base+"/presign?url="+url.QueryEscape("s3://"+m.HostPort+"/"+sampleBucket+"/"+key), nil)
		r.Header.Set("Authorization", "Bearer "+token)
		resp, err := noRedirect.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	resp := presign(c.alice, "proj/t.1/artifacts/a/data.csv")
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("presign: %d\n%s", resp.StatusCode, p.Output())
	}
	if status, body := get(t, "GET", resp.Header.Get("Location")); status != 200 || body != "from clearml settings" {
		t.Fatalf("the signed URL: %d %q", status, body)
	}
	if resp := presign(c.eve, "proj/t.1/artifacts/a/data.csv"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("another company's caller: %d", resp.StatusCode)
	}
	hresp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var health struct {
		Settings struct {
			Source string `json:"source"`
			Loaded bool   `json:"loaded"`
		} `json:"settings"`
	}
	json.NewDecoder(hresp.Body).Decode(&health)
	hresp.Body.Close()
	if health.Settings.Source != "clearml" || !health.Settings.Loaded {
		t.Fatalf("healthz settings: %+v", health.Settings)
	}

	// The CLI reads the same settings.
	out, errOut, code := runCLI(t, c.env, "presign", "s3://"+m.HostPort+"/"+sampleBucket+"/proj/t.1/artifacts/a/data.csv")
	if code != 0 {
		t.Fatalf("presign: exit %d: %s", code, errOut)
	}
	if status, _ := get(t, "GET", strings.TrimSpace(out)); status != 200 {
		t.Fatalf("CLI signed URL: %d", status)
	}
	out, errOut, code = runCLI(t, c.env, "check-config", "--probe")
	if code != 0 || !strings.Contains(out, "bucket "+sampleBucket+") [clearml]") || !strings.Contains(out, "ok    storage settings from clearml") {
		t.Fatalf("check-config --probe: exit %d\n%s\n%s", code, out, errOut)
	}

	// Stopped (SIGTERM) first: serve batches its log lines until then.
	p.Stop(5 * time.Second)
	if n := strings.Count(p.Output(), `"msg":"presign","request_id"`); n < 2 {
		t.Fatalf("%d presign audit lines in serve's output, want one per request:\n%s", n, p.Output())
	}
	for _, secret := range []string{svcSecretKey, m.SecretKey, c.alice, c.eve} {
		if strings.Contains(p.Output(), secret) || strings.Contains(out, secret) || strings.Contains(errOut, secret) {
			t.Fatalf("a secret reached the output:\n%s\n%s\n%s", p.Output(), out, errOut)
		}
	}
}

// TestCleanupWithSettingsFromClearML: one deletion message through the
// queue path (storagegate cleanup --event), with every store's credentials
// from ClearML's storage settings and only the emulator endpoints in the
// document, deletes on MinIO, fake-gcs-server and Azurite; with ClearML
// unreachable the message fails as transient (exit 1) and deletes nothing.
func TestCleanupWithSettingsFromClearML(t *testing.T) {
	m := testserver.StartMinIO(t)
	m.MakeBucket(t, sampleBucket)
	fake := testserver.StartFakeGCS(t)
	fake.MakeBucket(t, "clearml-gcs")
	az := testserver.StartAzurite(t)
	ctx := context.Background()
	cred, err := azblob.NewSharedKeyCredential(az.AccountName, az.AccountKey)
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := azblob.NewClientWithSharedKeyCredential(az.BlobEndpoint+"/", cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := blobs.CreateContainer(ctx, "clearml-azure", nil); err != nil {
		t.Fatal(err)
	}
	keys := []string{"proj/task.abc/artifacts/a/df.csv", "proj/task.abc/models/m.pt", "proj/task.keep/k.bin"}
	for _, k := range keys {
		m.Put(t, sampleBucket, k, []byte("x"))
		fake.Put(t, "clearml-gcs", k, []byte("x"))
		if _, err := blobs.UploadBuffer(ctx, "clearml-azure", k, []byte("x"), nil); err != nil {
			t.Fatal(err)
		}
	}

	c := newClearMLOnly(t)
	no := false
	c.cml.SetStorageSettings("c1", clearmltest.StorageSettings{
		AWS:    &clearmltest.AWSSettings{Buckets: []clearmltest.S3Bucket{{Bucket: sampleBucket, Host: m.HostPort, Key: m.AccessKey, Secret: m.SecretKey, Secure: &no}}},
		Google: &clearmltest.GoogleSettings{Buckets: []clearmltest.GSBucket{{Bucket: "clearml-gcs"}}},
		Azure:  &clearmltest.AzureSettings{Containers: []clearmltest.AzureContainer{{AccountName: az.AccountName, AccountKey: az.AccountKey, ContainerName: "clearml-azure"}}},
	})
	// ClearML knows no emulator endpoints: the document adds them to
	// ClearML's entries, which keep their keys.
	doc, _ := json.Marshal(map[string]any{"storage": map[string]any{
		"from_clearml": true,
		"google":       map[string]any{"endpoint": fake.Endpoint},
		"azure": map[string]any{"containers": []any{map[string]any{
			"account_name": az.AccountName, "container_name": "clearml-azure", "endpoint": az.BlobEndpoint,
		}}},
	}})
	env := append([]string{"STORAGEGATE_CONFIG=" + string(doc)}, c.env...)

	roots := []string{"s3://" + m.HostPort + "/" + sampleBucket + "/", "gs://clearml-gcs/", "azure://" + az.AccountName + ".blob.core.windows.net/clearml-azure/"}
	var urls, prefixes []string
	for _, r := range roots {
		urls = append(urls, r+"proj/task.abc/models/m.pt")
		prefixes = append(prefixes, r+"proj/task.abc/artifacts")
	}
	msg, _ := json.Marshal(map[string]any{"version": 1, "task": "abc", "urls": urls, "prefixes": prefixes})
	event := filepath.Join(t.TempDir(), "message.json")
	if err := os.WriteFile(event, msg, 0o600); err != nil {
		t.Fatal(err)
	}
	left := func() map[string][]string {
		out := map[string][]string{}
		p := s3.NewListObjectsV2Paginator(m.S3Client(t), &s3.ListObjectsV2Input{Bucket: aws.String(sampleBucket)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range page.Contents {
				out["s3"] = append(out["s3"], aws.ToString(o.Key))
			}
		}
		out["gs"] = gcsKeys(t, fake, "clearml-gcs")
		out["azure"] = azureKeys(ctx, t, blobs, "clearml-azure")
		for _, v := range out {
			sort.Strings(v)
		}
		return out
	}

	// ClearML unreachable: transient, nothing deleted, exit 1.
	c.cml.SetDown(true)
	out, errOut, code := runCLI(t, env, "cleanup", "--event", event)
	if code != 1 {
		t.Fatalf("ClearML down: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, `"status":"transient_failure"`) {
		t.Fatalf("ClearML down: the summary is not transient:\n%s", errOut)
	}
	for store, ks := range left() {
		if len(ks) != len(keys) {
			t.Fatalf("ClearML down: %s holds %v", store, ks)
		}
	}

	c.cml.SetDown(false)
	out, errOut, code = runCLI(t, env, "cleanup", "--event", event)
	if code != 0 {
		t.Fatalf("cleanup: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, store := range []string{"s3", "gs", "azure"} {
		if got := left()[store]; strings.Join(got, "|") != "proj/task.keep/k.bin" {
			t.Fatalf("%s holds %q, want only the survivor", store, got)
		}
	}
	for _, secret := range []string{svcSecretKey, m.SecretKey, az.AccountKey} {
		if strings.Contains(out+errOut, secret) {
			t.Fatalf("a secret reached the output:\n%s\n%s", out, errOut)
		}
	}
}
