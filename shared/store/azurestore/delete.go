package azurestore

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/storagegate/storagegate/shared/store"
)

const (
	// MaxBatch is Blob Batch's limit of sub-requests in one call.
	MaxBatch = 256
	// listPageSize is List Blobs' largest page.
	listPageSize = 5000
	// tryTimeout bounds one call (a batch of 256 deletes, a page of 5,000
	// names) when the caller's context sets no deadline.
	tryTimeout = time.Minute
)

// deleterOptions turns the SDK's retries off: what is retried, and how long,
// is decided once, in shared/cleanup, up to the platform's deadline. The
// SDK's default (four attempts, backing off to a minute) would multiply with
// it.
func deleterOptions(t policy.Transporter) *service.ClientOptions {
	return &service.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: t,
		Retry:     policy.RetryOptions{MaxRetries: -1, TryTimeout: tryTimeout},
	}}
}

// deleteOptions also removes a blob's snapshots, without which Azure refuses
// to delete it (409 SnapshotsPresent).
var deleteOptions = &container.BatchDeleteOptions{DeleteOptions: blob.DeleteOptions{
	DeleteSnapshots: new(blob.DeleteSnapshotsOptionTypeInclude),
}}

// containerClient checks the container against the entry (never widen) and
// returns its client.
func (s *Store) containerClient(name string) (*container.Client, error) {
	switch {
	case !validContainer(name):
		return nil, &store.Error{Code: store.InvalidArgument, Err: fmt.Errorf("%q is not a container name", name)}
	case s.container != "" && name != s.container:
		return nil, &store.Error{Code: store.InvalidArgument, Err: fmt.Errorf("container %s is not the configured container %s", name, s.container)}
	}
	svc, err := s.deleter()
	if err != nil {
		return nil, &store.Error{Code: store.InvalidArgument, Err: fmt.Errorf("endpoint: %v", err)}
	}
	return svc.NewContainerClient(name), nil
}

// validContainer accepts Azure's container names (lower-case letters,
// digits, hyphens; "$web" and its kin): the SDK joins the name into the URL
// unescaped, so a '/', '?' or '%' would address something else.
func validContainer(name string) bool {
	if len(name) < 3 || len(name) > 63 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '$' && i == 0) {
			return false
		}
	}
	return true
}

// BatchLimit is MaxBatch.
func (s *Store) BatchLimit() int { return MaxBatch }

// DeleteObjects deletes keys with Blob Batch, MaxBatch a call, and returns
// one error per key, in order: nil when this call deleted the blob, an
// *store.Error with Code NotFound when it was already absent (the core
// counts both as done, and the latter as "already absent"). A blob's
// snapshots go with it.
func (s *Store) DeleteObjects(ctx context.Context, bucket string, keys []string) []error {
	errs := make([]error, len(keys))
	cc, err := s.containerClient(bucket)
	if err != nil {
		fill(errs, err)
		return errs
	}
	for start := 0; start < len(keys); start += MaxBatch {
		end := min(start+MaxBatch, len(keys))
		deleteBatch(ctx, cc, keys[start:end], errs[start:end])
	}
	return errs
}

// deleteBatch deletes up to MaxBatch keys in one Blob Batch call and writes
// each key's result to errs.
func deleteBatch(ctx context.Context, cc *container.Client, keys []string, errs []error) {
	bb, err := cc.NewBatchBuilder()
	if err != nil {
		fill(errs, &store.Error{Code: store.InvalidArgument, Err: fmt.Errorf("blob batch: %v", err)})
		return
	}
	var sent []int // sub-request (Content-ID) -> index in keys
	for i, k := range keys {
		if k == "" {
			errs[i] = &store.Error{Code: store.InvalidArgument, Err: errors.New("an empty blob name")}
			continue
		}
		if err := bb.Delete(k, deleteOptions); err != nil {
			// (its error would quote the blob's URL)
			errs[i] = &store.Error{Code: store.InvalidArgument, Err: errors.New("blob batch: the blob name makes no valid request")}
			continue
		}
		sent = append(sent, i)
	}
	if len(sent) == 0 {
		return
	}
	resp, err := cc.SubmitBatch(ctx, bb, nil)
	if err != nil {
		var re *azcore.ResponseError
		if !errors.As(err, &re) && classify(err) == store.Unknown {
			// The SDK quotes an answer it cannot parse whole.
			err = &store.Error{Code: store.Unknown, Err: errors.New("blob batch: an answer that could not be read")}
		} else {
			err = wrap(err)
		}
		for _, i := range sent {
			errs[i] = err
		}
		return
	}
	// The SDK checks that every sub-request has an answer; a key whose
	// answer still cannot be placed is reported, not taken for deleted.
	for _, i := range sent {
		errs[i] = &store.Error{Code: store.Unknown, Err: errors.New("blob batch: no answer for this blob")}
	}
	for _, item := range resp.Responses {
		if item.ContentID == nil || *item.ContentID < 0 || *item.ContentID >= len(sent) {
			continue
		}
		errs[sent[*item.ContentID]] = wrap(item.Error) // NotFound for a blob already gone
	}
}

