package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestImportConfig: `storagegate import-config FILE` prints the storage
// section of the sample clearml.conf on stdout, exactly the expected YAML;
// a missing file is a usage error (exit 2) with nothing on stdout.
func TestImportConfig(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "clearmlconf", "testdata")
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"import-config", filepath.Join(dir, "clearml.conf")}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	want, err := os.ReadFile(filepath.Join(dir, "clearml.want.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Fatalf("stdout:\n%s\nwant:\n%s", out.String(), want)
	}
	out.Reset()
	if code := run(context.Background(), []string{"import-config", filepath.Join(dir, "no-such.conf")}, &out, &errOut); code != 2 || out.Len() != 0 {
		t.Fatalf("missing file: exit %d, stdout %q", code, out.String())
	}
}
