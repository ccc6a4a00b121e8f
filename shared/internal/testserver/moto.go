package testserver

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Moto is a moto_server (Python moto: SQS, Secrets Manager and more on one endpoint), alive
// until the test ends. moto accepts any credentials.
type Moto struct {
	Endpoint  string // "http://127.0.0.1:P"
	Region    string
	AccessKey string
	SecretKey string

	Process *Process
}

// StartMoto starts moto_server from PATH (or $STORAGEGATE_MOTO_SERVER). It is not built by
// scripts/tools.sh: it is a Python program (`pip install 'moto[server]'`).
func StartMoto(t testing.TB) *Moto {
	t.Helper()
	bin := os.Getenv("STORAGEGATE_MOTO_SERVER")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("moto_server"); err != nil {
			Require(t, "moto_server", "not on PATH: install it with pip install 'moto[server]' (moto 5), or set STORAGEGATE_MOTO_SERVER")
		}
	}
	m := &Moto{Region: "us-east-1", AccessKey: "test", SecretKey: "test"}
	m.Process, _ = startServer(t, "moto_server", 1, func(ports []int) (*exec.Cmd, func(context.Context) error) {
		m.Endpoint = fmt.Sprintf("http://127.0.0.1:%d", ports[0])
		// moto_server is often a pyenv or pip shim; those exec the interpreter, so the PID
		// stays the server's, and the process group catches anything that does not.
		cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(ports[0]))
		return cmd, httpStatus(m.Endpoint+"/moto-api/", http.StatusOK)
	})
	return m
}

// AWSConfig returns a config for any aws-sdk-go-v2 client against this server, for example
// sqs.NewFromConfig(m.AWSConfig()). It is built from explicit options, not LoadDefaultConfig,
// so the developer's AWS settings (and $AWS_CA_BUNDLE) stay out of the test.
func (m *Moto) AWSConfig() aws.Config {
	return aws.Config{
		Region:       m.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(m.AccessKey, m.SecretKey, ""),
		BaseEndpoint: aws.String(m.Endpoint),
	}
}

// Reset drops every resource in the server, for tests that share one.
func (m *Moto) Reset(t testing.TB) {
	t.Helper()
	resp, err := http.Post(m.Endpoint+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatalf("moto reset: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("moto reset: %s", resp.Status)
	}
}
