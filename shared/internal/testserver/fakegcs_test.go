package testserver

import (
	"io"
	"net/http"
	"testing"
)

func TestFakeGCS(t *testing.T) {
	f := StartFakeGCS(t)
	f.MakeBucket(t, "smoke")
	f.Put(t, "smoke", "a/b.txt", []byte("hello"))

	// The XML path, as a signed URL would reach it; the Host header is the -public-host.
	resp, err := http.Get(f.Endpoint + "/smoke/a/b.txt")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "hello" {
		t.Fatalf("GET XML path: %s %q, want 200 hello", resp.Status, body)
	}

	// The JSON API download.
	resp, err = http.Get(f.Endpoint + "/storage/v1/b/smoke/o/a%2Fb.txt?alt=media")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "hello" {
		t.Fatalf("GET JSON API: %s %q, want 200 hello", resp.Status, body)
	}
}
