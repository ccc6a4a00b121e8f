package credentials

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/storagegate/storagegate/shared/storageurl"
	"github.com/storagegate/storagegate/shared/store"
	"github.com/storagegate/storagegate/shared/store/s3store"
)

const signDoc = `
storage:
  aws:
    key: AKIDEFAULT
    secret: SDEFAULT
    region: eu-west-1
    buckets:
      - {host: "minio:9000", bucket: artifacts, key: mk, secret: ms, secure: false}                     # 0
      - {host: "minio.internal:9000", bucket: pub, key: pk, secret: ps, public_host: files.example.com} # 1
      - {host: "minio.internal:9000", bucket: pub2, key: pk, secret: ps, public_host: "Files.Example.com:8443", secure: false} # 2
      - {bucket: regional, region: us-west-2, key: rk, secret: rs}                                      # 3
      - {bucket: my.dotted.bucket, key: dk, secret: ds}                                                 # 4
      - {host: "ceph:7480", bucket: c, key: ck, secret: cs}                                             # 5
      - {bucket: inherits}                                                                              # 6
      - {bucket: tok, key: tk, secret: ts, token: SESSIONTOKEN}                                         # 7
      - {host: "ceph:7480", bucket: regional, region: eu-central-1, key: ck, secret: cs}              # 8
      - {host: "minio.local:443", bucket: b, key: mk, secret: ms}                                       # 9
`

var signedAt = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func TestSignS3(t *testing.T) {
	r := newResolver(t, signDoc, Builders{})
	tests := []struct {
		url      string
		base     string // the signed URL up to '?'
		key      string // access key id
		secret   string
		region   string
		defaults bool
	}{
		{"s3://minio:9000/artifacts/dir/file.bin", "http://minio:9000/artifacts/dir/file.bin", "mk", "ms", "us-east-1", false},
		// Keys are literal: a key's %20 is the three characters %, 2, 0.
		{"s3://minio:9000/artifacts/dir/a%20b.txt", "http://minio:9000/artifacts/dir/a%2520b.txt", "mk", "ms", "us-east-1", false},
		{"s3://minio:9000/artifacts/a%2Fb/c", "http://minio:9000/artifacts/a%252Fb/c", "mk", "ms", "us-east-1", false},
		{"s3://minio:9000/artifacts/my file+1=2.txt", "http://minio:9000/artifacts/my%20file%2B1%3D2.txt", "mk", "ms", "us-east-1", false},
		{"s3://minio:9000/artifacts/données/模型~.pt", "http://minio:9000/artifacts/donn%C3%A9es/%E6%A8%A1%E5%9E%8B~.pt", "mk", "ms", "us-east-1", false},
		{"s3://MINIO:9000/artifacts/k", "http://minio:9000/artifacts/k", "mk", "ms", "us-east-1", false},
		{"s3://minio.internal:9000/pub/k", "https://files.example.com/pub/k", "pk", "ps", "us-east-1", false},
		{"s3://minio.internal:9000/pub2/k", "http://files.example.com:8443/pub2/k", "pk", "ps", "us-east-1", false},
		{"s3://regional/k", "https://regional.s3.us-west-2.amazonaws.com/k", "rk", "rs", "us-west-2", false},
		{"s3://my.dotted.bucket/a/b", "https://s3.eu-west-1.amazonaws.com/my.dotted.bucket/a/b", "dk", "ds", "eu-west-1", false},
		{"s3://ceph:7480/c/k", "https://ceph:7480/c/k", "ck", "cs", "us-east-1", false},
		{"s3://ceph:7480/regional/k", "https://ceph:7480/regional/k", "ck", "cs", "eu-central-1", false},
		{"s3://minio.local:443/b/k", "https://minio.local/b/k", "mk", "ms", "us-east-1", false},
		{"s3://inherits/x y+z/é", "https://inherits.s3.eu-west-1.amazonaws.com/x%20y%2Bz/%C3%A9", "AKIDEFAULT", "SDEFAULT", "eu-west-1", false},
		{"s3://inherits/a%20b", "https://inherits.s3.eu-west-1.amazonaws.com/a%2520b", "AKIDEFAULT", "SDEFAULT", "eu-west-1", false},
		{"s3://other-bucket/k", "https://other-bucket.s3.eu-west-1.amazonaws.com/k", "AKIDEFAULT", "SDEFAULT", "eu-west-1", true},
		{"s3://Upper_Bucket/k", "https://s3.eu-west-1.amazonaws.com/Upper_Bucket/k", "AKIDEFAULT", "SDEFAULT", "eu-west-1", true},
		{"s3://tok/k", "https://tok.s3.eu-west-1.amazonaws.com/k", "tk", "ts", "eu-west-1", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			u, err := storageurl.Parse(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			target, err := r.Resolve(u, tt.defaults)
			if err != nil {
				t.Fatal(err)
			}
			for _, method := range []string{store.MethodGet, store.MethodHead} {
				signed, err := target.Store.Sign(context.Background(), store.SignRequest{
					Bucket: u.Bucket, Key: u.Key, Method: method, SignedAt: signedAt, Lifetime: 15 * time.Minute,
				})
				if err != nil {
					t.Fatal(err)
				}
				base, query, _ := strings.Cut(signed.URL, "?")
				if base != tt.base {
					t.Fatalf("signed URL %s\nwant base %s", signed.URL, tt.base)
				}
				q, err := url.ParseQuery(query)
				if err != nil {
					t.Fatal(err)
				}
				if want := tt.key + "/20261122/" + tt.region + "/s3/aws4_request"; q.Get("X-Amz-Credential") != want {
					t.Errorf("X-Amz-Credential = %q, want %q", q.Get("X-Amz-Credential"), want)
				}
				wantExpires := "900"
				if u.Bucket == "tok" {
					if q.Get("X-Amz-Security-Token") != "SESSIONTOKEN" {
						t.Errorf("no session token in %s", signed.URL)
					}
				} else if q.Has("X-Amz-Security-Token") {
					t.Errorf("unexpected session token in %s", signed.URL)
				}
				if q.Get("X-Amz-Expires") != wantExpires || !signed.ExpiresAt.Equal(signedAt.Add(15*time.Minute)) {
					t.Errorf("X-Amz-Expires = %s, ExpiresAt %v", q.Get("X-Amz-Expires"), signed.ExpiresAt)
				}
				if q.Get("X-Amz-Date") != "20261122T100000Z" || q.Get("X-Amz-SignedHeaders") != "host" || q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" {
					t.Errorf("query %v", q)
				}
				verifySigV4(t, method, signed.URL, tt.secret, tt.region)
			}
		})
	}
}

