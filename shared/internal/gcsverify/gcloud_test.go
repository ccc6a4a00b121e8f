package gcsverify

import (
	"bytes"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storagegate/storagegate/shared/internal/testserver"
)

// TestGcloudSignedURLs cross-checks the verifier with an independent signer:
// the Google Cloud CLI signing offline with the dummy key. Keys that a naive
// canonicalization gets wrong (literal %, spaces, +, unicode) included.
func TestGcloudSignedURLs(t *testing.T) {
	gcloud, err := exec.LookPath("gcloud")
	if err != nil {
		testserver.Require(t, "the Google Cloud CLI (gcloud)", "gcloud is not on PATH (Debian package google-cloud-cli)")
	}
	keyFile, err := filepath.Abs("testdata/dummy-service-account.json")
	if err != nil {
		t.Fatal(err)
	}
	v := dummyVerifier(t) // the real clock: gcloud signs at its own now
	const bucket = "storagegate-test"
	cases := []struct{ name, key, method, disposition string }{
		{"literal percent", "a%20b/file%2Fx.bin", "GET", ""},
		{"spaces plus unicode", "with space/a+b c/päth/日本語.txt", "GET", ""},
		{"HEAD", "dir/file.txt", "HEAD", ""},
		// Without a space: gcloud puts a query value's space into its canonical
		// query as '+' (Python's quote_plus), where Cloud Storage, Google's
		// client libraries and the conformance vectors use %20 (see
		// googleapis/google-cloud-ruby#7655), so such a gcloud URL fails on
		// Cloud Storage too. The vectors cover spaces in query values.
		{"disposition", "dir/file.txt", "GET", `attachment;filename="file.txt"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"storage", "sign-url", "gs://" + bucket + "/" + c.key,
				"--private-key-file=" + keyFile, "--duration=10m", "--region=auto",
				"--http-verb=" + c.method, "--format=value(signed_url)"}
			if c.disposition != "" {
				args = append(args, "--query-params=response-content-disposition="+c.disposition)
			}
			u := gcloudSign(t, gcloud, args)

			r := httptest.NewRequest(c.method, u, nil)
			if want := "/" + bucket + "/" + c.key; r.URL.Path != want {
				t.Fatalf("gcloud signed path %q, want object %q", r.URL.Path, want)
			}
			if got := r.URL.Query().Get("response-content-disposition"); got != c.disposition {
				t.Fatalf("response-content-disposition %q, want %q", got, c.disposition)
			}
			if err := v.Verify(r); err != nil {
				t.Fatalf("refused a gcloud-signed URL %s: %v", u, err)
			}
			other := "HEAD"
			if c.method == "HEAD" {
				other = "GET"
			}
			wantRefused(t, v.Verify(httptest.NewRequest(other, u, nil)), 403, "SignatureDoesNotMatch")
		})
	}
}

// gcloudSign runs `gcloud storage sign-url` and returns the URL it prints.
// gcloud prints the URL within a second, then tries to reach Google (and
// exits 1 when it cannot): the URL is taken as soon as it appears, and the
// process group is stopped.
func gcloudSign(t *testing.T, gcloud string, args []string) string {
	t.Helper()
	cmd := exec.Command(gcloud, args...)
	// A fresh configuration directory: no account, no prompts, nothing of the
	// developer's own gcloud setup.
	cmd.Env = append(os.Environ(), "CLOUDSDK_CONFIG="+t.TempDir(), "CLOUDSDK_CORE_DISABLE_PROMPTS=1")
	out := &urlWatcher{found: make(chan string, 1)}
	cmd.Stdout = out
	p, err := testserver.StartProcess("gcloud", cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(0)
	select {
	case u := <-out.found:
		return u
	case <-p.Done():
		select { // the output is copied before Done closes
		case u := <-out.found:
			return u
		default:
		}
		t.Fatalf("gcloud %s printed no URL (%v):\n%s", strings.Join(args, " "), p.Err(), p.Output())
	case <-time.After(60 * time.Second):
		t.Fatalf("gcloud %s printed no URL within 60s:\n%s", strings.Join(args, " "), p.Output())
	}
	return ""
}

// urlWatcher passes on the first complete output line that is a URL.
type urlWatcher struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	found chan string
	done  bool
}

func (w *urlWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for !w.done {
		line, err := w.buf.ReadString('\n')
		if err != nil { // incomplete: keep it for the next write
			w.buf.Reset()
			w.buf.WriteString(line)
			break
		}
		if line = strings.TrimSpace(line); strings.HasPrefix(line, "https://") {
			w.found <- line
			w.done = true
		}
	}
	return len(p), nil
}
