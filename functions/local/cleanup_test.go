package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rclone/gofakes3"
	"github.com/rclone/gofakes3/s3mem"
)

const bucket = "artifacts"

// fakeS3 is an in-process S3 server with SigV4 checks, and the config that
// names it.
type fakeS3 struct {
	mem  *s3mem.Backend
	host string
	cfg  string
}

func startFakeS3(t *testing.T, extra string) *fakeS3 {
	t.Helper()
	const key, secret = "AKIACLITEST", "cli-test-secret"
	mem := s3mem.New()
	if err := mem.CreateBucket(context.Background(), bucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(mem, gofakes3.WithV4Auth(map[string]string{key: secret})).Server())
	t.Cleanup(srv.Close)
	host := srv.Listener.Addr().String()
	cfg := fmt.Sprintf(`{"storage": {"aws": {"buckets": [{"bucket": %q, "host": %q, "key": %q, "secret": %q, "secure": false}]}}%s}`,
		bucket, host, key, secret, extra)
	t.Setenv("STORAGEGATE_CONFIG", cfg)
	t.Setenv("STORAGEGATE_CONFIG_FILE", "")
	t.Setenv("STORAGEGATE_CONFIG_SECRET", "")
	return &fakeS3{mem: mem, host: host, cfg: cfg}
}

func (f *fakeS3) put(t *testing.T, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, err := f.mem.PutObject(context.Background(), bucket, k, map[string]string{}, strings.NewReader(k), int64(len(k))); err != nil {
			t.Fatal(err)
		}
	}
}

func (f *fakeS3) exists(k string) bool {
	_, err := f.mem.HeadObject(context.Background(), bucket, k)
	return err == nil
}

func (f *fakeS3) url(k string) string { return "s3://" + f.host + "/" + bucket + "/" + k }

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestDeleteCommand(t *testing.T) {
	f := startFakeS3(t, "")
	keys := []string{"p/task.abc/models/m.pt", "p/task.abc/artifacts/a b/x%20y.bin", "p/task.abcd/keep.bin", "p/other.1/m.pt", "p/other.1/keep.pt"}

	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     string // prefix of the summary line
		stderr     string
		gone, kept []string
	}{
		{"dry run", []string{"delete", "--dry-run", f.url("p/task.abc/"), f.url("p/other.1/m.pt")}, 0,
			"dry run: would delete 3, already absent 0, kept 0, failed 0 in ", "", nil, keys},
		{"objects and a prefix", []string{"delete", f.url("p/task.abc/"), f.url("p/other.1/m.pt")}, 0,
			"deleted 3, already absent 0, kept 0, failed 0 in ", "", []string{keys[0], keys[1], keys[3]}, []string{keys[2], keys[4]}},
		{"not configured", []string{"delete", "s3://" + f.host + "/elsewhere/p/t.1/m.pt", f.url("p/other.1/keep.pt")}, 1,
			"deleted 1, already absent 0, kept 0, failed 1 (0 transient, 1 permanent) in ", "no storage credentials are configured for s3://" + f.host + "/elsewhere",
			[]string{"p/other.1/keep.pt"}, nil},
		{"shallow prefix", []string{"delete", f.url("p/")}, 1,
			"deleted 0, already absent 0, kept 0, failed 1 (0 transient, 1 permanent)", "cleanup.min_prefix_depth is 2", nil, nil},
		{"bad URL", []string{"delete", "https://example.com/x"}, 1,
			"deleted 0, already absent 0, kept 0, failed 1 (0 transient, 1 permanent)", `unsupported scheme "https"`, nil, nil},
		{"bucket root", []string{"delete", f.url("")}, 1,
			"deleted 0, already absent 0, kept 0, failed 1 (0 transient, 1 permanent)", "is a bucket root", nil, nil},
		{"no URL", []string{"delete"}, 2, "", "give one or more storage URLs", nil, nil},
		{"unknown flag", []string{"delete", "--force", f.url("p/x")}, 2, "", "flag provided but not defined", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "dry run" {
				f.put(t, keys...)
			}
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			if tc.stdout == "" && stdout != "" || !strings.HasPrefix(stdout, tc.stdout) || strings.Count(stdout, "\n") > 1 {
				t.Errorf("stdout %q, want one line starting %q", stdout, tc.stdout)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr, tc.stderr)
			}
			for _, k := range tc.gone {
				if f.exists(k) {
					t.Errorf("%q survived", k)
				}
			}
			for _, k := range tc.kept {
				if !f.exists(k) {
					t.Errorf("%q was deleted", k)
				}
			}
		})
	}
}

