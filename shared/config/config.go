// Package config holds storagegate's one configuration document: the storage
// credentials in the exact shape of ClearML's storage settings, plus the
// clearml, presign, cleanup and sweep sections (docs/configuration.md).
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/storagegate/storagegate/shared/storageurl"
)

// Config is the whole document.
type Config struct {
	Storage Storage `json:"storage"`
	ClearML ClearML `json:"clearml"`
	Presign Presign `json:"presign"`
	Cleanup Cleanup `json:"cleanup"`
	Sweep   Sweep   `json:"sweep"`
}

// Storage has the shape of ClearML's storage.get_settings answer, plus two
// fields of storagegate's own that say where the entries come from.
type Storage struct {
	AWS    AWS    `json:"aws"`
	Google Google `json:"google"`
	Azure  Azure  `json:"azure"`
	// FromClearML takes the entries from the ClearML server's
	// storage.get_settings, with the document's own entries laid over them.
	// Unset, it is on when the document names no store (no aws, google or
	// azure) and the service credentials are set; the loader fills it in.
	FromClearML *bool `json:"from_clearml"`
	// Refresh is how often, at most, the settings are asked for again
	// (checked when a request or message arrives); 1m unless set.
	Refresh Duration `json:"refresh"`
}

// UseClearML reports whether the storage entries come from ClearML.
func (s Storage) UseClearML() bool { return s.FromClearML != nil && *s.FromClearML }

// HasEntries reports whether the section names any store: default
// credentials or bucket and container entries (a Google endpoint or an AWS
// region alone names none).
func (s Storage) HasEntries() bool {
	a, g := s.AWS, s.Google
	return a.Key != "" || a.Secret != "" || a.Token != "" || a.UseCredentialsChain || len(a.Buckets) > 0 ||
		g.Project != "" || g.CredentialsJSON != "" || len(g.Buckets) > 0 || len(s.Azure.Containers) > 0
}

// AWS holds the S3 defaults and bucket entries (S3 and S3-compatible stores).
type AWS struct {
	Key                 string     `json:"key"`
	Secret              string     `json:"secret"`
	Token               string     `json:"token"`
	Region              string     `json:"region"`
	UseCredentialsChain bool       `json:"use_credentials_chain"`
	Buckets             []S3Bucket `json:"buckets"`
}

// S3Bucket is one bucket-specific entry.
type S3Bucket struct {
	Bucket              string `json:"bucket"`
	Subdir              string `json:"subdir"`
	Host                string `json:"host"`
	Key                 string `json:"key"`
	Secret              string `json:"secret"`
	Token               string `json:"token"`
	Region              string `json:"region"`
	Secure              *bool  `json:"secure"`
	Verify              *bool  `json:"verify"`
	UseCredentialsChain bool   `json:"use_credentials_chain"`
	// PublicHost is storagegate's extension: the host to sign for when the
	// function reaches the store on an internal address.
	PublicHost string `json:"public_host"`
}

// IsSecure reports the entry's `secure` (default true).
func (b S3Bucket) IsSecure() bool { return b.Secure == nil || *b.Secure }

// IsVerify reports the entry's `verify` (default true).
func (b S3Bucket) IsVerify() bool { return b.Verify == nil || *b.Verify }

// Google holds the GCS defaults and bucket entries.
type Google struct {
	Project         string     `json:"project"`
	CredentialsJSON string     `json:"credentials_json"`
	Buckets         []GSBucket `json:"buckets"`
	// Endpoint is storagegate's extension (e.g. a fake-gcs-server URL).
	Endpoint string `json:"endpoint"`
}

// GSBucket is one bucket-specific GCS entry.
type GSBucket struct {
	Bucket          string `json:"bucket"`
	Subdir          string `json:"subdir"`
	Project         string `json:"project"`
	CredentialsJSON string `json:"credentials_json"`
}

// Azure holds the Azure Blob container entries.
type Azure struct {
	Containers []AzureContainer `json:"containers"`
}

// AzureContainer is one account (and optionally one container) entry.
type AzureContainer struct {
	AccountName   string `json:"account_name"`
	AccountKey    string `json:"account_key"`
	ContainerName string `json:"container_name"`
	// Endpoint is storagegate's extension: the blob service URL (Azurite,
	// sovereign clouds).
	Endpoint string `json:"endpoint"`
}

