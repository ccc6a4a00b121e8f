package azurestore

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"github.com/storagegate/storagegate/shared/store/storetest"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/storagegate/storagegate/shared/config"
	"github.com/storagegate/storagegate/shared/internal/testserver"
	"github.com/storagegate/storagegate/shared/store"
)

// exists asks Azurite itself whether a blob is there.
func (a *azurite) exists(t testing.TB, key string) bool {
	t.Helper()
	_, err := a.client.NewBlobClient(key).GetProperties(context.Background(), nil)
	switch {
	case err == nil:
		return true
	case bloberror.HasCode(err, bloberror.BlobNotFound):
		return false
	}
	t.Fatalf("get properties of %q: %v", key, err)
	return false
}

// TestDeleterConformanceAzurite runs the Deleter suite against Azurite,
// which serves Blob Batch (since 3.20) as Azure does.
func TestDeleterConformanceAzurite(t *testing.T) {
	az := startAzurite(t)
	s := az.store(t)
	s.pageSize = 500
	storetest.RunDeleter(t, storetest.DeleterFixture{
		Deleter:       s,
		Bucket:        az.container,
		MissingBucket: "no-such-container",
		Put:           az.put,
		Exists:        az.exists,
		PageSize:      500,
		ReportsAbsent: true,
		Denied: mustNew(t, config.AzureContainer{AccountName: az.AccountName, Endpoint: az.BlobEndpoint,
			AccountKey: base64.StdEncoding.EncodeToString([]byte("not the account key of this Azurite"))}),
	})
}

// batchCounter passes requests on and records, for each, how many
// sub-requests it carried (0 for anything but a Blob Batch).
type batchCounter struct {
	mu    sync.Mutex
	calls []int
}

func (b *batchCounter) Do(req *http.Request) (*http.Response, error) {
	n := 0
	if req.URL.Query().Get("comp") == "batch" && req.Body != nil {
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		n = bytes.Count(body, []byte("Content-ID:"))
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	b.mu.Lock()
	b.calls = append(b.calls, n)
	b.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (b *batchCounter) get() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]int(nil), b.calls...)
}

// TestDeleteUsesBlobBatch: 300 keys are two Blob Batch calls (256 and 44
// sub-requests) and nothing else; absent keys are NotFound.
func TestDeleteUsesBlobBatch(t *testing.T) {
	az := startAzurite(t)
	rec := &batchCounter{}
	s := mustNew(t, config.AzureContainer{AccountName: az.AccountName, AccountKey: az.AccountKey, Endpoint: az.BlobEndpoint}, WithTransport(rec))
	if s.BatchLimit() != MaxBatch {
		t.Fatalf("BatchLimit %d, want %d", s.BatchLimit(), MaxBatch)
	}
	keys := make([]string, 300)
	for i := range keys {
		keys[i] = fmt.Sprintf("batch/%03d", i)
	}
	storetest.PutParallel(t, az.put, keys[:200]) // the last 100 are already gone
	for i, err := range s.DeleteObjects(context.Background(), az.container, keys) {
		if absent := i >= 200; absent && store.Code(err) != store.NotFound || !absent && err != nil {
			t.Errorf("%s (absent: %v): %v", keys[i], absent, err)
		}
	}
	if got := rec.get(); len(got) != 2 || got[0] != 256 || got[1] != 44 {
		t.Errorf("requests carried %v sub-requests, want [256 44]", got)
	}
	if n := len(az.names(t)); n != 0 {
		t.Errorf("%d blobs left", n)
	}
}

