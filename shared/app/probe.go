package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/storagegate/storagegate/shared/config"

	"github.com/storagegate/storagegate/shared/clearmlapi"
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
	api := clearmlapi.Client{APIServer: c.APIServer, AccessKey: c.AccessKey, SecretKey: c.SecretKey, Timeout: c.Timeout.D()}
	err := api.Call(ctx, "users.get_current_user", nil, nil)
	var ae *clearmlapi.APIError
	switch {
	case c.AccessKey != "" && errors.As(err, &ae):
		return fmt.Errorf("refused the service credentials (clearml.access_key): %d %s", ae.Code, ae.Msg)
	case c.AccessKey != "":
		return err
	case errors.As(err, &ae) && ae.Code == http.StatusUnauthorized:
		return nil
	case errors.As(err, &ae):
		return fmt.Errorf("answered %d %s", ae.Code, ae.Msg)
	case err == nil:
		return errors.New("answered 200 without credentials: is api_server the ClearML API server (port 8008)?")
	}
	return err
}
