package presign_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

// The published Azurite development key: not a secret.
const benchAzureKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

func benchServiceAccount(b *testing.B) string {
	raw, err := os.ReadFile("../internal/gcsverify/testdata/dummy-service-account.json")
	if err != nil {
		b.Fatal(err)
	}
	return string(raw)
}

// BenchmarkPresignGCSRaw is the GCS baseline: one RSA-SHA256 signature of a
// V4 string-to-sign with a key parsed beforehand.
func BenchmarkPresignGCSRaw(b *testing.B) {
	var sa struct {
		PrivateKey string `json:"private_key"`
	}
	_ = json.Unmarshal([]byte(benchServiceAccount(b)), &sa)
	block, _ := pem.Decode([]byte(sa.PrivateKey))
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		b.Fatal(err)
	}
	key := k.(*rsa.PrivateKey)
	toSign := []byte("GOOG4-RSA-SHA256\n20261122T100000Z\n20261122/auto/storage/goog4_request\n00e2fb794ea93d7adb703edaebdd509821fcc7d4f1a79ac5c8d2b394df109320")
	b.ReportAllocs()
	for b.Loop() {
		sum := sha256.Sum256(toSign)
		if _, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPresignAzureRaw is the Azure baseline: azblob's service SAS for
// one blob with a credential built beforehand.
func BenchmarkPresignAzureRaw(b *testing.B) {
	cred, err := service.NewSharedKeyCredential("acct", benchAzureKey)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now().Truncate(time.Minute)
	b.ReportAllocs()
	for b.Loop() {
		qp, err := sas.BlobSignatureValues{
			Protocol: sas.ProtocolHTTPS, StartTime: start, ExpiryTime: start.Add(16 * time.Minute),
			Permissions: (&sas.BlobPermissions{Read: true}).String(), ContainerName: "artifacts", BlobName: benchKey,
		}.SignWithSharedKey(cred)
		if err != nil || qp.Signature() == "" {
			b.Fatal(err)
		}
	}
}

func BenchmarkPresignGCSHandler(b *testing.B) { benchStore(b, "gs://artifacts/"+benchKey, nil) }
func BenchmarkPresignAzureHandler(b *testing.B) {
	benchStore(b, "azure://acct.blob.core.windows.net/artifacts/"+benchKey, nil)
}

// The Unwindowed variants sign on every request (presign.window: 0).
func BenchmarkPresignGCSHandlerUnwindowed(b *testing.B) {
	benchStore(b, "gs://artifacts/"+benchKey, unwindowed)
}
func BenchmarkPresignAzureHandlerUnwindowed(b *testing.B) {
	benchStore(b, "azure://acct.blob.core.windows.net/artifacts/"+benchKey, unwindowed)
}

func unwindowed(m map[string]any) { m["presign"].(map[string]any)["window"] = 0 }

// benchStore runs whole requests for one storage URL through a handler whose
// config names a GCS bucket and an Azure container (signing reaches no
// server), with a cached caller.
func benchStore(b *testing.B, storageURL string, mutate func(map[string]any)) {
	sa := benchServiceAccount(b)
	e := newEnv(b, "", func(m map[string]any) {
		st := m["storage"].(map[string]any)
		st["google"] = map[string]any{"buckets": []any{map[string]any{"bucket": "artifacts", "credentials_json": sa}}}
		st["azure"] = map[string]any{"containers": []any{map[string]any{"account_name": "acct", "account_key": benchAzureKey, "container_name": "artifacts"}}}
		if mutate != nil {
			mutate(m)
		}
	})
	target := presignPath(storageURL)
	if w := e.do(req{target: target, token: "alice"}); w.Code != http.StatusFound {
		b.Fatalf("warm-up: %d %s", w.Code, w.Body)
	}
	r := httptest.NewRequest(http.MethodGet, target, nil)
	r.Header.Set("Authorization", "Bearer "+e.tokens["alice"])
	e.logs.discard = true
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
