package testserver

import (
	"context"
	"fmt"
	"os/exec"
	"testing"
)

// The storage emulator's well-known development account, published in Azure's documentation.
const (
	AzuriteAccountName = "devstoreaccount1"
	AzuriteAccountKey  = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// Azurite is an Azurite server (Blob and Queue services, in-memory), alive until the test ends.
type Azurite struct {
	BlobEndpoint  string // "http://127.0.0.1:P/devstoreaccount1"
	QueueEndpoint string // "http://127.0.0.1:P2/devstoreaccount1"
	TableEndpoint string // "http://127.0.0.1:P3/devstoreaccount1"; unused by storagegate, but it must not take 10002
	AccountName   string
	AccountKey    string // base64, as the Azure SDKs take it

	Process *Process
}

// ConnectionString returns a connection string for both services.
func (a *Azurite) ConnectionString() string {
	return fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;QueueEndpoint=%s;",
		a.AccountName, a.AccountKey, a.BlobEndpoint, a.QueueEndpoint)
}

// StartAzurite starts Azurite with node from PATH and azurite.js from tools/node_modules
// (or $STORAGEGATE_AZURITE, a path to azurite.js).
func StartAzurite(t testing.TB) *Azurite {
	t.Helper()
	script, err := ToolPath("azurite", "STORAGEGATE_AZURITE")
	if err != nil {
		Require(t, "Azurite", err.Error())
	}
	node, err := exec.LookPath("node")
	if err != nil {
		Require(t, "Azurite", "node is not on PATH: install Node.js 20 or newer")
	}
	dir := t.TempDir()
	var blob, queue, table string
	p, _ := startServer(t, "azurite", 3, func(ports []int) (*exec.Cmd, func(context.Context) error) {
		blob = fmt.Sprintf("http://127.0.0.1:%d/%s", ports[0], AzuriteAccountName)
		queue = fmt.Sprintf("http://127.0.0.1:%d/%s", ports[1], AzuriteAccountName)
		table = fmt.Sprintf("http://127.0.0.1:%d/%s", ports[2], AzuriteAccountName)
		// Run node itself, not a wrapper script, so the PID we stop is the server's.
		// --disableTelemetry: otherwise Azurite tries to reach an Azure host.
		// --skipApiVersionCheck: the Go SDKs send newer API versions than 3.35.0 knows;
		// SAS and shared-key checks stay on.
		cmd := exec.Command(node, script,
			"--silent", "--disableTelemetry", "--skipApiVersionCheck", "--inMemoryPersistence",
			"--blobHost", "127.0.0.1", "--blobPort", fmt.Sprint(ports[0]),
			"--queueHost", "127.0.0.1", "--queuePort", fmt.Sprint(ports[1]),
			"--tableHost", "127.0.0.1", "--tablePort", fmt.Sprint(ports[2]))
		cmd.Dir = dir // in-memory persistence refuses --location; keep any stray files out of the repo
		ready := func(ctx context.Context) error {
			// Any HTTP answer (an unauthenticated request gets 403) means the service is up.
			if err := httpStatus(blob+"?comp=list", 0)(ctx); err != nil {
				return err
			}
			return httpStatus(queue+"?comp=list", 0)(ctx)
		}
		return cmd, ready
	})
	return &Azurite{
		BlobEndpoint:  blob,
		QueueEndpoint: queue,
		TableEndpoint: table,
		AccountName:   AzuriteAccountName,
		AccountKey:    AzuriteAccountKey,
		Process:       p,
	}
}
