package azurestore

import (
	"context"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/storagegate/storagegate/shared/config"
	"github.com/storagegate/storagegate/shared/store"
)

// Run both in one invocation and compare the ratio (shared machines drift
// between runs):
//
//	go test -run '^$' -bench 'SignAzure' -benchmem -count 5 ./shared/store/azurestore

const benchKey = "projects/demo/task.0123456789abcdef/artifacts/model weights/model.pt"

// BenchmarkSignAzureRaw is the SDK's service SAS alone, with a prebuilt
// credential: the floor Store.Sign is measured against.
func BenchmarkSignAzureRaw(b *testing.B) {
	cred, err := service.NewSharedKeyCredential("acct", devKey)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now().Truncate(time.Minute)
	b.ReportAllocs()
	for b.Loop() {
		qp, err := sas.BlobSignatureValues{
			Protocol: sas.ProtocolHTTPS, StartTime: start.Add(-StartSkew), ExpiryTime: start.Add(16 * time.Minute),
			Permissions: readOnly, ContainerName: "models", BlobName: benchKey,
		}.SignWithSharedKey(cred)
		if err != nil || qp.Signature() == "" {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignAzureStore is what the presign handler pays per URL.
func BenchmarkSignAzureStore(b *testing.B) {
	s := mustNew(b, config.AzureContainer{AccountName: "acct", AccountKey: devKey})
	req := store.SignRequest{Bucket: "models", Key: benchKey, Method: store.MethodGet, SignedAt: time.Now().Truncate(time.Minute), Lifetime: 16 * time.Minute}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
