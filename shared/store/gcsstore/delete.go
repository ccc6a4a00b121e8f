package gcsstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/storagegate/storagegate/shared/store"
)

// The Deleter speaks the Cloud Storage JSON API over net/http rather than
// through cloud.google.com/go/storage: the library links gRPC and
// OpenTelemetry into every binary that imports this package (the presign
// functions included), which measured +21 MB stripped and about +7 ms of
// package initialisation per cold start. Three calls are needed (delete,
// list, get metadata); retrying them is the core's decision, not a
// library's.

const (
	// MaxBatch is the most keys one DeleteObjects call takes. The JSON API
	// deletes one object a request; 100 is what ClearML's own worker deletes
	// at a time (and the JSON API's batch cap).
	MaxBatch = 100
	// maxDeletes is how many deletes one entry has in flight at once,
	// across all DeleteObjects calls (the core runs several concurrently):
	// at Cloud Storage's 20-40 ms a delete, about the thousand writes a
	// second a bucket takes before it must scale up and answers 429.
	maxDeletes = 32
	// listPageSize is the JSON API's largest page.
	listPageSize = 1000
	// storageScope lets the credentials read, list and delete objects.
	storageScope = "https://www.googleapis.com/auth/devstorage.read_write"
)

// defaultClient keeps an idle connection for every delete in flight (Go's
// default transport keeps two per host, so most parallel deletes would open
// a new TLS connection).
func defaultClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = maxDeletes
	return &http.Client{Transport: t, Timeout: 30 * time.Second}
}

// apiAccess reaches the JSON API for one entry. An http endpoint is an
// emulator (fake-gcs-server): requests go without credentials, as the Go
// client does under STORAGE_EMULATOR_HOST, and no token ever travels in
// clear text. Otherwise the entry's key file, or Application Default
// Credentials, authorize each request; they are found on first use, so the
// presign path never pays for them.
type apiAccess struct {
	base      string // e.g. https://storage.googleapis.com/storage/v1/
	client    *http.Client
	anonymous bool
	keyJSON   string
	pageSize  int           // listPageSize, smaller in tests
	deletes   chan struct{} // a slot per delete in flight, maxDeletes

	mu     sync.Mutex
	tokens oauth2.TokenSource // from WithTokenSource, or found on first use
}

// tokenSource finds the entry's credentials once. A failure is not
// remembered: a metadata server that was briefly unavailable must not break
// the entry for good.
func (a *apiAccess) tokenSource() (oauth2.TokenSource, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.tokens != nil {
		return a.tokens, nil
	}
	// Token refreshes outlive this request: they get their own context,
	// carrying the entry's HTTP client.
	bg := context.WithValue(context.Background(), oauth2.HTTPClient, a.client)
	var creds *google.Credentials
	var err error
	if a.keyJSON != "" {
		creds, err = google.CredentialsFromJSONWithType(bg, []byte(a.keyJSON), google.ServiceAccount, storageScope)
	} else {
		creds, err = google.FindDefaultCredentials(bg, storageScope)
	}
	if err != nil {
		// Unknown: retried and redelivered, then dead-lettered, never dropped.
		return nil, &store.Error{Code: store.Unknown, Err: fmt.Errorf("%w: %v", store.ErrCredentials, err)}
	}
	a.tokens = oauth2.ReuseTokenSource(nil, creds.TokenSource)
	return a.tokens, nil
}

// call sends one request and returns the body of a 2xx answer (the caller
// closes it) or a *store.Error. Errors never quote a URL, which names the
// object.
func (a *apiAccess) call(ctx context.Context, method, path string, query url.Values) (io.ReadCloser, error) {
	u := a.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, &store.Error{Code: store.InvalidArgument, Err: errors.New("the object name makes no valid request URL")}
	}
	if !a.anonymous {
		ts, err := a.tokenSource()
		if err != nil {
			return nil, err
		}
		tok, err := ts.Token()
		if err != nil {
			return nil, tokenError(err)
		}
		tok.SetAuthHeader(req)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		// Connection failures, timeouts, a cancelled or expired context
		// (Transient); a certificate not trusted (InvalidArgument), as on
		// S3 and Azure.
		code := store.TransportCode(err)
		if code == store.Unknown {
			code = store.Transient
		}
		return nil, &store.Error{Code: code, Err: err}
	}
	if resp.StatusCode/100 == 2 {
		return resp.Body, nil
	}
	defer resp.Body.Close()
	return nil, statusError(resp)
}

// tokenError classifies a failure to get an access token: refused by
// Google (a deleted key, a disabled account) or not reached.
func tokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode/100 == 4 {
		code := re.ErrorCode
		if code == "" { // the JWT flow leaves the answer unparsed
			var e struct {
				Error string `json:"error"`
			}
			_ = json.Unmarshal(re.Body, &e)
			code = e.Error
		}
		return &store.Error{Code: store.PermissionDenied, Err: fmt.Errorf("%w: the token endpoint refused the credentials: HTTP %d %s",
			store.ErrCredentials, re.Response.StatusCode, code)}
	}
	return &store.Error{Code: store.Transient, Err: fmt.Errorf("%w: getting an access token: %v", store.ErrCredentials, err)}
}