// TestDeleteRemovesSnapshots: a blob with a snapshot is deleted with it,
// where a plain delete would be refused (409 SnapshotsPresent).
func TestDeleteRemovesSnapshots(t *testing.T) {
	az := startAzurite(t)
	ctx := context.Background()
	az.put(t, "snap/model.bin", []byte("v1"))
	if _, err := az.client.NewBlobClient("snap/model.bin").CreateSnapshot(ctx, nil); err != nil {
		t.Fatal(err)
	}
	s := az.store(t)
	if err := s.DeleteObjects(ctx, az.container, []string{"snap/model.bin"})[0]; err != nil {
		t.Fatalf("DeleteObjects: %v", err)
	}
	pager := az.client.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Include: container.ListBlobsInclude{Snapshots: true}})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range page.Segment.BlobItems {
			t.Errorf("left: %s (snapshot %q)", *b.Name, deref(b.Snapshot))
		}
	}
}

// checkErr fails unless err has code want and names the problem without the
// blob's name, the account key or a signature.
func checkErr(t *testing.T, op string, err error, want store.ErrorCode, secrets ...string) {
	t.Helper()
	if store.Code(err) != want {
		t.Errorf("%s: %v, want %s", op, err, want)
		return
	}
	for _, s := range append(secrets, "task.123", "sig=", "SharedKey ", "Bearer ") {
		if strings.Contains(err.Error(), s) {
			t.Errorf("%s: %q contains %q", op, err, s)
		}
	}
}

// TestDeleteErrorsAzurite: a wrong key is PermissionDenied, a missing
// container InvalidArgument, a store that cannot be reached Transient; a
// container other than the entry's is refused without a request.
func TestDeleteErrorsAzurite(t *testing.T) {
	az := startAzurite(t)
	ctx := context.Background()
	const key = "task.123/model.bin"
	az.put(t, key, []byte("x"))
	all := func(t *testing.T, s *Store, bucket string, want store.ErrorCode, secrets ...string) {
		t.Helper()
		for i, err := range s.DeleteObjects(ctx, bucket, []string{key, "task.123/other"}) {
			checkErr(t, fmt.Sprintf("DeleteObjects[%d]", i), err, want, secrets...)
		}
		_, err := s.Stat(ctx, bucket, key)
		checkErr(t, "Stat", err, want, secrets...)
		checkErr(t, "List", s.List(ctx, bucket, "task.123/", func([]store.ObjectInfo) error { return nil }), want, secrets...)
	}

	t.Run("wrong key", func(t *testing.T) {
		raw := make([]byte, 64)
		rand.Read(raw)
		wrong := base64.StdEncoding.EncodeToString(raw)
		s := mustNew(t, config.AzureContainer{AccountName: az.AccountName, AccountKey: wrong, Endpoint: az.BlobEndpoint})
		all(t, s, az.container, store.PermissionDenied, wrong, az.AccountKey)
		if !az.exists(t, key) {
			t.Error("the blob was deleted with a wrong key")
		}
	})
	t.Run("missing container", func(t *testing.T) {
		all(t, az.store(t), "no-such-container", store.InvalidArgument)
	})
	t.Run("server down", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		endpoint := "http://" + l.Addr().String() + "/" + az.AccountName
		l.Close()
		s := mustNew(t, config.AzureContainer{AccountName: az.AccountName, AccountKey: az.AccountKey, Endpoint: endpoint})
		all(t, s, az.container, store.Transient)
	})
	t.Run("other container", func(t *testing.T) {
		rec := &batchCounter{}
		s := mustNew(t, config.AzureContainer{AccountName: az.AccountName, AccountKey: az.AccountKey, ContainerName: az.container, Endpoint: az.BlobEndpoint}, WithTransport(rec))
		all(t, s, "other", store.InvalidArgument)
		if n := len(rec.get()); n != 0 {
			t.Errorf("%d requests for a container the entry does not cover", n)
		}
	})
	if !az.exists(t, key) {
		t.Error("the blob is gone")
	}
}

