//go:build ignore

// benchseed fills a MinIO bucket for scripts/bench-cleanup.sh: n one-byte
// objects under a prefix, spread over ten ClearML-like folders, written with
// many parallel PUTs.
//
//	go run scripts/benchseed.go -endpoint http://127.0.0.1:9000 -key K -secret S -bucket b -prefix p/task.x -n 10000
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func main() {
	endpoint := flag.String("endpoint", "", "S3 endpoint URL")
	key := flag.String("key", "", "access key")
	secret := flag.String("secret", "", "secret key")
	bucket := flag.String("bucket", "", "bucket (created if missing)")
	prefix := flag.String("prefix", "", "folder for the objects")
	n := flag.Int("n", 10000, "objects")
	parallel := flag.Int("parallel", 64, "PUTs in flight")
	flag.Parse()

	client := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: endpoint, UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(*key, *secret, ""),
		HTTPClient:  &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *parallel}},
	})
	ctx := context.Background()
	if _, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: bucket}); err != nil {
		if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: bucket}); err != nil {
			log.Fatalf("create bucket %s: %v", *bucket, err)
		}
	}
	start := time.Now()
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	for range *parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(*n) {
					return
				}
				k := fmt.Sprintf("%s/folder%d/obj %07d.bin", *prefix, i%10, i)
				var err error
				for attempt := 0; attempt < 5; attempt++ {
					if _, err = client.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String(k), Body: bytes.NewReader([]byte("x"))}); err == nil {
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
				if err != nil && failed.Add(1) == 1 {
					log.Printf("put %s: %v", k, err)
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		log.Fatalf("%d PUTs failed", failed.Load())
	}
	fmt.Fprintf(os.Stderr, "seeded %d objects in s3://%s/%s/ in %s\n", *n, *bucket, *prefix, time.Since(start).Round(time.Millisecond))
}
