// Package storageurl parses the storage URLs that ClearML writes: s3://, gs://
// and azure:// (docs/configuration.md#storage-urls). The key is the URL path
// taken literally, never URL-decoded, because ClearML writes keys that
// contain %xx.
package storageurl

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Provider names a store family.
type Provider string

// The providers.
const (
	S3    Provider = "s3"
	GCS   Provider = "gs"
	Azure Provider = "azure"
)

// MaxKeyBytes is every provider's limit on an object name.
const MaxKeyBytes = 1024

// AzureBlobSuffix is the public cloud's blob host suffix.
const AzureBlobSuffix = ".blob.core.windows.net"

// URL is a parsed storage URL.
type URL struct {
	Provider Provider
	// Host is the S3-compatible host[:port] (empty for AWS) or the Azure blob
	// host, lower-cased.
	Host string
	// Account is the Azure storage account.
	Account string
	// Bucket is the bucket, or the Azure container.
	Bucket string
	// Key is the object name, exactly as written in the URL (may be empty).
	Key string
}

// BucketURL is the URL of u's bucket, the scope a refusal names:
// s3://host/bucket for an S3-compatible host, azure://host/container, else
// provider://bucket.
func (u URL) BucketURL() string {
	switch {
	case u.Provider == S3 && u.Host != "", u.Provider == Azure:
		return string(u.Provider) + "://" + u.Host + "/" + u.Bucket
	}
	return string(u.Provider) + "://" + u.Bucket
}

// String renders the URL in ClearML's form.
func (u URL) String() string {
	switch u.Provider {
	case S3:
		if u.Host != "" {
			return "s3://" + u.Host + "/" + u.Bucket + "/" + u.Key
		}
		return "s3://" + u.Bucket + "/" + u.Key
	case GCS:
		return "gs://" + u.Bucket + "/" + u.Key
	case Azure:
		return "azure://" + u.Host + "/" + u.Bucket + "/" + u.Key
	}
	return ""
}

// Error is a URL the service refuses; Message names the problem for a user.
type Error struct{ Message string }

func (e *Error) Error() string { return e.Message }

func errorf(format string, args ...any) error { return &Error{Message: fmt.Sprintf(format, args...)} }

// Options widen what the parser accepts.
type Options struct {
	// AzureHosts maps a configured blob endpoint's host (lower-case) to its
	// account, for sovereign clouds and emulators.
	AzureHosts map[string]string
}

// Parse parses raw with no extra Azure hosts.
func Parse(raw string) (URL, error) { return Options{}.Parse(raw) }

// Parse parses a storage URL. It refuses anything a signed URL could not
// faithfully address: control characters, backslashes, userinfo, queries,
// fragments, odd hosts, `.` and `..` segments, and keys over 1,024 bytes.
// The checks run from the whole string inwards (characters, scheme, host,
// bucket, key), so that a URL wrong in several ways is refused for the first.
func (o Options) Parse(raw string) (URL, error) {
	if raw == "" {
		return URL{}, errorf("the url is empty: give a storage URL such as s3://bucket/path/file")
	}
	if err := checkCharacters(raw); err != nil {
		return URL{}, err
	}
	p, rest, err := splitScheme(raw)
	if err != nil {
		return URL{}, err
	}
	authority, path, _ := strings.Cut(rest, "/")
	if err := checkAuthority(p, authority); err != nil {
		return URL{}, err
	}
	u := URL{Provider: p}
	switch p {
	case S3:
		path, err = parseS3(&u, authority, path)
	case GCS:
		err = parseGS(&u, authority)
	case Azure:
		path, err = o.parseAzure(&u, authority, path)
	}
	if err != nil {
		return URL{}, err
	}
	if !ValidBucket(u.Bucket) {
		return URL{}, errorf("%q is not a valid bucket or container name", asciiOnly(u.Bucket))
	}
	if err := checkKey(path); err != nil {
		return URL{}, err
	}
	u.Key = path
	return u, nil
}

// checkCharacters refuses what no part of a storage URL may hold. One pass
// over the bytes finds what an ASCII URL can hold wrongly; the UTF-8 checks
// run only when there is non-ASCII, since every request parses.
func checkCharacters(raw string) error {
	ascii := true
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c < 0x20 || c == 0x7f:
			return errorf("the url contains a control character at byte %d", i)
		case c == '\\':
			return errorf("the url contains a backslash")
		case c == '#':
			return errorf("the url contains a fragment (#): storage URLs have none")
		case c == '?':
			return errorf("the url contains a query (?): storage URLs have none")
		case c >= 0x80:
			ascii = false
		}
	}
	if !ascii {
		if !utf8.ValidString(raw) {
			return errorf("the url is not valid UTF-8: storage keys are UTF-8 text")
		}
		for i, r := range raw {
			if r >= 0x80 && r <= 0x9f {
				return errorf("the url contains a control character at byte %d", i)
			}
		}
	}
	return nil
}

// splitScheme returns the provider and what follows its "://". A URL that
// lacks only the "//" is told so, as that is the likely slip.
func splitScheme(raw string) (Provider, string, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		if s, _, found := strings.Cut(raw, ":"); found && s != "" && !strings.Contains(s, "/") {
			return "", "", errorf("the url must start with s3://, gs:// or azure:// (the // after %q is missing)", asciiOnly(s)+":")
		}
		return "", "", errorf("the url has no scheme: give a storage URL such as s3://bucket/path/file")
	}
	// Scheme and host comparisons lower-case ASCII only
	// (docs/configuration.md#storage-urls).
	switch asciiLower(scheme) {
	case "s3":
		return S3, rest, nil
	case "gs":
		return GCS, rest, nil
	case "azure":
		return Azure, rest, nil
	}
	return "", "", errorf("unsupported scheme %q: use s3://, gs:// or azure://", asciiOnly(scheme))
}

