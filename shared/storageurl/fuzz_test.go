package storageurl

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

var fuzzOpts = Options{AzureHosts: map[string]string{"127.0.0.1:10000": "devstoreaccount1", "azurite:10000": "devstoreaccount1"}}

// FuzzParse checks the parser's invariants on any input: it never panics, and
// what it accepts is a URL that a store can address exactly as written.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "s3://bucket/key", "s3://bucket", "s3://bucket/", "s3://b///", "S3://Bucket/Key",
		"s3://host:9000/bucket/key", "s3://HOST:9000/bucket/a/b/", "s3://h:443/b/k", "s3://h:0/b/k",
		"s3://h:99999/b/k", "s3://h:abc/b/k", "s3://h:+1/b/k", "s3://h:09/b/k", "s3://:9/b/k",
		"s3://[::1]:9000/b/k", "s3://user@bucket/k", "s3://bucket/k#f", "s3://bucket/k?x=1",
		"s3://bucket./k", "s3://bücket/k", "s3://b/a/../k", "s3://b/./k", "s3://b/a/..", "s3://b/..",
		"s3://b/a%20b", "s3://b/a%2Fb", "s3://b/%2E%2E/k", "s3://b/a+b", "s3://b/a b", "s3://b/k=v",
		"s3://b/données/模型.pt", "s3://b/a\x00b", "s3://b/a\nb", "s3://b/a\x7f", "s3://b/a\u0085",
		"s3://b/\xff", `s3://b/a\b`, "s3:/b/k", "s3:b", "bucket/key", "http://h/b/k", "file:///etc/passwd",
		"gs://bucket/a/b.png", "gs://bucket:443/k", "GS://b/k",
		"azure://acct.blob.core.windows.net/container/key", "azure://evil.com/c/k",
		"azure://acct.blob.core.windows.net.evil.com/c/k", "azure://a.b.blob.core.windows.net/c/k",
		"azure://.blob.core.windows.net/c/k", "azure://127.0.0.1:10000/c/k", "azure://AZURITE:10000/c/k",
		"azure://acct.blob.core.windows.net/", "azure://\u212Acct.blob.core.windows.net/c/k",
		"s3://b/" + strings.Repeat("k", MaxKeyBytes), "s3://b/" + strings.Repeat("k", MaxKeyBytes+1),
		"s3://b/" + strings.Repeat("é", MaxKeyBytes/2),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		for _, o := range []Options{{}, fuzzOpts} {
			u, err := o.Parse(raw)
			if err != nil {
				var ue *Error
				if !errors.As(err, &ue) || ue.Message == "" {
					t.Fatalf("Parse(%q): error %v (%T) is not a *storageurl.Error with a message", raw, err, err)
				}
				if u != (URL{}) {
					t.Fatalf("Parse(%q) returned %+v with an error", raw, u)
				}
				for _, r := range err.Error() {
					if r < 0x20 || r == 0x7f || r == utf8.RuneError {
						t.Fatalf("Parse(%q): error message %q has an unprintable character", raw, err)
					}
				}
				continue
			}
			checkURL(t, raw, u)
			again, err := o.Parse(u.String())
			if err != nil {
				t.Fatalf("Parse(%q) = %+v, but its String() %q does not parse: %v", raw, u, u.String(), err)
			}
			if again != u {
				t.Fatalf("Parse(%q) = %+v, String() re-parses to %+v", raw, u, again)
			}
		}
	})
}

func checkURL(t *testing.T, raw string, u URL) {
	t.Helper()
	switch u.Provider {
	case S3:
		if u.Account != "" {
			t.Fatalf("Parse(%q): S3 URL with account %q", raw, u.Account)
		}
		if u.Host != "" {
			_, port, ok := strings.Cut(u.Host, ":")
			if n, err := strconv.Atoi(port); !ok || err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
				t.Fatalf("Parse(%q): S3 host %q without a canonical port", raw, u.Host)
			}
		}
	case GCS:
		if u.Host != "" || u.Account != "" {
			t.Fatalf("Parse(%q): GCS URL with host %q / account %q", raw, u.Host, u.Account)
		}
	case Azure:
		if u.Host == "" || u.Account == "" {
			t.Fatalf("Parse(%q): Azure URL without host or account: %+v", raw, u)
		}
		if _, configured := fuzzOpts.AzureHosts[u.Host]; !configured {
			if u.Host != u.Account+AzureBlobSuffix || !ValidAccount(u.Account) {
				t.Fatalf("Parse(%q): Azure host %q is neither configured nor <account>%s", raw, u.Host, AzureBlobSuffix)
			}
		}
	default:
		t.Fatalf("Parse(%q): provider %q", raw, u.Provider)
	}
	if u.Bucket == "" {
		t.Fatalf("Parse(%q): empty bucket", raw)
	}
	if len(u.Key) > MaxKeyBytes {
		t.Fatalf("Parse(%q): key of %d bytes", raw, len(u.Key))
	}
	if !utf8.ValidString(u.Key) {
		t.Fatalf("Parse(%q): key is not UTF-8", raw)
	}
	for _, r := range u.Key {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
			t.Fatalf("Parse(%q): key %q has control character %U", raw, u.Key, r)
		}
	}
	for _, seg := range strings.Split(u.Key, "/") {
		if seg == "." || seg == ".." {
			t.Fatalf("Parse(%q): key %q has a %q segment", raw, u.Key, seg)
		}
	}
	for _, part := range []string{u.Host, u.Bucket, u.Account} {
		for i := 0; i < len(part); i++ {
			c := part[i]
			if c >= 0x80 || c <= 0x20 || c == 0x7f || strings.IndexByte("/\\@#?%", c) >= 0 {
				t.Fatalf("Parse(%q): %q holds byte %q", raw, part, c)
			}
		}
	}
	if strings.ToLower(u.Host) != u.Host {
		t.Fatalf("Parse(%q): host %q is not lower-case", raw, u.Host)
	}
	if strings.HasSuffix(u.Host, ".") || strings.HasSuffix(u.Bucket, ".") && u.Host == "" {
		t.Fatalf("Parse(%q): host or AWS bucket ends in a dot: %+v", raw, u)
	}
	if strings.ContainsAny(u.Key, "\\#?") {
		t.Fatalf("Parse(%q): key %q holds \\, # or ?", raw, u.Key)
	}
}
