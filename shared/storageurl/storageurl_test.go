package storageurl

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRefuses(t *testing.T) {
	long := strings.Repeat("k", MaxKeyBytes+1)
	tests := []struct {
		name string
		raw  string
		opts Options
		want string // a part of the error message
	}{
		{"empty", "", Options{}, "the url is empty"},
		{"relative", "bucket/key", Options{}, "has no scheme"},
		{"bare word", "bucket", Options{}, "has no scheme"},
		{"http", "http://example.com/b/k", Options{}, `unsupported scheme "http"`},
		{"https", "https://bucket.s3.amazonaws.com/k", Options{}, `unsupported scheme "https"`},
		{"file", "file:///etc/passwd", Options{}, `unsupported scheme "file"`},
		{"ftp", "ftp://host/b/k", Options{}, `unsupported scheme "ftp"`},
		{"s3a", "s3a://bucket/k", Options{}, `unsupported scheme "s3a"`},
		{"unicode scheme", "ſ3://bucket/k", Options{}, "unsupported scheme"},
		{"missing // (one slash)", "s3:/bucket/key", Options{}, `the // after "s3:" is missing`},
		{"missing // (none)", "s3:bucket/key", Options{}, `the // after "s3:" is missing`},
		{"gs missing //", "gs:bucket/key", Options{}, `the // after "gs:" is missing`},
		{"NUL in key", "s3://bucket/a\x00b", Options{}, "control character at byte 13"},
		{"newline in key", "s3://bucket/a\nb", Options{}, "control character"},
		{"CR in key", "s3://bucket/a\rb", Options{}, "control character"},
		{"tab in key", "s3://bucket/a\tb", Options{}, "control character"},
		{"DEL in key", "s3://bucket/a\x7fb", Options{}, "control character"},
		{"NUL in scheme", "s\x003://bucket/k", Options{}, "control character at byte 1"},
		{"newline in host", "s3://host\n:9000/b/k", Options{}, "control character"},
		{"DEL in bucket", "s3://buck\x7fet/k", Options{}, "control character"},
		{"trailing newline", "s3://bucket/k\n", Options{}, "control character"},
		{"C1 control in key", "s3://bucket/a\u0085b", Options{}, "control character"},
		{"invalid UTF-8 in key", "s3://bucket/a\xffb", Options{}, "not valid UTF-8"},
		{"backslash in key", `s3://bucket/a\b`, Options{}, "backslash"},
		{"backslash in host", `s3://host\:9000/b/k`, Options{}, "backslash"},
		{"backslash as separator", `s3:\\bucket\k`, Options{}, "backslash"},
		{"userinfo", "s3://user@bucket/k", Options{}, "user information"},
		{"userinfo with password", "s3://user:pw@host:9000/b/k", Options{}, "user information"},
		{"userinfo azure", "azure://x@acct.blob.core.windows.net/c/k", Options{}, "user information"},
		{"fragment", "s3://bucket/k#frag", Options{}, "fragment"},
		{"fragment only", "s3://bucket/#", Options{}, "fragment"},
		{"query", "s3://bucket/k?versionId=1", Options{}, "query"},
		{"query only mark", "s3://bucket/k?", Options{}, "query"},
		{"trailing dot aws bucket", "s3://bucket./k", Options{}, "ends in a dot"},
		{"trailing dot host", "s3://host.:9000/b/k", Options{}, "ends in a dot"},
		{"trailing dot azure", "azure://acct.blob.core.windows.net./c/k", Options{}, "ends in a dot"},
		{"trailing dot gs", "gs://bucket./k", Options{}, "ends in a dot"},
		{"non-ASCII bucket", "s3://bücket/k", Options{}, "not ASCII"},
		{"non-ASCII host", "s3://hö.st:9000/b/k", Options{}, "not ASCII"},
		{"non-ASCII azure host", "azure://äcct.blob.core.windows.net/c/k", Options{}, "not ASCII"},
		{"kelvin sign azure host", "azure://\u212Acct.blob.core.windows.net/c/k", Options{}, "not ASCII"},
		{"percent in host", "s3://b%41cket/k", Options{}, "space or %"},
		{"space in host", "s3://buck et/k", Options{}, "space or %"},
		{"port 0", "s3://h:0/b/k", Options{}, `port "0"`},
		{"port too large", "s3://h:99999/b/k", Options{}, `port "99999"`},
		{"port 65536", "s3://h:65536/b/k", Options{}, `port "65536"`},
		{"port letters", "s3://h:abc/b/k", Options{}, `port "abc"`},
		{"port plus", "s3://h:+1/b/k", Options{}, `port "+1"`},
		{"port minus", "s3://h:-1/b/k", Options{}, `port "-1"`},
		{"port empty", "s3://h:/b/k", Options{}, `port ""`},
		{"port leading zero", "s3://h:09000/b/k", Options{}, `port "09000"`},
		{"port two colons", "s3://h:1:2/b/k", Options{}, `port "1:2"`},
		{"port space", "s3://h: 1/b/k", Options{}, "space"},
		{"empty host with port", "s3://:9000/b/k", Options{}, "host is empty"},
		{"ipv6 host", "s3://[::1]:9000/b/k", Options{}, "host contains"},
		{"odd host character", "s3://h!x:9000/b/k", Options{}, "host contains"},
		{"host without bucket", "s3://h:9000/", Options{}, "no bucket"},
		{"host only", "s3://h:9000", Options{}, "no bucket"},
		{"no authority", "s3:///k", Options{}, "no bucket or host"},
		{"nothing after scheme", "s3://", Options{}, "no bucket or host"},
		{"gs with port", "gs://bucket:443/k", Options{}, "gs:// URL names a bucket, not a host:port"},
		{"gs empty bucket", "gs:///k", Options{}, "no bucket"},
		{"dotdot segment", "s3://b/a/../k", Options{}, `".."`},
		{"dot segment", "s3://b/./k", Options{}, `"."`},
		{"trailing dotdot", "s3://b/a/..", Options{}, `".."`},
		{"trailing dot", "s3://b/a/.", Options{}, `"."`},
		{"key is dotdot", "s3://b/..", Options{}, `".."`},
		{"leading dotdot with host", "s3://h:9000/b/../x", Options{}, `".."`},
		{"dotdot after empty segment", "s3://b//../k", Options{}, `".."`},
		{"gs dotdot", "gs://b/x/../y", Options{}, `".."`},
		{"azure dot", "azure://acct.blob.core.windows.net/c/./k", Options{}, `"."`},
		{"bucket is dotdot", "s3://h:9000/../k", Options{}, "not a valid bucket"},
		{"bucket with bad char", "s3://h:9000/b!c/k", Options{}, "not a valid bucket"},
		{"key too long", "s3://b/" + long, Options{}, "1025 bytes long; the limit is 1024"},
		{"key too long with host", "s3://h:9000/b/" + long, Options{}, "1025 bytes"},
		{"azure other host", "azure://evil.com/c/k", Options{}, `azure host "evil.com" is not`},
		{"azure suffix spoof", "azure://acct.blob.core.windows.net.evil.com/c/k", Options{}, "is not <account>.blob.core.windows.net"},
		{"azure nested account", "azure://a.b.blob.core.windows.net/c/k", Options{}, "is not <account>"},
		{"azure bare suffix", "azure://blob.core.windows.net/c/k", Options{}, "is not <account>"},
		{"azure empty account", "azure://.blob.core.windows.net/c/k", Options{}, "is not <account>"},
		{"azure account too short", "azure://ab.blob.core.windows.net/c/k", Options{}, "is not <account>"},
		{"azure account odd char", "azure://a_b.blob.core.windows.net/c/k", Options{}, "is not <account>"},
		{"azure with port", "azure://acct.blob.core.windows.net:443/c/k", Options{}, "is not <account>"},
		{"azure no container", "azure://acct.blob.core.windows.net/", Options{}, "no container"},
		{"azure no path", "azure://acct.blob.core.windows.net", Options{}, "no container"},
		{"azure unconfigured endpoint", "azure://127.0.0.1:10000/c/k", Options{AzureHosts: map[string]string{"127.0.0.1:10001": "dev"}}, "nor a configured endpoint"},
		{"azure endpoint host prefix", "azure://127.0.0.1:1000/c/k", Options{AzureHosts: map[string]string{"127.0.0.1:10000": "dev"}}, "nor a configured endpoint"},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if prev, dup := seen[tt.raw]; dup {
				t.Fatalf("input %q duplicates case %q", tt.raw, prev)
			}
			seen[tt.raw] = tt.name
			u, err := tt.opts.Parse(tt.raw)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want an error containing %q", tt.raw, u, tt.want)
			}
			var ue *Error
			if !errors.As(err, &ue) {
				t.Fatalf("Parse(%q) error %T is not *storageurl.Error", tt.raw, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse(%q) error %q, want it to contain %q", tt.raw, err, tt.want)
			}
			if u != (URL{}) {
				t.Fatalf("Parse(%q) returned %+v with its error", tt.raw, u)
			}
			for _, r := range err.Error() {
				if r < 0x20 || r == 0x7f || r == 0xfffd {
					t.Fatalf("error message %q carries an unprintable character", err)
				}
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	exact := strings.Repeat("k", MaxKeyBytes)
	devHosts := Options{AzureHosts: map[string]string{"127.0.0.1:10000": "devstoreaccount1", "blob.core.usgovcloudapi.example": "gov"}}
	tests := []struct {
		name     string
		raw      string
		opts     Options
		want     URL
		str      string // String(); raw when empty
		depth    int
		baseName string
	}{
		{"aws", "s3://bucket/path/file.bin", Options{}, URL{Provider: S3, Bucket: "bucket", Key: "path/file.bin"}, "", 2, "file.bin"},
		{"space", "s3://bucket/my file.txt", Options{}, URL{Provider: S3, Bucket: "bucket", Key: "my file.txt"}, "", 1, "my file.txt"},
		{"literal %20", "s3://bucket/a%20b.txt", Options{}, URL{Provider: S3, Bucket: "bucket", Key: "a%20b.txt"}, "", 1, "a%20b.txt"},
		{"literal %2F", "s3://bucket/dir/a%2Fb", Options{}, URL{Provider: S3, Bucket: "bucket", Key: "dir/a%2Fb"}, "", 2, "a%2Fb"},
		{"literal %25 and invalid %zz", "s3://bucket/100%25/%zz/%", Options{}, URL{Provider: S3, Bucket: "bucket", Key: "100%25/%zz/%"}, "", 3, "%"},
		{"encoded dots stay literal", "s3://bucket/%2E%2E/k", Options{}, URL{Provider: S3, Bucket: "bucket", Key: "%2E%2E/k"}, "", 2, "k"},
		{"plus", "s3://bucket/a+b.txt", Options{}, URL{Provider: S3, Bucket: "bucket", Key: "a+b.txt"}, "", 1, "a+b.txt"},
		{"unicode key", "s3://bucket/données/模型.pt", Options{}, URL{Provider: S3, Bucket: "bucket", Key: "données/模型.pt"}, "", 2, "模型.pt"},
		{"emoji key", "gs://bucket/😀.png", Options{}, URL{Provider: GCS, Bucket: "bucket", Key: "😀.png"}, "", 1, "😀.png"},
		{"equals and specials", "s3://bucket/k=v;a,b@c&d$e!f'g(h)*~", Options{}, URL{Provider: S3, Bucket: "bucket", Key: "k=v;a,b@c&d$e!f'g(h)*~"}, "", 1, "k=v;a,b@c&d$e!f'g(h)*~"},
		{"dots inside names", "s3://bucket/.hidden/a..b/...", Options{}, URL{Provider: S3, Bucket: "bucket", Key: ".hidden/a..b/..."}, "", 3, "..."},
		{"deep path", "s3://bucket/p/task.abc/artifacts/x/y/z/file", Options{}, URL{Provider: S3, Bucket: "bucket", Key: "p/task.abc/artifacts/x/y/z/file"}, "", 7, "file"},
		{"clearml artifact", "s3://bucket/Project/My Task.0123abcd/artifacts/df/df.csv.gz", Options{}, URL{Provider: S3, Bucket: "bucket", Key: "Project/My Task.0123abcd/artifacts/df/df.csv.gz"}, "", 5, "df.csv.gz"},
		{"host port", "s3://host:9000/bucket/key", Options{}, URL{Provider: S3, Host: "host:9000", Bucket: "bucket", Key: "key"}, "", 1, "key"},
		{"upper-case host lower-cased", "s3://MinIO.Example.COM:9000/Bucket/Key", Options{}, URL{Provider: S3, Host: "minio.example.com:9000", Bucket: "Bucket", Key: "Key"}, "s3://minio.example.com:9000/Bucket/Key", 1, "Key"},
		{"upper-case scheme", "S3://bucket/k", Options{}, URL{Provider: S3, Bucket: "bucket", Key: "k"}, "s3://bucket/k", 1, "k"},
		{"port 443 is a host", "s3://s3.example.com:443/bucket/k", Options{}, URL{Provider: S3, Host: "s3.example.com:443", Bucket: "bucket", Key: "k"}, "", 1, "k"},
		{"port 1", "s3://h:1/b/k", Options{}, URL{Provider: S3, Host: "h:1", Bucket: "b", Key: "k"}, "", 1, "k"},
		{"port 65535", "s3://h:65535/b/k", Options{}, URL{Provider: S3, Host: "h:65535", Bucket: "b", Key: "k"}, "", 1, "k"},
		{"ip host", "s3://127.0.0.1:9000/b/k", Options{}, URL{Provider: S3, Host: "127.0.0.1:9000", Bucket: "b", Key: "k"}, "", 1, "k"},
		{"dotted bucket", "s3://my.dotted.bucket/k", Options{}, URL{Provider: S3, Bucket: "my.dotted.bucket", Key: "k"}, "", 1, "k"},
		{"bucket without key", "s3://bucket", Options{}, URL{Provider: S3, Bucket: "bucket"}, "s3://bucket/", 0, ""},
		{"bucket slash", "s3://bucket/", Options{}, URL{Provider: S3, Bucket: "bucket"}, "", 0, ""},
		{"host bucket without key", "s3://h:9000/bucket", Options{}, URL{Provider: S3, Host: "h:9000", Bucket: "bucket"}, "s3://h:9000/bucket/", 0, ""},
		{"empty segments", "s3://b///", Options{}, URL{Provider: S3, Bucket: "b", Key: "//"}, "", 0, ""},
		{"folder", "s3://b/project/task.abc/", Options{}, URL{Provider: S3, Bucket: "b", Key: "project/task.abc/"}, "", 2, "task.abc"},
		{"double slashes in key", "s3://b/a//b", Options{}, URL{Provider: S3, Bucket: "b", Key: "a//b"}, "", 2, "b"},
		{"key exactly 1024 bytes", "s3://b/" + exact, Options{}, URL{Provider: S3, Bucket: "b", Key: exact}, "", 1, exact},
		{"gs", "gs://bucket/a/b.png", Options{}, URL{Provider: GCS, Bucket: "bucket", Key: "a/b.png"}, "", 2, "b.png"},
		{"gs upper scheme", "GS://bucket/a", Options{}, URL{Provider: GCS, Bucket: "bucket", Key: "a"}, "gs://bucket/a", 1, "a"},
		{"azure", "azure://acct.blob.core.windows.net/container/dir/file", Options{}, URL{Provider: Azure, Host: "acct.blob.core.windows.net", Account: "acct", Bucket: "container", Key: "dir/file"}, "", 2, "file"},
		{"azure upper host", "AZURE://Acct.Blob.Core.Windows.NET/container/f", Options{}, URL{Provider: Azure, Host: "acct.blob.core.windows.net", Account: "acct", Bucket: "container", Key: "f"}, "azure://acct.blob.core.windows.net/container/f", 1, "f"},
		{"azure container only", "azure://acct.blob.core.windows.net/container", Options{}, URL{Provider: Azure, Host: "acct.blob.core.windows.net", Account: "acct", Bucket: "container"}, "azure://acct.blob.core.windows.net/container/", 0, ""},
		{"azure configured endpoint", "azure://127.0.0.1:10000/container/k", devHosts, URL{Provider: Azure, Host: "127.0.0.1:10000", Account: "devstoreaccount1", Bucket: "container", Key: "k"}, "", 1, "k"},
		{"azure configured endpoint case", "azure://BLOB.core.usgovcloudapi.EXAMPLE/c/k", devHosts, URL{Provider: Azure, Host: "blob.core.usgovcloudapi.example", Account: "gov", Bucket: "c", Key: "k"}, "azure://blob.core.usgovcloudapi.example/c/k", 1, "k"},
		{"azure public host with options", "azure://acct.blob.core.windows.net/c/k", devHosts, URL{Provider: Azure, Host: "acct.blob.core.windows.net", Account: "acct", Bucket: "c", Key: "k"}, "", 1, "k"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := tt.opts.Parse(tt.raw)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.raw, err)
			}
			if u != tt.want {
				t.Fatalf("Parse(%q) = %+v, want %+v", tt.raw, u, tt.want)
			}
			str := tt.str
			if str == "" {
				str = tt.raw
			}
			if got := u.String(); got != str {
				t.Errorf("String() = %q, want %q", got, str)
			}
			again, err := tt.opts.Parse(u.String())
			if err != nil || again != u {
				t.Errorf("Parse(String()) = %+v, %v; want %+v", again, err, u)
			}
			if got := u.PrefixDepth(); got != tt.depth {
				t.Errorf("PrefixDepth() = %d, want %d", got, tt.depth)
			}
			if got := u.BaseName(); got != tt.baseName {
				t.Errorf("BaseName() = %q, want %q", got, tt.baseName)
			}
		})
	}
}

