// Package presign is the presign HTTP contract (docs/http.md) as a
// plain http.Handler, identical on every platform: check the caller with
// ClearML, check the URL against the config, and redirect to a short-lived
// signed URL.
package presign

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/storagegate/storagegate/shared/clearmlauth"
	"github.com/storagegate/storagegate/shared/config"
	"github.com/storagegate/storagegate/shared/credentials"
	"github.com/storagegate/storagegate/shared/requestid"
	"github.com/storagegate/storagegate/shared/scope"
	"github.com/storagegate/storagegate/shared/storagesettings"
	"github.com/storagegate/storagegate/shared/storageurl"
	"github.com/storagegate/storagegate/shared/store"
)

// Limits: docs/http.md#sizes-and-limits.
const (
	MaxURLParam  = 4 << 10
	MaxBatchBody = 256 << 10
	MaxBatchURLs = 100
	// Below this remaining lifetime a redirect is not cacheable at all.
	minCacheable = 10 * time.Second
)

// Verifier checks a caller's ClearML credential.
type Verifier interface {
	Verify(ctx context.Context, c clearmlauth.Credential) (clearmlauth.Identity, error)
}

// Options assemble a Handler.
type Options struct {
	Config   *config.Config
	Verifier Verifier
	// Settings are the storage settings (possibly from ClearML, refreshed);
	// Resolver alone stands for fixed settings.
	Settings *storagesettings.Settings
	Resolver *credentials.Resolver
	Logger   *slog.Logger
	// AuditLog, when set, receives the per-request audit line (the same
	// JSON line Logger would write, built by hand: far cheaper) in one Write
	// per request; it must be safe for concurrent use, as os.Stderr is.
	// Nil: the line goes through Logger.
	AuditLog io.Writer
	// Now is the clock (tests move it); time.Now when nil.
	Now     func() time.Time
	Version string
}

// Handler serves the presign contract.
type Handler struct {
	cfg       config.Presign
	clearml   config.ClearML
	verifier  Verifier
	settings  *storagesettings.Settings
	rules     scope.Rules
	origins   map[string]bool
	log       *slog.Logger
	audit     io.Writer
	now       func() time.Time
	version   string
	signCache *signCache
	plans     *planCache
	// vary is the Vary of a signed answer: the credential and Accept pick
	// the answer, and Origin too once CORS is on (a redirect cached from a
	// navigation must not be replayed to the web app's CORS fetch).
	vary string
}