func TestSignOptions(t *testing.T) {
	r := newResolver(t, signDoc, Builders{})
	sign := func(raw string, req store.SignRequest) (store.Signed, error) {
		t.Helper()
		u, err := storageurl.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		target, err := r.Resolve(u, false)
		if err != nil {
			t.Fatal(err)
		}
		req.Bucket, req.Key = u.Bucket, u.Key
		if req.SignedAt.IsZero() {
			req.SignedAt = signedAt
		}
		if req.Method == "" {
			req.Method = store.MethodGet // validated requests only (shared/scope)
		}
		return target.Store.Sign(context.Background(), req)
	}
	t.Run("disposition", func(t *testing.T) {
		const disp = `attachment; filename="a b.txt"; filename*=UTF-8''a%20b.txt`
		s, err := sign("s3://minio:9000/artifacts/a%20b.txt", store.SignRequest{Method: store.MethodGet, Lifetime: time.Hour, Disposition: disp})
		if err != nil {
			t.Fatal(err)
		}
		_, query, _ := strings.Cut(s.URL, "?")
		q, _ := url.ParseQuery(query)
		if q.Get("response-content-disposition") != disp {
			t.Errorf("response-content-disposition = %q", q.Get("response-content-disposition"))
		}
		verifySigV4(t, "GET", s.URL, "ms", "us-east-1")
	})
	t.Run("GET and HEAD differ", func(t *testing.T) {
		g, _ := sign("s3://regional/k", store.SignRequest{Method: store.MethodGet, Lifetime: time.Minute})
		h, _ := sign("s3://regional/k", store.SignRequest{Method: store.MethodHead, Lifetime: time.Minute})
		if g.URL == h.URL {
			t.Errorf("GET %s\nHEAD %s", g.URL, h.URL)
		}
	})
	// Seven days at most, and a method given: shared/scope's tests (the
	// drivers are handed validated requests).
	t.Run("session token caps at an hour", func(t *testing.T) {
		s, err := sign("s3://tok/k", store.SignRequest{Lifetime: 24 * time.Hour})
		if err != nil || !s.ExpiresAt.Equal(signedAt.Add(s3store.SessionCap)) || !strings.Contains(s.URL, "X-Amz-Expires=3600") {
			t.Errorf("%v %v %s", err, s.ExpiresAt, s.URL)
		}
	})
	t.Run("same request, same URL", func(t *testing.T) {
		a, _ := sign("s3://minio:9000/artifacts/k", store.SignRequest{Lifetime: time.Minute})
		b, _ := sign("s3://minio:9000/artifacts/k", store.SignRequest{Lifetime: time.Minute})
		if a.URL != b.URL {
			t.Errorf("%s != %s", a.URL, b.URL)
		}
	})
}

