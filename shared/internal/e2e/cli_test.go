package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// runCLI runs the built storagegate binary and returns stdout, stderr and
// the exit status.
func runCLI(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(buildLocal(t), args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.String(), errb.String(), 0
	case errors.As(err, &ee):
		return out.String(), errb.String(), ee.ExitCode()
	}
	t.Fatal(err)
	return "", "", -1
}

// TestCLIPresignAndCheckConfig: `presign` prints a URL that fetches,
// `check-config --probe` reports each bucket and ClearML, and the exit
// statuses are 0, 1 and 2 as docs/cleanup.md#exit-statuses says.
func TestCLIPresignAndCheckConfig(t *testing.T) {
	w := newWorld(t)
	w.minio.Put(t, sampleBucket, "a/b c.txt", []byte("cli"))
	env := []string{"STORAGEGATE_CONFIG=" + w.config}

	out, _, code := runCLI(t, env, "presign", "s3://"+w.minio.HostPort+"/"+sampleBucket+"/a/b c.txt")
	if code != 0 {
		t.Fatalf("presign exit %d", code)
	}
	if status, body := get(t, "GET", strings.TrimSpace(out)); status != 200 || body != "cli" {
		t.Fatalf("presign URL: %d %q", status, body)
	}
	out, _, code = runCLI(t, env, "presign", "--method", "HEAD", "--expires", "60", "s3://"+w.minio.HostPort+"/"+sampleBucket+"/a/b c.txt")
	if status, _ := get(t, "HEAD", strings.TrimSpace(out)); code != 0 || status != 200 || !strings.Contains(out, "X-Amz-Expires=60") {
		t.Fatalf("presign HEAD: exit %d, %d, %s", code, status, out)
	}
	// Not configured: exit 1, the reason on stderr, nothing on stdout.
	out, errOut, code := runCLI(t, env, "presign", "s3://elsewhere/k")
	if code != 1 || out != "" || !strings.Contains(errOut, "not_configured") {
		t.Fatalf("unconfigured: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, _, code := runCLI(t, env, "presign"); code != 2 {
		t.Fatalf("presign without URL: exit %d", code)
	}

	out, _, code = runCLI(t, env, "check-config", "--probe")
	if code != 0 || !strings.Contains(out, "ok    config") || !strings.Contains(out, "bucket "+sampleBucket) || !strings.Contains(out, "clearml api_server") {
		t.Fatalf("check-config --probe: exit %d\n%s", code, out)
	}
	// A bucket that does not exist and a ClearML that is down: exit 1, one FAIL line each.
	var doc map[string]any
	_ = json.Unmarshal([]byte(w.config), &doc)
	b := doc["storage"].(map[string]any)["aws"].(map[string]any)["buckets"].([]any)
	missing := map[string]any{}
	for k, v := range b[0].(map[string]any) {
		missing[k] = v
	}
	missing["bucket"] = "no-such-bucket"
	doc["storage"].(map[string]any)["aws"].(map[string]any)["buckets"] = append(b, missing)
	doc["clearml"] = map[string]any{"api_server": "http://127.0.0.1:1"}
	bad, _ := json.Marshal(doc)
	out, _, code = runCLI(t, []string{"STORAGEGATE_CONFIG=" + string(bad)}, "check-config", "--probe")
	if code != 1 || strings.Count(out, "FAIL") != 2 || !strings.Contains(out, "no-such-bucket") {
		t.Fatalf("failing probes: exit %d\n%s", code, out)
	}
	if strings.Contains(out, w.minio.SecretKey) {
		t.Fatal("check-config printed a secret")
	}
	// An invalid config: exit 2, the field named on stderr.
	_, errOut, code = runCLI(t, []string{`STORAGEGATE_CONFIG={"presign": {"max_expires": "30d"}}`}, "check-config")
	if code != 2 || !strings.Contains(errOut, "presign.max_expires") {
		t.Fatalf("invalid config: exit %d, %s", code, errOut)
	}
	if _, _, code := runCLI(t, nil, "no-such-command"); code != 2 {
		t.Fatalf("unknown command: exit %d", code)
	}
}
