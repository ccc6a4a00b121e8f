// Package azurestore signs read-only URLs for Azure Blob Storage: a service
// SAS for exactly one blob (sr=b, sp=r) with the account key, or, with no
// key, a user-delegation SAS through the function's managed identity.
//
// The blob service URL is https://<account>.blob.core.windows.net unless the
// entry's endpoint names another: Azurite (http://127.0.0.1:10000/devstoreaccount1),
// a sovereign cloud (https://<account>.blob.core.chinacloudapi.cn) or a
// private endpoint. A user-delegation SAS needs an https endpoint whose host
// starts with the account name, and an identity holding the Storage Blob
// Delegator role (for the key) and Storage Blob Data Reader (for the blobs).
//
// A SAS is not bound to an HTTP method: a read SAS answers GET (Get Blob) and
// HEAD (Get Blob Properties) alike, so a URL signed for GET also answers HEAD,
// unlike SigV4 and GCS V4. Both methods get the same URL.
//
// For cleanup, a Store is also a store.Deleter (delete.go): Blob Batch
// deletes, 256 blobs a call, with the same key or identity; the identity
// then needs Storage Blob Data Contributor.
package azurestore

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/storagegate/storagegate/shared/config"
	"github.com/storagegate/storagegate/shared/store"
)

// StartSkew is how far before the signing time a SAS starts. Azure refuses a
// SAS whose start is ahead of its own clock; Microsoft advises starting 15
// minutes early. The start is derived from the signing time alone, so every
// request in one signing window still gets the same URL, and nobody holds
// the URL before it is signed, so the earlier start grants nothing.
const StartSkew = 15 * time.Minute

// readOnly is the only permission ever signed: Get Blob and Get Blob
// Properties (GET and HEAD).
const readOnly = "r"

// Store signs for one configured account (and optionally one container).
type Store struct {
	account   string
	container string // "" when the entry covers every container of the account
	base      string // the endpoint with a trailing slash, e.g. https://acct.blob.core.windows.net/
	protocol  sas.Protocol

	key *sas.SharedKeyCredential // nil: user-delegation SAS through keys
	udk *delegationKeys

	svc *service.Client // for Probe and the delegation key

	// deleter is the client for cleanup (delete.go), built on first use.
	deleter  func() (*service.Client, error)
	pageSize int32 // List's page size; 0 is listPageSize (tests make it smaller)
}

// Option adjusts a Store.
type Option func(*options)

type options struct {
	cred      azcore.TokenCredential
	transport policy.Transporter
	now       func() time.Time
}

// WithTokenCredential sets the identity that obtains user delegation keys
// when the entry has no account key (default: azidentity's
// DefaultAzureCredential, which includes the managed identity). It is unused
// when the entry has a key.
func WithTokenCredential(c azcore.TokenCredential) Option {
	return func(o *options) { o.cred = c }
}

// WithTransport sends the Store's calls to the Blob service (delegation keys,
// Probe, cleanup) through t, e.g. an *http.Client. Signing itself reaches
// nothing.
func WithTransport(t policy.Transporter) Option {
	return func(o *options) { o.transport = t }
}

// WithClock sets the clock that ages cached delegation keys (tests).
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// Builder is New with default options, in the shape credentials.Builders
// wants.
func Builder(c config.AzureContainer) (store.Store, error) {
	s, err := New(c)
	if err != nil {
		return nil, err // not a nil *Store in a non-nil interface
	}
	return s, nil
}

