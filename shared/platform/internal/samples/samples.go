// Package samples reads the sample payloads in events/ for the platform
// packages' round-trip tests: every file of a platform, so that a sample a
// package cannot read fails its test, and a JSON comparison that ignores only
// what a decoder cannot tell apart.
package samples

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

// Files is every file under events/<platform>/, by path below it (for
// example "cleanup/sqs-batch.json"), in order. A platform without samples
// fails the test.
func Files(t testing.TB, platform string) map[string][]byte {
	t.Helper()
	dir := filepath.Join(root(t), "events", platform)
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("no samples in %s", dir)
	}
	return out
}

// Names is the keys of files, sorted.
func Names(files map[string][]byte) []string {
	var names []string
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// root is the module's root: the first directory up from the test's own
// with a go.mod.
func root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = up
	}
}

// JSONEqual fails the test unless want and got hold the same JSON value.
// Object keys' order, white space and a member that is null rather than
// absent do not count: a decoder reads them alike.
func JSONEqual(t testing.TB, name string, want, got []byte) {
	t.Helper()
	w, err := canonical(want)
	if err != nil {
		t.Fatalf("%s: the sample is not JSON: %v", name, err)
	}
	g, err := canonical(got)
	if err != nil {
		t.Fatalf("%s: re-encoded, not JSON: %v", name, err)
	}
	if !reflect.DeepEqual(w, g) {
		wb, _ := json.MarshalIndent(w, "", "  ")
		gb, _ := json.MarshalIndent(g, "", "  ")
		t.Errorf("%s: re-encoded differs from the sample\nsample:\n%s\nre-encoded:\n%s", name, wb, gb)
	}
}

func canonical(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return dropNulls(v), nil
}

func dropNulls(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if e == nil {
				delete(v, k)
				continue
			}
			v[k] = dropNulls(e)
		}
	case []any:
		for i, e := range v {
			v[i] = dropNulls(e)
		}
	}
	return v
}

// Request reads an .http sample (a request as it arrives on the wire),
// writes it back out and reads that again, failing the test unless both
// readings agree on method, target, host, headers and body. It returns the
// request as read the second time.
func Request(t testing.TB, name string, b []byte) *http.Request {
	t.Helper()
	first, firstBody := readRequest(t, name, b)
	var wire bytes.Buffer
	first.Body = io.NopCloser(bytes.NewReader(firstBody))
	if err := first.Write(&wire); err != nil {
		t.Fatalf("%s: writing the request back: %v", name, err)
	}
	second, secondBody := readRequest(t, name+" (re-encoded)", wire.Bytes())
	switch {
	case first.Method != second.Method || first.RequestURI != second.RequestURI || first.Host != second.Host:
		t.Errorf("%s: %s %s (host %s) came back as %s %s (host %s)", name, first.Method, first.RequestURI, first.Host,
			second.Method, second.RequestURI, second.Host)
	case !reflect.DeepEqual(first.Header, second.Header):
		t.Errorf("%s: headers %v came back as %v", name, first.Header, second.Header)
	case !bytes.Equal(firstBody, secondBody):
		t.Errorf("%s: body %q came back as %q", name, firstBody, secondBody)
	}
	second.Body = io.NopCloser(bytes.NewReader(secondBody))
	return second
}

func readRequest(t testing.TB, name string, b []byte) (*http.Request, []byte) {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(b)))
	if err != nil {
		t.Fatalf("%s: not an HTTP request: %v", name, err)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatalf("%s: body: %v", name, err)
	}
	if r.ContentLength >= 0 && int64(len(body)) != r.ContentLength {
		t.Fatalf("%s: body of %d bytes, Content-Length %d", name, len(body), r.ContentLength)
	}
	return r, body
}