// New validates the options and compiles everything once.
func New(o Options) (*Handler, error) {
	if o.Config == nil || o.Verifier == nil || (o.Resolver == nil && o.Settings == nil) {
		return nil, errors.New("presign: Config, Verifier and Settings (or a Resolver) are required")
	}
	if o.Settings == nil {
		o.Settings = storagesettings.Fixed(o.Resolver)
	}
	rules, err := scope.Compile("presign", o.Config.Presign.EffectiveMatchSets())
	if err != nil {
		return nil, err
	}
	h := &Handler{
		cfg:       o.Config.Presign,
		clearml:   o.Config.ClearML,
		verifier:  o.Verifier,
		settings:  o.Settings,
		rules:     rules,
		origins:   map[string]bool{},
		log:       o.Logger,
		audit:     o.AuditLog,
		now:       o.Now,
		version:   o.Version,
		signCache: newSignCache(4096),
		plans:     newPlanCache(4096),
	}
	for _, origin := range o.Config.Presign.CORSOrigins {
		h.origins[strings.TrimSuffix(origin, "/")] = true
	}
	h.vary = "Authorization, Cookie, Accept"
	if len(h.origins) > 0 {
		h.vary += ", Origin"
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.now == nil {
		h.now = time.Now
	}
	return h, nil
}

// ServeHTTP routes first (404, 405), then checks the caller (401), then the
// request's syntax (400), then policy (403): docs/http.md#order-of-checks.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rid := requestid.Of(r)
	w.Header()["X-Request-Id"] = []string{rid} // canonical keys set directly: the hot path
	rec := &logRecord{rid: rid, method: r.Method, path: r.URL.Path}
	defer func() { h.logRequest(r.Context(), rec) }()

	switch r.URL.Path {
	case "/healthz":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			rec.status = h.fail(w, r, errMethod("GET, HEAD"))
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		// The settings' source and age: whether a function still serves
		// settings from ClearML, and how old they are when it cannot reach it.
		writeJSON(w, http.StatusOK, struct {
			Status   string                 `json:"status"`
			Version  string                 `json:"version"`
			Settings storagesettings.Status `json:"settings"`
		}{"ok", h.version, h.settings.Status()})
		rec.status = http.StatusOK
		return
	case "/", "/presign":
	default:
		rec.status = h.fail(w, r, newErr(http.StatusNotFound, "not_found", "no such path: use /presign?url=<storage URL>"))
		return
	}

	h.cors(w, r)
	allow := "GET, HEAD"
	if r.URL.Path == "/presign" {
		allow = "GET, HEAD, POST"
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPost:
		if r.URL.Path != "/presign" {
			rec.status = h.fail(w, r, errMethod(allow))
			return
		}
	case http.MethodOptions:
		if h.preflight(w, r, allow) {
			rec.status = http.StatusNoContent
			return
		}
		rec.status = h.fail(w, r, errMethod(allow))
		return
	default:
		rec.status = h.fail(w, r, errMethod(allow))
		return
	}

	cred, ok := clearmlauth.FromRequest(r, h.clearml.CookieNames)
	if !ok {
		rec.status = h.fail(w, r, newErr(http.StatusUnauthorized, "unauthenticated",
			"no ClearML credentials: send Authorization: Bearer <token> (or Basic key:secret), or the ClearML session cookie"))
		return
	}
	id, err := h.verifier.Verify(r.Context(), cred)
	if err != nil {
		rec.status = h.fail(w, r, authError(err))
		if rec.status >= 500 {
			rec.err = err.Error() // clearmlauth errors never carry a credential
		}
		return
	}
	rec.user, rec.company = id.UserID, id.CompanyID
	// The storage settings for this request: never waited for while a copy
	// exists; without one (ClearML unreachable since the cold start) 503.
	snap, err := h.settings.Current(r.Context())
	if err != nil {
		e := newErr(http.StatusServiceUnavailable, "upstream_unavailable", "the storage settings from the ClearML API server are not loaded yet; try again shortly")
		var ue *storagesettings.UnavailableError
		if errors.As(err, &ue) {
			e.retryAfter = ue.RetryAfter
		}
		rec.status = h.fail(w, r, e)
		rec.err = err.Error() // reasons only: storagesettings keeps secrets out
		return
	}
	if r.Method == http.MethodPost {
		rec.status = h.batch(w, r, id, snap, rec)
		return
	}
	rec.status = h.single(w, r, id, snap, rec)
}

// params are a request's parsed query (or batch body) options.
type params struct {
	expires  time.Duration // 0: the default, with signing windows
	download bool
	method   string
	field    string
	objType  string
}

func (h *Handler) single(w http.ResponseWriter, r *http.Request, id clearmlauth.Identity, snap *storagesettings.Snapshot, rec *logRecord) int {
	pl, apiErr := h.planFor(snap, id, r, rec)
	if apiErr != nil {
		return h.fail(w, r, apiErr)
	}
	now := h.now()
	signed, apiErr := h.signScoped(r.Context(), &pl.scoped, pl.p.expires, now)
	if apiErr != nil {
		return h.fail(w, r, apiErr)
	}
	rec.expires = signed.ExpiresAt
	if wantsJSON(r, pl.format) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Vary", h.vary)
		writeJSON(w, http.StatusOK, newResult(pl.raw, pl.scoped.method, signed))
		return http.StatusOK
	}
	// One backing array for the three header values: one allocation, not
	// three, on the hot path.
	vals := [3]string{signed.URL, "no-store", h.vary}
	if remaining := signed.ExpiresAt.Sub(now); remaining >= minCacheable {
		vals[1] = "private, max-age=" + strconv.FormatInt(int64(remaining/2/time.Second), 10)
	}
	hdr := w.Header()
	hdr["Location"], hdr["Cache-Control"], hdr["Vary"] = vals[0:1:1], vals[1:2:2], vals[2:3:3]
	w.WriteHeader(http.StatusFound)
	return http.StatusFound
}

// plan is a GET or HEAD request's query parsed and scoped: what the plan
// cache keeps, so that a repeated request (a page of debug images reloaded)
// skips the query and URL parsing, match_sets and the credential lookup.
// The caller's own policy (allowed_roles, allowed_companies) is still
// checked on every request.
type plan struct {
	res    *credentials.Resolver // the settings it was scoped with
	raw    string                // the url parameter
	p      params
	format string
	scoped scoped
}

