// Package gcsverify checks Google Cloud Storage V4 signed URLs
// (GOOG4-RSA-SHA256) the way Cloud Storage does, for tests: fake-gcs-server
// serves any request, so a Proxy in front of it refuses what real GCS would
// refuse (a tampered, expired or foreign URL, another method, another object).
//
// It is written from Google's description of the algorithm
// (https://cloud.google.com/storage/docs/authentication/signatures), shares
// no code with the signer it checks, and is pinned by Google's conformance
// vectors and by URLs that the Google Cloud CLI signs.
package gcsverify

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Algorithm is the only one a service account key signs with.
const Algorithm = "GOOG4-RSA-SHA256"

const (
	v4Date = "20060102T150405Z"
	// maxExpires is V4's limit: seven days.
	maxExpires = 7 * 24 * 60 * 60
	// futureSkew is how far ahead of the verifier's clock a URL's date may
	// be: signers' clocks drift.
	futureSkew = 15 * time.Minute
)

// Error is a refusal, with the status and XML error code Cloud Storage
// answers with. Details carry the recomputed canonical request and string to
// sign, as Cloud Storage's SignatureDoesNotMatch answer does.
type Error struct {
	Status  int
	Code    string
	Message string
	Details string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
	if e.Details != "" {
		s += "\n" + e.Details
	}
	return s
}

func refuse(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Verifier knows service accounts' public keys.
type Verifier struct {
	// Now is the verifier's clock; nil means time.Now.
	Now  func() time.Time
	keys map[string]*rsa.PublicKey
}

// New returns a Verifier that knows no key yet.
func New() *Verifier { return &Verifier{keys: map[string]*rsa.PublicKey{}} }

// AddKey trusts pub for the service account email.
func (v *Verifier) AddKey(email string, pub *rsa.PublicKey) { v.keys[email] = pub }

// AddServiceAccount trusts the public half of a service account key file
// and returns the account's email.
func (v *Verifier) AddServiceAccount(keyJSON []byte) (string, error) {
	var f struct {
		ClientEmail string `json:"client_email"`
		PrivateKey  string `json:"private_key"`
	}
	if err := json.Unmarshal(keyJSON, &f); err != nil {
		return "", errors.New("gcsverify: not a service account key file")
	}
	block, _ := pem.Decode([]byte(f.PrivateKey))
	if f.ClientEmail == "" || block == nil {
		return "", errors.New("gcsverify: key file without client_email or a PEM private_key")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return "", errors.New("gcsverify: private_key is not PKCS #8")
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return "", errors.New("gcsverify: private_key is not an RSA key")
	}
	v.AddKey(f.ClientEmail, &rk.PublicKey)
	return f.ClientEmail, nil
}

// Verify checks r's V4 query signature: algorithm, credential scope, date
// and expiry against the clock, the signed headers, and the RSA signature
// over the canonical request recomputed from r (method, path, query, headers).
// The refusal is an *Error.
func (v *Verifier) Verify(r *http.Request) error {
	c, err := canonicalize(r)
	if err != nil {
		return err
	}
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	if now.Before(c.date.Add(-futureSkew)) {
		return refuse(http.StatusBadRequest, "AuthorizationQueryParametersError", "Request is not yet valid (X-Goog-Date %s)", c.date.Format(v4Date))
	}
	if !now.Before(c.expires) {
		return refuse(http.StatusBadRequest, "ExpiredToken", "Request has expired (at %s)", c.expires.Format(time.RFC3339))
	}
	pub, ok := v.keys[c.email]
	if !ok {
		return refuse(http.StatusForbidden, "AccessDenied", "unknown service account %q", c.email)
	}
	digest := sha256.Sum256([]byte(c.stringToSign))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], c.signature) != nil {
		e := refuse(http.StatusForbidden, "SignatureDoesNotMatch", "Access denied: the signature does not match")
		e.Details = "StringToSign:\n" + c.stringToSign + "\nCanonicalRequest:\n" + c.canonicalRequest
		return e
	}
	return nil
}

// canonical is a request's V4 parameters and the strings recomputed from it.
type canonical struct {
	email            string
	date, expires    time.Time
	signature        []byte
	canonicalRequest string
	stringToSign     string
}

type param struct{ key, value string }

// parseQuery splits a raw query into decoded pairs, in order, keeping
// duplicates; a pair that does not decode is kept raw (and will not verify).
func parseQuery(raw string) []param {
	var ps []param
	for _, kv := range strings.Split(raw, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if dv, err := url.QueryUnescape(v); err == nil {
			v = dv
		}
		ps = append(ps, param{k, v})
	}
	return ps
}