// ClearML says how callers are verified.
type ClearML struct {
	APIServer        string   `json:"api_server"`
	AccessKey        string   `json:"access_key"`
	SecretKey        string   `json:"secret_key"`
	AuthMode         string   `json:"auth_mode"`
	TokenSecret      string   `json:"token_secret"`
	CookieNames      []string `json:"cookie_names"`
	CacheTTL         Duration `json:"cache_ttl"`
	Timeout          Duration `json:"timeout"`
	AllowedRoles     []string `json:"allowed_roles"`
	AllowedCompanies []string `json:"allowed_companies"`
}

// Auth modes.
const (
	AuthUser          = "user"
	AuthValidateToken = "validate_token"
	AuthJWT           = "jwt"
)

// Presign configures the presign function.
type Presign struct {
	Expires     Duration   `json:"expires"`
	MaxExpires  Duration   `json:"max_expires"`
	MatchSets   []MatchSet `json:"match_sets"`
	Services    []Service  `json:"services"`
	Disposition string     `json:"disposition"`
	Window      *Duration  `json:"window"`
	CORSOrigins []string   `json:"cors_origins"`
}

// maxLifetime is the providers' limit on a signed URL's life (SigV4, GCS V4:
// 7 days), counted from its signing time.
const maxLifetime = 7 * 24 * time.Hour

// SigningWindow is presign.window (0 turns stable URLs off). Unless set, it
// is 1m, shortened so that it never exceeds presign.expires nor pushes
// expires plus window past the providers' 7 days: a default must never make
// a valid config fail, whereas a window set by hand that does is a start-up
// error (Validate).
func (p Presign) SigningWindow() time.Duration {
	if p.Window != nil {
		return p.Window.D()
	}
	w := time.Minute
	if e := p.Expires.D(); e > 0 {
		w = max(0, min(w, e, maxLifetime-e))
	}
	return w
}

// EffectiveMatchSets is match_sets, or the `type: presign` entry of services.
func (p Presign) EffectiveMatchSets() []MatchSet {
	if len(p.MatchSets) > 0 {
		return p.MatchSets
	}
	for _, s := range p.Services {
		if s.Type == "presign" {
			return s.MatchSets
		}
	}
	return nil
}

// MatchSet is one set of rules, in the shape of ClearML's
// services.system.company.default.services[].match_sets.
type MatchSet struct {
	Rules []Rule `json:"rules"`
}

// Rule is one match rule; every rule of a set must match.
type Rule struct {
	Field   string `json:"field"`
	ObjType string `json:"obj_type"`
	Regex   string `json:"regex"`
}

// Service is one entry of ClearML's services list.
type Service struct {
	Type        string     `json:"type"`
	URL         string     `json:"url"`
	UseFallback any        `json:"use_fallback"`
	MatchSets   []MatchSet `json:"match_sets"`
}

// Cleanup configures artifact deletion.
type Cleanup struct {
	DryRun         bool       `json:"dry_run"`
	MinPrefixDepth *int       `json:"min_prefix_depth"`
	Concurrency    int        `json:"concurrency"`
	MatchSets      []MatchSet `json:"match_sets"`
	Deadline       Duration   `json:"deadline"`
	Token          string     `json:"token"`
}

// PrefixDepth is cleanup.min_prefix_depth, 2 unless set.
func (c Cleanup) PrefixDepth() int {
	if c.MinPrefixDepth == nil {
		return 2
	}
	return *c.MinPrefixDepth
}

// Default values (docs/configuration.md#defaults-at-a-glance).
var (
	DefaultCookieNames = []string{"clearml_token_basic", "clearml-token-k8s"}
)

func (c *Config) applyDefaults() {
	if c.ClearML.AuthMode == "" {
		c.ClearML.AuthMode = AuthUser
	}
	// jwt mode needs no server: without one, Basic callers are refused (401).
	if c.ClearML.APIServer == "" && c.ClearML.AuthMode != AuthJWT {
		c.ClearML.APIServer = "http://localhost:8008"
	}
	if c.ClearML.CookieNames == nil {
		c.ClearML.CookieNames = append([]string(nil), DefaultCookieNames...)
	}
	setDefault(&c.ClearML.CacheTTL, 5*time.Minute)
	setDefault(&c.ClearML.Timeout, 5*time.Second)
	setDefault(&c.Presign.Expires, 15*time.Minute)
	setDefault(&c.Presign.MaxExpires, 24*time.Hour)
	if c.Presign.Disposition == "" {
		c.Presign.Disposition = "inline"
	}
	if c.Cleanup.Concurrency == 0 {
		c.Cleanup.Concurrency = 16
	}
	setDefault(&c.Cleanup.Deadline, 4*time.Minute)
	setDefault(&c.Storage.Refresh, time.Minute)
	if c.Storage.FromClearML == nil {
		// The three-value deploy: service credentials and no store of the
		// document's own mean "the stores ClearML knows".
		on := !c.Storage.HasEntries() && c.ClearML.AccessKey != "" && c.ClearML.SecretKey != ""
		c.Storage.FromClearML = &on
	}
}

