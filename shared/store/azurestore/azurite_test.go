package azurestore

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/storagegate/storagegate/shared/config"
	"github.com/storagegate/storagegate/shared/internal/testserver"
	"github.com/storagegate/storagegate/shared/store"
)

// azurite is a running Azurite with one container, and a way to put blobs
// in it with the SDK (which escapes names itself: what it stores is the
// literal name).
type azurite struct {
	*testserver.Azurite
	container string
	client    *container.Client
}

func startAzurite(t *testing.T) *azurite {
	t.Helper()
	a := testserver.StartAzurite(t)
	cred, err := service.NewSharedKeyCredential(a.AccountName, a.AccountKey)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := service.NewClientWithSharedKeyCredential(a.BlobEndpoint+"/", cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	const name = "artifacts"
	if _, err := svc.CreateContainer(context.Background(), name, nil); err != nil {
		t.Fatalf("create container: %v", err)
	}
	return &azurite{Azurite: a, container: name, client: svc.NewContainerClient(name)}
}

func (a *azurite) put(t testing.TB, key string, body []byte) {
	t.Helper()
	if _, err := a.client.NewBlockBlobClient(key).UploadBuffer(context.Background(), body, nil); err != nil {
		t.Fatalf("upload %q: %v", key, err)
	}
}

func (a *azurite) names(t testing.TB) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	pager := a.client.NewListBlobsFlatPager(nil)
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		for _, b := range page.Segment.BlobItems {
			out[*b.Name] = true
		}
	}
	return out
}

func (a *azurite) store(t testing.TB) *Store {
	return mustNew(t, config.AzureContainer{AccountName: a.AccountName, AccountKey: a.AccountKey, Endpoint: a.BlobEndpoint})
}

