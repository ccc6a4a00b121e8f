package storagesettings

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// maxAnswer bounds a storage.get_settings answer: a company's settings with
// many Google key files stay far below it.
const maxAnswer = 8 << 20

// client calls the ClearML API with the service credentials.
type client struct {
	base string // api_server without trailing slash
	auth string // "Basic ..."; never logged, never in an error
	http *http.Client
}

func newClient(apiServer, key, secret string, hc *http.Client) *client {
	if hc == nil {
		// No redirects: the service credentials go to api_server only.
		hc = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return &client{
		base: strings.TrimRight(apiServer, "/"),
		auth: "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"+secret)),
		http: hc,
	}
}

// call posts {} to endpoint and returns the envelope's data. Errors name
// the endpoint, the status and ClearML's subcode, never the request (which
// holds the credentials) nor the answer (which holds secrets).
func (c *client) call(ctx context.Context, endpoint string) (json.RawMessage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/"+endpoint, bytes.NewReader([]byte("{}")))
	if err != nil {
		return nil, fmt.Errorf("%s: cannot build the request", endpoint)
	}
	req.Header.Set("Authorization", c.auth)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: the ClearML API did not answer in time", endpoint)
		}
		return nil, fmt.Errorf("%s: the ClearML API is unreachable: %s", endpoint, transportReason(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return nil, fmt.Errorf("%s: the answer could not be read", endpoint)
	}
	if len(raw) > maxAnswer {
		return nil, fmt.Errorf("%s: the answer is larger than %d MiB", endpoint, maxAnswer>>20)
	}
	var env struct {
		Meta struct {
			ResultCode    int `json:"result_code"`
			ResultSubcode int `json:"result_subcode"`
		} `json:"meta"`
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal(raw, &env) != nil || env.Meta.ResultCode != resp.StatusCode {
		return nil, fmt.Errorf("%s: HTTP %d without ClearML's envelope: is clearml.api_server the API server (port 8008)?", endpoint, resp.StatusCode)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return nil, fmt.Errorf("%s: ClearML refused the service credentials (clearml.access_key/secret_key): %d/%d", endpoint, resp.StatusCode, env.Meta.ResultSubcode)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%s: ClearML answered %d/%d", endpoint, resp.StatusCode, env.Meta.ResultSubcode)
	}
	return env.Data, nil
}

// transportReason keeps the cause of a failed call without the URL's
// details that *url.Error repeats.
func transportReason(err error) string {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) && ue.Unwrap() != nil {
		return ue.Unwrap().Error()
	}
	return err.Error()
}

// company asks users.get_current_user who the service account is; the
// settings belong to its company.
func (c *client) company(ctx context.Context) (string, error) {
	data, err := c.call(ctx, "users.get_current_user")
	if err != nil {
		return "", err
	}
	var d struct {
		User struct {
			Company json.RawMessage `json:"company"`
		} `json:"user"`
	}
	if json.Unmarshal(data, &d) != nil {
		return "", errors.New("users.get_current_user: the answer has no user")
	}
	// The server joins the company ({id, name}); accept a bare id as well.
	var co struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(d.User.Company, &co) != nil {
		_ = json.Unmarshal(d.User.Company, &co.ID)
	}
	if co.ID == "" {
		return "", errors.New("users.get_current_user: the answer names no company")
	}
	return co.ID, nil
}

// fetched is one storage.get_settings answer.
type fetched struct {
	settings map[string]any // data.settings: aws, google, azure, last_update
	// version tells answers apart without keeping their secrets:
	// last_update when the company saved settings, else a hash of the
	// answer (the server's own settings have no last_update).
	version    string
	lastUpdate string
}

func (c *client) settings(ctx context.Context) (*fetched, error) {
	data, err := c.call(ctx, "storage.get_settings")
	if err != nil {
		return nil, err
	}
	var d struct {
		Settings map[string]any `json:"settings"`
	}
	if json.Unmarshal(data, &d) != nil || d.Settings == nil {
		return nil, errors.New("storage.get_settings: the answer has no data.settings")
	}
	f := &fetched{settings: d.Settings}
	switch lu := d.Settings["last_update"].(type) {
	case string:
		f.lastUpdate = lu
		f.version = "last_update " + lu
	case float64:
		f.lastUpdate = strconv.FormatFloat(lu, 'f', -1, 64)
		f.version = "last_update " + f.lastUpdate
	default:
		sum := sha256.Sum256(data)
		f.version = "sha256 " + hex.EncodeToString(sum[:])
	}
	return f, nil
}