// fakeBatch answers Blob Batch calls like Azure: each sub-request's status
// comes from answer(blob name), and the sub-responses come back in reverse
// order, so that results must be placed by Content-ID.
func fakeBatch(t *testing.T, answer func(blob string) (status int, code string)) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if r.URL.Query().Get("comp") != "batch" || err != nil {
			t.Errorf("not a batch: %s %s", r.Method, r.URL)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		type sub struct{ id, blob string }
		var subs []sub
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			req, err := http.ReadRequest(bufio.NewReader(p))
			if err != nil {
				t.Fatal(err)
			}
			if req.Method != http.MethodDelete || req.Header.Get("x-ms-delete-snapshots") != "include" {
				t.Errorf("sub-request %s %s, x-ms-delete-snapshots %q", req.Method, req.URL, req.Header.Get("x-ms-delete-snapshots"))
			}
			subs = append(subs, sub{p.Header.Get("Content-ID"), strings.TrimPrefix(req.URL.Path, "/devstoreaccount1/ctr/")})
		}
		const boundary = "batchresponse_66925647-d0cb-4109-b6d3-28efe3e1e5ed"
		var b bytes.Buffer
		for i := len(subs) - 1; i >= 0; i-- {
			status, code := answer(subs[i].blob)
			fmt.Fprintf(&b, "--%s\r\nContent-Type: application/http\r\nContent-ID: %s\r\n\r\nHTTP/1.1 %d %s\r\n", boundary, subs[i].id, status, http.StatusText(status))
			if code != "" {
				fmt.Fprintf(&b, "x-ms-error-code: %s\r\n", code)
			}
			b.WriteString("x-ms-version: 2025-01-05\r\nContent-Length: 0\r\n\r\n\r\n")
		}
		fmt.Fprintf(&b, "--%s--\r\n", boundary)
		w.Header().Set("Content-Type", "multipart/mixed; boundary="+boundary)
		w.WriteHeader(http.StatusAccepted)
		w.Write(b.Bytes())
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestBatchSubResponses: each key gets its own sub-response's result, in the
// caller's order, whatever order Azure answers in.
func TestBatchSubResponses(t *testing.T) {
	answers := map[string]struct {
		status int
		code   string
		want   store.ErrorCode // -1: nil
		text   string
	}{
		"task.123/deleted":      {http.StatusAccepted, "", -1, ""},
		"task.123/gone":         {http.StatusNotFound, "BlobNotFound", store.NotFound, "HTTP 404 BlobNotFound"},
		"task.123/denied":       {http.StatusForbidden, "AuthorizationPermissionMismatch", store.PermissionDenied, "HTTP 403 AuthorizationPermissionMismatch"},
		"task.123/busy":         {http.StatusServiceUnavailable, "ServerBusy", store.Transient, "HTTP 503 ServerBusy"},
		"task.123/internal":     {http.StatusInternalServerError, "InternalError", store.Transient, "HTTP 500 InternalError"},
		"task.123/leased":       {http.StatusConflict, "LeaseIdMissing", store.Unknown, "HTTP 409 LeaseIdMissing"},
		"task.123/bad name":     {http.StatusBadRequest, "InvalidResourceName", store.InvalidArgument, "HTTP 400 InvalidResourceName"},
		"task.123/no container": {http.StatusNotFound, "ContainerNotFound", store.InvalidArgument, "HTTP 404 ContainerNotFound"},
	}
	srv := fakeBatch(t, func(blob string) (int, string) {
		a, ok := answers[blob]
		if !ok {
			t.Errorf("unexpected sub-request for %q", blob)
		}
		return a.status, a.code
	})
	s := mustNew(t, config.AzureContainer{AccountName: "devstoreaccount1", AccountKey: devKey, Endpoint: srv.URL + "/devstoreaccount1"})
	keys := []string{"task.123/deleted", "task.123/denied", "", "task.123/gone", "task.123/busy", "task.123/internal", "task.123/leased", "task.123/bad name", "task.123/no container"}
	errs := s.DeleteObjects(context.Background(), "ctr", keys)
	for i, k := range keys {
		if k == "" {
			checkErr(t, "the empty key", errs[i], store.InvalidArgument)
			continue
		}
		a := answers[k]
		if a.want == -1 {
			if errs[i] != nil {
				t.Errorf("%q: %v, want nil", k, errs[i])
			}
			continue
		}
		checkErr(t, k, errs[i], a.want)
		if errs[i] != nil && !strings.Contains(errs[i].Error(), a.text) {
			t.Errorf("%q: %q, want it to say %q", k, errs[i], a.text)
		}
	}
}

