package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/storagegate/storagegate/shared/config"
)

// Check is one line of `check-config --probe`.
type Check struct {
	Name string
	Err  error
}

// prober is a store that can check that its credentials reach a bucket.
type prober interface {
	Probe(ctx context.Context, bucket string) error
}

// Probe reaches each configured bucket (or, for defaults, the credentials)
// and the ClearML API server, each within its own timeout.
func Probe(ctx context.Context, cfg *config.Config) []Check {
	var out []Check
	res, err := Resolver(cfg)
	if err != nil {
		return []Check{{Name: "storage", Err: err}}
	}
	for _, e := range res.Entries() {
		name := e.Name
		if e.Bucket != "" {
			name += " (" + string(e.Provider) + " bucket " + e.Bucket + ")"
		}
		p, ok := e.Store.(prober)
		if !ok {
			out = append(out, Check{Name: name, Err: errors.New("this store cannot be probed")})
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		out = append(out, Check{Name: name, Err: p.Probe(pctx, e.Bucket)})
		cancel()
	}
	out = append(out, Check{Name: "clearml api_server " + cfg.ClearML.APIServer, Err: pingClearML(ctx, cfg.ClearML)})
	return out
}

// pingClearML calls debug.ping, which every ClearML API server answers
// without credentials.
func pingClearML(ctx context.Context, c config.ClearML) error {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout.D())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.APIServer, "/")+"/debug.ping", strings.NewReader("{}"))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("unreachable: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("answered HTTP %d", resp.StatusCode)
	}
	return nil
}
