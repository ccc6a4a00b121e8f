package s3store

import (
	"crypto/tls"
	"errors"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/storagegate/storagegate/shared/store"
)

// The SDK's own retries serve the calls outside the deletion pipeline
// (check-config --probe's HeadBucket): three quick attempts absorb a single
// dropped connection or 503. The deletion calls turn them off (oneAttempt in
// delete.go): shared/cleanup is their one retry policy.
const (
	sdkAttempts    = 3
	sdkBaseBackoff = 100 * time.Millisecond
	sdkMaxBackoff  = time.Second
)

// sdkBackoff is full jitter, up to 100 ms x 2^attempt and at most 1 s. (The
// SDK's legacy backoff with a 1 s cap waits exactly 1 s every time, so
// workers that failed together would retry together.)
func sdkBackoff(attempt int, _ error) (time.Duration, error) {
	step := min(sdkBaseBackoff<<min(attempt, 10), sdkMaxBackoff)
	return rand.N(step), nil
}

// newClient builds the entry's API client once: it talks to the entry's own
// host (never public_host, which is only for browsers), path-style for every
// S3-compatible host, over the entry's scheme and TLS settings, with the
// entry's credentials. It never calls config.LoadDefaultConfig, which reads
// the environment (and a whole CA bundle) each time.
func (s *Store) newClient() *s3.Client {
	o := s3.Options{
		Region:      s.region,
		Credentials: s.creds,
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = sdkAttempts
			o.MaxBackoff = sdkMaxBackoff
			o.Backoff = retry.BackoffDelayerFunc(sdkBackoff)
			// The client-side retry quota would turn a burst of failures
			// across 16 workers into "retry quota exceeded" errors of its
			// own; the core bounds retries by attempts and deadline instead.
			o.RateLimiter = ratelimit.None
		}),
	}
	if s.p.HTTPClient != nil {
		o.HTTPClient = s.p.HTTPClient
	} else {
		o.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
			// The SDK's default keeps 10 idle connections per host, fewer
			// than cleanup.concurrency's default of 16 workers.
			t.MaxIdleConnsPerHost = 64
			if s.p.SkipVerify {
				if t.TLSClientConfig == nil {
					t.TLSClientConfig = &tls.Config{}
				}
				t.TLSClientConfig.InsecureSkipVerify = true // the entry says verify: false
			}
		})
	}
	if s.p.Host != "" {
		o.BaseEndpoint = aws.String(s.Endpoint())
		// S3-compatible hosts rarely have wildcard DNS for buckets.
		o.UsePathStyle = true
	}
	// For AWS the SDK's endpoint rules pick the regional endpoint and fall
	// back to path-style for bucket names that cannot be a TLS host label.
	return s3.New(o)
}

// codes maps S3 error codes (whole-call and per-key) to store codes. A code
// not listed falls back to its HTTP status, then to Unknown (retried).
var codes = map[string]store.ErrorCode{
	// Gone already: success for a delete.
	"NoSuchKey":     store.NotFound,
	"NotFound":      store.NotFound,
	"NoSuchVersion": store.NotFound,

	// Never going to work as configured.
	"NoSuchBucket":                 store.InvalidArgument,
	"InvalidBucketName":            store.InvalidArgument,
	"InvalidArgument":              store.InvalidArgument,
	"InvalidRequest":               store.InvalidArgument,
	"KeyTooLongError":              store.InvalidArgument,
	"MalformedXML":                 store.InvalidArgument,
	"MethodNotAllowed":             store.InvalidArgument,
	"NotImplemented":               store.InvalidArgument,
	"PermanentRedirect":            store.InvalidArgument, // the bucket lives in another region
	"AuthorizationHeaderMalformed": store.InvalidArgument, // the entry's region is wrong

	// The credentials may not do this.
	"AccessDenied":          store.PermissionDenied,
	"Forbidden":             store.PermissionDenied, // HEAD answers carry no code
	"AllAccessDisabled":     store.PermissionDenied,
	"AccountProblem":        store.PermissionDenied,
	"InvalidAccessKeyId":    store.PermissionDenied,
	"SignatureDoesNotMatch": store.PermissionDenied,
	"InvalidSecurity":       store.PermissionDenied,
	"InvalidToken":          store.PermissionDenied,
	"ExpiredToken":          store.PermissionDenied, // static session keys; a chain refreshes itself

	// Worth another try.
	"SlowDown":                   store.Transient,
	"Throttling":                 store.Transient,
	"ThrottlingException":        store.Transient,
	"RequestThrottled":           store.Transient,
	"TooManyRequests":            store.Transient,
	"RequestTimeout":             store.Transient,
	"RequestTimeTooSkewed":       store.Transient, // the SDK corrects its clock offset
	"InternalError":              store.Transient,
	"ServiceUnavailable":         store.Transient,
	"OperationAborted":           store.Transient,
	"XMinioServerNotInitialized": store.Transient,
}

// codeFor classifies an S3 error code string (a per-key DeleteObjects error).
func codeFor(code string) store.ErrorCode {
	if c, ok := codes[code]; ok {
		return c
	}
	return store.Unknown
}

// classify maps an SDK error to a store code, going from the most specific
// evidence (the S3 error code) to the least (the HTTP status, then the kind
// of network failure).
func classify(err error) store.ErrorCode {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if c, ok := codes[ae.ErrorCode()]; ok {
			return c
		}
	}
	// Both smithy's and the AWS SDK's response errors carry the status.
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		st := re.HTTPStatusCode()
		if st >= 300 && st < 400 {
			// A redirect the SDK did not follow: another region or
			// endpoint, which retrying cannot change.
			return store.InvalidArgument
		}
		if c := store.StatusCode(st); c != store.Unknown {
			return c
		}
	}
	return store.TransportCode(err)
}

// wrap attaches err's code.
func wrap(err error) error {
	if err == nil {
		return nil
	}
	return &store.Error{Code: classify(err), Err: err}
}