// New prepares a Store; it reaches nothing. A bad account key or endpoint
// fails here, at start-up; messages never contain the key.
func New(c config.AzureContainer, opts ...Option) (*Store, error) {
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if c.AccountName == "" {
		return nil, errors.New("account_name is required")
	}
	base, secure, err := endpoint(c)
	if err != nil {
		return nil, err
	}
	s := &Store{account: c.AccountName, container: c.ContainerName, base: base, protocol: sas.ProtocolHTTPS}
	if !secure {
		// An http endpoint (Azurite) must be able to use what it signs.
		s.protocol = sas.ProtocolHTTPSandHTTP
	}
	copts := &service.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: o.transport}}

	if c.AccountKey != "" {
		// The SDK decodes the key once, here; its error would only say
		// "decode account key".
		if strings.TrimSpace(c.AccountKey) == "" {
			return nil, errors.New("account_key is blank")
		}
		if s.key, err = service.NewSharedKeyCredential(c.AccountName, c.AccountKey); err != nil {
			if ce := base64.CorruptInputError(0); errors.As(err, &ce) {
				return nil, fmt.Errorf("account_key is not valid base64 (bad data at byte %d): paste the key as the Azure portal shows it", int64(ce))
			}
			return nil, errors.New("account_key is not valid base64")
		}
		if s.svc, err = service.NewClientWithSharedKeyCredential(base, s.key, copts); err != nil {
			return nil, fmt.Errorf("endpoint: %w", err)
		}
		s.deleter = sync.OnceValues(func() (*service.Client, error) {
			return service.NewClientWithSharedKeyCredential(base, s.key, deleterOptions(o.transport))
		})
		return s, nil
	}

	// No key: a user-delegation SAS. Get User Delegation Key takes a bearer
	// token, which azcore sends over https only, and the SDK names the signing
	// account after the endpoint host's first label; check both now rather
	// than fail at the first request.
	if !secure {
		return nil, errors.New("endpoint: without account_key, a user-delegation SAS needs an https endpoint; give account_key for an http endpoint such as Azurite")
	}
	u, _ := url.Parse(base) // parsed by endpoint already
	if label, _, _ := strings.Cut(u.Hostname(), "."); label != c.AccountName {
		return nil, fmt.Errorf("endpoint: without account_key, the endpoint host must start with the account name (%s.), as the Azure SDK takes the signing account from it; give account_key for this endpoint", c.AccountName)
	}
	cred := o.cred
	if cred == nil {
		if cred, err = defaultCredential(); err != nil {
			return nil, fmt.Errorf("no account_key, and no managed identity or other Azure credential: %w", err)
		}
	}
	if s.svc, err = service.NewClient(base, cred, copts); err != nil {
		return nil, fmt.Errorf("endpoint: %w", err)
	}
	s.udk = newDelegationKeys(s.svc, o.now)
	s.deleter = sync.OnceValues(func() (*service.Client, error) {
		return service.NewClient(base, cred, deleterOptions(o.transport))
	})
	return s, nil
}

// defaultCredential is built once per process, so that every keyless entry
// shares one token cache.
var defaultCredential = sync.OnceValues(func() (azcore.TokenCredential, error) {
	return azidentity.NewDefaultAzureCredential(nil)
})

// endpoint returns the blob service URL with a trailing slash, and whether
// it is https: the configured one (Azurite, sovereign clouds, private
// endpoints), else the public cloud's.
func endpoint(c config.AzureContainer) (base string, secure bool, err error) {
	if c.Endpoint == "" {
		return "https://" + c.AccountName + ".blob.core.windows.net/", true, nil
	}
	u, err := url.Parse(c.Endpoint)
	if err != nil {
		return "", false, fmt.Errorf("endpoint is not a URL: %v", err)
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme != "http" && scheme != "https":
		return "", false, fmt.Errorf("endpoint must be an http or https URL (got scheme %q)", u.Scheme)
	case u.Host == "":
		return "", false, errors.New("endpoint has no host")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return "", false, errors.New("endpoint must be scheme://host[:port][/path], without user information, query or fragment")
	}
	return scheme + "://" + strings.ToLower(u.Host) + strings.TrimSuffix(u.EscapedPath(), "/") + "/", scheme == "https", nil
}

// Store signs (here) and deletes (delete.go) for shared/scope.
var _ store.Store = (*Store)(nil)

