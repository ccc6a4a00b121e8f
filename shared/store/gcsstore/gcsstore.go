// Package gcsstore signs V4 URLs (GOOG4-RSA-SHA256) for Google Cloud Storage,
// with a service account key file or, without one, through IAM signBlob as
// the Application Default Credentials' service account.
//
// It writes the V4 canonical request itself instead of calling
// storage.SignedURL: SignedURL takes the signing time from an unexported
// time.Now, while the presign handler signs at a given instant (the start of
// a signing window) so that every request in a window gets the same URL. The
// algorithm is Google's documented one
// (https://cloud.google.com/storage/docs/authentication/signatures), and the
// tests pin it with Google's own conformance vectors.
//
// For cleanup, a Store is also a store.Deleter (delete.go), through the JSON
// API with the same key file or ADC; the account then needs
// storage.objects.list and storage.objects.delete (roles/storage.objectUser
// or a custom role).
package gcsstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/storagegate/storagegate/shared/config"
	"github.com/storagegate/storagegate/shared/store"
)

// Endpoints used unless configured otherwise.
const (
	DefaultEndpoint    = "https://storage.googleapis.com"
	DefaultIAMEndpoint = "https://iamcredentials.googleapis.com"
)

const (
	algorithm = "GOOG4-RSA-SHA256"
	// Signed URLs are path-style and sign only the host header, with no
	// payload hash (what a browser's GET cannot send).
	scopeSuffix   = "/auto/storage/goog4_request"
	signedHeaders = "host"
	payload       = "UNSIGNED-PAYLOAD"
	v4Date        = "20060102T150405Z"
)

// Option adjusts a Store; the defaults suit Google Cloud.
type Option func(*options)

type options struct {
	iamEndpoint string
	tokens      oauth2.TokenSource
	email       string
	client      *http.Client
}

// WithIAMEndpoint sets the IAM Credentials API base URL (default
// DefaultIAMEndpoint), e.g. a test server that speaks signBlob.
func WithIAMEndpoint(u string) Option {
	return func(o *options) { o.iamEndpoint = strings.TrimSuffix(u, "/") }
}

// WithTokenSource sets the access tokens for IAM signBlob and the JSON API,
// instead of Application Default Credentials. An entry with a key file uses
// its key instead.
func WithTokenSource(ts oauth2.TokenSource) Option { return func(o *options) { o.tokens = ts } }

// WithServiceAccount names the service account that signs through IAM
// signBlob, instead of the one in the credentials or on the metadata server.
func WithServiceAccount(email string) Option { return func(o *options) { o.email = email } }

// WithHTTPClient sets the client for IAM signBlob, Probe and the JSON API
// (deletes, listings).
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.client = c } }

// Store signs for one google entry (the defaults, or one bucket), and
// deletes and lists its objects (delete.go).
type Store struct {
	signer   signer
	base     string // scheme://host[:port] of signed URLs
	hostname string // the canonical host header: Google's libraries sign the host without its port
	client   *http.Client

	api apiAccess // the JSON API, for cleanup
}

// Store signs (here) and deletes (delete.go) for shared/scope.
var _ store.Store = (*Store)(nil)

// Builder adapts New to credentials.Builders.GCS.
func Builder(g config.Google, b *config.GSBucket) (store.Store, error) {
	return New(g, b)
}

// New prepares a Store for the defaults (b nil) or one bucket entry, which
// signs with its own credentials_json or, without one, the defaults'. A
// key file is parsed here, once; a malformed one fails here. Without any
// key file the store signs with Application Default Credentials through IAM
// signBlob, found on first use. New reaches nothing.
func New(g config.Google, b *config.GSBucket, opts ...Option) (*Store, error) {
	o := options{iamEndpoint: DefaultIAMEndpoint, client: defaultClient()}
	for _, opt := range opts {
		opt(&o)
	}
	s := &Store{client: o.client}
	endpoint := g.Endpoint
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("endpoint %q is not an http(s) URL", endpoint)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		// A path would become part of every signed object path.
		return nil, fmt.Errorf("endpoint %q must be scheme://host[:port] only", endpoint)
	}
	s.base = u.Scheme + "://" + strings.ToLower(u.Host)
	s.hostname = strings.ToLower(u.Hostname())

	keyJSON := g.CredentialsJSON
	if b != nil && b.CredentialsJSON != "" {
		keyJSON = b.CredentialsJSON
	}
	if keyJSON != "" {
		k, err := parseKeyFile([]byte(keyJSON))
		if err != nil {
			return nil, err
		}
		s.signer = k
	} else {
		s.signer = &adcSigner{o: o}
	}
	s.api = apiAccess{
		base:      s.base + "/storage/v1/",
		client:    o.client,
		anonymous: u.Scheme == "http",
		keyJSON:   keyJSON,
		pageSize:  listPageSize,
		deletes:   make(chan struct{}, maxDeletes),
		tokens:    o.tokens,
	}
	return s, nil
}

