package testserver

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// MinIO is a MinIO server with one temporary data directory, alive until the test ends.
type MinIO struct {
	Endpoint  string // "http://127.0.0.1:P", the S3 API
	HostPort  string // "127.0.0.1:P"
	AccessKey string // root user
	SecretKey string // root password
	DataDir   string

	t       testing.TB
	bin     string
	console string // console address; the browser is off, but MinIO still binds it
	certs   string

	mu   sync.Mutex
	proc *Process
}

// StartMinIO starts MinIO from the tool cache (or $STORAGEGATE_MINIO) and waits until it is ready.
func StartMinIO(t testing.TB) *MinIO {
	t.Helper()
	bin, err := ToolPath("minio", "STORAGEGATE_MINIO")
	if err != nil {
		Require(t, "MinIO", err.Error())
	}
	dir := t.TempDir()
	m := &MinIO{
		// MinIO wants a root user of at least 3 characters and a password of at least 8.
		AccessKey: "storagegate",
		SecretKey: "storagegate-secret",
		DataDir:   filepath.Join(dir, "data"),
		t:         t,
		bin:       bin,
		certs:     filepath.Join(dir, "certs"), // not ~/.minio: leave the user's home alone
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		m.HostPort = net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t)))
		m.console = net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t)))
		m.Endpoint = "http://" + m.HostPort
		if lastErr = m.start(); lastErr == nil || !addrInUse(lastErr) {
			break
		}
	}
	if lastErr != nil {
		t.Fatalf("%v", lastErr)
	}
	t.Cleanup(m.Stop)
	return m
}

func (m *MinIO) start() error {
	cmd := exec.Command(m.bin, "server", m.DataDir,
		"--address", m.HostPort, "--console-address", m.console, "--certs-dir", m.certs, "--quiet")
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+m.AccessKey,
		"MINIO_ROOT_PASSWORD="+m.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
	)
	p, err := StartProcess("minio", cmd)
	if err != nil {
		return err
	}
	if err := p.WaitReady(readyTimeout, httpStatus(m.Endpoint+"/minio/health/ready", 200)); err != nil {
		p.Stop(0)
		return err
	}
	m.mu.Lock()
	m.proc = p
	m.mu.Unlock()
	return nil
}

// Stop kills MinIO at once (SIGKILL, like a crash) and waits until its port is free.
// Fault tests call it to make the store unreachable; Restart brings it back.
func (m *MinIO) Stop() {
	m.mu.Lock()
	p := m.proc
	m.mu.Unlock()
	if p != nil {
		p.Stop(0)
	}
}

// Restart stops MinIO if it is running and starts it again on the same address and data
// directory, so buckets and objects survive and clients need no new endpoint.
func (m *MinIO) Restart() {
	m.t.Helper()
	m.Stop()
	if err := m.start(); err != nil {
		m.t.Fatalf("restart MinIO on %s: %v", m.HostPort, err)
	}
}

// Output returns what the current MinIO process has logged.
func (m *MinIO) Output() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc == nil {
		return ""
	}
	return m.proc.Output()
}

// AWSConfig returns a config for this server built from explicit options, not
// config.LoadDefaultConfig: that reads the environment (and re-reads $AWS_CA_BUNDLE on every
// call), so a developer's own AWS settings could leak into the test.
func (m *MinIO) AWSConfig() aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(m.AccessKey, m.SecretKey, ""),
		BaseEndpoint: aws.String(m.Endpoint),
	}
}

// S3Client returns a path-style S3 client for this server, with the root credentials.
// optFns adjust it further; fault tests may want o.Retryer = aws.NopRetryer{}, since the
// default retryer spends seconds backing off from a stopped server.
func (m *MinIO) S3Client(t testing.TB, optFns ...func(*s3.Options)) *s3.Client {
	pathStyle := func(o *s3.Options) { o.UsePathStyle = true }
	return s3.NewFromConfig(m.AWSConfig(), append([]func(*s3.Options){pathStyle}, optFns...)...)
}

// MakeBucket creates a bucket (names have at least 3 characters).
func (m *MinIO) MakeBucket(t testing.TB, name string) {
	t.Helper()
	_, err := m.S3Client(t).CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)})
	if err != nil {
		t.Fatalf("MinIO: create bucket %q: %v", name, err)
	}
}

// Put stores an object.
func (m *MinIO) Put(t testing.TB, bucket, key string, body []byte) {
	t.Helper()
	_, err := m.S3Client(t).PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body),
	})
	if err != nil {
		t.Fatalf("MinIO: put s3://%s/%s: %v", bucket, key, err)
	}
}

// String describes the server for failure messages.
func (m *MinIO) String() string { return fmt.Sprintf("MinIO at %s (data %s)", m.Endpoint, m.DataDir) }
