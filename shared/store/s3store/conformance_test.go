package s3store_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"testing"

	"github.com/rclone/gofakes3"
	"github.com/rclone/gofakes3/s3mem"

	"github.com/storagegate/storagegate/shared/internal/testserver"
	"github.com/storagegate/storagegate/shared/store/s3store"
	"github.com/storagegate/storagegate/shared/store/storetest"
)

const conformanceBucket = "conformance"

// TestConformanceMinIO runs the store suite against MinIO, which verifies
// SigV4 presigned URLs as S3 does.
func TestConformanceMinIO(t *testing.T) {
	m := testserver.StartMinIO(t)
	m.MakeBucket(t, conformanceBucket)
	s, err := s3store.New(s3store.Params{
		Host: m.HostPort, Secure: false, Region: "us-east-1", Key: m.AccessKey, Secret: m.SecretKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	storetest.Run(t, storetest.Fixture{
		Name:   "s3store on MinIO",
		Signer: s,
		Bucket: conformanceBucket,
		Put: func(t testing.TB, key string, body []byte) {
			m.Put(t, conformanceBucket, key, body)
		},
		SignatureParam: "X-Amz-Signature",
	})
}

// TestConformanceGofakes3 runs the suite against rclone's in-process
// gofakes3, which with WithV4Auth checks SigV4 signature, expiry and method
// (johannesboyne/gofakes3 checks nothing, and would prove nothing).
func TestConformanceGofakes3(t *testing.T) {
	const key, secret = "AKIASTORETEST", "storetest-secret"
	backend := s3mem.New()
	if err := backend.CreateBucket(context.Background(), conformanceBucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend, gofakes3.WithV4Auth(map[string]string{key: secret})).Server())
	t.Cleanup(srv.Close)
	s, err := s3store.New(s3store.Params{
		Host: srv.Listener.Addr().String(), Secure: false, Region: "us-east-1", Key: key, Secret: secret,
	})
	if err != nil {
		t.Fatal(err)
	}
	storetest.Run(t, storetest.Fixture{
		Name:   "s3store on gofakes3",
		Signer: s,
		Bucket: conformanceBucket,
		Put: func(t testing.TB, k string, body []byte) {
			// Straight into the backend: the signature under test is the URL's,
			// not an upload's.
			if _, err := backend.PutObject(context.Background(), conformanceBucket, k, map[string]string{}, bytes.NewReader(body), int64(len(body))); err != nil {
				t.Fatalf("gofakes3: put %q: %v", k, err)
			}
		},
		SignatureParam: "X-Amz-Signature",
	})
}
