package presign_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

const benchKey = "My Project/train model.3f2a/metrics/loss/train/loss_00042.png"

// BenchmarkPresignS3Raw is the baseline: the SDK's PresignGetObject alone,
// with a client built once.
func BenchmarkPresignS3Raw(b *testing.B) {
	f := startFakeS3(b, bucket)
	client := s3.NewPresignClient(s3.New(s3.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(s3Key, s3Secret, ""),
		BaseEndpoint: aws.String("http://" + f.host),
		UsePathStyle: true,
	}))
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(benchKey)}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := client.PresignGetObject(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPresignS3Handler is a full request through the handler with a
// cached caller: routing, credential, URL parsing, policy, signing (or the
// signing window's cached URL) and the 302.
func BenchmarkPresignS3Handler(b *testing.B) {
	benchHandler(b, nil)
}

// BenchmarkPresignS3HandlerUnwindowed signs on every request
// (presign.window: 0), the cost without the stable-URL cache.
func BenchmarkPresignS3HandlerUnwindowed(b *testing.B) {
	benchHandler(b, func(m map[string]any) { m["presign"].(map[string]any)["window"] = 0 })
}

func benchHandler(b *testing.B, mutate func(map[string]any)) {
	var muts []func(map[string]any)
	if mutate != nil {
		muts = append(muts, mutate)
	}
	e := newEnv(b, "", muts...)
	target := presignPath(e.s3url(benchKey))
	auth := "Bearer " + e.tokens["alice"]
	if w := e.do(req{target: target, token: "alice"}); w.Code != http.StatusFound {
		b.Fatalf("warm-up: %d %s", w.Code, w.Body)
	}
	r := httptest.NewRequest(http.MethodGet, target, nil)
	r.Header.Set("Authorization", auth)
	e.logs.discard = true // the log line is still formatted, as in production
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w := &discard{h: http.Header{}}
		e.h.ServeHTTP(w, r)
		if w.code != http.StatusFound {
			b.Fatal(w.code)
		}
	}
}

// discard is the cheapest ResponseWriter, so the benchmark measures the
// handler rather than httptest's recorder.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(c int)           { d.code = c }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
