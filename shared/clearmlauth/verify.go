package clearmlauth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"

	"github.com/storagegate/storagegate/shared/config"
)

const (
	// cacheSize bounds the verified-caller cache: enough for every active
	// user of a large ClearML install, small enough (~2 MB) for a function.
	cacheSize = 10_000
	// defaultNegativeTTL is how long a refusal is remembered: long enough
	// to absorb a page of broken thumbnails, short enough that a user who
	// just signed in again is not kept out.
	defaultNegativeTTL = 5 * time.Second
	// refusalCacheSize bounds the cache of ClearML's refusals, kept apart
	// from the verified callers so that a flood of junk credentials cannot
	// evict them.
	refusalCacheSize = 4096
	// maxUpstream bounds the ClearML calls in flight at once; past it a
	// caller is answered "unavailable" at once rather than queued, so a
	// flood cannot pile up on the ClearML server nor in this process.
	maxUpstream = 32
	// defaultTimeout applies when the config leaves clearml.timeout zero
	// (a hand-built config; the loader defaults it to 5s as well).
	defaultTimeout = 5 * time.Second
)

// Verifier checks callers' credentials. It is safe for concurrent use; build
// one per process and share it, since the cache lives in it.
type Verifier struct {
	mode    string
	base    string // api_server without trailing slash; may be empty in jwt mode
	service string // "Basic ..." for auth.validate_token
	secret  []byte // jwt mode
	timeout time.Duration
	ttl     time.Duration
	negTTL  time.Duration
	client  *http.Client
	now     func() time.Time

	cache    *lru.Cache[[32]byte, entry] // verified callers
	refusals *lru.Cache[[32]byte, entry] // ClearML's refusals, for negTTL
	flight   singleflight.Group
	// upstream holds a token per ClearML call in flight (maxUpstream).
	upstream chan struct{}
}

// entry is a remembered answer: an identity, or a refusal.
type entry struct {
	id    Identity
	err   error
	until time.Time
}

// Option adjusts a Verifier.
type Option func(*Verifier)

// WithHTTPClient sets the client for ClearML calls. The default client does
// not follow redirects, so a caller's credential is never sent elsewhere.
func WithHTTPClient(c *http.Client) Option { return func(v *Verifier) { v.client = c } }

// WithClock sets the clock for cache lifetimes and token expiry (tests).
func WithClock(now func() time.Time) Option { return func(v *Verifier) { v.now = now } }

// WithMaxUpstream sets how many ClearML calls may be in flight at once
// (default 32).
func WithMaxUpstream(n int) Option {
	return func(v *Verifier) { v.upstream = make(chan struct{}, max(n, 1)) }
}

// WithNegativeTTL sets how long a refusal is cached (default 5s; never
// longer than clearml.cache_ttl).
func WithNegativeTTL(d time.Duration) Option { return func(v *Verifier) { v.negTTL = d } }

