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
func (o Options) Parse(raw string) (URL, error) {
	if raw == "" {
		return URL{}, errorf("the url is empty: give a storage URL such as s3://bucket/path/file")
	}
	// One pass over the bytes for what an ASCII URL can hold wrongly; the
	// UTF-8 checks run only when there is non-ASCII (every request parses).
	ascii := true
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c < 0x20 || c == 0x7f:
			return URL{}, errorf("the url contains a control character at byte %d", i)
		case c == '\\':
			return URL{}, errorf("the url contains a backslash")
		case c == '#':
			return URL{}, errorf("the url contains a fragment (#): storage URLs have none")
		case c == '?':
			return URL{}, errorf("the url contains a query (?): storage URLs have none")
		case c >= 0x80:
			ascii = false
		}
	}
	if !ascii {
		if !utf8.ValidString(raw) {
			return URL{}, errorf("the url is not valid UTF-8: storage keys are UTF-8 text")
		}
		for i, r := range raw {
			if r >= 0x80 && r <= 0x9f {
				return URL{}, errorf("the url contains a control character at byte %d", i)
			}
		}
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		if s, _, found := strings.Cut(raw, ":"); found && s != "" && !strings.Contains(s, "/") {
			return URL{}, errorf("the url must start with s3://, gs:// or azure:// (the // after %q is missing)", asciiOnly(s)+":")
		}
		return URL{}, errorf("the url has no scheme: give a storage URL such as s3://bucket/path/file")
	}
	var p Provider
	// Scheme and host comparisons lower-case ASCII only
	// (docs/configuration.md#storage-urls).
	switch asciiLower(scheme) {
	case "s3":
		p = S3
	case "gs":
		p = GCS
	case "azure":
		p = Azure
	default:
		return URL{}, errorf("unsupported scheme %q: use s3://, gs:// or azure://", asciiOnly(scheme))
	}
	authority, path, _ := strings.Cut(rest, "/")
	if authority == "" {
		return URL{}, errorf("the url has no bucket or host after %s://", p)
	}
	if strings.ContainsRune(authority, '@') {
		return URL{}, errorf("the url carries user information (@) in its host")
	}
	for i := 0; i < len(authority); i++ {
		if authority[i] >= 0x80 {
			return URL{}, errorf("the url's host is not ASCII")
		}
	}
	if strings.HasSuffix(authority, ".") {
		return URL{}, errorf("the url's host ends in a dot")
	}
	if strings.ContainsAny(authority, " %") {
		return URL{}, errorf("the url's host contains a space or %%")
	}
	u := URL{Provider: p}
	switch p {
	case S3:
		if strings.Contains(authority, ":") {
			if err := checkHostPort(authority); err != nil {
				return URL{}, err
			}
			u.Host = asciiLower(authority)
			u.Bucket, path, _ = strings.Cut(path, "/")
			if u.Bucket == "" {
				return URL{}, errorf("the url names host %s but no bucket", u.Host)
			}
		} else {
			u.Bucket = authority
		}
	case GCS:
		if strings.Contains(authority, ":") {
			return URL{}, errorf("a gs:// URL names a bucket, not a host:port")
		}
		u.Bucket = authority
	case Azure:
		host := asciiLower(authority)
		if acct, ok := o.AzureHosts[host]; ok && acct != "" {
			u.Account = acct
		} else if acct, ok := strings.CutSuffix(host, AzureBlobSuffix); ok && ValidAccount(acct) {
			u.Account = acct
		} else {
			return URL{}, errorf("azure host %q is not <account>%s nor a configured endpoint", host, AzureBlobSuffix)
		}
		u.Host = host
		u.Bucket, path, _ = strings.Cut(path, "/")
		if u.Bucket == "" {
			return URL{}, errorf("the azure url names no container")
		}
	}
	if !ValidBucket(u.Bucket) {
		return URL{}, errorf("%q is not a valid bucket or container name", asciiOnly(u.Bucket))
	}
	if len(path) > MaxKeyBytes {
		return URL{}, errorf("the object key is %d bytes long; the limit is %d", len(path), MaxKeyBytes)
	}
	for _, seg := range strings.Split(path, "/") {
		if seg == "." || seg == ".." {
			return URL{}, errorf("the key contains a %q path segment, which clients normalise away", seg)
		}
	}
	u.Key = path
	return u, nil
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
		c := host[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return errorf("the url's host contains %q", c)
		}
	}
	if strings.HasSuffix(host, ".") {
		return errorf("the url's host ends in a dot")
	}
	n, err := strconv.Atoi(port)
	// Digits only, no sign and no leading zero: the port is compared as
	// written with the configured host:port.
	if err != nil || n < 1 || n > 65535 || port[0] < '1' || port[0] > '9' {
		return errorf("the url's port %q is not a number from 1 to 65535", port)
	}
	return nil
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
