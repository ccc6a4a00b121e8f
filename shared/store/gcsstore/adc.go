package gcsstore

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"cloud.google.com/go/compute/metadata"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
)

// cloudPlatformScope is enough for IAM Credentials signBlob.
const cloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"

// iamSigner signs through the IAM Credentials API, as on Cloud Functions,
// where the function's service account has no key file. The account needs
// iam.serviceAccounts.signBlob on itself (roles/iam.serviceAccountTokenCreator).
type iamSigner struct {
	email    string
	endpoint string // e.g. https://iamcredentials.googleapis.com
	tokens   oauth2.TokenSource
	client   *http.Client
}

func (s *iamSigner) account(context.Context) (string, error) { return s.email, nil }

func (s *iamSigner) signBlob(ctx context.Context, blob []byte) ([]byte, error) {
	tok, err := s.tokens.Token()
	if err != nil {
		return nil, fmt.Errorf("access token for IAM signBlob: %w", err)
	}
	body, _ := json.Marshal(map[string]string{"payload": base64.StdEncoding.EncodeToString(blob)})
	u := s.endpoint + "/v1/projects/-/serviceAccounts/" + url.PathEscape(s.email) + ":signBlob"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	tok.SetAuthHeader(req)
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("IAM signBlob for %s: %w", s.email, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("IAM signBlob for %s: reading the answer: %w", s.email, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("IAM signBlob for %s: HTTP %d: %s", s.email, resp.StatusCode, googleError(data))
	}
	var out struct {
		SignedBlob string `json:"signedBlob"`
	}
	if err := json.Unmarshal(data, &out); err != nil || out.SignedBlob == "" {
		return nil, fmt.Errorf("IAM signBlob for %s: an answer without signedBlob", s.email)
	}
	sig, err := base64.StdEncoding.DecodeString(out.SignedBlob)
	if err != nil {
		return nil, fmt.Errorf("IAM signBlob for %s: signedBlob is not base64", s.email)
	}
	return sig, nil
}

// googleError extracts the message of a Google API error answer.
func googleError(data []byte) string {
	var e struct {
		Error struct {
			Status  string `json:"status"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &e) == nil && e.Error.Message != "" {
		return strings.TrimSpace(e.Error.Status + " " + e.Error.Message)
	}
	return "no error message"
}

// adcSigner finds the signing identity in Application Default Credentials
// on first use, not at New: looking for it may ask the metadata server, which
// a process outside Google Cloud reaches only after a timeout, and which must
// not delay start-up for every entry. A failure is not remembered, so a
// metadata server that was briefly unavailable does not break the entry for
// good.
type adcSigner struct {
	o options

	mu       sync.Mutex
	resolved signer
}

func (a *adcSigner) get(ctx context.Context) (signer, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.resolved != nil {
		return a.resolved, nil
	}
	s, err := a.resolve(ctx)
	if err != nil {
		return nil, fmt.Errorf("application default credentials: %w", err)
	}
	a.resolved = s
	return s, nil
}

func (a *adcSigner) account(ctx context.Context) (string, error) {
	s, err := a.get(ctx)
	if err != nil {
		return "", err
	}
	return s.account(ctx)
}

func (a *adcSigner) signBlob(ctx context.Context, blob []byte) ([]byte, error) {
	s, err := a.get(ctx)
	if err != nil {
		return nil, err
	}
	return s.signBlob(ctx, blob)
}

func (a *adcSigner) resolve(ctx context.Context) (signer, error) {
	email, tokens := a.o.email, a.o.tokens
	if tokens == nil {
		creds, err := google.FindDefaultCredentials(ctx, cloudPlatformScope)
		if err != nil {
			return nil, err
		}
		if creds.JSON != nil {
			// A key file named by GOOGLE_APPLICATION_CREDENTIALS signs locally:
			// faster than signBlob, and it needs no IAM role on itself.
			if k, err := parseKeyFile(creds.JSON); err == nil && (email == "" || email == k.email) {
				return k, nil
			}
			if email == "" {
				if email, err = impersonatedAccount(creds.JSON); err != nil {
					return nil, err
				}
			}
		}
		tokens = creds.TokenSource
	}
	if email == "" {
		// On Cloud Functions (and any Google Cloud runtime) the function's
		// service account is the metadata server's "default".
		e, err := metadata.EmailWithContext(ctx, "default")
		if err != nil {
			return nil, fmt.Errorf("service account email from the metadata server: %w", err)
		}
		email = e
	}
	return &iamSigner{email: email, endpoint: a.o.iamEndpoint, tokens: oauth2.ReuseTokenSource(nil, tokens), client: a.o.client}, nil
}

// impersonatedAccount finds the service account that credentials other than a
// key file act as: gcloud's impersonated credentials and workload identity
// federation name it in service_account_impersonation_url. User credentials
// name none, and cannot sign.
func impersonatedAccount(data []byte) (string, error) {
	var f struct {
		Type string `json:"type"`
		URL  string `json:"service_account_impersonation_url"`
	}
	_ = json.Unmarshal(data, &f) // the library has already parsed it
	// .../projects/-/serviceAccounts/NAME@PROJECT.iam.gserviceaccount.com:generateAccessToken
	if i := strings.LastIndex(f.URL, "/serviceAccounts/"); i >= 0 {
		email, _, _ := strings.Cut(f.URL[i+len("/serviceAccounts/"):], ":")
		if email, err := url.PathUnescape(email); err == nil && strings.Contains(email, "@") {
			return email, nil
		}
	}
	return "", errors.New("credentials of type " + f.Type + " name no service account, and only a service account can sign URLs: " +
		"set credentials_json, or use credentials that impersonate a service account")
}
