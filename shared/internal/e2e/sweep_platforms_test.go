package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/storagegate/storagegate/shared/internal/testserver"
)

// TestSweepCloudFunctionSamples: the built Cloud Functions binary serving
// Sweep takes both events/gcp/sweep samples (the binary CloudEvent and the
// raw push body the Functions Framework converts) and sweeps once per
// message; with no queue configured it deletes in process.
func TestSweepCloudFunctionSamples(t *testing.T) {
	w := newSweepWorld(t)
	port := testserver.FreePort(t)
	fn := startProcess(t, "gcf sweep", exec.Command(build(t, "./functions/gcp/cmd")), port, []string{
		"STORAGEGATE_CONFIG=" + w.config, "FUNCTION_TARGET=Sweep", fmt.Sprintf("PORT=%d", port), "LOCAL_ONLY=true",
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	for i, name := range []string{"cloudevent-binary.http", "pubsub-push.http"} {
		if status := postRaw(t, base, loadSample(t, mustRoot(t), "gcp", "sweep", name)); status != 200 {
			t.Fatalf("%s: %d\n%s", name, status, fn.Output())
		}
		eventually(t, 10*time.Second, "the run's summary line", func() bool { return strings.Count(fn.Output(), `"msg":"sweep"`) == i+1 })
		s := sweepSummary(t, lastRun(fn.Output()))
		if want := []float64{2, 0}[i]; s["deleted"] != want || s["status"] != "ok" {
			t.Fatalf("%s: summary %v", name, s)
		}
	}
	w.check(t, true)
}

// TestSweepAzureTimerSample: the custom handler answers the timer
// invocation in events/azure/sweep at /Sweep as the Functions host sends
// it, and the run sweeps.
func TestSweepAzureTimerSample(t *testing.T) {
	w := newSweepWorld(t)
	port := testserver.FreePort(t)
	h := startProcess(t, "azure handler", exec.Command(build(t, "./functions/azure")), port, []string{
		"STORAGEGATE_CONFIG=" + w.config, fmt.Sprintf("FUNCTIONS_CUSTOMHANDLER_PORT=%d", port),
	})
	body := loadSample(t, mustRoot(t), "azure", "sweep", "timer-invocation.json")
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/Sweep", port), "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(out), `"Outputs":{}`) {
		t.Fatalf("timer invocation: %d %s\n%s", resp.StatusCode, out, h.Output())
	}
	eventually(t, 10*time.Second, "the run's summary line", func() bool { return strings.Contains(h.Output(), `"msg":"sweep"`) })
	if s := sweepSummary(t, h.Output()); s["deleted"] != 2.0 {
		t.Fatalf("summary %v", s)
	}
	w.check(t, true)
}

// postRaw sends a raw HTTP request sample to base.
func postRaw(t *testing.T, base string, sample []byte) int {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(sample)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	req, _ := http.NewRequest(r.Method, base+r.URL.RequestURI(), bytes.NewReader(body))
	for k, v := range r.Header {
		if k != "Content-Length" {
			req.Header[k] = v
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