// checkAuthority refuses the first path segment (a bucket or a host,
// depending on the provider) where no provider could accept it.
func checkAuthority(p Provider, authority string) error {
	if authority == "" {
		return errorf("the url has no bucket or host after %s://", p)
	}
	if strings.ContainsRune(authority, '@') {
		return errorf("the url carries user information (@) in its host")
	}
	for i := 0; i < len(authority); i++ {
		if authority[i] >= 0x80 {
			return errorf("the url's host is not ASCII")
		}
	}
	if strings.HasSuffix(authority, ".") {
		return errorf("the url's host ends in a dot")
	}
	if strings.ContainsAny(authority, " %") {
		return errorf("the url's host contains a space or %%")
	}
	return nil
}

// The scheme's readers: each fills u's host, account and bucket from the
// URL's first segment (authority) and what follows it (path), and returns
// the part of path that is the key. Where the bucket sits is the one thing
// the schemes disagree on.

// parseS3 reads s3://bucket/key, or s3://host:port/bucket/key: as ClearML
// does, the first segment is a host only when it carries a port.
func parseS3(u *URL, authority, path string) (string, error) {
	if !strings.Contains(authority, ":") {
		u.Bucket = authority
		return path, nil
	}
	if err := checkHostPort(authority); err != nil {
		return "", err
	}
	u.Host = asciiLower(authority)
	u.Bucket, path, _ = strings.Cut(path, "/")
	if u.Bucket == "" {
		return "", errorf("the url names host %s but no bucket", u.Host)
	}
	return path, nil
}

// parseGS reads gs://bucket/key; GCS has no other hosts to name, and the
// key is all of path.
func parseGS(u *URL, authority string) error {
	if strings.Contains(authority, ":") {
		return errorf("a gs:// URL names a bucket, not a host:port")
	}
	u.Bucket = authority
	return nil
}

// parseAzure reads azure://host/container/key. The host names the account:
// a configured endpoint's host first (o.AzureHosts), else the public cloud's
// <account>.blob.core.windows.net.
func (o Options) parseAzure(u *URL, authority, path string) (string, error) {
	host := asciiLower(authority)
	if acct, ok := o.AzureHosts[host]; ok && acct != "" {
		u.Account = acct
	} else if acct, ok := strings.CutSuffix(host, AzureBlobSuffix); ok && ValidAccount(acct) {
		u.Account = acct
	} else {
		return "", errorf("azure host %q is not <account>%s nor a configured endpoint", host, AzureBlobSuffix)
	}
	u.Host = host
	u.Bucket, path, _ = strings.Cut(path, "/")
	if u.Bucket == "" {
		return "", errorf("the azure url names no container")
	}
	return path, nil
}

// checkKey refuses keys that a store would refuse or that a client would
// rewrite before signing, so that the URL signed is the object named.
func checkKey(key string) error {
	if len(key) > MaxKeyBytes {
		return errorf("the object key is %d bytes long; the limit is %d", len(key), MaxKeyBytes)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "." || seg == ".." {
			return errorf("the key contains a %q path segment, which clients normalise away", seg)
		}
	}
	return nil
}

// PrefixDepth counts the non-empty path segments of the key.
func (u URL) PrefixDepth() int {
	n := 0
	for _, s := range strings.Split(u.Key, "/") {
		if s != "" {
			n++
		}
	}
	return n
}

// BaseName is the key's last segment, taken literally.
func (u URL) BaseName() string {
	k := strings.TrimSuffix(u.Key, "/")
	if i := strings.LastIndexByte(k, '/'); i >= 0 {
		return k[i+1:]
	}
	return k
}

func checkHostPort(a string) error {
	host, port, _ := strings.Cut(a, ":")
	if host == "" {
		return errorf("the url's host is empty")
	}
	for i := 0; i < len(host); i++ {
		if !hostByte(host[i]) {
			return errorf("the url's host contains %q", host[i])
		}
	}
	if strings.HasSuffix(host, ".") {
		return errorf("the url's host ends in a dot")
	}
	if !ValidPort(port) {
		return errorf("the url's port %q is not a number from 1 to 65535", port)
	}
	return nil
}

// ValidHost reports whether h is a host name as a storage URL and a
// configured host may give it: a DNS name or an IPv4 address (letters,
// digits, '.', '-', '_'), not ending in a dot.
func ValidHost(h string) bool {
	if h == "" || strings.HasSuffix(h, ".") {
		return false
	}
	for i := 0; i < len(h); i++ {
		if !hostByte(h[i]) {
			return false
		}
	}
	return true
}

func hostByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_'
}

// ValidPort reports whether p is a port from 1 to 65535 in digits only, with
// no sign and no leading zero: a port is compared as written with the
// configured host:port.
func ValidPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535 && p[0] >= '1' && p[0] <= '9'
}

// ValidBucket accepts S3, GCS and Azure names (their character sets; length
// and case rules are the stores' own to enforce).
func ValidBucket(b string) bool {
	if b == "" || len(b) > 255 || b == "." || b == ".." {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// ValidAccount reports whether a is an Azure storage account name: 3 to 24
// lower-case letters and digits.
func ValidAccount(a string) bool {
	if len(a) < 3 || len(a) > 24 {
		return false
	}
	for i := 0; i < len(a); i++ {
		if c := a[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// asciiLower lower-cases ASCII letters only: Unicode case mapping would let
// other characters (the Kelvin sign, dotted I) turn into ASCII ones.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + ('a' - 'A')
				}
			}
			return string(b)
		}
	}
	return s
}

// asciiOnly keeps a message printable whatever the input held.
func asciiOnly(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r >= 0x7f {
			return '?'
		}
		return r
	}, s)
}