// planFor parses and scopes r's query, or takes the plan of the same query
// under the same settings from the cache.
func (h *Handler) planFor(snap *storagesettings.Snapshot, id clearmlauth.Identity, r *http.Request, rec *logRecord) (*plan, *apiError) {
	if pl := h.plans.get(snap.Resolver, r.Method, r.URL.RawQuery); pl != nil {
		rec.bucket, rec.key = pl.scoped.obj.URL.Bucket, pl.scoped.obj.URL.Key
		if err := h.authorize(snap, id); err != nil {
			return nil, authError(err)
		}
		return pl, nil
	}
	q, ok := parseQuery(r.URL.RawQuery)
	if !ok {
		return nil, newErr(http.StatusBadRequest, "invalid_parameter", "the query string is not valid percent-encoding")
	}
	if q.urls != 1 {
		return nil, newErr(http.StatusBadRequest, "invalid_parameter", "give exactly one url=<storage URL> query parameter")
	}
	p := params{method: store.MethodGet, field: q.field, objType: q.objType}
	if r.Method == http.MethodHead {
		p.method = store.MethodHead
	}
	if q.seenMethod {
		m, apiErr := parseMethod(q.method)
		if apiErr != nil {
			return nil, apiErr
		}
		p.method = m
	}
	if q.hasExpires {
		d, apiErr := parseExpires(q.expires)
		if apiErr != nil {
			return nil, apiErr
		}
		p.expires = d
	}
	if q.hasDownload {
		b, apiErr := parseDownload(q.download)
		if apiErr != nil {
			return nil, apiErr
		}
		p.download = b
	}
	u, apiErr := h.parseURL(snap, q.url, rec)
	if apiErr != nil {
		return nil, apiErr
	}
	if err := h.authorize(snap, id); err != nil {
		return nil, authError(err)
	}
	sc, apiErr := h.scope(snap, u, p)
	if apiErr != nil {
		return nil, apiErr
	}
	sc.last = new(atomic.Pointer[windowed])
	pl := &plan{res: snap.Resolver, raw: q.url, p: p, format: q.format, scoped: sc}
	h.plans.put(r.Method, r.URL.RawQuery, pl)
	return pl, nil
}

// ParseMethod reads a method as both HTTP forms do, for the operator's
// `storagegate presign`.
func ParseMethod(v string) (string, error) {
	m, apiErr := parseMethod(v)
	if apiErr != nil {
		return "", apiErr
	}
	return m, nil
}

// parseMethod reads a method= value (either form): GET or HEAD, in any case;
// empty means GET.
func parseMethod(v string) (string, *apiError) {
	switch strings.ToUpper(v) {
	case "", "GET":
		return store.MethodGet, nil
	case "HEAD":
		return store.MethodHead, nil
	}
	return "", newErr(http.StatusBadRequest, "invalid_parameter", "method must be GET or HEAD")
}

// parseDownload reads a download value, in either form (the batch form's
// JSON true, false, 1 and 0 arrive as their text).
func parseDownload(v string) (bool, *apiError) {
	switch v {
	case "1", "true", "yes":
		return true, nil
	case "0", "false", "no", "":
		return false, nil
	}
	return false, newErr(http.StatusBadRequest, "invalid_parameter", "download must be 1 or 0 (true or false)")
}

// query is what a request's query string says, read as url.ParseQuery
// reads it (the first value of each name; any pair with an invalid escape
// or a semicolon spoils the whole query) but into fields rather than a map:
// this runs on every request.
type query struct {
	url                                 string
	urls                                int // how many url= pairs
	field, objType, method, format      string
	expires, download                   string
	hasExpires, hasDownload, seenField  bool
	seenObjType, seenMethod, seenFormat bool
}

// maxQueryParams is url.ParseQuery's default limit.
const maxQueryParams = 10000