func TestCleanupCommand(t *testing.T) {
	f := startFakeS3(t, "")
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := `{"version": 1, "task": "abc", "urls": ["` + f.url("p/t.1/models/m.pt") + `"], "prefixes": ["` + f.url("p/t.1/artifacts") + `"]}`
	goodFile := write("good.json", good)

	f.put(t, "p/t.1/models/m.pt", "p/t.1/artifacts/a.bin", "p/t.1/artifacts-keep/b.bin")
	code, stdout, stderr := runCLI(t, "cleanup", "--event", goodFile)
	if code != 0 || !strings.HasPrefix(stdout, "deleted 2, already absent 0, kept 0, failed 0 in ") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if f.exists("p/t.1/models/m.pt") || f.exists("p/t.1/artifacts/a.bin") || !f.exists("p/t.1/artifacts-keep/b.bin") {
		t.Error("wrong objects deleted")
	}
	if !strings.Contains(stderr, `"msg":"cleanup"`) || !strings.Contains(stderr, `"task":"abc"`) {
		t.Errorf("no summary log line on stderr: %s", stderr)
	}

	// Redelivery: done again, the prefix found empty.
	if code, stdout, _ := runCLI(t, "cleanup", "--event", goodFile); code != 0 || !strings.HasPrefix(stdout, "deleted 1, already absent 1") {
		t.Errorf("redelivery: exit %d, %q", code, stdout)
	}

	// stdin.
	stdin = strings.NewReader(good)
	t.Cleanup(func() { stdin = os.Stdin })
	if code, stdout, stderr := runCLI(t, "cleanup", "--event", "-"); code != 0 || !strings.HasPrefix(stdout, "deleted") {
		t.Errorf("stdin: exit %d, %q, %s", code, stdout, stderr)
	}

	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"invalid message", []string{"cleanup", "--event", write("bad.json", `{"version": 2, "urls": ["s3://b/k/x"]}`)}, 2, "version: is 2"},
		{"not JSON", []string{"cleanup", "--event", write("junk.json", `hello`)}, 2, "not a JSON object"},
		{"missing file", []string{"cleanup", "--event", filepath.Join(dir, "nope.json")}, 2, "reading the event"},
		{"no --event", []string{"cleanup"}, 2, "give --event FILE"},
		{"stray argument", []string{"cleanup", "--event", goodFile, "extra"}, 2, ""},
		{"permanent failure", []string{"cleanup", "--event", write("denied.json", `{"version": 1, "urls": ["s3://`+f.host+`/other/p/t.1/x"]}`)}, 1, "not_configured"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("exit %d (want %d)\nstdout: %s\nstderr: %s\nwant stderr to contain %q", code, tc.code, stdout, stderr, tc.stderr)
			}
			if tc.code == 2 && stdout != "" {
				t.Errorf("stdout %q on a usage error", stdout)
			}
		})
	}

	t.Run("no config", func(t *testing.T) {
		t.Setenv("STORAGEGATE_CONFIG", "")
		if code, _, stderr := runCLI(t, "cleanup", "--event", goodFile); code != 2 || !strings.Contains(stderr, "no configuration") {
			t.Errorf("exit %d, %s", code, stderr)
		}
	})
}

func TestServeEnableCleanup(t *testing.T) {
	t.Run("without cleanup.token", func(t *testing.T) {
		startFakeS3(t, "")
		code, _, stderr := runCLI(t, "serve", "--addr", "127.0.0.1:0", "--enable-cleanup")
		if code != 2 || !strings.Contains(stderr, "cleanup.token") {
			t.Errorf("exit %d, %s", code, stderr)
		}
	})

	const token = "serve-cleanup-secret-123"
	f := startFakeS3(t, `, "cleanup": {"token": "`+token+`"}`)
	f.put(t, "p/t.1/a.bin", "p/t.1/b.bin")
	srv := runServe(t, "--enable-cleanup")
	base := "http://" + srv.addr

	post := func(auth, body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, base+"/cleanup", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	msg := `{"version": 1, "prefixes": ["` + f.url("p/t.1/") + `"]}`
	if code, body := post("Bearer wrong", msg); code != 401 || f.exists("p/t.1/a.bin") == false {
		t.Errorf("wrong token: %d %s", code, body)
	}
	if code, body := post("Bearer "+token, msg); code != 200 || !strings.Contains(body, `"status":"ok"`) || !strings.Contains(body, `"deleted":2`) {
		t.Errorf("cleanup: %d %s", code, body)
	}
	if f.exists("p/t.1/a.bin") {
		t.Error("POST /cleanup did not delete")
	}
	if code, body := post("Bearer "+token, `{"version": 1, "urls": ["s3://`+f.host+`/other/p/t.1/x"]}`); code != 422 || !strings.Contains(body, "not_configured") {
		t.Errorf("permanent failure: %d %s", code, body)
	}
	// The presign routes are still there.
	resp, err := http.Get(base + "/presign?url=" + f.url("p/t.1/a.bin"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("GET /presign without credentials: %d, want 401", resp.StatusCode)
	}
	// Stopped first: serve's log lines are batched until shutdown.
	if code := srv.stop(); code != 0 {
		t.Errorf("serve exited %d: %s", code, srv.stderr.String())
	}
	if logs := srv.stderr.String(); !strings.Contains(logs, `"msg":"cleanup"`) || strings.Contains(logs, token) {
		t.Errorf("the logs lack the cleanup summaries or hold the cleanup token:\n%s", logs)
	}
}
