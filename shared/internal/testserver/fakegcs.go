package testserver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"testing"
)

// FakeGCS is a fake-gcs-server (in-memory Google Cloud Storage), alive until the test ends.
// It does not verify signed URLs.
type FakeGCS struct {
	Endpoint string // "http://127.0.0.1:P"; the JSON API is under /storage/v1/
	HostPort string // "127.0.0.1:P", also its -public-host: set STORAGE_EMULATOR_HOST to it

	Process *Process
}

// StartFakeGCS starts fake-gcs-server from the tool cache (or $STORAGEGATE_FAKE_GCS_SERVER).
func StartFakeGCS(t testing.TB) *FakeGCS {
	t.Helper()
	bin, err := ToolPath("fake-gcs-server", "STORAGEGATE_FAKE_GCS_SERVER")
	if err != nil {
		Require(t, "fake-gcs-server", err.Error())
	}
	f := &FakeGCS{}
	f.Process, _ = startServer(t, "fake-gcs-server", 1, func(ports []int) (*exec.Cmd, func(context.Context) error) {
		f.HostPort = fmt.Sprintf("127.0.0.1:%d", ports[0])
		f.Endpoint = "http://" + f.HostPort
		// -public-host: the XML path /{bucket}/{object} (what signed URLs use) is served only
		// when the Host header equals it. -external-url: upload Location headers point here.
		cmd := exec.Command(bin, "-scheme", "http", "-host", "127.0.0.1", "-port", fmt.Sprint(ports[0]),
			"-public-host", f.HostPort, "-external-url", f.Endpoint, "-backend", "memory", "-log-level", "warn")
		return cmd, httpStatus(f.Endpoint+"/storage/v1/b", http.StatusOK)
	})
	return f
}

// MakeBucket creates a bucket through the JSON API.
func (f *FakeGCS) MakeBucket(t testing.TB, name string) {
	t.Helper()
	f.do(t, http.MethodPost, f.Endpoint+"/storage/v1/b?project=test", "application/json",
		[]byte(fmt.Sprintf(`{"name":%q}`, name)))
}

// Put stores an object with a simple media upload.
func (f *FakeGCS) Put(t testing.TB, bucket, name string, body []byte) {
	t.Helper()
	u := fmt.Sprintf("%s/upload/storage/v1/b/%s/o?uploadType=media&name=%s",
		f.Endpoint, url.PathEscape(bucket), url.QueryEscape(name))
	f.do(t, http.MethodPost, u, "application/octet-stream", body)
}

func (f *FakeGCS) do(t testing.TB, method, u, contentType string, body []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("fake-gcs-server: %s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("fake-gcs-server: %s %s: %s: %s", method, u, resp.Status, msg)
	}
}