func parseQuery(raw string) (q query, ok bool) {
	if strings.Count(raw, "&")+1 > maxQueryParams {
		return q, false
	}
	ok = true
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if strings.IndexByte(pair, ';') >= 0 {
			ok = false
			continue
		}
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		if !validEscapes(k) || !validEscapes(v) {
			ok = false
			continue
		}
		switch unescape(k) {
		case "url":
			if q.urls++; q.urls == 1 {
				q.url = unescape(v)
			}
		case "expires":
			if !q.hasExpires {
				q.expires, q.hasExpires = unescape(v), true
			}
		case "download":
			if !q.hasDownload {
				q.download, q.hasDownload = unescape(v), true
			}
		case "method":
			if !q.seenMethod {
				q.method, q.seenMethod = unescape(v), true
			}
		case "format":
			if !q.seenFormat {
				q.format, q.seenFormat = unescape(v), true
			}
		case "field":
			if !q.seenField {
				q.field, q.seenField = unescape(v), true
			}
		case "obj_type":
			if !q.seenObjType {
				q.objType, q.seenObjType = unescape(v), true
			}
		}
	}
	return q, ok
}

// validEscapes reports whether every % in s starts a %XX escape.
func validEscapes(s string) bool {
	for i := strings.IndexByte(s, '%'); i >= 0; i = strings.IndexByte(s, '%') {
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return false
		}
		s = s[i+3:]
	}
	return true
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// unescape is url.QueryUnescape for a string whose escapes are valid.
func unescape(s string) string {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s
	}
	u, _ := url.QueryUnescape(s)
	return u
}

// result is one signed URL in the JSON and batch forms.
type result struct {
	URL       string    `json:"url"`
	SignedURL string    `json:"signed_url,omitempty"`
	Method    string    `json:"method,omitempty"`
	ExpiresAt string    `json:"expires_at,omitempty"`
	Error     *apiError `json:"error,omitempty"`
	expiresAt time.Time
}

func newResult(raw, method string, s store.Signed) *result {
	return &result{URL: raw, SignedURL: s.URL, Method: method, ExpiresAt: s.ExpiresAt.UTC().Format(time.RFC3339), expiresAt: s.ExpiresAt}
}

// SignURL signs one storage URL with the config's credentials and scope but
// no caller check: the operator's `storagegate presign`.
func (h *Handler) SignURL(ctx context.Context, raw string, expires time.Duration, download bool, method string) (Result, error) {
	if method == "" {
		method = store.MethodGet
	}
	snap, err := h.settings.Current(ctx)
	if err != nil {
		return Result{}, newErr(http.StatusServiceUnavailable, "upstream_unavailable", err.Error())
	}
	res, apiErr := h.signURL(ctx, snap, raw, params{expires: expires, download: download, method: method})
	if apiErr != nil {
		return Result{}, apiErr
	}
	return Result{SignedURL: res.SignedURL, Method: res.Method, ExpiresAt: res.expiresAt}, nil
}

// Result is a signed URL for callers outside HTTP.
type Result struct {
	SignedURL string
	Method    string
	ExpiresAt time.Time
}

// scoped is one URL in scope (parsed, checked against presign.match_sets,
// resolved to its entry) with what its signing asks beyond a time and a
// lifetime.
type scoped struct {
	obj         scope.Object
	method      string
	disposition string
	// last is the URL last signed for it with a signing window, when it is
	// a cached plan's: a repeated request needs no signed-URL cache lookup.
	last *atomic.Pointer[windowed]
}

// windowed is a URL signed from a signing window's start.
type windowed struct {
	signedAt int64 // UnixNano
	lifetime time.Duration
	signed   store.Signed
}

// signURL parses, scopes and signs one URL whose caller's own policy was
// checked already (the batch form) or that has no caller (SignURL).
func (h *Handler) signURL(ctx context.Context, snap *storagesettings.Snapshot, raw string, p params) (*result, *apiError) {
	u, apiErr := h.parseURL(snap, raw, nil)
	if apiErr != nil {
		return nil, apiErr
	}
	sc, apiErr := h.scope(snap, u, p)
	if apiErr != nil {
		return nil, apiErr
	}
	signed, apiErr := h.signScoped(ctx, &sc, p.expires, h.now())
	if apiErr != nil {
		return nil, apiErr
	}
	return newResult(raw, sc.method, signed), nil
}