// TestBatchRefusedWhole: when Azure refuses the batch call itself, every key
// in it carries that refusal.
func TestBatchRefusedWhole(t *testing.T) {
	for _, c := range []struct {
		status int
		code   string
		want   store.ErrorCode
	}{
		{http.StatusForbidden, "AuthenticationFailed", store.PermissionDenied},
		{http.StatusServiceUnavailable, "ServerBusy", store.Transient},
		{http.StatusNotFound, "ContainerNotFound", store.InvalidArgument},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("x-ms-error-code", c.code)
			w.WriteHeader(c.status)
		}))
		s := mustNew(t, config.AzureContainer{AccountName: "devstoreaccount1", AccountKey: devKey, Endpoint: srv.URL + "/devstoreaccount1"})
		for i, err := range s.DeleteObjects(context.Background(), "ctr", []string{"task.123/a", "task.123/b"}) {
			checkErr(t, fmt.Sprintf("%s key %d", c.code, i), err, c.want)
		}
		srv.Close()
	}
}

// TestDeleteWithTokenCredential: without an account key, the managed
// identity's token authorizes the batch (Azurite with OAuth, over https).
func TestDeleteWithTokenCredential(t *testing.T) {
	endpoint, client := startAzuriteOAuth(t)
	ctx := context.Background()
	cred, err := service.NewSharedKeyCredential(testserver.AzuriteAccountName, testserver.AzuriteAccountKey)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := service.NewClientWithSharedKeyCredential(endpoint+"/", cred, &service.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: client}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateContainer(ctx, "models", nil); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"m/1", "m/2", "n/kept"} {
		if _, err := admin.NewContainerClient("models").NewBlockBlobClient(k).UploadBuffer(ctx, []byte(k), nil); err != nil {
			t.Fatal(err)
		}
	}
	s := mustNew(t, config.AzureContainer{AccountName: testserver.AzuriteAccountName, Endpoint: endpoint},
		WithTokenCredential(entraToken{}), WithTransport(client))
	keys := []string{"m/1", "m/2", "m/absent"}
	errs := s.DeleteObjects(ctx, "models", keys)
	if errs[0] != nil || errs[1] != nil || store.Code(errs[2]) != store.NotFound {
		t.Errorf("DeleteObjects(%q): %v, want nil, nil, NotFound", keys, errs)
	}
	var left []string
	if err := s.List(ctx, "models", "", func(page []store.ObjectInfo) error {
		for _, o := range page {
			left = append(left, o.Key)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0] != "n/kept" {
		t.Errorf("left %v, want [n/kept]", left)
	}
	if _, err := s.Stat(ctx, "models", "m/1"); store.Code(err) != store.NotFound {
		t.Errorf("Stat of a deleted blob: %v, want NotFound", err)
	}
}

// TestContainerNameRefused: a name that would address something else once
// joined into the URL is refused before any request.
func TestContainerNameRefused(t *testing.T) {
	rec := &batchCounter{}
	s := mustNew(t, config.AzureContainer{AccountName: "acct", AccountKey: devKey}, WithTransport(rec))
	ctx := context.Background()
	for _, name := range []string{"", "ab", "../other", "c?comp=list", "c%2Fd", "Upper", "c/d"} {
		checkErr(t, name+" DeleteObjects", s.DeleteObjects(ctx, name, []string{"k"})[0], store.InvalidArgument)
		checkErr(t, name+" List", s.List(ctx, name, "", func([]store.ObjectInfo) error { return nil }), store.InvalidArgument)
		_, err := s.Stat(ctx, name, "k")
		checkErr(t, name+" Stat", err, store.InvalidArgument)
	}
	if n := len(rec.get()); n != 0 {
		t.Errorf("%d requests", n)
	}
}
