package sweep

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

// Client calls the ClearML API with the service credentials of the clearml
// section (Basic access_key:secret_key), each call within clearml.timeout.
type Client struct {
	APIServer string
	AccessKey string
	SecretKey string
	// Timeout bounds one call (one attempt).
	Timeout time.Duration
	// HTTP is the client to use; nil is http.DefaultClient.
	HTTP *http.Client
	// Attempts bounds the tries of a call that failed transiently (no
	// answer, 5xx, 429); 0 is 3.
	Attempts int
}

// APIError is an answer in ClearML's envelope that is not 200/0.
type APIError struct {
	Endpoint string
	Code     int // result_code, the HTTP status
	Subcode  int
	Msg      string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s: %d/%d %s", e.Endpoint, e.Code, e.Subcode, e.Msg)
}

// Transient reports whether retrying may help.
func (e *APIError) Transient() bool { return e.Code >= 500 || e.Code == http.StatusTooManyRequests }

// isCode reports whether err is the API error code/subcode.
func isCode(err error, code, subcode int) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Code == code && ae.Subcode == subcode
}

// Call posts req to endpoint and decodes the envelope's data into out.
// Transient failures are retried with a short backoff while ctx allows.
func (c *Client) Call(ctx context.Context, endpoint string, req, out any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	attempts := c.Attempts
	if attempts <= 0 {
		attempts = 3
	}
	wait := 200 * time.Millisecond
	for i := 1; ; i++ {
		err = c.once(ctx, endpoint, body, out)
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
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.APIServer, "/")+"/"+endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	r.Header.Set("Content-Type", "application/json")
	r.SetBasicAuth(c.AccessKey, c.SecretKey)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(r)
	if err != nil {
		// The error names the URL, never the credentials (they are in a
		// header).
		return fmt.Errorf("%s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("%s: reading the answer: %w", endpoint, err)
	}
	var env struct {
		Meta *struct {
			ResultCode    int    `json:"result_code"`
			ResultSubcode int    `json:"result_subcode"`
			ResultMsg     string `json:"result_msg"`
		} `json:"meta"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &env); err != nil || env.Meta == nil {
		if resp.StatusCode >= 500 {
			return &APIError{Endpoint: endpoint, Code: resp.StatusCode, Msg: "answer without ClearML's envelope"}
		}
		return fmt.Errorf("%s: HTTP %d without ClearML's envelope: is clearml.api_server the API server (port 8008)?", endpoint, resp.StatusCode)
	}
	if env.Meta.ResultCode != http.StatusOK || env.Meta.ResultSubcode != 0 {
		code := env.Meta.ResultCode
		if code == 0 {
			code = resp.StatusCode
		}
		return &APIError{Endpoint: endpoint, Code: code, Subcode: env.Meta.ResultSubcode, Msg: env.Meta.ResultMsg}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return fmt.Errorf("%s: unexpected data: %v", endpoint, err)
	}
	return nil
}