// parseURL checks one url parameter's syntax (400); rec, when given, gets
// its bucket and key.
func (h *Handler) parseURL(snap *storagesettings.Snapshot, raw string, rec *logRecord) (storageurl.URL, *apiError) {
	if len(raw) > MaxURLParam {
		return storageurl.URL{}, newErr(http.StatusBadRequest, "invalid_url", "the url parameter is longer than 4 KiB")
	}
	u, err := snap.URLOptions().Parse(raw)
	if err != nil {
		return storageurl.URL{}, newErr(http.StatusBadRequest, "invalid_url", err.Error())
	}
	if u.Key == "" {
		return storageurl.URL{}, newErr(http.StatusBadRequest, "invalid_url", "the url names a bucket but no object: give "+string(u.Provider)+"://bucket/path/to/file")
	}
	if rec != nil {
		rec.bucket, rec.key = u.Bucket, u.Key
	}
	return u, nil
}

// scope applies presign.match_sets and the credentials config (403).
func (h *Handler) scope(snap *storagesettings.Snapshot, u storageurl.URL, p params) (scoped, *apiError) {
	obj, serr := h.rules.Resolve(snap.Resolver, u, p.field, p.objType)
	if serr != nil {
		return scoped{}, newErr(http.StatusForbidden, serr.Code, serr.Reason)
	}
	sc := scoped{obj: obj, method: p.method}
	if p.download || h.cfg.Disposition == "attachment" {
		sc.disposition = contentDisposition(u.BaseName())
	}
	return sc, nil
}

// signScoped signs a scoped request at now: for exactly expires when given,
// else from the signing window's start (one URL per object per window, from
// the signed-URL cache when it has it).
func (h *Handler) signScoped(ctx context.Context, sc *scoped, expires time.Duration, now time.Time) (store.Signed, *apiError) {
	req := scope.SignRequest{Method: sc.method, Disposition: sc.disposition}
	var minRemaining time.Duration
	window := h.cfg.SigningWindow()
	if expires > 0 || window <= 0 {
		// An explicit expires= is honoured exactly, without windows.
		req.Lifetime = min(expires, h.cfg.MaxExpires.D())
		if expires == 0 {
			req.Lifetime = h.cfg.Expires.D()
		}
		req.SignedAt = now.Truncate(time.Second)
	} else {
		req.SignedAt = now.Truncate(window)
		req.Lifetime = h.cfg.Expires.D() + window
		minRemaining = h.cfg.Expires.D()
	}
	key := cacheKey{obj: sc.obj, method: req.Method, disposition: req.Disposition, signedAt: req.SignedAt.UnixNano(), lifetime: req.Lifetime}
	if minRemaining > 0 {
		if sc.last != nil {
			if w := sc.last.Load(); w != nil && w.signedAt == key.signedAt && w.lifetime == key.lifetime && !now.After(w.signed.ExpiresAt.Add(-minRemaining)) {
				return w.signed, nil
			}
		}
		if s, ok := h.signCache.get(key); ok && !now.After(s.ExpiresAt.Add(-minRemaining)) {
			if sc.last != nil {
				sc.last.Store(&windowed{key.signedAt, key.lifetime, s})
			}
			return s, nil
		}
	}
	signed, err := sc.obj.Sign(ctx, req)
	if err == nil && minRemaining > 0 {
		if !now.After(signed.ExpiresAt.Add(-minRemaining)) {
			h.signCache.put(key, signed)
			if sc.last != nil {
				sc.last.Store(&windowed{key.signedAt, key.lifetime, signed})
			}
		} else {
			// The credentials live shorter than the window's URL
			// (a session token, a delegation key near its end): a URL
			// signed at the window's start would have less than
			// expires left, or none. Sign from now instead, for what
			// the credentials have left.
			req.SignedAt, req.Lifetime = now.Truncate(time.Second), minRemaining
			signed, err = sc.obj.Sign(ctx, req)
		}
	}
	if err == nil && !signed.ExpiresAt.After(now) {
		err = errors.New("the signed URL would already have expired (credentials at the end of their life)")
	}
	if err != nil {
		h.log.LogAttrs(ctx, slog.LevelError, "signing failed", slog.String("entry", sc.obj.Entry), slog.String("error", err.Error()))
		return store.Signed{}, newErr(http.StatusInternalServerError, "internal", "signing failed: the storage credentials for "+sc.obj.URL.BucketURL()+" are unavailable")
	}
	return signed, nil
}

// authorize applies allowed_roles and allowed_companies; settings from
// ClearML belong to the service account's company, which is then the
// default for an empty allowed_companies.
func (h *Handler) authorize(snap *storagesettings.Snapshot, id clearmlauth.Identity) error {
	if snap.AllowedCompanies == nil || len(h.clearml.AllowedCompanies) > 0 {
		return clearmlauth.Authorize(h.clearml, id)
	}
	c := h.clearml
	c.AllowedCompanies = snap.AllowedCompanies
	return clearmlauth.Authorize(c, id)
}