// Regions: the entry's, then the defaults' (AWS entries only), then us-east-1.
func TestRegionFallback(t *testing.T) {
	r := newResolver(t, `storage:
  aws:
    key: K
    secret: S
    buckets:
      - {bucket: plain, key: k, secret: s}
      - {bucket: own, key: k, secret: s, region: ap-south-1}
      - {host: "h:9000", bucket: b, key: k, secret: s}
`, Builders{})
	for raw, want := range map[string]string{
		"s3://plain/k":    "us-east-1",
		"s3://own/k":      "ap-south-1",
		"s3://h:9000/b/k": "us-east-1",
		"s3://any/k":      "us-east-1",
	} {
		u, _ := storageurl.Parse(raw)
		target, err := r.Resolve(u, true)
		if err != nil {
			t.Fatal(err)
		}
		if got := target.Store.(*s3store.Store).Region(); got != want {
			t.Errorf("%s: region %s, want %s", raw, got, want)
		}
	}
	// With a default region, AWS entries without their own take it; hosts do not.
	r = newResolver(t, `storage:
  aws:
    region: cn-north-1
    key: K
    secret: S
    buckets:
      - {bucket: plain}
      - {host: "h:9000", bucket: b}
`, Builders{})
	for raw, want := range map[string]string{
		"s3://plain/k":    "https://plain.s3.cn-north-1.amazonaws.com.cn/k",
		"s3://h:9000/b/k": "https://h:9000/b/k",
	} {
		u, _ := storageurl.Parse(raw)
		target, err := r.Resolve(u, false)
		if err != nil {
			t.Fatal(err)
		}
		s, err := target.Store.Sign(context.Background(), store.SignRequest{Bucket: u.Bucket, Key: u.Key, Method: store.MethodGet, SignedAt: signedAt, Lifetime: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if base, _, _ := strings.Cut(s.URL, "?"); base != want {
			t.Errorf("%s: signed %s, want %s", raw, s.URL, want)
		}
	}
}

// verifySigV4 recomputes a presigned URL's SigV4 signature independently of
// the SDK, the way S3 checks it: the canonical URI is the path exactly as
// sent (S3 does not normalise or double-encode it).
func verifySigV4(t *testing.T, method, signedURL, secret, region string) {
	t.Helper()
	rest, ok := strings.CutPrefix(signedURL, "https://")
	if !ok {
		rest, ok = strings.CutPrefix(signedURL, "http://")
	}
	if !ok {
		t.Fatalf("%s: no scheme", signedURL)
	}
	hostPath, rawQuery, _ := strings.Cut(rest, "?")
	i := strings.IndexByte(hostPath, '/')
	host, path := hostPath[:i], hostPath[i:]
	// Browsers (and the SDK) leave a default port out of the Host header.
	if strings.HasPrefix(signedURL, "https://") {
		host = strings.TrimSuffix(host, ":443")
	} else {
		host = strings.TrimSuffix(host, ":80")
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		t.Fatal(err)
	}
	sig := q.Get("X-Amz-Signature")
	q.Del("X-Amz-Signature")
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var cq []string
	for _, k := range keys {
		cq = append(cq, awsEncode(k)+"="+awsEncode(q.Get(k)))
	}
	canonical := strings.Join([]string{method, path, strings.Join(cq, "&"), "host:" + host + "\n", "host", "UNSIGNED-PAYLOAD"}, "\n")
	amzDate := q.Get("X-Amz-Date")
	scope := amzDate[:8] + "/" + region + "/s3/aws4_request"
	sum := sha256.Sum256([]byte(canonical))
	sts := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	k := hmacSHA256([]byte("AWS4"+secret), amzDate[:8])
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, "s3")
	k = hmacSHA256(k, "aws4_request")
	if want := hex.EncodeToString(hmacSHA256(k, sts)); sig != want {
		t.Errorf("%s %s: signature %s, want %s\ncanonical request:\n%s", method, signedURL, sig, want, canonical)
	}
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func awsEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteString("%" + strings.ToUpper(strconv.FormatUint(uint64(c)>>4, 16)+strconv.FormatUint(uint64(c)&15, 16)))
	}
	return b.String()
}
