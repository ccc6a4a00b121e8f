package e2e

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/aws/aws-lambda-go/events"

	"github.com/storagegate/storagegate/shared/internal/gcsverify"
	"github.com/storagegate/storagegate/shared/internal/lambdaemu"
	"github.com/storagegate/storagegate/shared/internal/testserver"
)

// TestEveryStoreOnEveryPlatform: one config naming MinIO, fake-gcs-server
// (behind a proxy that verifies V4 signatures as Cloud Storage does) and
// Azurite; every platform's binary signs the same URL for each store, and
// each URL fetches the object from its store.
func TestEveryStoreOnEveryPlatform(t *testing.T) {
	w := newWorld(t)
	root := w.root
	key := "My Project/train model.3f2a/artifacts/data/café 100%.txt"

	w.minio.Put(t, sampleBucket, key, []byte("from s3"))

	fake := testserver.StartFakeGCS(t)
	fake.MakeBucket(t, "clearml-gcs")
	fake.Put(t, "clearml-gcs", key, []byte("from gcs"))
	saJSON, err := os.ReadFile(filepath.Join(root, "shared", "internal", "gcsverify", "testdata", "dummy-service-account.json"))
	if err != nil {
		t.Fatal(err)
	}
	v := gcsverify.New()
	if _, err := v.AddServiceAccount(saJSON); err != nil {
		t.Fatal(err)
	}
	up, _ := url.Parse(fake.Endpoint)
	proxy := httptest.NewServer(gcsverify.Proxy(v, up))
	t.Cleanup(proxy.Close)

	az := testserver.StartAzurite(t)
	client, err := azblob.NewClientWithSharedKeyCredential(az.BlobEndpoint+"/", mustCred(t, az), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateContainer(t.Context(), "clearml-azure", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := client.UploadBuffer(t.Context(), "clearml-azure", key, []byte("from azure"), nil); err != nil {
		t.Fatal(err)
	}

	var doc map[string]any
	_ = json.Unmarshal([]byte(w.config), &doc)
	storage := doc["storage"].(map[string]any)
	storage["google"] = map[string]any{"endpoint": proxy.URL, "buckets": []map[string]any{{"bucket": "clearml-gcs", "credentials_json": string(saJSON)}}}
	storage["azure"] = map[string]any{"containers": []map[string]any{{"account_name": az.AccountName, "account_key": az.AccountKey, "container_name": "clearml-azure", "endpoint": az.BlobEndpoint}}}
	cfg, _ := json.Marshal(doc)
	env := []string{"STORAGEGATE_CONFIG=" + string(cfg)}

	emu := lambdaemu.Start(t, lambdaemu.Build(t, "github.com/storagegate/storagegate/functions/aws/presign"), env)
	local, gcf, azure := startLocal(t, buildLocal(t), env), startGCF(t, env), startAzure(t, env)

	for storeURL, want := range map[string]string{
		"s3://" + w.minio.HostPort + "/" + sampleBucket + "/" + key:                 "from s3",
		"gs://clearml-gcs/" + key:                                                   "from gcs",
		"azure://" + az.AccountName + ".blob.core.windows.net/clearml-azure/" + key: "from azure",
	} {
		t.Run(strings.SplitN(storeURL, ":", 2)[0], func(t *testing.T) {
			ev := events.LambdaFunctionURLRequest{RawPath: "/presign", RawQueryString: "url=" + url.QueryEscape(storeURL),
				Headers: map[string]string{"authorization": "Bearer " + w.token}}
			ev.RequestContext.HTTP.Method = "GET"
			var got []answer
			for range 2 {
				got = []answer{fromLambda(t, emu, ev), fromHTTP(t, local, ev), fromHTTP(t, gcf, ev), fromHTTP(t, azure, ev), fromAzureInvocation(t, azure, ev)}
				if sameAnswers(got) {
					break
				}
			}
			if !sameAnswers(got) || got[0].Status != 302 {
				t.Fatalf("platforms differ or did not sign: %+v", got)
			}
			if status, body := get(t, "GET", got[0].Location); status != 200 || body != want {
				t.Fatalf("fetch %s: %d %q", got[0].Location[:strings.Index(got[0].Location, "?")], status, body)
			}
			tampered := got[0].Location[:len(got[0].Location)-4] + "abcd"
			if status, _ := get(t, "GET", tampered); status < 400 {
				t.Fatalf("tampered URL answered %d", status)
			}
		})
	}
}

func mustCred(t *testing.T, az *testserver.Azurite) *azblob.SharedKeyCredential {
	c, err := azblob.NewSharedKeyCredential(az.AccountName, az.AccountKey)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