// Sign returns a read SAS URL for req.Key in req.Bucket (the container),
// valid from StartSkew before req.SignedAt until req.SignedAt plus
// req.Lifetime, shortened for a user-delegation SAS to the delegation key's
// expiry. GET and HEAD get the same URL. req is validated (store.Store).
func (s *Store) Sign(ctx context.Context, req store.SignRequest) (store.Signed, error) {
	// SAS times have whole seconds: truncating keeps ExpiresAt honest.
	signedAt := req.SignedAt.UTC().Truncate(time.Second)
	start := signedAt.Add(-StartSkew)
	expiry := signedAt.Add(req.Lifetime).Truncate(time.Second)

	v := sas.BlobSignatureValues{
		Protocol:           s.protocol,
		Permissions:        readOnly,
		ContainerName:      req.Bucket,
		BlobName:           req.Key, // the canonical resource takes the name unescaped
		ContentDisposition: req.Disposition,
	}
	var qp sas.QueryParameters
	var err error
	if s.key != nil {
		v.StartTime, v.ExpiryTime = start, expiry
		qp, err = v.SignWithSharedKey(s.key)
	} else {
		k, kerr := s.udk.get(ctx)
		if kerr != nil {
			return store.Signed{}, kerr
		}
		// A user-delegation SAS dies with its key, and Azure may refuse one
		// that starts before the key does.
		start, expiry = later(start, k.start), earlier(expiry, k.expiry)
		if expiry.Sub(signedAt) < time.Second {
			return store.Signed{}, fmt.Errorf("%w: the delegation key expires at %s", store.ErrCredentials, k.expiry.Format(time.RFC3339))
		}
		v.StartTime, v.ExpiryTime = start, expiry
		qp, err = v.SignWithUserDelegation(k.cred)
	}
	if err != nil {
		return store.Signed{}, fmt.Errorf("signing: %w", err)
	}

	q := qp.Encode()
	var b strings.Builder
	b.Grow(len(s.base) + len(req.Bucket) + 3*len(req.Key) + len(q) + 8)
	b.WriteString(s.base)
	store.Escape(&b, req.Bucket, true)
	b.WriteByte('/')
	store.Escape(&b, req.Key, true)
	b.WriteByte('?')
	// url.Values writes a space as '+' (a literal '+' is already %2B);
	// %20 means a space to every server, '+' only to form decoders.
	writeSpacesAsPercent20(&b, q)
	return store.Signed{URL: b.String(), ExpiresAt: expiry}, nil
}

func later(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}

func earlier(a, b time.Time) time.Time {
	if a.After(b) {
		return b
	}
	return a
}

func writeSpacesAsPercent20(b *strings.Builder, q string) {
	for {
		i := strings.IndexByte(q, '+')
		if i < 0 {
			b.WriteString(q)
			return
		}
		b.WriteString(q[:i])
		b.WriteString("%20")
		q = q[i+1:]
	}
}

// Probe checks that the credentials reach the account and, given a
// container, that container (Get Container Properties). Without a key it
// first obtains a delegation key, which is what signing needs.
func (s *Store) Probe(ctx context.Context, container string) error {
	if s.udk != nil {
		if _, err := s.udk.get(ctx); err != nil {
			return err
		}
	}
	if container == "" {
		if s.udk != nil {
			return nil // the delegation key proved the identity and the account
		}
		pager := s.svc.NewListContainersPager(&service.ListContainersOptions{MaxResults: new(int32(1))})
		if _, err := pager.NextPage(ctx); err != nil {
			return fmt.Errorf("account %s: %s", s.account, describe(err))
		}
		return nil
	}
	if _, err := s.svc.NewContainerClient(container).GetProperties(ctx, nil); err != nil {
		return fmt.Errorf("container %s: %s", container, describe(err))
	}
	return nil
}

// describe shortens the SDK's multi-line response errors to one line for
// `check-config --probe`.
func describe(err error) string {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		if re.ErrorCode != "" {
			return fmt.Sprintf("HTTP %d %s", re.StatusCode, re.ErrorCode)
		}
		return fmt.Sprintf("HTTP %d", re.StatusCode)
	}
	return err.Error()
}
