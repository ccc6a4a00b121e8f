// Package store is the small interface every object store implements
// (S3, GCS, Azure Blob), in the spirit of go-cloud's blob/driver: each driver
// only talks to its provider; option checks, HTTP answers and retry decisions
// live once, above the drivers.
package store

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Methods a URL is signed for.
const (
	MethodGet  = "GET"
	MethodHead = "HEAD"
)

// MaxLifetime is the longest any provider accepts (SigV4, GCS V4: 7 days).
const MaxLifetime = 7 * 24 * time.Hour

// SignRequest asks for one object's signed URL.
type SignRequest struct {
	Bucket string
	Key    string // literal, never decoded
	Method string // MethodGet or MethodHead
	// SignedAt is the signing time (the start of a signing window for stable
	// URLs); Lifetime counts from it.
	SignedAt time.Time
	Lifetime time.Duration
	// Disposition, when not empty, is the Content-Disposition the store is
	// asked to answer with (response-content-disposition and its kin).
	Disposition string
}

// Signed is a signed URL and the moment it stops working.
type Signed struct {
	URL       string
	ExpiresAt time.Time
}

// Signer signs URLs for one configured credential entry. A Signer never
// widens a request: it shortens the lifetime to what its credentials allow
// (the provider's limit is applied above it, in shared/scope), and reports
// the result in ExpiresAt.
type Signer interface {
	Sign(ctx context.Context, req SignRequest) (Signed, error)
}

// Store is one configured entry's driver: it signs and it deletes. Drivers
// are given only requests that shared/scope has validated: a Bucket and Key
// the entry serves, a Method of GET or HEAD, a Lifetime of at least a second
// and at most MaxLifetime.
type Store interface {
	Signer
	Deleter
}

// ErrCredentials wraps a failure to obtain signing credentials (a credential
// chain or metadata service that does not answer).
var ErrCredentials = errors.New("storage credentials unavailable")

// ObjectInfo is one listed or inspected object.
type ObjectInfo struct {
	Key      string
	Size     int64
	Modified time.Time
}

// Deleter deletes and lists the objects of one configured entry. Drivers
// only talk to their provider and map its errors to an ErrorCode; what is
// retried, what counts as done ("already gone" is success) and what is
// reported is decided once, in shared/cleanup.
type Deleter interface {
	// BatchLimit is the most keys one DeleteObjects call takes (S3 1,000,
	// Azure Blob Batch 256, GCS: the parallelism used).
	BatchLimit() int
	// DeleteObjects deletes up to BatchLimit keys of bucket and returns one
	// error per key, in order: nil when deleted; an *Error with Code
	// NotFound when the key was already absent (done too), where the
	// provider says so (S3's DeleteObjects mostly cannot, and answers nil).
	// A driver passes every per-key error on, classified: what counts as
	// done is the core's to decide.
	DeleteObjects(ctx context.Context, bucket string, keys []string) []error
	// List calls fn with each page of the objects whose keys start with
	// prefix, in the provider's order, one page in memory at a time; an
	// error from fn stops the listing and is returned.
	List(ctx context.Context, bucket, prefix string, fn func(page []ObjectInfo) error) error
	// Stat returns one object's info, or an *Error with Code NotFound.
	Stat(ctx context.Context, bucket, key string) (ObjectInfo, error)
}

// ErrorCode classifies a driver's failure, as go-cloud's gcerrors do.
type ErrorCode int

// The codes the core acts on.
const (
	// Unknown failures are treated as transient: retried, then redelivered.
	Unknown ErrorCode = iota
	// NotFound: the object (or, for a listing, nothing) is there.
	NotFound
	// PermissionDenied: the credentials may not do this; permanent.
	PermissionDenied
	// InvalidArgument: the request can never succeed (no such bucket, a bad
	// name); permanent.
	InvalidArgument
	// Transient: throttling, 5xx, timeouts, connection failures.
	Transient
)

func (c ErrorCode) String() string {
	return [...]string{"unknown", "not_found", "permission_denied", "invalid_argument", "transient"}[c]
}

// Error is a driver failure with its code.
type Error struct {
	Code ErrorCode
	Err  error
}

// Error is "<code>: <reason>", the code said once however often a driver
// wrapped an *Error in another.
func (e *Error) Error() string { return e.Code.String() + ": " + Reason(e.Err) }

// Reason is err's message without the "<code>: " prefixes of the *Errors it
// wraps: what to show next to a code that is already given.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	for again := true; again; {
		again = false
		for c := Unknown; c <= Transient; c++ {
			if p := c.String() + ": "; strings.HasPrefix(msg, p) {
				msg, again = msg[len(p):], true
			}
		}
	}
	return msg
}
func (e *Error) Unwrap() error { return e.Err }

// Code returns err's ErrorCode (Unknown when err carries none).
func Code(err error) ErrorCode {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Unknown
}

// Permanent reports whether retrying err can never help.
func Permanent(err error) bool {
	c := Code(err)
	return c == PermissionDenied || c == InvalidArgument
}

// Escape writes s to b with every byte but the unreserved set
// (A-Z a-z 0-9 - . _ ~), and '/' when keepSlash, as %XX: SigV4's and GCS V4's
// URI encoding, and what Azure decodes once. A key's literal '%' (%25), '+'
// (%2B), space (%20) or UTF-8 byte reaches the store as exactly the name
// ClearML wrote.
func Escape(b *strings.Builder, s string, keepSlash bool) {
	const upperhex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' || c == '/' && keepSlash {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperhex[c>>4])
		b.WriteByte(upperhex[c&15])
	}
}