func TestPackageParseHasNoAzureHosts(t *testing.T) {
	if _, err := Parse("azure://127.0.0.1:10000/c/k"); err == nil {
		t.Fatal("Parse accepted an unconfigured Azure endpoint host")
	}
	if _, err := Parse("s3://bucket/k"); err != nil {
		t.Fatal(err)
	}
}

func TestStringZero(t *testing.T) {
	if s := (URL{}).String(); s != "" {
		t.Fatalf("zero URL String() = %q", s)
	}
}

func TestErrorMessagesTruncateLongInput(t *testing.T) {
	_, err := Parse(strings.Repeat("x", 500) + "://b/k")
	if err == nil || len(err.Error()) > 200 {
		t.Fatalf("error %q: want a short message", err)
	}
}

// TestValidHostAndPort: the host and port rule storage URLs and configured
// hosts share.
func TestValidHostAndPort(t *testing.T) {
	for h, want := range map[string]bool{"minio": true, "s3.example.com": true, "10.0.0.1": true, "my_host-1": true,
		"": false, "host.": false, "a b": false, "h@x": false, "ünï": false, "h/x": false} {
		if got := ValidHost(h); got != want {
			t.Errorf("ValidHost(%q) = %v", h, got)
		}
	}
	for p, want := range map[string]bool{"1": true, "9000": true, "65535": true,
		"": false, "0": false, "09000": false, "+80": false, "65536": false, "80a": false} {
		if got := ValidPort(p); got != want {
			t.Errorf("ValidPort(%q) = %v", p, got)
		}
	}
}
