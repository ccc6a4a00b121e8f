// Package store is the small interface every object store implements
// (S3, GCS, Azure Blob), in the spirit of go-cloud's blob/driver: each driver
// only talks to its provider; option checks, HTTP answers and retry decisions
// live once, above the drivers.
package store

import (
	"context"
	"errors"
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
// widens a request: it shortens the lifetime to what its credentials and the
// provider allow, and reports the result in ExpiresAt.
type Signer interface {
	Sign(ctx context.Context, req SignRequest) (Signed, error)
}

// ErrCredentials wraps a failure to obtain signing credentials (a credential
// chain or metadata service that does not answer).
var ErrCredentials = errors.New("storage credentials unavailable")
