package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/storagegate/storagegate/shared/internal/testserver"
)

// TestCloudFunctionsSourceBuilds: the folder `make gcp-source` writes is what
// Cloud Functions' Go buildpack expects (a module whose root package
// registers the functions) and it builds on its own.
func TestCloudFunctionsSourceBuilds(t *testing.T) {
	root, _ := testserver.ModuleRoot()
	dir := filepath.Join(t.TempDir(), "source")
	if out, err := exec.Command(filepath.Join(root, "scripts", "gcp-source.sh"), dir).CombinedOutput(); err != nil {
		t.Fatalf("gcp-source.sh: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "function.go")); err != nil {
		t.Fatal("no root package")
	}
	cmd := exec.Command("go", "vet", ".")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the source does not build: %v\n%s", err, out)
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if strings.HasSuffix(p, "_test.go") || strings.Contains(p, "/testdata/") {
			t.Errorf("test file shipped: %s", p)
		}
		return nil
	})
}

// TestAzureHostConfig: host.json and every function.json keep the promises
// docs/http.md#platforms makes (empty route prefix, anonymous HTTP, the
// handler's name), and HTTP forwarding stays off while the app also holds
// the Cleanup queue trigger: forwarding would let a client reach /Cleanup
// at its own path.
func TestAzureHostConfig(t *testing.T) {
	root, _ := testserver.ModuleRoot()
	dir := filepath.Join(root, "functions", "azure")
	var host struct {
		Version       string `json:"version"`
		CustomHandler struct {
			Description struct {
				DefaultExecutablePath string `json:"defaultExecutablePath"`
			} `json:"description"`
			EnableForwardingHTTPRequest bool `json:"enableForwardingHttpRequest"`
		} `json:"customHandler"`
		Extensions struct {
			HTTP struct {
				RoutePrefix *string `json:"routePrefix"`
			} `json:"http"`
		} `json:"extensions"`
	}
	readJSON(t, filepath.Join(dir, "host.json"), &host)
	if host.Version != "2.0" || host.CustomHandler.Description.DefaultExecutablePath != "handler" ||
		host.CustomHandler.EnableForwardingHTTPRequest || host.Extensions.HTTP.RoutePrefix == nil || *host.Extensions.HTTP.RoutePrefix != "" {
		t.Fatalf("host.json: %+v", host)
	}
	fns, _ := filepath.Glob(filepath.Join(dir, "*", "function.json"))
	if len(fns) == 0 {
		t.Fatal("no function.json")
	}
	for _, f := range fns {
		var fn struct {
			Bindings []struct {
				Type, Direction, Name, AuthLevel, Route string
				Methods                                 []string
			} `json:"bindings"`
		}
		readJSON(t, f, &fn)
		for _, b := range fn.Bindings {
			if b.Type == "httpTrigger" && (b.AuthLevel != "anonymous" || b.Route != "{*path}") {
				t.Errorf("%s: HTTP trigger must be anonymous on {*path}: %+v", f, b)
			}
		}
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
