// Package clearmlapi calls the ClearML API with a service account's key
// pair: one POST per call, ClearML's envelope decoded once, its result code
// as a typed error. The storage settings (storage.get_settings), the
// retention sweeper (tasks, events, models) and check-config --probe use
// it; verifying a caller's own credential is clearmlauth's.
//
// The envelope (docs/http.md#verifying-the-caller-against-clearml): every
// answer is {"meta": {"result_code", "result_subcode", "result_msg", ...},
// "data": {...}}, with the HTTP status equal to result_code; 200/0 is
// success.
package clearmlapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// MaxAnswer bounds one answer: a company's storage settings with many Google
// key files, or a page of 500 tasks, stay far below it.
const MaxAnswer = 64 << 20

// Client calls one ClearML API server.
type Client struct {
	APIServer string
	// AccessKey and SecretKey are sent as Basic credentials; empty sends
	// none (the probe's check that a ClearML API answers at all).
	AccessKey, SecretKey string
	// Timeout bounds one attempt; 0 leaves it to the context.
	Timeout time.Duration
	// Attempts bounds the tries of a call that failed transiently (no
	// answer, 5xx, 429); 0 is one try.
	Attempts int
	// HTTP is the client to use; nil is one that follows no redirect, so
	// the credentials go to APIServer only.
	HTTP *http.Client
}

// noRedirects is the default client: the service credentials never follow
// a redirect to another host.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// APIError is an answer in ClearML's envelope that is not 200/0.
type APIError struct {
	Endpoint string
	Code     int // result_code, the HTTP status
	Subcode  int
	Msg      string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s: ClearML answered %d/%d %s", e.Endpoint, e.Code, e.Subcode, e.Msg)
}

// Transient reports whether retrying may help.
func (e *APIError) Transient() bool { return e.Code >= 500 || e.Code == http.StatusTooManyRequests }

// IsCode reports whether err is ClearML's answer code/subcode.
func IsCode(err error, code, subcode int) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Code == code && ae.Subcode == subcode
}

// Call posts req (nil: {}) to endpoint and decodes the envelope's data into
// out (nil: ignored). Transient failures are retried with a short backoff
// while ctx allows. Errors name the endpoint and the cause, never the
// request (its header holds the credentials) nor the answer's data (storage
// settings hold secrets).
func (c *Client) Call(ctx context.Context, endpoint string, req, out any) error {
	body := []byte("{}")
	if req != nil {
		var err error
		if body, err = json.Marshal(req); err != nil {
			return fmt.Errorf("%s: %v", endpoint, err)
		}
	}
	attempts := max(c.Attempts, 1)
	wait := 200 * time.Millisecond
	for i := 1; ; i++ {
		err := c.once(ctx, endpoint, body, out)
		var ae *APIError
		if err == nil || i >= attempts || ctx.Err() != nil || (errors.As(err, &ae) && !ae.Transient()) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait *= 2
	}
}

func (c *Client) once(ctx context.Context, endpoint string, body []byte, out any) error {
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.APIServer, "/")+"/"+endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: cannot build the request", endpoint)
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", "application/json")
	if c.AccessKey != "" || c.SecretKey != "" {
		r.SetBasicAuth(c.AccessKey, c.SecretKey)
	}
	hc := c.HTTP
	if hc == nil {
		hc = noRedirects
	}
	resp, err := hc.Do(r)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: the ClearML API did not answer in time", endpoint)
		}
		return fmt.Errorf("%s: the ClearML API is unreachable: %s", endpoint, transportReason(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswer+1))
	if err != nil {
		return fmt.Errorf("%s: the answer could not be read", endpoint)
	}
	if len(raw) > MaxAnswer {
		return fmt.Errorf("%s: the answer is larger than %d MiB", endpoint, MaxAnswer>>20)
	}
	var env struct {
		Meta *struct {
			ResultCode    int    `json:"result_code"`
			ResultSubcode int    `json:"result_subcode"`
			ResultMsg     string `json:"result_msg"`
		} `json:"meta"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &env); err != nil || env.Meta == nil || env.Meta.ResultCode != resp.StatusCode {
		if resp.StatusCode >= 500 {
			return &APIError{Endpoint: endpoint, Code: resp.StatusCode, Msg: "answer without ClearML's envelope"}
		}
		return fmt.Errorf("%s: HTTP %d without ClearML's envelope: is clearml.api_server the API server (port 8008)?", endpoint, resp.StatusCode)
	}
	if env.Meta.ResultCode != http.StatusOK || env.Meta.ResultSubcode != 0 {
		return &APIError{Endpoint: endpoint, Code: env.Meta.ResultCode, Subcode: env.Meta.ResultSubcode, Msg: env.Meta.ResultMsg}
	}
	if out == nil {
		return nil
	}
	if raw, ok := out.(*json.RawMessage); ok {
		*raw = env.Data
		return nil
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return fmt.Errorf("%s: unexpected data: %v", endpoint, err)
	}
	return nil
}

// transportReason keeps the cause of a failed call without the URL that
// *url.Error repeats.
func transportReason(err error) string {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) && ue.Unwrap() != nil {
		return ue.Unwrap().Error()
	}
	return err.Error()
}
