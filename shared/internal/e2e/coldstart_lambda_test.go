package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/storagegate/storagegate/shared/internal/lambdaemu"
	"github.com/storagegate/storagegate/shared/internal/testserver"
)

// BenchmarkColdStartLambda measures the presign Lambda, built as the
// Makefile builds it, from process start to its first answer under the
// Runtime API emulator: a function URL GET /healthz, config parsed and every
// store built first. BenchmarkColdStartLambdaEcho is the floor in the same
// run: a minimal aws-lambda-go function under the same emulator (exec, the Go
// runtime, the Runtime API round trip).
func BenchmarkColdStartLambda(b *testing.B) {
	bin := buildBootstrap(b, "./functions/aws/presign")
	cfg, _ := json.Marshal(map[string]any{
		"storage": map[string]any{"aws": map[string]any{"buckets": []map[string]any{{
			"bucket": "artifacts", "host": "127.0.0.1:9000", "key": "k", "secret": "secret-value", "secure": false,
		}}}},
	})
	coldStarts(b, bin, []string{"STORAGEGATE_CONFIG=" + string(cfg)}, healthzEvent)
}

// BenchmarkColdStartLambdaAllStores: the same with an S3 bucket, a GCS key
// file and an Azure account configured (every store built at start-up).
func BenchmarkColdStartLambdaAllStores(b *testing.B) {
	bin := buildBootstrap(b, "./functions/aws/presign")
	sa, err := os.ReadFile("../gcsverify/testdata/dummy-service-account.json")
	if err != nil {
		b.Fatal(err)
	}
	cfg, _ := json.Marshal(map[string]any{"storage": map[string]any{
		"aws":    map[string]any{"buckets": []map[string]any{{"bucket": "artifacts", "host": "127.0.0.1:9000", "key": "k", "secret": "secret-value", "secure": false}}},
		"google": map[string]any{"buckets": []map[string]any{{"bucket": "artifacts", "credentials_json": string(sa)}}},
		"azure": map[string]any{"containers": []map[string]any{{"account_name": "devstoreaccount1",
			"account_key": "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==", "endpoint": "http://127.0.0.1:10000/devstoreaccount1"}}},
	}})
	coldStarts(b, bin, []string{"STORAGEGATE_CONFIG=" + string(cfg)}, healthzEvent)
}

func BenchmarkColdStartLambdaEcho(b *testing.B) {
	bin := buildBootstrap(b, "./shared/internal/lambdaemu/testdata/echo")
	coldStarts(b, bin, nil, []byte(`{"action":"echo"}`))
}

// healthzEvent is a function URL's GET /healthz.
var healthzEvent = []byte(`{"version":"2.0","rawPath":"/healthz","rawQueryString":"","headers":{},"requestContext":{"http":{"method":"GET","path":"/healthz"}},"isBase64Encoded":false}`)

func coldStarts(b *testing.B, bin string, env []string, payload []byte) {
	var total time.Duration
	for b.Loop() {
		start := time.Now()
		emu := lambdaemu.Start(b, bin, env)
		out, err := emu.Invoke(context.Background(), payload)
		total += time.Since(start)
		if err != nil {
			b.Fatalf("%v\n%s", err, emu.Logs())
		}
		if len(out) == 0 {
			b.Fatal("empty answer")
		}
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/start")
}

// buildBootstrap builds a Lambda bootstrap as the Makefile does: static,
// stripped, lambda.norpc.
func buildBootstrap(b *testing.B, pkg string) string {
	out := b.TempDir() + "/bootstrap"
	root, _ := testserver.ModuleRoot()
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
	if o, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, o)
	}
	return out
}
