// Package scope is the portable layer above the store drivers, as go-cloud's
// blob is above blob/driver: what this service may act on is decided here,
// once, for presign and cleanup alike. It takes a parsed storage URL, checks
// it against a section's match_sets, resolves the configured entry that
// serves it (docs/configuration.md#scope), and hands that entry's driver only
// validated requests: a signing request with a GET or HEAD and a lifetime
// capped to the provider's limit, or a delete and list in the URL's bucket.
//
// What stays out: the caller's own policy (roles, companies: presign checks
// it before scoping, cleanup has no caller), each section's further guards
// (cleanup's prefix depth), and the credential's own limit on a lifetime (a
// session token, a delegation key), which only its driver knows.
package scope

import (
	"context"
	"errors"
	"time"

	"github.com/storagegate/storagegate/shared/config"
	"github.com/storagegate/storagegate/shared/credentials"
	"github.com/storagegate/storagegate/shared/matchset"
	"github.com/storagegate/storagegate/shared/storageurl"
	"github.com/storagegate/storagegate/shared/store"
)

// Resolver finds the configured entry that serves a URL
// (*credentials.Resolver; tests swap its stores).
type Resolver interface {
	Resolve(u storageurl.URL, withDefaults bool) (credentials.Target, error)
}

// Rules are one section's match_sets (presign's or cleanup's), compiled.
type Rules struct {
	section string
	sets    matchset.Sets
}

// Compile compiles section's match_sets; section ("presign", "cleanup")
// names them in refusals.
func Compile(section string, sets []config.MatchSet) (Rules, error) {
	s, err := matchset.Compile(sets)
	if err != nil {
		return Rules{}, err
	}
	return Rules{section: section, sets: s}, nil
}

// Error is a URL out of scope: its code, as the HTTP answer and the deletion
// summary give it, and a reason that names the bucket, never a secret.
type Error struct {
	Code   string // CodeNoMatchingRule or CodeNotConfigured
	Reason string
}

// The codes of Error.
const (
	CodeNoMatchingRule = "no_matching_rule"
	CodeNotConfigured  = "not_configured"
)

func (e *Error) Error() string { return e.Reason }

// Object is a URL in scope: the configured entry that serves it, whose
// store signs and deletes.
type Object struct {
	URL storageurl.URL
	// Entry names the config entry, e.g. "storage.aws.buckets[1]", for logs.
	Entry string
	store store.Store
}

// Resolve scopes u: with match_sets, a rule must match u (with the
// request's field and object type, where it has them) and the provider's
// default credentials may serve it; without, an entry must name u's bucket.
func (r Rules) Resolve(res Resolver, u storageurl.URL, field, objType string) (Object, *Error) {
	if !r.sets.Empty() && !r.sets.Match(u.String(), field, objType) {
		return Object{}, &Error{Code: CodeNoMatchingRule, Reason: "no " + r.section + ".match_sets rule matches this URL"}
	}
	t, err := res.Resolve(u, !r.sets.Empty())
	if err != nil {
		return Object{}, &Error{Code: CodeNotConfigured, Reason: "no storage credentials are configured for " + u.BucketURL()}
	}
	return Object{URL: u, Entry: t.Entry, store: t.Store}, nil
}

// SignRequest is what a signing asks for beyond the object.
type SignRequest struct {
	Method      string // store.MethodGet or store.MethodHead
	SignedAt    time.Time
	Lifetime    time.Duration // at least a second; capped to store.MaxLifetime
	Disposition string        // the Content-Disposition to answer with, or ""
}

// ErrRequest is a signing request that no driver is given: no object, a
// method other than GET and HEAD, no signing time, or a lifetime under a
// second.
var ErrRequest = errors.New("invalid signing request")

// Sign signs the object for req. The lifetime is capped to the provider's
// limit here, and the driver shortens it further to what its credentials
// have left; Signed.ExpiresAt is the result.
func (o Object) Sign(ctx context.Context, req SignRequest) (store.Signed, error) {
	switch {
	case o.URL.Bucket == "" || o.URL.Key == "":
		return store.Signed{}, errors.Join(ErrRequest, errors.New("a bucket and an object are required"))
	case req.Method != store.MethodGet && req.Method != store.MethodHead:
		return store.Signed{}, errors.Join(ErrRequest, errors.New("the method must be GET or HEAD"))
	case req.SignedAt.IsZero():
		return store.Signed{}, errors.Join(ErrRequest, errors.New("no signing time"))
	case req.Lifetime < time.Second:
		return store.Signed{}, errors.Join(ErrRequest, errors.New("the lifetime is under a second"))
	}
	return o.store.Sign(ctx, store.SignRequest{
		Bucket: o.URL.Bucket, Key: o.URL.Key, Method: req.Method,
		SignedAt: req.SignedAt, Lifetime: min(req.Lifetime, store.MaxLifetime), Disposition: req.Disposition,
	})
}

// Bucket is the object's bucket on its entry's store: what cleanup deletes,
// lists and inspects, and nothing else. A driver is never handed another
// bucket through it.
func (o Object) Bucket() Bucket { return Bucket{name: o.URL.Bucket, d: o.store} }

// Bucket deletes, lists and inspects objects in one scoped bucket.
type Bucket struct {
	name string
	d    store.Deleter
}

// BatchLimit is the most keys one DeleteObjects call takes.
func (b Bucket) BatchLimit() int { return b.d.BatchLimit() }

// DeleteObjects deletes keys of the bucket: one result per key, in order
// (store.Deleter.DeleteObjects).
func (b Bucket) DeleteObjects(ctx context.Context, keys []string) []error {
	return b.d.DeleteObjects(ctx, b.name, keys)
}

// List calls fn with each page of the bucket's objects under prefix.
func (b Bucket) List(ctx context.Context, prefix string, fn func(page []store.ObjectInfo) error) error {
	return b.d.List(ctx, b.name, prefix, fn)
}

// Stat returns one object's info, or an error with code store.NotFound.
func (b Bucket) Stat(ctx context.Context, key string) (store.ObjectInfo, error) {
	return b.d.Stat(ctx, b.name, key)
}
