package terraform

import (
	"archive/zip"
	"bytes"
	"debug/elf"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// packageNames reads from the Makefile which zips `make package` writes: one per Lambda function
// and architecture, and the fixed names of the Cloud Functions source and the Azure app.
func packageNames(t *testing.T) map[string]bool {
	t.Helper()
	mk := string(readFile(t, filepath.Join(repoRoot(t), "Makefile")))
	list := func(name string) []string {
		m := regexp.MustCompile(`(?m)^` + name + `\s*:=\s*(.+)$`).FindStringSubmatch(mk)
		if m == nil {
			t.Fatalf("Makefile: no %s", name)
		}
		return strings.Fields(m[1])
	}
	out := map[string]bool{}
	for _, f := range list("LAMBDAS") {
		for _, a := range list("ARCHES") {
			out[f+"-lambda-"+a+".zip"] = true
		}
	}
	for _, m := range regexp.MustCompile(`\$\(PACKAGE\)/([a-z-]+\.zip)`).FindAllStringSubmatch(mk, -1) {
		out[m[1]] = true
	}
	return out
}

// buildPackage runs `make package` into bin, returning each zip's bytes by name.
func buildPackage(t *testing.T, bin string) map[string][]byte {
	t.Helper()
	cmd := exec.Command("make", "--no-print-directory", "package", "BIN="+bin)
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make package: %v\n%s", err, out)
	}
	zips, _ := filepath.Glob(filepath.Join(bin, "package", "*.zip"))
	out := map[string][]byte{}
	for _, z := range zips {
		out[filepath.Base(z)] = readFile(t, z)
	}
	return out
}

type zipEntry struct {
	Mode os.FileMode
	Data []byte
}

func unzip(t *testing.T, name string, b []byte) map[string]zipEntry {
	t.Helper()
	r, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	out := map[string]zipEntry{}
	for _, f := range r.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name] = zipEntry{Mode: f.Mode(), Data: data}
	}
	return out
}

// checkExecutable: a static Linux executable for the machine, mode 0755.
func checkExecutable(t *testing.T, where string, e zipEntry, machine elf.Machine) {
	t.Helper()
	if e.Mode.Perm() != 0o755 {
		t.Errorf("%s: mode %v, want 0755", where, e.Mode)
	}
	f, err := elf.NewFile(bytes.NewReader(e.Data))
	if err != nil {
		t.Fatalf("%s: not an ELF executable: %v", where, err)
	}
	if f.Machine != machine || f.Type != elf.ET_EXEC {
		t.Errorf("%s: %v %v, want an executable for %v", where, f.Type, f.Machine, machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s: dynamically linked (provided.al2023 and the Functions host run it as is)", where)
		}
	}
}

// TestPackage builds the deploy zips twice and checks their layout, what they hold, and that the
// same commit gives the same bytes.
func TestPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping in -short mode: builds every deployable artifact twice")
	}
	first := buildPackage(t, t.TempDir())
	second := buildPackage(t, t.TempDir())

	want := slices.Sorted(maps.Keys(packageNames(t)))
	if got := slices.Sorted(maps.Keys(first)); !slices.Equal(got, want) {
		t.Fatalf("make package wrote %v, want %v", got, want)
	}
	for name, b := range first {
		if !bytes.Equal(b, second[name]) {
			t.Errorf("%s: a rebuild of the same tree gave other bytes", name)
		}
	}

	for name, b := range first {
		entries := unzip(t, name, b)
		names := slices.Sorted(maps.Keys(entries))
		switch {
		case strings.Contains(name, "-lambda-"):
			if !slices.Equal(names, []string{"bootstrap"}) {
				t.Errorf("%s: holds %v, want bootstrap alone", name, names)
			}
			machine := elf.EM_X86_64
			if strings.HasSuffix(name, "-arm64.zip") {
				machine = elf.EM_AARCH64
			}
			checkExecutable(t, name+":bootstrap", entries["bootstrap"], machine)
			if len(b) > 10<<20 {
				t.Errorf("%s: %d bytes, over 10 MiB", name, len(b))
			}
		case name == "azure-app.zip":
			if !slices.Equal(names, []string{"Cleanup/function.json", "Presign/function.json", "Sweep/function.json", "handler", "host.json"}) {
				t.Errorf("%s: holds %v", name, names)
			}
			checkExecutable(t, name+":handler", entries["handler"], elf.EM_X86_64)
			for _, f := range []string{"host.json", "Presign/function.json", "Cleanup/function.json", "Sweep/function.json"} {
				if src := readFile(t, filepath.Join(repoRoot(t), "functions", "azure", f)); !bytes.Equal(src, entries[f].Data) {
					t.Errorf("%s: %s differs from functions/azure/%s", name, f, f)
				}
			}
		case name == "gcp-source.zip":
			checkGCPSource(t, entries)
		}
	}
}

// checkGCPSource: the source root the Go buildpack builds, without tests or test data, and it
// builds.
func checkGCPSource(t *testing.T, entries map[string]zipEntry) {
	t.Helper()
	for _, f := range []string{"function.go", "go.mod", "go.sum", "storagegate/go.mod", "storagegate/functions/gcp/presign.go"} {
		if _, ok := entries[f]; !ok {
			t.Errorf("gcp-source.zip: no %s", f)
		}
	}
	var files []string
	for name := range entries {
		if strings.HasSuffix(name, "_test.go") || strings.Contains(name, "/testdata/") {
			t.Errorf("gcp-source.zip: holds %s", name)
		}
		files = append(files, name)
	}
	sort.Strings(files)
	if !strings.Contains(string(entries["go.mod"].Data), "replace github.com/storagegate/storagegate => ./storagegate") {
		t.Errorf("gcp-source.zip: go.mod does not point storagegate at ./storagegate:\n%s", entries["go.mod"].Data)
	}
	dir := t.TempDir()
	for _, name := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, entries[name].Data, entries[name].Mode.Perm()); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "build", "-o", os.DevNull, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("gcp-source.zip does not build as the buildpack would: %v\n%s", err, out)
	}
}