// ParseExpires reads an expires= value as the HTTP path does (whole seconds,
// at least 1; more than 7 days is clamped to 7 days, and the signer clamps
// further to presign.max_expires), for the operator's `storagegate presign`.
func ParseExpires(v string) (time.Duration, error) {
	d, apiErr := parseExpires(v)
	if apiErr != nil {
		return 0, apiErr
	}
	return d, nil
}

func parseExpires(v string) (time.Duration, *apiError) {
	n, err := strconv.ParseInt(v, 10, 64)
	if errors.Is(err, strconv.ErrRange) && v != "" && v[0] != '-' {
		n, err = math.MaxInt64, nil // too many seconds: clamped below, not refused
	}
	if err != nil || n < 1 {
		return 0, newErr(http.StatusBadRequest, "invalid_parameter", "expires must be a whole number of seconds, at least 1")
	}
	if n > int64(store.MaxLifetime/time.Second) {
		n = int64(store.MaxLifetime / time.Second)
	}
	return time.Duration(n) * time.Second, nil
}

// wantsJSON: format=json, or JSON as the Accept header's preferred type.
func wantsJSON(r *http.Request, format string) bool {
	if format == "json" {
		return true
	}
	accept := r.Header.Get("Accept")
	if strings.IndexByte(accept, 'j') < 0 && strings.IndexByte(accept, 'J') < 0 {
		return false // no "json" in any case: the browser's image and page fetches
	}
	best, bestQ := "", -1.0
	for _, part := range strings.Split(accept, ",") {
		mt, paramsStr, _ := strings.Cut(part, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
		if mt == "" {
			continue
		}
		q := 1.0
		for _, p := range strings.Split(paramsStr, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(k, "q") {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					q = f
				}
			}
		}
		if q > 0 && q > bestQ { // q=0 means "not acceptable"
			best, bestQ = mt, q
		}
	}
	return best == "application/json"
}

// cors adds credentialed CORS headers for an exactly configured origin; any
// other origin gets none (never "*", never a reflected origin).
func (h *Handler) cors(w http.ResponseWriter, r *http.Request) {
	o := r.Header.Get("Origin")
	if o == "" || !h.origins[o] {
		return
	}
	hd := w.Header()
	hd.Set("Access-Control-Allow-Origin", o)
	hd.Set("Access-Control-Allow-Credentials", "true")
}

func (h *Handler) preflight(w http.ResponseWriter, r *http.Request, allow string) bool {
	o := r.Header.Get("Origin")
	if o == "" || !h.origins[o] || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	hd := w.Header()
	hd.Set("Access-Control-Allow-Methods", allow)
	hd.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	hd.Set("Access-Control-Max-Age", "600")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
	return true
}

func authError(err error) *apiError {
	switch {
	case errors.Is(err, clearmlauth.ErrUpstream):
		return newErr(http.StatusServiceUnavailable, "upstream_unavailable", "the ClearML API server did not answer; try again shortly")
	case errors.Is(err, clearmlauth.ErrRoleNotAllowed):
		return newErr(http.StatusForbidden, "role_not_allowed", "your ClearML role may not use the presign service")
	case errors.Is(err, clearmlauth.ErrCompanyNotAllowed):
		return newErr(http.StatusForbidden, "company_not_allowed", "your ClearML company may not use the presign service")
	case errors.Is(err, clearmlauth.ErrUnauthenticated):
		var e *clearmlauth.Error
		if errors.As(err, &e) && e.ByClearML {
			return newErr(http.StatusUnauthorized, "unauthenticated", "ClearML refused the credentials: "+reason(err))
		}
		return newErr(http.StatusUnauthorized, "unauthenticated", "the presign service refused the credentials: "+reason(err))
	}
	return newErr(http.StatusInternalServerError, "internal", "internal error")
}

// reason is the safe, user-facing part of an auth error: clearmlauth keeps
// credentials out of its reasons.
func reason(err error) string {
	var e *clearmlauth.Error
	if errors.As(err, &e) && e.Reason != "" {
		return e.Reason
	}
	return "invalid credentials"
}
