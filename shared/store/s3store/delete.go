package s3store

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/storagegate/storagegate/shared/store"
)

// MaxBatch is the most keys one DeleteObjects call takes, and the most keys
// one ListObjectsV2 page returns.
const MaxBatch = 1000

// BatchLimit is S3's DeleteObjects limit.
func (s *Store) BatchLimit() int { return MaxBatch }

// oneAttempt turns the SDK's own retries off for the deletion calls
// (DeleteObjects, ListObjectsV2, HeadObject): shared/cleanup retries them,
// with its one decision, backoff and deadline, and SDK attempts inside each
// of its attempts would multiply the two. Signing makes no call; the other
// calls (check-config --probe) keep the client's retries.
func oneAttempt(o *s3.Options) { o.RetryMaxAttempts = 1 }

// DeleteObjects deletes up to 1,000 keys with one DeleteObjects call and
// returns one error per key, in order: nil when the key is deleted. S3
// itself reports a missing key as deleted (nil too); a NoSuchKey, which it
// sends for versioned requests and some S3-compatible stores send always, is
// passed on as NotFound for the core to count as already gone. Quiet mode
// keeps the answer to the failures. An empty key, which S3 would refuse with
// the whole batch, fails alone.
func (s *Store) DeleteObjects(ctx context.Context, bucket string, keys []string) []error {
	errs := make([]error, len(keys))
	if len(keys) > MaxBatch {
		err := &store.Error{Code: store.InvalidArgument, Err: fmt.Errorf("%d keys in one DeleteObjects call; the limit is %d", len(keys), MaxBatch)}
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	ids := make([]types.ObjectIdentifier, 0, len(keys))
	for i, k := range keys {
		if k == "" {
			errs[i] = &store.Error{Code: store.InvalidArgument, Err: errors.New("an empty key names no object")}
			continue
		}
		ids = append(ids, types.ObjectIdentifier{Key: aws.String(k)})
	}
	if len(ids) == 0 {
		return errs
	}
	out, err := s.client().DeleteObjects(ctx, &s3.DeleteObjectsInput{
		Bucket: aws.String(bucket),
		Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
	}, oneAttempt)
	if err != nil {
		err = wrap(err)
		for i, k := range keys {
			if k != "" {
				errs[i] = err
			}
		}
		return errs
	}
	failed := make(map[string]error, len(out.Errors))
	for _, e := range out.Errors {
		code, msg := aws.ToString(e.Code), aws.ToString(e.Message)
		failed[aws.ToString(e.Key)] = &store.Error{Code: codeFor(code), Err: errors.New(code + ": " + msg)}
	}
	for i, k := range keys {
		if k != "" {
			errs[i] = failed[k]
		}
	}
	return errs
}

// List streams the objects under prefix with ListObjectsV2, 1,000 a page;
// only the current page is held.
func (s *Store) List(ctx context.Context, bucket, prefix string, fn func(page []store.ObjectInfo) error) error {
	p := s3.NewListObjectsV2Paginator(s.client(), &s3.ListObjectsV2Input{
		Bucket:  aws.String(bucket),
		Prefix:  aws.String(prefix),
		MaxKeys: aws.Int32(MaxBatch),
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx, oneAttempt)
		if err != nil {
			return wrap(err)
		}
		page := make([]store.ObjectInfo, 0, len(out.Contents))
		for _, o := range out.Contents {
			page = append(page, store.ObjectInfo{Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size), Modified: aws.ToTime(o.LastModified)})
		}
		if len(page) == 0 {
			continue
		}
		if err := fn(page); err != nil {
			return err
		}
	}
	return nil
}

// Stat reads one object's size and modification time with HeadObject.
func (s *Store) Stat(ctx context.Context, bucket, key string) (store.ObjectInfo, error) {
	out, err := s.client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}, oneAttempt)
	if err != nil {
		return store.ObjectInfo{}, wrap(err)
	}
	return store.ObjectInfo{Key: key, Size: aws.ToInt64(out.ContentLength), Modified: aws.ToTime(out.LastModified)}, nil
}