func canonicalize(r *http.Request) (*canonical, error) {
	ps := parseQuery(r.URL.RawQuery)
	// X-Goog-* names are matched regardless of case: the Cloud CLI writes
	// them in lower case, the client libraries in mixed case.
	x := map[string]string{}
	var rest []param
	for _, p := range ps {
		name := strings.ToLower(p.key)
		switch name {
		case "x-goog-algorithm", "x-goog-credential", "x-goog-date", "x-goog-expires", "x-goog-signedheaders", "x-goog-signature":
			if _, dup := x[name]; dup {
				return nil, refuse(http.StatusBadRequest, "AuthorizationQueryParametersError", "%s appears twice", p.key)
			}
			x[name] = p.value
			if name == "x-goog-signature" {
				continue
			}
		}
		rest = append(rest, p)
	}
	if len(x) == 0 {
		return nil, refuse(http.StatusForbidden, "AccessDenied", "Anonymous caller does not have storage.objects.get access: the URL carries no X-Goog-Signature")
	}
	for _, name := range []string{"x-goog-algorithm", "x-goog-credential", "x-goog-date", "x-goog-expires", "x-goog-signedheaders", "x-goog-signature"} {
		if x[name] == "" {
			return nil, refuse(http.StatusBadRequest, "AuthorizationQueryParametersError", "%s is missing", name)
		}
	}
	if x["x-goog-algorithm"] != Algorithm {
		return nil, refuse(http.StatusBadRequest, "AuthorizationQueryParametersError", "X-Goog-Algorithm %q is not %s", x["x-goog-algorithm"], Algorithm)
	}
	c := &canonical{}
	var err error
	if c.date, err = time.Parse(v4Date, x["x-goog-date"]); err != nil {
		return nil, refuse(http.StatusBadRequest, "AuthorizationQueryParametersError", "X-Goog-Date %q is not YYYYMMDDTHHMMSSZ", x["x-goog-date"])
	}
	secs, err := strconv.Atoi(x["x-goog-expires"])
	if err != nil || secs < 1 || secs > maxExpires {
		return nil, refuse(http.StatusBadRequest, "AuthorizationQueryParametersError", "X-Goog-Expires %q is not a number of seconds from 1 to %d", x["x-goog-expires"], maxExpires)
	}
	c.expires = c.date.Add(time.Duration(secs) * time.Second)

	// Credential: EMAIL/YYYYMMDD/REGION/storage/goog4_request, dated the
	// same day as X-Goog-Date. Any region is accepted ("auto" by default).
	cred := strings.Split(x["x-goog-credential"], "/")
	if len(cred) != 5 || cred[0] == "" || cred[2] == "" || cred[3] != "storage" || cred[4] != "goog4_request" {
		return nil, refuse(http.StatusBadRequest, "AuthorizationQueryParametersError", "X-Goog-Credential %q is not EMAIL/DATE/REGION/storage/goog4_request", x["x-goog-credential"])
	}
	if cred[1] != c.date.Format("20060102") {
		return nil, refuse(http.StatusBadRequest, "AuthorizationQueryParametersError", "the credential scope's date %s is not X-Goog-Date's day", cred[1])
	}
	c.email = cred[0]
	scope := strings.Join(cred[1:], "/")

	if c.signature, err = hex.DecodeString(x["x-goog-signature"]); err != nil {
		return nil, refuse(http.StatusBadRequest, "AuthorizationQueryParametersError", "X-Goog-Signature is not hexadecimal")
	}

	headers, payload, err := canonicalHeaders(r, x["x-goog-signedheaders"])
	if err != nil {
		return nil, err
	}

	var b strings.Builder
	b.WriteString(r.Method + "\n")
	// The path as an object name (decoded), encoded again the V4 way: how a
	// client escaped it (%20 or +-free spaces, %2B) does not matter.
	b.WriteString(escape(r.URL.Path, true) + "\n")
	b.WriteString(canonicalQuery(rest) + "\n")
	b.WriteString(headers + "\n")
	b.WriteString(x["x-goog-signedheaders"] + "\n")
	b.WriteString(payload)
	c.canonicalRequest = b.String()
	sum := sha256.Sum256([]byte(c.canonicalRequest))
	c.stringToSign = Algorithm + "\n" + x["x-goog-date"] + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	return c, nil
}

// canonicalHeaders writes "name:value\n" for each signed header, in the
// signed order; host is the Host header without its port, as Google's
// libraries sign it. A signed x-goog-content-sha256 replaces UNSIGNED-PAYLOAD.
func canonicalHeaders(r *http.Request, signed string) (string, string, error) {
	names := strings.Split(signed, ";")
	if !sort.StringsAreSorted(names) || !slices.Contains(names, "host") {
		return "", "", refuse(http.StatusBadRequest, "AuthorizationQueryParametersError", "X-Goog-SignedHeaders %q must be sorted and include host", signed)
	}
	var b strings.Builder
	payload := "UNSIGNED-PAYLOAD"
	for i, name := range names {
		if name != strings.ToLower(name) || name == "" || i > 0 && names[i-1] == name {
			return "", "", refuse(http.StatusBadRequest, "AuthorizationQueryParametersError", "X-Goog-SignedHeaders %q must list distinct lower-case names", signed)
		}
		var value string
		if name == "host" {
			value = r.Host
			if h, _, err := net.SplitHostPort(value); err == nil {
				value = h
			}
			value = strings.ToLower(value)
		} else {
			vs := r.Header.Values(name)
			if len(vs) == 0 {
				return "", "", refuse(http.StatusForbidden, "SignatureDoesNotMatch", "signed header %s is not in the request", name)
			}
			for j := range vs {
				vs[j] = strings.Join(strings.Fields(vs[j]), " ")
			}
			value = strings.Join(vs, ",")
			if name == "x-goog-content-sha256" {
				payload = value
			}
		}
		b.WriteString(name + ":" + value + "\n")
	}
	return b.String(), payload, nil
}

// canonicalQuery encodes every parameter but the signature the V4 way,
// sorted by name, then value.
func canonicalQuery(ps []param) string {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].key != ps[j].key {
			return ps[i].key < ps[j].key
		}
		return ps[i].value < ps[j].value
	})
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = escape(p.key, false) + "=" + escape(p.value, false)
	}
	return strings.Join(parts, "&")
}

// escape percent-encodes every byte but A-Z a-z 0-9 - . _ ~ (and '/' in a
// path), upper-case hex, as the V4 canonical request wants.
func escape(s string, path bool) string {
	const hexdig = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~', c == '/' && path:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexdig[c>>4])
			b.WriteByte(hexdig[c&15])
		}
	}
	return b.String()
}