// New builds a Verifier for cfg. An empty auth_mode means user.
func New(cfg config.ClearML, opts ...Option) (*Verifier, error) {
	v := &Verifier{
		mode:    cfg.AuthMode,
		base:    strings.TrimRight(cfg.APIServer, "/"),
		timeout: cfg.Timeout.D(),
		ttl:     cfg.CacheTTL.D(),
		negTTL:  defaultNegativeTTL,
		now:     time.Now,
		client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
	}
	if v.mode == "" {
		v.mode = config.AuthUser
	}
	switch v.mode {
	case config.AuthUser, config.AuthValidateToken, config.AuthJWT:
	default:
		return nil, fmt.Errorf("clearmlauth: clearml.auth_mode must be user, validate_token or jwt (got %q)", cfg.AuthMode)
	}
	if v.base != "" {
		u, err := url.Parse(v.base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return nil, errors.New("clearmlauth: clearml.api_server must be an http(s) URL without user information")
		}
	} else if v.mode != config.AuthJWT {
		return nil, fmt.Errorf("clearmlauth: clearml.api_server is required with auth_mode %s", v.mode)
	}
	switch v.mode {
	case config.AuthValidateToken:
		if cfg.AccessKey == "" || cfg.SecretKey == "" {
			return nil, errors.New("clearmlauth: clearml.access_key and clearml.secret_key are required with auth_mode validate_token")
		}
		v.service = basicAuth(cfg.AccessKey, cfg.SecretKey)
	case config.AuthJWT:
		if cfg.TokenSecret == "" {
			return nil, errors.New("clearmlauth: clearml.token_secret is required with auth_mode jwt")
		}
		v.secret = []byte(cfg.TokenSecret)
	}
	if v.ttl < 0 {
		return nil, errors.New("clearmlauth: clearml.cache_ttl must not be negative")
	}
	if v.timeout <= 0 {
		v.timeout = defaultTimeout
	}
	for _, o := range opts {
		o(v)
	}
	v.negTTL = min(max(v.negTTL, 0), v.ttl)
	cache, err := lru.New[[32]byte, entry](cacheSize)
	if err != nil {
		return nil, fmt.Errorf("clearmlauth: %w", err)
	}
	v.cache = cache
	if v.refusals, err = lru.New[[32]byte, entry](refusalCacheSize); err != nil {
		return nil, fmt.Errorf("clearmlauth: %w", err)
	}
	if v.upstream == nil {
		v.upstream = make(chan struct{}, maxUpstream)
	}
	return v, nil
}

// result is what the shared upstream call hands to every waiting caller.
type result struct {
	id  Identity
	err error
}

// Verify returns the caller's identity, or an *Error: ErrUnauthenticated
// (refused), or ErrUpstream (ClearML could not answer; also when ctx ends
// first, then wrapping ctx's error as well).
//
// Answers are cached by a hash of the credential, for at most
// clearml.cache_ttl and never past the token's exp; refusals for a few
// seconds; upstream failures not at all. Concurrent misses for one
// credential share one upstream call, which runs on its own deadline
// (clearml.timeout) so that one caller who gives up does not fail the others.
func (v *Verifier) Verify(ctx context.Context, c Credential) (Identity, error) {
	if c.Kind != Bearer && c.Kind != Basic {
		reason := c.problem
		if reason == "" {
			reason = "the credentials are malformed"
		}
		return Identity{}, unauthenticated(reason)
	}
	key := cacheKey(c)
	// A cached answer never outlives the token's exp (store caps it), so
	// the claim is read only on a miss: decoding it costs more than the
	// rest of a cached request.
	if r, ok := v.lookup(key); ok {
		return r.id, r.err
	}
	var exp time.Time
	if c.Kind == Bearer {
		// What cannot be a ClearML token (a JWT with a JSON payload) is
		// refused here, without an upstream call: junk costs ClearML
		// nothing. The unverified exp only ever shortens things: an expired
		// claim needs no upstream call, a live one caps the cache entry.
		var ok bool
		if exp, ok = unverifiedClaims(c.Token); !ok {
			return Identity{}, unauthenticated(ReasonNotAToken)
		}
		if !exp.IsZero() && !v.now().Before(exp) {
			return Identity{}, unauthenticated(ReasonExpired)
		}
	}
	ch := v.flight.DoChan(string(key[:]), func() (any, error) {
		// A caller who missed the cache just before the previous flight
		// stored its answer lands here after that flight is over: look
		// again rather than ask ClearML twice.
		if r, ok := v.lookup(key); ok {
			return r, nil
		}
		shared, cancel := context.WithTimeout(context.WithoutCancel(ctx), v.timeout)
		defer cancel()
		id, err := v.verify(shared, c)
		v.store(key, id, err, exp)
		return result{id, err}, nil
	})
	select {
	case res := <-ch:
		r := res.Val.(result)
		return r.id, r.err
	case <-ctx.Done():
		return Identity{}, upstream(context.Cause(ctx), "gave up waiting for the ClearML API")
	}
}

