package azurestore

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/storagegate/storagegate/shared/config"
	"github.com/storagegate/storagegate/shared/internal/testserver"
	"github.com/storagegate/storagegate/shared/store"
)

// azuriteHost is a production-style Azurite host: Azurite takes the account
// from its first label, as the SDK does when it names the signing account.
const azuriteHost = "devstoreaccount1.blob.localhost"

// entraToken is a managed identity as Azurite's --oauth basic sees it: an
// unsigned JWT whose audience, issuer and lifetime it checks.
type entraToken struct{}

func (entraToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	now := time.Now()
	enc := base64.RawURLEncoding
	head, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
	claims, _ := json.Marshal(map[string]any{
		"aud": "https://storage.azure.com", "iss": "https://sts.windows.net/" + fakeTID + "/",
		"oid": fakeOID, "tid": fakeTID,
		"iat": now.Add(-time.Minute).Unix(), "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix(),
	})
	return azcore.AccessToken{Token: enc.EncodeToString(head) + "." + enc.EncodeToString(claims) + ".", ExpiresOn: now.Add(time.Hour)}, nil
}

// startAzuriteOAuth starts Azurite's Blob service over https with OAuth,
// which Get User Delegation Key requires, and returns its endpoint and a
// client that trusts it and reaches azuriteHost at 127.0.0.1.
func startAzuriteOAuth(t *testing.T) (string, *http.Client) {
	t.Helper()
	script, err := testserver.ToolPath("azurite", "STORAGEGATE_AZURITE")
	if err != nil {
		testserver.Require(t, "Azurite", err.Error())
	}
	node, err := exec.LookPath("node")
	if err != nil {
		testserver.Require(t, "Azurite", "node is not on PATH: install Node.js 20 or newer")
	}
	dir := t.TempDir()
	certPEM, keyPEM := selfSigned(t, azuriteHost)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	port := testserver.FreePort(t)
	cmd := exec.Command(node, filepath.Join(filepath.Dir(script), "blob", "main.js"),
		"--silent", "--disableTelemetry", "--skipApiVersionCheck", "--inMemoryPersistence",
		"--blobHost", "127.0.0.1", "--blobPort", fmt.Sprint(port),
		"--oauth", "basic", "--cert", certFile, "--key", keyFile)
	cmd.Dir = dir
	p, err := testserver.StartProcess("azurite (oauth)", cmd)
	if err != nil {
		testserver.Require(t, "Azurite", err.Error())
	}
	t.Cleanup(func() { p.Stop(5 * time.Second) })

	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	endpoint := fmt.Sprintf("https://%s:%d", azuriteHost, port)
	err = p.WaitReady(30*time.Second, func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/?comp=list", nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return endpoint, client
}

func selfSigned(t *testing.T, host string) (certPEM, keyPEM []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
}

// Azurite issues a real user delegation key to the store's identity; the
// URL carries that key's fields. Azurite cannot verify the URL itself (see
// delegation_test.go): the fetch is pinned at its refusal, so that a newer
// Azurite that can verify it turns this into the end-to-end proof.
func TestAzuriteUserDelegationKey(t *testing.T) {
	endpoint, client := startAzuriteOAuth(t)
	ctx := context.Background()
	cred, err := service.NewSharedKeyCredential(testserver.AzuriteAccountName, testserver.AzuriteAccountKey)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := service.NewClientWithSharedKeyCredential(endpoint+"/", cred, &service.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: client}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateContainer(ctx, "models", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.NewContainerClient("models").NewBlockBlobClient("k").UploadBuffer(ctx, []byte("v"), nil); err != nil {
		t.Fatal(err)
	}

	s := mustNew(t, config.AzureContainer{AccountName: testserver.AzuriteAccountName, Endpoint: endpoint},
		WithTokenCredential(entraToken{}), WithTransport(client))
	// Probe: a delegation key and Get Container Properties with the token.
	if err := s.Probe(ctx, "models"); err != nil {
		t.Fatalf("Probe: %v", err)
	}
	now := time.Now()
	got := mustSign(t, s, store.SignRequest{Bucket: "models", Key: "k", SignedAt: now, Lifetime: time.Hour})
	u, _ := url.Parse(got.URL)
	q := u.Query()
	if q.Get("skoid") != fakeOID || q.Get("sktid") != fakeTID || q.Get("sks") != "b" || q.Get("skv") == "" {
		t.Errorf("URL %s does not carry Azurite's key for the token's identity", got.URL)
	}
	ske, err := time.Parse(sas.TimeFormat, q.Get("ske"))
	if err != nil || ske.Sub(now) < KeyLifetime-time.Minute || ske.Sub(now) > KeyLifetime {
		t.Errorf("ske=%s, want about %s from now", q.Get("ske"), KeyLifetime)
	}

	resp, err := client.Get(got.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "AuthorizationFailure") {
		t.Fatalf("GET: %d %s; Azurite 3.35 was expected to refuse azblob v1.8.3's user-delegation SAS: if it now verifies it, assert 200 and the body here", resp.StatusCode, body)
	}
}
