package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
// and the ClearML API server, each within its own timeout. Each entry says
// where it comes from: the config document, ClearML's storage settings, or
// the document laid over ClearML's.
func Probe(ctx context.Context, cfg *config.Config, o Options) []Check {
	var out []Check
	settings, err := NewSettings(ctx, cfg, o)
	if err != nil {
		return []Check{{Name: "storage", Err: err}}
	}
	snap, err := settings.Current(ctx)
	if settings.FromClearML() {
		out = append(out, Check{Name: "storage settings from clearml storage.get_settings", Err: err})
	}
	if err != nil {
		return append(out, Check{Name: "clearml api_server " + cfg.ClearML.APIServer, Err: pingClearML(ctx, cfg.ClearML)})
	}
	for _, e := range snap.Resolver.Entries() {
		name := e.Name
		if e.Bucket != "" {
			name += " (" + string(e.Provider) + " bucket " + e.Bucket + ")"
		}
		name += " [" + snap.Source(e.Name) + "]"
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

// pingClearML calls users.get_current_user: with the service credentials
// when configured (they must be accepted), otherwise without any (ClearML
// must answer its 401 "missing credentials" envelope, which proves that the
// API server, not something else, is listening).
func pingClearML(ctx context.Context, c config.ClearML) error {
	if c.APIServer == "" {
		return errors.New("no api_server configured")
	}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout.D())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.APIServer, "/")+"/users.get_current_user", strings.NewReader("{}"))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	want := http.StatusUnauthorized
	if c.AccessKey != "" {
		req.SetBasicAuth(c.AccessKey, c.SecretKey)
		want = http.StatusOK
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("unreachable: %v", err)
	}
	defer resp.Body.Close()
	var env struct {
		Meta *struct {
			ResultCode int    `json:"result_code"`
			ResultMsg  string `json:"result_msg"`
		} `json:"meta"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&env); err != nil || env.Meta == nil {
		return fmt.Errorf("answered HTTP %d without ClearML's envelope: is api_server the API server (port 8008)?", resp.StatusCode)
	}
	if resp.StatusCode != want {
		if c.AccessKey != "" {
			return fmt.Errorf("refused the service credentials (clearml.access_key): %d %s", env.Meta.ResultCode, env.Meta.ResultMsg)
		}
		return fmt.Errorf("answered %d %s", env.Meta.ResultCode, env.Meta.ResultMsg)
	}
	return nil
}