// Endpoint is the base URL of signed URLs.
func (s *Store) Endpoint() string { return s.base }

// Sign signs one GET or HEAD at req.SignedAt (to the second) for
// req.Lifetime. req is validated (store.Store).
func (s *Store) Sign(ctx context.Context, req store.SignRequest) (store.Signed, error) {
	method := req.Method
	at := req.SignedAt.UTC().Truncate(time.Second)
	secs := int64(req.Lifetime / time.Second)
	email, err := s.signer.account(ctx)
	if err != nil {
		return store.Signed{}, fmt.Errorf("%w: %v", store.ErrCredentials, err)
	}

	var b strings.Builder
	b.Grow(len(req.Bucket) + 3*len(req.Key) + 2)
	b.WriteByte('/')
	store.Escape(&b, req.Bucket, true)
	b.WriteByte('/')
	store.Escape(&b, req.Key, true)
	path := b.String()

	// The canonical query string, sorted by name: the X-Goog-* parameters
	// (upper-case X) sort before response-content-disposition.
	b.Reset() // path keeps its bytes: Reset drops the buffer, never reuses it
	b.Grow(3*len(email) + 3*len(req.Disposition) + 200)
	date := at.Format(v4Date)
	scope := date[:8] + scopeSuffix
	b.WriteString("X-Goog-Algorithm=" + algorithm + "&X-Goog-Credential=")
	store.Escape(&b, email, false)
	b.WriteString("%2F")
	store.Escape(&b, scope, false)
	b.WriteString("&X-Goog-Date=" + date + "&X-Goog-Expires=" + strconv.FormatInt(secs, 10) + "&X-Goog-SignedHeaders=" + signedHeaders)
	if req.Disposition != "" {
		b.WriteString("&response-content-disposition=")
		store.Escape(&b, req.Disposition, false)
	}
	query := b.String()

	canonical := method + "\n" + path + "\n" + query + "\nhost:" + s.hostname + "\n\n" + signedHeaders + "\n" + payload
	sum := sha256.Sum256([]byte(canonical))
	toSign := algorithm + "\n" + date + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	sig, err := s.signer.signBlob(ctx, []byte(toSign))
	if err != nil {
		return store.Signed{}, fmt.Errorf("%w: signing as %s: %v", store.ErrCredentials, email, err)
	}
	return store.Signed{
		URL:       s.base + path + "?" + query + "&X-Goog-Signature=" + hex.EncodeToString(sig),
		ExpiresAt: at.Add(time.Duration(secs) * time.Second),
	}, nil
}

// probeObject is the object Probe asks for; it need not exist.
const probeObject = "storagegate-probe"

// Probe checks that the store can sign and, given a bucket, that a URL it
// signs reaches the bucket: a signed GET of an object that need not exist
// answers 404 NoSuchKey when key and permissions are right, and names the
// problem (a revoked key, a missing role, no such bucket) otherwise. It
// exercises exactly what presigning relies on, including signBlob.
func (s *Store) Probe(ctx context.Context, bucket string) error {
	if bucket == "" {
		_, err := s.signer.account(ctx)
		if err == nil {
			_, err = s.signer.signBlob(ctx, []byte("storagegate probe"))
		}
		if err != nil {
			return fmt.Errorf("credentials: %w", err)
		}
		return nil
	}
	signed, err := s.Sign(ctx, store.SignRequest{Bucket: bucket, Key: probeObject, Method: store.MethodGet, SignedAt: time.Now(), Lifetime: time.Minute})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, signed.URL, nil)
	if err != nil {
		return err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL: no signature in check-config's output
		}
		return fmt.Errorf("bucket %s: a signed GET failed: %w", bucket, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	code, msg := xmlError(body)
	switch {
	case resp.StatusCode == http.StatusOK:
		return nil
	case resp.StatusCode == http.StatusNotFound && code != "NoSuchBucket":
		return nil
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("bucket %s does not exist", bucket)
	case code == "":
		return fmt.Errorf("bucket %s: a signed GET answered HTTP %d", bucket, resp.StatusCode)
	default:
		return fmt.Errorf("bucket %s: a signed GET answered HTTP %d %s: %s", bucket, resp.StatusCode, code, msg)
	}
}

// xmlError reads the Code and Message of a GCS XML API error answer.
func xmlError(body []byte) (code, message string) {
	var e struct{ Code, Message string }
	_ = xml.Unmarshal(body, &e)
	return e.Code, e.Message
}
