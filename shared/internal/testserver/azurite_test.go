package testserver

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestAzurite(t *testing.T) {
	a := StartAzurite(t)

	// Azurite checks credentials: unsigned is 403, a Shared Key signature with the dev key works
	// on both services, and the same signature from another key is 403.
	if code := azureDo(t, a, "", http.MethodPut, a.BlobEndpoint+"/smoke?restype=container"); code != http.StatusForbidden {
		t.Fatalf("unsigned create container: %d, want 403", code)
	}
	if code := azureDo(t, a, a.AccountKey, http.MethodPut, a.BlobEndpoint+"/smoke?restype=container"); code != http.StatusCreated {
		t.Fatalf("create container: %d, want 201", code)
	}
	if code := azureDo(t, a, a.AccountKey, http.MethodPut, a.QueueEndpoint+"/smoke"); code != http.StatusCreated {
		t.Fatalf("create queue: %d, want 201", code)
	}
	wrong := base64.StdEncoding.EncodeToString([]byte("not the account key"))
	if code := azureDo(t, a, wrong, http.MethodPut, a.BlobEndpoint+"/other?restype=container"); code != http.StatusForbidden {
		t.Fatalf("create container with a wrong key: %d, want 403", code)
	}
}

// azureDo sends a body-less request, signed with Shared Key when key is set, and returns the status.
func azureDo(t *testing.T, a *Azurite, key, method, rawURL string) int {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-ms-date", time.Now().UTC().Format(http.TimeFormat))
	req.Header.Set("x-ms-version", "2021-12-02")
	if key != "" {
		req.Header.Set("Authorization", "SharedKey "+a.AccountName+":"+sharedKey(t, a.AccountName, key, req))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// sharedKey signs a body-less request as in "Authorize with Shared Key" (Azure Storage REST docs).
func sharedKey(t *testing.T, account, key string, req *http.Request) string {
	secret, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	// VERB, then 11 standard headers, all empty for a body-less request with x-ms-date.
	b.WriteString(req.Method + "\n" + strings.Repeat("\n", 11))
	var names []string
	for name := range req.Header {
		if n := strings.ToLower(name); strings.HasPrefix(n, "x-ms-") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		b.WriteString(n + ":" + req.Header.Get(n) + "\n")
	}
	b.WriteString("/" + account + req.URL.EscapedPath())
	q := req.URL.Query()
	params := make([]string, 0, len(q))
	for k := range q {
		params = append(params, k)
	}
	sort.Strings(params)
	for _, k := range params {
		b.WriteString("\n" + strings.ToLower(k) + ":" + strings.Join(q[k], ","))
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
