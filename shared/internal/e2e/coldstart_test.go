package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/storagegate/storagegate/shared/internal/testserver"
)

// BenchmarkColdStartLocal measures the built storagegate binary from exec to
// its first answer on /healthz (config parsed, stores built, port bound).
func BenchmarkColdStartLocal(b *testing.B) {
	bin := buildLocalB(b)
	cfg, _ := json.Marshal(map[string]any{
		"storage": map[string]any{"aws": map[string]any{"buckets": []map[string]any{{
			"bucket": "artifacts", "host": "127.0.0.1:9000", "key": "k", "secret": "secret-value", "secure": false,
		}}}},
	})
	client := &http.Client{Timeout: time.Second}
	for b.Loop() {
		port := testserver.FreePort(b)
		cmd := exec.Command(bin, "serve", "--addr", fmt.Sprintf("127.0.0.1:%d", port))
		cmd.Env = append(os.Environ(), "STORAGEGATE_CONFIG="+string(cfg))
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		url := fmt.Sprintf("http://127.0.0.1:%d/healthz", port)
		for {
			resp, err := client.Get(url)
			if err == nil {
				resp.Body.Close()
				break
			}
			time.Sleep(200 * time.Microsecond)
		}
		b.StopTimer()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		b.StartTimer()
	}
}

func buildLocalB(b *testing.B) string {
	out := b.TempDir() + "/storagegate"
	root, _ := testserver.ModuleRoot()
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, "./functions/local")
	cmd.Dir = root
	if o, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, o)
	}
	return out
}