func fetch(t testing.TB, method, rawURL string, body io.Reader) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	if method == http.MethodPut {
		req.Header.Set("x-ms-blob-type", "BlockBlob")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// TestAzurite proves what the conformance suite (conformance_test.go) does
// not: the GET-signed URL answers HEAD, writes are refused, names are stored
// literally, and Probe.
func TestAzurite(t *testing.T) {
	az := startAzurite(t)
	s := az.store(t)
	now := time.Now()
	sign := func(t *testing.T, key string, mod func(*store.SignRequest)) string {
		req := store.SignRequest{Bucket: az.container, Key: key, Method: store.MethodGet, SignedAt: now, Lifetime: time.Hour}
		if mod != nil {
			mod(&req)
		}
		return mustSign(t, s, req).URL
	}
	az.put(t, "dir/hello.txt", []byte("hello"))

	t.Run("GET and HEAD", func(t *testing.T) {
		u := sign(t, "dir/hello.txt", nil)
		if code, _, body := fetch(t, http.MethodGet, u, nil); code != 200 || string(body) != "hello" {
			t.Fatalf("GET: %d %q", code, body)
		}
		// A SAS is not bound to a method: the GET-signed URL answers HEAD.
		if code, h, _ := fetch(t, http.MethodHead, u, nil); code != 200 || h.Get("Content-Length") != "5" {
			t.Fatalf("HEAD: %d, Content-Length %q", code, h.Get("Content-Length"))
		}
		hu := sign(t, "dir/hello.txt", func(r *store.SignRequest) { r.Method = store.MethodHead })
		if code, _, _ := fetch(t, http.MethodHead, hu, nil); code != 200 {
			t.Fatalf("HEAD with a HEAD-signed URL: %d", code)
		}
	})

	t.Run("clock skew", func(t *testing.T) {
		// Signed by a clock five minutes ahead of the service's: StartSkew
		// keeps the URL usable at once.
		u := sign(t, "dir/hello.txt", func(r *store.SignRequest) { r.SignedAt = now.Add(5 * time.Minute) })
		if code, _, _ := fetch(t, http.MethodGet, u, nil); code != 200 {
			t.Fatalf("GET: %d", code)
		}
	})

	t.Run("widened permission refused", func(t *testing.T) {
		u := sign(t, "dir/hello.txt", nil)
		if code, _, _ := fetch(t, http.MethodGet, strings.Replace(u, "sp=r", "sp=rw", 1), nil); code != 403 {
			t.Fatalf("sp=rw: %d, want 403", code)
		}
	})

	t.Run("write refused", func(t *testing.T) {
		u := sign(t, "dir/hello.txt", nil)
		if code, _, _ := fetch(t, http.MethodPut, u, strings.NewReader("overwritten")); code != 403 {
			t.Fatalf("PUT with a read SAS: %d, want 403", code)
		}
		if code, _, _ := fetch(t, http.MethodDelete, u, nil); code != 403 {
			t.Fatalf("DELETE with a read SAS: %d, want 403", code)
		}
		if _, _, body := fetch(t, http.MethodGet, u, nil); string(body) != "hello" {
			t.Fatalf("the blob changed: %q", body)
		}
	})

	t.Run("content disposition", func(t *testing.T) {
		cd := `attachment; filename="a b+c.txt"; filename*=UTF-8''a%20b%2Bc%C3%BC.txt`
		u := sign(t, "dir/hello.txt", func(r *store.SignRequest) { r.Disposition = cd })
		code, h, _ := fetch(t, http.MethodGet, u, nil)
		if code != 200 || h.Get("Content-Disposition") != cd {
			t.Fatalf("GET: %d, Content-Disposition %q, want %q", code, h.Get("Content-Disposition"), cd)
		}
	})

	t.Run("literal keys", func(t *testing.T) {
		// Distinct bodies: "a%20b" and "a b" are two blobs, and each URL
		// must reach its own.
		keys := []string{"lit/a%20b", "lit/a b", "lit/a+b", "lit/x%2Fy%25z", "lit/ünï/çödé 😀.bin", "lit/semi;colon=eq&amp?q#h"}
		for i, k := range keys {
			az.put(t, k, []byte{'0' + byte(i)})
		}
		stored := az.names(t)
		for i, k := range keys {
			if !stored[k] {
				t.Fatalf("Azurite does not hold %q: the fixture is wrong", k)
			}
			u := sign(t, k, nil)
			if code, _, body := fetch(t, http.MethodGet, u, nil); code != 200 || !bytes.Equal(body, []byte{'0' + byte(i)}) {
				t.Errorf("key %q: GET %s: %d %q", k, u, code, body)
			}
		}
	})

	t.Run("missing blob", func(t *testing.T) {
		if code, _, _ := fetch(t, http.MethodGet, sign(t, "dir/absent", nil), nil); code != 404 {
			t.Fatalf("absent blob: %d, want 404", code)
		}
	})

	t.Run("wrong account key refused", func(t *testing.T) {
		other := mustNew(t, config.AzureContainer{AccountName: az.AccountName, AccountKey: "c2VjcmV0LWJ1dC1ub3QtdGhlLWFjY291bnQta2V5", Endpoint: az.BlobEndpoint})
		u := mustSign(t, other, store.SignRequest{Bucket: az.container, Key: "dir/hello.txt", SignedAt: now, Lifetime: time.Hour}).URL
		if code, _, _ := fetch(t, http.MethodGet, u, nil); code != 403 {
			t.Fatalf("wrong key: %d, want 403", code)
		}
		if err := other.Probe(context.Background(), az.container); err == nil || !strings.Contains(err.Error(), "HTTP 403") {
			t.Fatalf("Probe with the wrong key: %v, want HTTP 403", err)
		}
	})

	t.Run("probe", func(t *testing.T) {
		ctx := context.Background()
		if err := s.Probe(ctx, az.container); err != nil {
			t.Errorf("Probe(%s): %v", az.container, err)
		}
		if err := s.Probe(ctx, ""); err != nil {
			t.Errorf("Probe(account): %v", err)
		}
		if err := s.Probe(ctx, "missing"); err == nil || !strings.Contains(err.Error(), "container missing: HTTP 404 ContainerNotFound") {
			t.Errorf("Probe(missing): %v, want HTTP 404 ContainerNotFound", err)
		}
	})
}
