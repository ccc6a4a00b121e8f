package storagesettings

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/storagegate/storagegate/shared/clearmlapi"
)

// client calls the ClearML API with the service credentials.
type client struct {
	api clearmlapi.Client
}

func newClient(apiServer, key, secret string, hc *http.Client) *client {
	// One try a call: a failed load or refresh is tried again on a later
	// request (Settings.retryInterval), never in a loop that a request waits on.
	return &client{api: clearmlapi.Client{APIServer: apiServer, AccessKey: key, SecretKey: secret, HTTP: hc}}
}

// call posts {} to endpoint and returns the envelope's data. Errors name
// the endpoint, the status and ClearML's subcode, never the request (which
// holds the credentials) nor the answer (which holds secrets).
func (c *client) call(ctx context.Context, endpoint string) (json.RawMessage, error) {
	var data json.RawMessage
	err := c.api.Call(ctx, endpoint, nil, &data)
	var ae *clearmlapi.APIError
	switch {
	case errors.As(err, &ae) && ae.Code == http.StatusUnauthorized:
		return nil, fmt.Errorf("%s: ClearML refused the service credentials (clearml.access_key/secret_key): %d/%d", endpoint, ae.Code, ae.Subcode)
	case errors.As(err, &ae):
		return nil, fmt.Errorf("%s: ClearML answered %d/%d", endpoint, ae.Code, ae.Subcode)
	case err != nil:
		return nil, err
	}
	return data, nil
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
