// Package clearmlauth verifies the caller of the presign service against
// ClearML (docs/http.md#the-callers-credential and
// docs/http.md#verifying-the-caller-against-clearml): it finds the caller's
// credential in a request, checks it with the ClearML API server (or
// locally, in jwt mode), caches the answer and applies allowed_roles /
// allowed_companies.
//
// Credentials never reach a log line or an error message: Credential prints
// only its kind and source, the cache is keyed by a hash, and errors carry
// reasons, not inputs.
package clearmlauth

import (
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
)

// Kind is the kind of a caller's credential.
type Kind int

const (
	// Invalid is a credential that was present but unusable (an unknown
	// Authorization scheme, bad base64, an empty token). Verify refuses it
	// with ErrUnauthenticated: a present credential is the caller's, so the
	// service never falls through to another one.
	Invalid Kind = iota
	// Bearer is a ClearML session token (a JWT), from the Authorization
	// header or a cookie.
	Bearer
	// Basic is a pair of ClearML API credentials, access_key:secret_key.
	Basic
)

func (k Kind) String() string {
	switch k {
	case Bearer:
		return "bearer"
	case Basic:
		return "basic"
	default:
		return "invalid"
	}
}

// Credential is what the caller presented. Its String, Format and LogValue
// show only Kind and Source, and JSON leaves the secrets out, so that a
// Credential can be logged or printed by mistake without leaking.
type Credential struct {
	Kind   Kind
	Token  string `json:"-"` // Bearer
	Key    string `json:"-"` // Basic: access key
	Secret string `json:"-"` // Basic: secret key
	// Source says where it came from, for logs: "authorization" or
	// "cookie:<name>".
	Source string

	problem string // why an Invalid credential is unusable; safe to show
}

// String is "<kind> credential from <source>".
func (c Credential) String() string { return c.Kind.String() + " credential from " + c.Source }

// Format makes every fmt verb (%v, %+v, %#v, %d, ...) print String, never
// the fields.
func (c Credential) Format(f fmt.State, _ rune) { io.WriteString(f, c.String()) }

// LogValue logs the kind and the source only.
func (c Credential) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kind", c.Kind.String()), slog.String("source", c.Source))
}

// FromRequest finds the caller's credential: the Authorization header
// (Bearer or Basic), then the cookies named in cookieNames, in order. The
// first one present in the request as sent is the caller's, even if it is
// malformed (then its Kind is Invalid). A cookie holds a Bearer token. The query string is never
// read. ok is false when the request carries no credential at all.
//
// An Authorization header that is empty or blank counts as absent: it holds
// nothing a caller could have meant as a credential, and some proxies add
// it empty.
func FromRequest(r *http.Request, cookieNames []string) (c Credential, ok bool) {
	if vals := r.Header.Values("Authorization"); len(vals) > 1 {
		return invalid("authorization", "the request has more than one Authorization header"), true
	} else if len(vals) == 1 && strings.TrimSpace(vals[0]) != "" {
		return parseAuthorization(vals[0]), true
	}
	cookies := r.Header["Cookie"]
	if len(cookies) == 0 {
		return Credential{}, false
	}
	for _, name := range cookieNames {
		if v, found := rawCookie(cookies, name); found && v != "" {
			if !validCookieValue(v) {
				return invalid("cookie:"+name, "the cookie "+name+" holds characters a cookie value may not"), true
			}
			return Credential{Kind: Bearer, Token: v, Source: "cookie:" + name}, true
		}
	}
	return Credential{}, false
}

// rawCookie finds the first cookie called name in the Cookie headers as
// sent. net/http's parser silently drops a cookie whose value holds a byte
// outside the cookie octets, which would make the next configured cookie the
// caller's: here a present cookie is found whatever its value.
func rawCookie(headers []string, name string) (string, bool) {
	for _, line := range headers {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			k, v, ok := strings.Cut(part, "=")
			if !ok || strings.TrimSpace(k) != name {
				continue
			}
			v = strings.TrimSpace(v)
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			return v, true
		}
	}
	return "", false
}

// validCookieValue accepts what net/http accepts in a cookie value.
func validCookieValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c >= 0x7f || c == '"' || c == ';' || c == '\\' || c == ' ' {
			return false
		}
	}
	return true
}

// parseAuthorization reads "Bearer <token>" or "Basic <base64(key:secret)>".
// The problems it reports never quote the header: a caller who left out the
// scheme would otherwise see the token echoed as the "scheme".
func parseAuthorization(h string) Credential {
	const src = "authorization"
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	rest = strings.TrimSpace(rest)
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		if rest == "" {
			return invalid(src, "the Bearer token is empty")
		}
		if strings.ContainsAny(rest, " \t") {
			return invalid(src, "the Bearer token is malformed")
		}
		return Credential{Kind: Bearer, Token: rest, Source: src}
	case strings.EqualFold(scheme, "Basic"):
		raw, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return invalid(src, "the Basic credentials are not valid base64")
		}
		key, secret, found := strings.Cut(string(raw), ":")
		if !found || key == "" || secret == "" {
			return invalid(src, "the Basic credentials must be access_key:secret_key")
		}
		return Credential{Kind: Basic, Key: key, Secret: secret, Source: src}
	default:
		return invalid(src, "the Authorization scheme is not supported (use Bearer or Basic)")
	}
}

func invalid(source, problem string) Credential {
	return Credential{Kind: Invalid, Source: source, problem: problem}
}

// Identity is a verified caller.
type Identity struct {
	UserID, UserName, CompanyID, CompanyName string
	Role                                     string // empty in validate_token mode
}

// LogValue logs ids, role and company name, for a log line about a caller
// (the presign request line itself writes the user and company ids as
// strings: docs/http.md#request-ids-and-the-log-line).
func (id Identity) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("user_id", id.UserID),
		slog.String("company_id", id.CompanyID),
		slog.String("company", id.CompanyName),
		slog.String("role", id.Role),
	)
}
