package main

import (
	"net/http"
	"runtime/debug"
	"strings"
	"testing"
)

// TestPresignExpires: --expires past what a duration holds is clamped to
// presign.max_expires, as the HTTP path clamps, instead of wrapping or
// falling back to the default; non-positive or non-numeric is a usage error
// with a message (issue 9, item 3).
func TestPresignExpires(t *testing.T) {
	f := startFakeS3(t, `, "presign": {"max_expires": "2h"}`)
	f.put(t, "a/b.txt")
	u := "s3://" + f.host + "/" + bucket + "/a/b.txt"
	for _, tc := range []struct{ expires, want string }{
		{"60", "X-Amz-Expires=60&"},
		{"7200", "X-Amz-Expires=7200&"},
		{"7201", "X-Amz-Expires=7200&"},
		{"9223372037", "X-Amz-Expires=7200&"},
		{"18446744074", "X-Amz-Expires=7200&"},
		{"99999999999999999999999", "X-Amz-Expires=7200&"},
	} {
		code, stdout, stderr := runCLI(t, "presign", "--expires", tc.expires, u)
		if code != 0 || !strings.Contains(stdout, tc.want) {
			t.Errorf("--expires %s: exit %d, stdout %q (want %s), stderr %s", tc.expires, code, stdout, tc.want, stderr)
			continue
		}
		resp, err := http.Get(strings.TrimSpace(stdout))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("--expires %s: the URL answers %d", tc.expires, resp.StatusCode)
		}
	}
	for _, bad := range []string{"0", "-1", "-18446744074", "abc", "1.5", ""} {
		code, stdout, stderr := runCLI(t, "presign", "--expires="+bad, u)
		if bad == "" {
			// --expires= is "not given": the default lifetime.
			if code != 0 || !strings.Contains(stdout, "X-Amz-Expires=960&") {
				t.Errorf("--expires=: exit %d, %q, %s", code, stdout, stderr)
			}
			continue
		}
		if code != 2 || stdout != "" || !strings.Contains(stderr, "--expires") || !strings.Contains(stderr, "at least 1") {
			t.Errorf("--expires %s: exit %d, stdout %q, stderr %q; want 2 and a message", bad, code, stdout, stderr)
		}
	}
}

// TestEveryUsageErrorSaysWhatIsWrong: exit 2 always comes with a message
// on stderr that names the problem (issue 9, item 4).
func TestEveryUsageErrorSaysWhatIsWrong(t *testing.T) {
	startFakeS3(t, "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "give a command"},
		{[]string{"nonsense"}, `unknown command "nonsense"`},
		{[]string{"serve", "extra"}, `unexpected argument "extra"`},
		{[]string{"serve", "--addr", "127.0.0.1:0", "extra"}, `unexpected argument "extra"`},
		{[]string{"serve", "--nope"}, "flag provided but not defined: -nope"},
		{[]string{"check-config", "extra"}, `unexpected argument "extra"`},
		{[]string{"cleanup", "--event", "x.json", "extra"}, `unexpected argument "extra"`},
		{[]string{"presign"}, "give exactly one storage URL"},
		{[]string{"presign", "--method", "PUT", "s3://b/k"}, `--method must be GET or HEAD (got "PUT")`},
		{[]string{"presign", "--expires"}, "flag needs an argument: -expires"},
		{[]string{"delete"}, "give one or more storage URLs"},
		{[]string{"delete", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"enqueue"}, "give one or more storage URLs"},
	} {
		code, stdout, stderr := runCLI(t, tc.args...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, tc.want) {
			t.Errorf("storagegate %s: exit %d, stdout %q, stderr %q; want 2 and %q", strings.Join(tc.args, " "), code, stdout, stderr, tc.want)
		}
	}
	if code, _, stderr := runCLI(t, "serve", "-h"); code != 0 || !strings.Contains(stderr, "-addr") {
		t.Errorf("serve -h: exit %d, %s", code, stderr)
	}
}

// TestDeleteRunsUnderASoftMemoryLimit: the CLI's deletions run under a soft
// memory limit unless GOMEMLIMIT is set (issue 9, item 12: peak RSS over
// 100,000 objects, measured by make bench-cleanup).
func TestDeleteRunsUnderASoftMemoryLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	f := startFakeS3(t, "")
	f.put(t, "p/t.1/a")
	t.Setenv("GOMEMLIMIT", "")
	if code, _, stderr := runCLI(t, "delete", f.url("p/t.1/")); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got := debug.SetMemoryLimit(-1); got != cleanupMemoryLimit {
		t.Fatalf("memory limit %d, want %d", got, cleanupMemoryLimit)
	}
	debug.SetMemoryLimit(prev)
	t.Setenv("GOMEMLIMIT", "1GiB")
	if code, _, _ := runCLI(t, "delete", f.url("p/t.1/")); code != 0 || debug.SetMemoryLimit(-1) != prev {
		t.Fatalf("GOMEMLIMIT set: exit %d, limit %d", code, debug.SetMemoryLimit(-1))
	}
}

// TestPresignMethodAnyCase: --method reads as the HTTP forms' method= does
// (GET or HEAD, any case), and a HEAD-signed URL answers HEAD.
func TestPresignMethodAnyCase(t *testing.T) {
	f := startFakeS3(t, "")
	f.put(t, "a/b.txt")
	u := "s3://" + f.host + "/" + bucket + "/a/b.txt"
	for _, m := range []string{"head", "Head", "HEAD"} {
		code, stdout, stderr := runCLI(t, "presign", "--method", m, u)
		if code != 0 {
			t.Fatalf("--method %s: exit %d, %s", m, code, stderr)
		}
		req, _ := http.NewRequest(http.MethodHead, strings.TrimSpace(stdout), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("--method %s: the URL answers HEAD with %d", m, resp.StatusCode)
		}
	}
}