// verify asks the source of truth the mode names.
func (v *Verifier) verify(ctx context.Context, c Credential) (Identity, error) {
	if c.Kind == Basic {
		// API keys can only be checked by the server, in every mode.
		if v.base == "" {
			return Identity{}, unauthenticated("API key credentials are not accepted here (no ClearML API server is configured); use a ClearML token")
		}
		return v.currentUser(ctx, basicAuth(c.Key, c.Secret))
	}
	switch v.mode {
	case config.AuthJWT:
		return v.verifyJWT(c.Token)
	case config.AuthValidateToken:
		return v.validateToken(ctx, c.Token)
	default:
		// A cookie's token goes upstream as a Bearer header too: the
		// ClearML server reads only its own cookie name.
		return v.currentUser(ctx, "Bearer "+c.Token)
	}
}

func (v *Verifier) lookup(key [32]byte) (result, bool) {
	e, ok := v.cache.Get(key)
	if !ok {
		e, ok = v.refusals.Get(key)
	}
	if !ok || !v.now().Before(e.until) {
		return result{}, false
	}
	return result{e.id, e.err}, true
}

func (v *Verifier) store(key [32]byte, id Identity, err error, exp time.Time) {
	ttl := v.ttl
	switch {
	case err == nil:
	case errors.Is(err, ErrUnauthenticated):
		ttl = v.negTTL
	default:
		return // an upstream failure is not an answer: the next request asks again
	}
	if ttl <= 0 {
		return
	}
	until := v.now().Add(ttl)
	if !exp.IsZero() && exp.Before(until) {
		until = exp
	}
	if err != nil {
		v.refusals.Add(key, entry{err: err, until: until})
		return
	}
	v.cache.Add(key, entry{id: id, until: until})
}

// cacheKey hashes the credential, so that the cache never holds one. The
// lengths keep key "a:b"+secret "c" apart from key "a"+secret "b:c".
func cacheKey(c Credential) [32]byte {
	// One buffer and one Sum256: this runs on every request, cached or not.
	var stack [1024]byte
	b := append(stack[:0], byte(c.Kind))
	for _, s := range [...]string{c.Token, c.Key, c.Secret} {
		b = binary.BigEndian.AppendUint64(b, uint64(len(s)))
		b = append(b, s...)
	}
	k := sha256.Sum256(b)
	clear(b) // the credential does not linger on the stack or heap
	return k
}

// unverifiedClaims checks that token can be a ClearML token (a JWT: three
// base64url parts, the first two JSON objects) without checking its
// signature, and reads its exp claim: the zero time when there is none.
func unverifiedClaims(token string) (exp time.Time, ok bool) {
	head, rest, ok1 := strings.Cut(token, ".")
	payload, sig, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || sig == "" || strings.IndexByte(sig, '.') >= 0 {
		return time.Time{}, false
	}
	var header map[string]json.RawMessage
	if !decodeSegment(head, &header) {
		return time.Time{}, false
	}
	var claims map[string]json.RawMessage
	if !decodeSegment(payload, &claims) {
		return time.Time{}, false
	}
	// An exp that is not a number is no cap; beyond 1e11 seconds (year
	// 5138) it means "never": no cap, and no overflow converting it.
	var e float64
	if raw, has := claims["exp"]; !has || json.Unmarshal(raw, &e) != nil || e > 1e11 || e < 0 {
		return time.Time{}, true
	}
	return time.UnixMilli(int64(e * 1000)), true
}

// decodeSegment decodes one base64url JWT segment holding a JSON object.
func decodeSegment(seg string, v any) bool {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
	return err == nil && len(b) > 0 && b[0] == '{' && json.Unmarshal(b, v) == nil
}

func basicAuth(key, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"+secret))
}
