package testserver

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// recorder is a testing.TB that records Skipf and Fatalf instead of ending the real test.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	panic(r) // Skipf does not return; stop the code under test like runtime.Goexit would
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	panic(r)
}

func record(t *testing.T, f func(testing.TB)) (r *recorder) {
	r = &recorder{TB: t}
	defer func() {
		if v := recover(); v != nil && v != r {
			panic(v)
		}
	}()
	f(r)
	return r
}

func TestMissingToolSkipsLocallyAndFailsInCI(t *testing.T) {
	t.Setenv("STORAGEGATE_MINIO", "/nonexistent/minio")

	t.Setenv("CI", "")
	r := record(t, func(tb testing.TB) { StartMinIO(tb) })
	if r.failed != "" || !strings.Contains(r.skipped, "MinIO") || !strings.Contains(r.skipped, "/nonexistent/minio") {
		t.Fatalf("without CI: skipped %q, failed %q", r.skipped, r.failed)
	}

	t.Setenv("CI", "true")
	r = record(t, func(tb testing.TB) { StartMinIO(tb) })
	if r.skipped != "" || !strings.Contains(r.failed, "MinIO") {
		t.Fatalf("with CI=true: skipped %q, failed %q", r.skipped, r.failed)
	}
}

func TestToolPathTellsHowToInstall(t *testing.T) {
	// "where" knows every pinned tool; for one that is missing the error names `make tools`.
	for _, name := range []string{"minio", "fake-gcs-server", "tflint", "benchstat", "azurite"} {
		path, err := lookupTool(name, "X")
		if err != nil && !strings.Contains(err.Error(), "make tools") {
			t.Errorf("%s: %v", name, err)
		}
		if err == nil && path == "" {
			t.Errorf("%s: empty path", name)
		}
	}
	if _, err := lookupTool("no-such-tool", "X"); err == nil || !strings.Contains(err.Error(), "unknown tool") {
		t.Errorf("unknown tool: %v", err)
	}
}

// TestSyncBufferWaitFor: a waiter wakes on the write that makes its condition true, and a
// condition that never holds ends at the timeout with what was written.
func TestSyncBufferWaitFor(t *testing.T) {
	var b SyncBuffer
	go func() {
		for _, s := range []string{"one\n", "two\n", "three\n"} {
			b.Write([]byte(s))
		}
	}()
	if got, ok := b.WaitFor(5*time.Second, func(s string) bool { return strings.Contains(s, "three") }); !ok || got != "one\ntwo\nthree\n" {
		t.Fatalf("WaitFor = %q, %v", got, ok)
	}
	start := time.Now()
	if got, ok := b.WaitFor(50*time.Millisecond, func(s string) bool { return strings.Contains(s, "four") }); ok || got != "one\ntwo\nthree\n" || time.Since(start) < 50*time.Millisecond {
		t.Fatalf("WaitFor for a line never written = %q, %v after %s", got, ok, time.Since(start))
	}
}