func setDefault(d *Duration, v time.Duration) {
	if !d.set {
		*d = Duration{d: v, set: true}
	}
}

// FieldError is a configuration error that names the field at fault.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return "config: " + e.Field + ": " + e.Message }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Validate checks everything that can be checked without reaching a provider.
// Credential material itself (key files, account keys) is parsed by the stores
// when they are built at start-up, so a bad key fails there, still before the
// first request.
//
// The sections are checked in this order, each stopping at its first error:
// a document wrong in several places always names the same field.
func (c *Config) Validate() error {
	for _, check := range []func() error{
		c.ClearML.validate,
		c.Presign.validate,
		c.Cleanup.validate,
		c.validateStorageSource,
		c.Sweep.validate,
		c.Storage.validate,
	} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (cm ClearML) validate() error {
	if err := cm.validateAuth(); err != nil {
		return err
	}
	for i, n := range cm.CookieNames {
		if !validCookieName(n) {
			return fieldErr(fmt.Sprintf("clearml.cookie_names[%d]", i), "is not a valid cookie name: %q", n)
		}
	}
	if cm.CacheTTL.D() < 0 {
		return fieldErr("clearml.cache_ttl", "must not be negative")
	}
	if cm.Timeout.D() <= 0 {
		return fieldErr("clearml.timeout", "must be positive")
	}
	return nil
}

// validateAuth checks auth_mode and what the mode needs: the fields that
// only matter, or only fail, in one mode.
func (cm ClearML) validateAuth() error {
	switch cm.AuthMode {
	case AuthUser, AuthValidateToken, AuthJWT:
	default:
		return fieldErr("clearml.auth_mode", "must be one of user, validate_token, jwt (got %q)", cm.AuthMode)
	}
	if cm.APIServer != "" {
		if err := checkHTTPURL(cm.APIServer); err != nil {
			return fieldErr("clearml.api_server", "%v", err)
		}
	}
	if cm.AuthMode == AuthJWT && cm.TokenSecret == "" {
		return fieldErr("clearml.token_secret", "is required when auth_mode is jwt")
	}
	if cm.AuthMode == AuthValidateToken {
		if cm.AccessKey == "" {
			return fieldErr("clearml.access_key", "access_key and secret_key (system or root credentials) are required when auth_mode is validate_token")
		}
		if cm.SecretKey == "" {
			return fieldErr("clearml.secret_key", "access_key and secret_key (system or root credentials) are required when auth_mode is validate_token")
		}
		if len(cm.AllowedRoles) > 0 {
			return fieldErr("clearml.allowed_roles", "cannot be used with auth_mode validate_token, which returns no role")
		}
	}
	return nil
}

func (p Presign) validate() error {
	if err := p.validateLifetimes(); err != nil {
		return err
	}
	switch p.Disposition {
	case "inline", "attachment":
	default:
		return fieldErr("presign.disposition", "must be inline or attachment (got %q)", p.Disposition)
	}
	for i, o := range p.CORSOrigins {
		if err := checkOrigin(o); err != nil {
			return fieldErr(fmt.Sprintf("presign.cors_origins[%d]", i), "%v", err)
		}
	}
	if err := validateMatchSets("presign.match_sets", p.MatchSets); err != nil {
		return err
	}
	for i, s := range p.Services {
		if err := validateMatchSets(fmt.Sprintf("presign.services[%d].match_sets", i), s.MatchSets); err != nil {
			return err
		}
	}
	return nil
}

// validateLifetimes checks expires, max_expires and window together: each
// is bounded by the others and by the providers' 7 days.
func (p Presign) validateLifetimes() error {
	if p.Expires.D() < time.Second {
		return fieldErr("presign.expires", "must be at least 1s")
	}
	if p.MaxExpires.D() < time.Second {
		return fieldErr("presign.max_expires", "must be at least 1s")
	}
	if p.MaxExpires.D() > 7*24*time.Hour {
		return fieldErr("presign.max_expires", "must be at most 168h (7 days, the providers' limit)")
	}
	if p.Expires.D() > p.MaxExpires.D() {
		return fieldErr("presign.expires", "is longer than presign.max_expires (%s)", p.MaxExpires.D())
	}
	if w := p.SigningWindow(); w < 0 {
		return fieldErr("presign.window", "must not be negative")
	} else if w > p.Expires.D() {
		// The window stabilises a URL of life expires: a longer one hands
		// out URLs signed further in the past than they live.
		return fieldErr("presign.window", "%s is longer than presign.expires (%s): a window must not exceed the lifetime it stabilises", w, p.Expires.D())
	} else if p.Expires.D()+w > maxLifetime {
		return fieldErr("presign.window", "presign.expires (%s) plus the window (%s) is past 168h, the providers' limit counted from the window's start: shorten one of them", p.Expires.D(), w)
	}
	return nil
}

func (cl Cleanup) validate() error {
	if cl.PrefixDepth() < 1 {
		return fieldErr("cleanup.min_prefix_depth", "must be at least 1")
	}
	if cl.Concurrency < 1 || cl.Concurrency > 1024 {
		return fieldErr("cleanup.concurrency", "must be between 1 and 1024")
	}
	if cl.Deadline.D() <= 0 {
		return fieldErr("cleanup.deadline", "must be positive")
	}
	return validateMatchSets("cleanup.match_sets", cl.MatchSets)
}

// validateStorageSource checks where the storage entries come from. It is
// Config's, not Storage's: from_clearml needs the clearml section, and
// Storage.Validate checks the entries alone.
func (c *Config) validateStorageSource() error {
	if c.Storage.Refresh.D() <= 0 {
		return fieldErr("storage.refresh", "must be positive")
	}
	if c.Storage.UseClearML() {
		cm := c.ClearML
		if cm.APIServer == "" {
			return fieldErr("storage.from_clearml", "needs clearml.api_server (or CLEARML_API_HOST)")
		}
		if cm.AccessKey == "" || cm.SecretKey == "" {
			return fieldErr("storage.from_clearml", "needs the service credentials clearml.access_key and clearml.secret_key (or CLEARML_API_ACCESS_KEY and CLEARML_API_SECRET_KEY)")
		}
	}
	return nil
}

// Validate checks the storage section alone, as Config.Validate does.
func (s Storage) Validate() error { return s.validate() }

func validateMatchSets(field string, sets []MatchSet) error {
	for i, s := range sets {
		if len(s.Rules) == 0 {
			return fieldErr(fmt.Sprintf("%s[%d].rules", field, i), "must hold at least one rule")
		}
		for j, r := range s.Rules {
			if _, err := regexp.Compile(r.Regex); err != nil {
				return fieldErr(fmt.Sprintf("%s[%d].rules[%d].regex", field, i, j), "%v", err)
			}
		}
	}
	return nil
}

// checkOrigin accepts an origin exactly as a browser sends it in the Origin
// header (scheme://host[:port], lower-case, no default port): the handler
// compares origins as strings, so any other spelling would never match.
func checkOrigin(o string) error {
	if o == "*" {
		return fmt.Errorf("\"*\" is not allowed: list exact origins such as https://app.example.com")
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" ||
		u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" ||
		strings.Contains(o, "#") || strings.Contains(u.Host, "*") {
		if u != nil && u.User != nil || err != nil && strings.Contains(o, "@") {
			return fmt.Errorf("must be an origin such as https://app.example.com, without user information")
		}
		return fmt.Errorf("must be an origin such as https://app.example.com, without path, query or wildcard (got %s)", quoteRedacted(o))
	}
	if o != strings.ToLower(o) {
		return fmt.Errorf("must be lower-case, as browsers send it (got %s)", quoteRedacted(o))
	}
	if (u.Scheme == "https" && u.Port() == "443") || (u.Scheme == "http" && u.Port() == "80") {
		return fmt.Errorf("must not name the default port, which browsers leave out (got %s)", quoteRedacted(o))
	}
	return nil
}

// validCookieName reports whether n is an RFC 6265 cookie name (an HTTP
// token).
func validCookieName(n string) bool {
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c <= 0x20 || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		// url.Parse quotes the whole input, user information included.
		var ue *url.Error
		if errors.As(err, &ue) && !strings.Contains(s, "@") {
			return fmt.Errorf("is not a URL: %v", ue.Err)
		}
		return fmt.Errorf("is not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("must be an http or https URL (got scheme %q)", u.Scheme)
	}
	if u.Host == "" {
		return fmt.Errorf("has no host")
	}
	if u.User != nil {
		return fmt.Errorf("must not carry user information")
	}
	return nil
}

// validate checks the entries provider by provider, in document order.
func (s Storage) validate() error {
	if err := s.AWS.validate(); err != nil {
		return err
	}
	if err := s.Google.validate(); err != nil {
		return err
	}
	return s.Azure.validate()
}

func (a AWS) validate() error {
	if err := checkKeys("storage.aws", a.Key, a.Secret, a.Token); err != nil {
		return err
	}
	if err := checkRegion(a.Region); err != nil {
		return fieldErr("storage.aws.region", "%v", err)
	}
	for i, b := range a.Buckets {
		if err := b.validate(fmt.Sprintf("storage.aws.buckets[%d]", i)); err != nil {
			return err
		}
	}
	return nil
}

// validate checks one bucket entry, named f (storage.aws.buckets[i]).
func (b S3Bucket) validate(f string) error {
	if b.Bucket == "" && b.Host == "" {
		return fieldErr(f+".bucket", "an entry needs a bucket, a host, or both")
	}
	if b.Bucket != "" && !storageurl.ValidBucket(b.Bucket) {
		return fieldErr(f+".bucket", "%q is not a bucket name", b.Bucket)
	}
	if b.Host != "" {
		if err := checkHostPort(b.Host, true); err != nil {
			return fieldErr(f+".host", "%v", err)
		}
	}
	if b.PublicHost != "" {
		if b.Host == "" {
			return fieldErr(f+".public_host", "needs host: public_host replaces a configured host when signing")
		}
		if err := checkHostPort(b.PublicHost, false); err != nil {
			return fieldErr(f+".public_host", "%v", err)
		}
	}
	if err := checkKeys(f, b.Key, b.Secret, b.Token); err != nil {
		return err
	}
	if err := checkRegion(b.Region); err != nil {
		return fieldErr(f+".region", "%v", err)
	}
	if b.Subdir != "" {
		if b.Bucket == "" {
			// A subdir narrows a bucket; ignoring it would widen the
			// entry to every bucket on the host.
			return fieldErr(f+".subdir", "needs bucket: a subdir is a folder inside one bucket")
		}
		if err := checkSubdir(b.Subdir); err != nil {
			return fieldErr(f+".subdir", "%v", err)
		}
	}
	return nil
}

// checkKeys checks the key, secret and token of the S3 entry named f (the
// defaults or a bucket entry), which follow one rule in both.
func checkKeys(f, key, secret, token string) error {
	if key == "" && secret != "" {
		return fieldErr(f+".key", "key and secret must be given together")
	}
	if key != "" && secret == "" {
		return fieldErr(f+".secret", "key and secret must be given together")
	}
	if token != "" && key == "" {
		return fieldErr(f+".token", "a session token needs key and secret")
	}
	return nil
}

func (g Google) validate() error {
	if g.Endpoint != "" {
		if err := checkHTTPURL(g.Endpoint); err != nil {
			return fieldErr("storage.google.endpoint", "%v", err)
		}
	}
	for i, b := range g.Buckets {
		f := fmt.Sprintf("storage.google.buckets[%d]", i)
		if b.Bucket == "" {
			return fieldErr(f+".bucket", "is required")
		}
		if !storageurl.ValidBucket(b.Bucket) {
			return fieldErr(f+".bucket", "%q is not a bucket name", b.Bucket)
		}
		if b.Subdir != "" {
			if err := checkSubdir(b.Subdir); err != nil {
				return fieldErr(f+".subdir", "%v", err)
			}
		}
	}
	return nil
}

// validate checks the containers in order; an endpoint host is checked
// against the hosts of the containers before it.
func (a Azure) validate() error {
	endpointAccounts := map[string]string{}
	for i, c := range a.Containers {
		f := fmt.Sprintf("storage.azure.containers[%d]", i)
		if c.AccountName == "" {
			return fieldErr(f+".account_name", "is required")
		}
		if !storageurl.ValidAccount(c.AccountName) {
			return fieldErr(f+".account_name", "%q is not a storage account name (3-24 lower-case letters and digits)", c.AccountName)
		}
		if c.ContainerName != "" && !validContainerName(c.ContainerName) {
			return fieldErr(f+".container_name", "%q is not a container name (3-63 lower-case letters, digits and single hyphens)", c.ContainerName)
		}
		if c.Endpoint != "" {
			if err := checkHTTPURL(c.Endpoint); err != nil {
				return fieldErr(f+".endpoint", "%v", err)
			}
			// azure://<endpoint host>/... names its account by the host
			// alone, so one host cannot serve two accounts.
			u, _ := url.Parse(c.Endpoint)
			h := strings.ToLower(u.Host)
			if prev, ok := endpointAccounts[h]; ok && prev != c.AccountName {
				return fieldErr(f+".endpoint", "host %s already serves account %s: azure:// URLs could not tell the accounts apart", h, prev)
			}
			endpointAccounts[h] = c.AccountName
		}
	}
	return nil
}

// checkSubdir accepts a relative folder: no leading slash, no empty, "." or
// ".." segment (storage URLs never carry those, so such an entry could never
// match).
func checkSubdir(d string) error {
	for _, seg := range strings.Split(strings.TrimSuffix(d, "/"), "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("must be a relative folder such as team/models (got %q)", d)
		}
	}
	for i := 0; i < len(d); i++ {
		if d[i] < 0x20 || d[i] == 0x7f || d[i] == '\\' {
			return fmt.Errorf("must not contain control characters or backslashes")
		}
	}
	return nil
}

// checkRegion accepts region names such as eu-west-1 (and the free-form ones
// of S3-compatible stores): the region is written into AWS endpoint hosts.
func checkRegion(r string) error {
	for i := 0; i < len(r); i++ {
		c := r[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("%q is not a region name such as eu-west-1", r)
		}
	}
	return nil
}

// validContainerName is Azure's rule for container names.
func validContainerName(c string) bool {
	if len(c) < 3 || len(c) > 63 || c[0] == '-' || c[len(c)-1] == '-' || strings.Contains(c, "--") {
		return false
	}
	for i := 0; i < len(c); i++ {
		if ch := c[i]; !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-') {
			return false
		}
	}
	return true
}

