// Package s3store signs URLs for S3 and S3-compatible stores (MinIO, Ceph,
// R2, ...) with SigV4 query presigning.
//
// It calls the SDK's v4 signer directly instead of the s3 presign client: the
// presign client rebuilds a whole middleware stack per URL (tens of
// allocations and an endpoint resolution), while the endpoint of a configured
// entry is fixed at start-up. The signature is the SDK's own.
package s3store

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/storagegate/storagegate/shared/store"
)

// DefaultRegion is used for AWS with no region, and for every S3-compatible
// host with no region.
const DefaultRegion = "us-east-1"

// SessionCap bounds a URL signed with a session token whose expiry is not
// known: the URL dies with the session, and a role's session lives about an
// hour.
const SessionCap = time.Hour

// unsignedPayload is what S3 presigned URLs sign as the payload hash.
const unsignedPayload = "UNSIGNED-PAYLOAD"

// Params are one resolved credential entry.
type Params struct {
	// Host is an S3-compatible host[:port]; empty means AWS.
	Host string
	// PublicHost, when set, is the host written into signed URLs.
	PublicHost string
	// Secure selects https (the default) or http for Host.
	Secure bool
	Region string
	// Static credentials; Token makes them session credentials.
	Key, Secret, Token string
	// UseChain takes credentials from the SDK's default chain.
	UseChain bool
	// Chain overrides the default chain (tests).
	Chain aws.CredentialsProvider
	// SkipVerify turns TLS certificate checks off for Host (the entry's
	// `verify: false`, for self-signed MinIO); signing is unaffected.
	SkipVerify bool
	// HTTPClient, when set, carries the API calls (tests count requests
	// with it); nil builds a transport that honours SkipVerify.
	HTTPClient *http.Client
}

// Store signs for one entry.
type Store struct {
	p      Params
	creds  aws.CredentialsProvider
	signer *v4.Signer
	scheme string
	host   string // signing host for path-style; "" for AWS
	region string
	suffix string // AWS: the endpoint's DNS suffix
	// client is the API client for deletes, listings and probes, built on
	// first use: a presign-only process never pays for it, and every later
	// call shares its connection pool.
	client func() *s3.Client
}

// New prepares a Store; it reaches nothing.
func New(p Params) (*Store, error) {
	s := &Store{p: p, region: p.Region, signer: v4.NewSigner(func(o *v4.SignerOptions) {
		// S3 does not double-escape the path: the path given is the one signed.
		o.DisableURIPathEscaping = true
	})}
	if s.region == "" {
		s.region = DefaultRegion
	}
	s.client = sync.OnceValue(s.newClient)
	switch {
	case p.UseChain && p.Chain != nil:
		s.creds = p.Chain
	case p.UseChain:
		c, err := defaultChain()
		if err != nil {
			return nil, fmt.Errorf("loading the AWS default credential chain: %w", err)
		}
		s.creds = c
	case p.Key != "":
		s.creds = credentials.NewStaticCredentialsProvider(p.Key, p.Secret, p.Token)
	default:
		return nil, fmt.Errorf("no credentials: give key and secret, or use_credentials_chain")
	}
	if p.Host != "" {
		s.scheme = "https"
		if !p.Secure {
			s.scheme = "http"
		}
		s.host = strings.ToLower(p.Host)
		if p.PublicHost != "" {
			s.host = strings.ToLower(p.PublicHost)
		}
		// ClearML URLs always carry a port (s3://host:443/...), but clients
		// send the Host header without the scheme's default port, and the
		// signature covers that header.
		s.host = strings.TrimSuffix(s.host, map[string]string{"https": ":443", "http": ":80"}[s.scheme])
	} else {
		s.scheme = "https"
		s.suffix = "amazonaws.com"
		if strings.HasPrefix(s.region, "cn-") {
			s.suffix = "amazonaws.com.cn"
		}
	}
	return s, nil
}

// Region is the region the store signs for.
func (s *Store) Region() string { return s.region }

