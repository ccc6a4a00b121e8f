package testserver

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestMinIO(t *testing.T) {
	m := StartMinIO(t)
	m.MakeBucket(t, "smoke")
	m.Put(t, "smoke", "a/b.txt", []byte("hello"))

	ctx := context.Background()
	c := m.S3Client(t)
	if got := getObject(t, c, "smoke", "a/b.txt"); got != "hello" {
		t.Fatalf("get = %q, want hello", got)
	}

	// MinIO checks SigV4: a presigned URL works, the same URL with the signature tampered is 403.
	ps, err := s3.NewPresignClient(c).PresignGetObject(ctx,
		&s3.GetObjectInput{Bucket: aws.String("smoke"), Key: aws.String("a/b.txt")},
		s3.WithPresignExpires(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if code := httpGetStatus(t, ps.URL); code != http.StatusOK {
		t.Fatalf("presigned GET: %d, want 200", code)
	}
	if code := httpGetStatus(t, ps.URL+"0"); code != http.StatusForbidden {
		t.Fatalf("tampered presigned GET: %d, want 403", code)
	}

	// Fault injection: while stopped, requests fail; after Restart the data is still there.
	m.Stop()
	noRetry := m.S3Client(t, func(o *s3.Options) { o.Retryer = aws.NopRetryer{} })
	if _, err := noRetry.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("smoke")}); err == nil {
		t.Fatal("HeadBucket succeeded while MinIO was stopped")
	}
	m.Restart()
	if got := getObject(t, c, "smoke", "a/b.txt"); got != "hello" {
		t.Fatalf("get after restart = %q, want hello", got)
	}
}

func getObject(t *testing.T, c *s3.Client, bucket, key string) string {
	t.Helper()
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get s3://%s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func httpGetStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