func fill(errs []error, err error) {
	for i := range errs {
		errs[i] = err
	}
}

// List calls fn with each page of up to 5,000 blobs under prefix, in name
// order; only the current page is held.
func (s *Store) List(ctx context.Context, bucket, prefix string, fn func(page []store.ObjectInfo) error) error {
	cc, err := s.containerClient(bucket)
	if err != nil {
		return err
	}
	opts := &container.ListBlobsFlatOptions{MaxResults: new(s.listPageSize())}
	if prefix != "" {
		opts.Prefix = &prefix
	}
	pager := cc.NewListBlobsFlatPager(opts)
	for pager.More() {
		resp, err := pager.NextPage(ctx)
		if err != nil {
			return wrap(err)
		}
		items := resp.Segment.BlobItems
		if len(items) == 0 {
			continue
		}
		page := make([]store.ObjectInfo, 0, len(items))
		for _, b := range items {
			info := store.ObjectInfo{Key: deref(b.Name)}
			if p := b.Properties; p != nil {
				info.Size, info.Modified = deref(p.ContentLength), deref(p.LastModified)
			}
			page = append(page, info)
		}
		if err := fn(page); err != nil {
			return err
		}
	}
	return nil
}

// Stat reads one blob's size and modification time; NotFound when it is
// absent.
func (s *Store) Stat(ctx context.Context, bucket, key string) (store.ObjectInfo, error) {
	if key == "" {
		return store.ObjectInfo{}, &store.Error{Code: store.InvalidArgument, Err: errors.New("an empty blob name")}
	}
	cc, err := s.containerClient(bucket)
	if err != nil {
		return store.ObjectInfo{}, err
	}
	p, err := cc.NewBlobClient(key).GetProperties(ctx, nil)
	if err != nil {
		return store.ObjectInfo{}, wrap(err)
	}
	return store.ObjectInfo{Key: key, Size: deref(p.ContentLength), Modified: deref(p.LastModified)}, nil
}

func (s *Store) listPageSize() int32 {
	if s.pageSize > 0 {
		return s.pageSize
	}
	return listPageSize
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// classify maps an SDK error to a store code: by Azure's error code where
// it matters, else by HTTP status, else by the kind of network failure.
func classify(err error) store.ErrorCode {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		st := re.StatusCode
		switch {
		case bloberror.HasCode(err, bloberror.ContainerNotFound, bloberror.ContainerBeingDeleted):
			return store.InvalidArgument
		case st == http.StatusConflict || st == http.StatusPreconditionFailed:
			// A lease, an immutability policy, a directory not yet empty
			// (hierarchical namespace): retried, then dead-lettered.
			return store.Unknown
		}
		return store.StatusCode(st) // 5xx: ServerBusy, OperationTimedOut, InternalError
	}
	return store.TransportCode(err)
}

// wrap attaches err's code and drops what must not reach a log: the SDK's
// response errors quote the request URL (with the blob's name) and the
// response body, a transport error its URL.
func wrap(err error) error {
	if err == nil {
		return nil
	}
	code := classify(err)
	var re *azcore.ResponseError
	var ue *url.Error
	switch {
	case errors.As(err, &re):
		err = errors.New(describe(re))
	case errors.As(err, &ue):
		err = ue.Err
	}
	return &store.Error{Code: code, Err: err}
}