// Endpoint is the base URL of the store's API (for clients that reach it).
func (s *Store) Endpoint() string {
	if s.p.Host == "" {
		return "https://s3." + s.region + "." + s.suffix
	}
	return s.scheme + "://" + strings.ToLower(s.p.Host)
}

// Credentials are the entry's credentials provider.
func (s *Store) Credentials() aws.CredentialsProvider { return s.creds }

// Store signs (here) and deletes (delete.go) for shared/scope.
var _ store.Store = (*Store)(nil)

// Sign presigns one GET or HEAD for req.Lifetime from req.SignedAt, shortened
// to what the credentials allow. req is validated (store.Store).
func (s *Store) Sign(ctx context.Context, req store.SignRequest) (store.Signed, error) {
	creds, err := s.creds.Retrieve(ctx)
	if err != nil {
		return store.Signed{}, fmt.Errorf("%w: %v", store.ErrCredentials, err)
	}
	expires := req.SignedAt.Add(req.Lifetime)
	switch {
	case creds.CanExpire:
		if creds.Expires.Before(expires) {
			expires = creds.Expires
		}
	case creds.SessionToken != "":
		if cap := req.SignedAt.Add(SessionCap); cap.Before(expires) {
			expires = cap
		}
	}
	secs := int64(expires.Sub(req.SignedAt) / time.Second)
	if secs < 1 {
		return store.Signed{}, fmt.Errorf("%w: the credentials expire at %s", store.ErrCredentials, creds.Expires.UTC().Format(time.RFC3339))
	}

	var b strings.Builder
	b.Grow(len(req.Key)*3 + 96)
	host := s.host
	if s.p.Host == "" {
		if virtualHostable(req.Bucket) {
			host = req.Bucket + ".s3." + s.region + "." + s.suffix
		} else {
			host = "s3." + s.region + "." + s.suffix
			b.WriteByte('/')
			store.Escape(&b, req.Bucket, true)
		}
	} else {
		b.WriteByte('/')
		store.Escape(&b, req.Bucket, true)
	}
	b.WriteByte('/')
	store.Escape(&b, req.Key, true)
	rawPath := b.String()

	q := make(url.Values, 2)
	q.Set("X-Amz-Expires", strconv.FormatInt(secs, 10))
	if req.Disposition != "" {
		q.Set("response-content-disposition", req.Disposition)
	}
	hr := &http.Request{
		Method: req.Method,
		URL:    &url.URL{Scheme: s.scheme, Host: host, Opaque: "//" + host + rawPath, RawQuery: q.Encode()},
		Host:   host,
		Header: http.Header{},
	}
	signed, _, err := s.signer.PresignHTTP(ctx, creds, hr, unsignedPayload, "s3", s.region, req.SignedAt)
	if err != nil {
		return store.Signed{}, fmt.Errorf("signing: %w", err)
	}
	return store.Signed{URL: signed, ExpiresAt: req.SignedAt.Add(time.Duration(secs) * time.Second)}, nil
}

// virtualHostable reports whether bucket can be a DNS label under the AWS
// endpoint over TLS: dotted names break the wildcard certificate, so they go
// path-style.
func virtualHostable(bucket string) bool {
	if len(bucket) < 3 || len(bucket) > 63 {
		return false
	}
	for i := 0; i < len(bucket); i++ {
		c := bucket[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return bucket[0] != '-' && bucket[len(bucket)-1] != '-'
}

// defaultChain loads the SDK's default chain once per process: loading it
// reads config files (and, on these machines, a whole CA bundle), which must
// not happen per request.
var defaultChain = sync.OnceValues(func() (aws.CredentialsProvider, error) {
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		return nil, err
	}
	return cfg.Credentials, nil
})

// Probe checks that the credentials work and, given a bucket, that they reach
// it (HeadBucket on the entry's own endpoint, not its public host, with the
// entry's TLS settings).
func (s *Store) Probe(ctx context.Context, bucket string) error {
	if _, err := s.creds.Retrieve(ctx); err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	if bucket == "" {
		return nil
	}
	if _, err := s.client().HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err != nil {
		return fmt.Errorf("bucket %s: %w", bucket, err)
	}
	return nil
}