// statusError maps a JSON API error answer to a code. Its message may quote
// the object's name, so only the reason and, for 403, the missing
// permission are kept.
func statusError(resp *http.Response) *store.Error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e struct {
		Error struct {
			Message string `json:"message"`
			Errors  []struct {
				Reason string `json:"reason"`
			} `json:"errors"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	what := "HTTP " + strconv.Itoa(resp.StatusCode)
	if len(e.Error.Errors) > 0 && e.Error.Errors[0].Reason != "" {
		what += " " + e.Error.Errors[0].Reason
	}
	// "... Permission 'storage.objects.delete' denied on resource ..."
	if _, p, ok := strings.Cut(e.Error.Message, "Permission '"); ok {
		if p, _, ok := strings.Cut(p, "'"); ok {
			what += ": needs " + p
		}
	}
	st := resp.StatusCode
	switch {
	case st == http.StatusNotFound && strings.Contains(e.Error.Message, "bucket does not exist"):
		// Cloud Storage tells a missing bucket from a missing object only
		// in its message.
		return &store.Error{Code: store.InvalidArgument, Err: errors.New("the bucket does not exist (" + what + ")")}
	}
	return &store.Error{Code: store.StatusCode(st), Err: errors.New(what)}
}

// objectPath is the JSON API path of an object: both names escaped whole,
// '/' included, so a key's literal "%20" or '+' stays what ClearML wrote.
func objectPath(bucket, key string) string {
	var b strings.Builder
	b.Grow(len("b//o/") + 3*len(bucket) + 3*len(key))
	b.WriteString("b/")
	store.Escape(&b, bucket, false)
	b.WriteString("/o/")
	store.Escape(&b, key, false)
	return b.String()
}

func bucketObjectsPath(bucket string) string {
	var b strings.Builder
	b.WriteString("b/")
	store.Escape(&b, bucket, false)
	b.WriteString("/o")
	return b.String()
}

// BatchLimit is MaxBatch.
func (s *Store) BatchLimit() int { return MaxBatch }

// DeleteObjects deletes keys one request each, in parallel within the
// entry's maxDeletes, and returns one error per key, in order: nil when this
// call deleted the object, an *store.Error with Code NotFound when it was
// already absent (the core counts both as done, and the latter as "already
// absent").
func (s *Store) DeleteObjects(ctx context.Context, bucket string, keys []string) []error {
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	for i, key := range keys {
		select {
		case s.api.deletes <- struct{}{}:
		case <-ctx.Done():
			errs[i] = &store.Error{Code: store.Transient, Err: ctx.Err()}
			continue
		}
		wg.Go(func() {
			defer func() { <-s.api.deletes }()
			errs[i] = s.deleteObject(ctx, bucket, key)
		})
	}
	wg.Wait()
	return errs
}

func (s *Store) deleteObject(ctx context.Context, bucket, key string) error {
	if key == "" {
		return &store.Error{Code: store.InvalidArgument, Err: errors.New("an empty object name")}
	}
	body, err := s.api.call(ctx, http.MethodDelete, objectPath(bucket, key), nil)
	if err != nil {
		return err // NotFound for an object already gone
	}
	drain(body)
	return nil
}

// drain reads what is left of a small answer so its connection is reused.
func drain(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10))
	body.Close()
}

// object is the part of an object resource a listing needs.
type object struct {
	Name    string    `json:"name"`
	Size    int64     `json:"size,string"`
	Updated time.Time `json:"updated"`
}

func (o object) info() store.ObjectInfo {
	return store.ObjectInfo{Key: o.Name, Size: o.Size, Modified: o.Updated}
}

// List calls fn with each page of up to 1,000 objects under prefix, in
// name order; only the current page is held. A missing bucket is
// InvalidArgument.
func (s *Store) List(ctx context.Context, bucket, prefix string, fn func(page []store.ObjectInfo) error) error {
	q := url.Values{
		"prefix":     {prefix},
		"maxResults": {strconv.Itoa(s.api.pageSize)},
		// Only what the core reads: a full resource is about 1 KB an object.
		"fields": {"items(name,size,updated),nextPageToken"},
	}
	for {
		body, err := s.api.call(ctx, http.MethodGet, bucketObjectsPath(bucket), q)
		if store.Code(err) == store.NotFound {
			return &store.Error{Code: store.InvalidArgument, Err: fmt.Errorf("the bucket does not exist (%v)", errors.Unwrap(err))}
		}
		if err != nil {
			return err
		}
		var page struct {
			Items         []object `json:"items"`
			NextPageToken string   `json:"nextPageToken"`
		}
		err = json.NewDecoder(body).Decode(&page)
		drain(body)
		if err != nil {
			return &store.Error{Code: store.Transient, Err: fmt.Errorf("reading a listing page: %w", err)}
		}
		if len(page.Items) > 0 {
			infos := make([]store.ObjectInfo, len(page.Items))
			for i, o := range page.Items {
				infos[i] = o.info()
			}
			if err := fn(infos); err != nil {
				return err
			}
		}
		if page.NextPageToken == "" {
			return nil
		}
		q.Set("pageToken", page.NextPageToken)
	}
}

// Stat reads one object's size and update time; NotFound when it is absent.
func (s *Store) Stat(ctx context.Context, bucket, key string) (store.ObjectInfo, error) {
	if key == "" {
		return store.ObjectInfo{}, &store.Error{Code: store.InvalidArgument, Err: errors.New("an empty object name")}
	}
	body, err := s.api.call(ctx, http.MethodGet, objectPath(bucket, key), url.Values{"fields": {"name,size,updated"}})
	if err != nil {
		return store.ObjectInfo{}, err
	}
	var o object
	err = json.NewDecoder(body).Decode(&o)
	drain(body)
	if err != nil {
		return store.ObjectInfo{}, &store.Error{Code: store.Transient, Err: fmt.Errorf("reading object metadata: %w", err)}
	}
	return o.info(), nil
}
