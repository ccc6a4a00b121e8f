package e2e

import (
	"strings"
	"testing"
)

// TestSweepCLIInProcess: with no queue configured, `storagegate sweep`
// deletes the files through the cleanup pipeline itself. --dry-run lists
// the two old archived tasks and changes nothing; a run whose tasks.delete
// fails leaves the tasks in place with their files already deleted (exit
// 1); the next run deletes the tasks; the recent, unarchived and published
// tasks, the model another task uses and the neighbouring folder stay.
func TestSweepCLIInProcess(t *testing.T) {
	w := newSweepWorld(t)
	env := []string{"STORAGEGATE_CONFIG=" + w.config}

	out, errOut, code := runCLI(t, env, "sweep", "--dry-run")
	s := sweepSummary(t, errOut)
	if code != 0 || s["dry_run"] != true || s["would_delete"] != 2.0 || s["deleted"] != 0.0 ||
		!strings.Contains(out, "a1b2c3") || !strings.Contains(out, "would_delete") || !strings.Contains(out, "dry run: would delete 2") {
		t.Fatalf("dry run: exit %d\n%s\n%v", code, out, s)
	}
	w.check(t, false)
	if w.cml.Calls("tasks.delete") != 0 {
		t.Fatal("a dry run called tasks.delete")
	}

	w.cml.FailEndpoint("tasks.delete", 500, -1)
	out, errOut, code = runCLI(t, env, "sweep")
	if s := sweepSummary(t, errOut); code != 1 || s["failed"] != 2.0 || s["status"] != "failed" {
		t.Fatalf("failing run: exit %d\n%s\n%v", code, out, s)
	}
	for _, id := range w.doomed {
		if !w.cml.HasTask(id) {
			t.Fatalf("%s deleted although tasks.delete failed", id)
		}
	}
	if got, want := w.keys(t), w.want(false); len(got) != len(want) {
		t.Fatalf("after the failing run: %d keys, want %d (%v)", len(got), len(want), diff(got, want))
	}

	w.cml.FailEndpoint("tasks.delete", 0, 0)
	out, errOut, code = runCLI(t, env, "sweep")
	s = sweepSummary(t, errOut)
	if code != 0 || s["deleted"] != 2.0 || s["destination"] != "in-process deleter" || s["messages_published"] != 0.0 ||
		!strings.Contains(out, "deleted 2 of 2 selected tasks") {
		t.Fatalf("second run: exit %d\n%s\n%v", code, out, s)
	}
	w.check(t, true)
	for _, secret := range []string{"sweep-secret-0123456789", w.minio.SecretKey} {
		if strings.Contains(out+errOut, secret) {
			t.Fatal("the CLI printed a secret")
		}
	}

	// Off without older_than: a config error.
	if _, errOut, code := runCLI(t, []string{`STORAGEGATE_CONFIG={"clearml": {"api_server": "` + w.cml.URL + `"}}`}, "sweep"); code != 2 || !strings.Contains(errOut, "sweep.older_than") {
		t.Fatalf("off: exit %d, %s", code, errOut)
	}
}