// checkHostPort accepts host:port (and, unless needPort, a bare host) with
// the characters storage URLs allow in a host.
func checkHostPort(h string, needPort bool) error {
	if strings.Contains(h, "@") {
		// Never quoted: what precedes the @ may be a password.
		return fmt.Errorf("must be host or host:port, without user information")
	}
	if strings.Contains(h, "://") || strings.ContainsAny(h, "/\\?# ") {
		return fmt.Errorf("must be host or host:port, without scheme or path (got %q)", h)
	}
	for i := 0; i < len(h); i++ {
		if h[i] < 0x21 || h[i] > 0x7e {
			return fmt.Errorf("must be ASCII without control characters")
		}
	}
	host, port, hasPort := strings.Cut(h, ":")
	if host == "" {
		return fmt.Errorf("has no host name (got %q)", h)
	}
	if strings.HasSuffix(host, ".") {
		return fmt.Errorf("must not end in a dot (got %q)", h)
	}
	if !storageurl.ValidHost(host) {
		return fmt.Errorf("must be a DNS name or IPv4 address with an optional port (got %q)", h)
	}
	if hasPort {
		if !storageurl.ValidPort(port) {
			return fmt.Errorf("port %q is not a number from 1 to 65535", port)
		}
	} else if needPort {
		// ClearML reads s3://a/b/c as host a only when a has a port, so a
		// host without one could never match a storage URL.
		return fmt.Errorf("must carry its port, such as %s:9000 or %s:443: storage URLs name a host only with its port (got %q)", h, h, h)
	}
	return nil
}

// quoteRedacted quotes a URL-like value for an error message with any user
// information (scheme://user:password@host) replaced by "REDACTED".
func quoteRedacted(s string) string {
	rest, scheme := s, ""
	if i := strings.Index(s, "://"); i >= 0 {
		scheme, rest = s[:i+3], s[i+3:]
	}
	auth := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		auth = rest[:i]
	}
	if i := strings.LastIndexByte(auth, '@'); i >= 0 {
		rest = "REDACTED" + rest[i:]
	}
	return strconv.Quote(scheme + rest)
}

// LogValue keeps secrets out of any log line that prints the config.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("s3_buckets", len(c.Storage.AWS.Buckets)),
		slog.Int("gs_buckets", len(c.Storage.Google.Buckets)),
		slog.Int("azure_containers", len(c.Storage.Azure.Containers)),
		slog.String("auth_mode", c.ClearML.AuthMode),
		slog.String("api_server", c.ClearML.APIServer),
		slog.Bool("storage_from_clearml", c.Storage.UseClearML()),
	)
}
