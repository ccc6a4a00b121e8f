package clearmlauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// envelope is ClearML's answer: {"meta": {...}, "data": {...}}, with the
// HTTP status equal to meta.result_code.
type envelope struct {
	Meta struct {
		ResultCode    int    `json:"result_code"`
		ResultSubcode int    `json:"result_subcode"`
		ResultMsg     string `json:"result_msg"`
	} `json:"meta"`
	Data json.RawMessage `json:"data"`
}

// maxAnswer bounds what is read from ClearML; its answers here are < 2 KB.
const maxAnswer = 1 << 20

// post calls one endpoint. It returns the HTTP status and the envelope (nil
// when the body is not one); err is only for an answer that never came.
func (v *Verifier) post(ctx context.Context, endpoint, auth string, body any) (int, *envelope, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, nil, upstream(err, "cannot encode the %s request", endpoint)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.base+"/"+endpoint, bytes.NewReader(b))
	if err != nil {
		return 0, nil, upstream(err, "cannot build the %s request", endpoint)
	}
	// A bounded number of calls in flight; past it, "unavailable" at once.
	select {
	case v.upstream <- struct{}{}:
		defer func() { <-v.upstream }()
	default:
		return 0, nil, upstream(ErrBusy, "too many ClearML calls in flight (%d)", cap(v.upstream))
	}
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := v.client.Do(req)
	if err != nil {
		return 0, nil, v.transportError(ctx, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return 0, nil, v.transportError(ctx, err)
	}
	var env envelope
	if json.Unmarshal(raw, &env) != nil || env.Meta.ResultCode != resp.StatusCode {
		return resp.StatusCode, nil, nil
	}
	return resp.StatusCode, &env, nil
}

func (v *Verifier) transportError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return upstream(err, "the ClearML API did not answer within %s", v.timeout)
	}
	return upstream(err, "the ClearML API is unreachable")
}

// failed describes an answer other than 200 or an expected refusal. It
// names status and subcode but not result_msg: a message may quote the
// request, and the request holds a token.
func failed(endpoint string, status int, env *envelope) error {
	if env == nil {
		return upstream(nil, "the ClearML API answered %s with HTTP %d and no ClearML envelope", endpoint, status)
	}
	return upstream(nil, "the ClearML API answered %s with %d/%d", endpoint, status, env.Meta.ResultSubcode)
}

// refusalReason turns ClearML's wording into a reason for the caller.
// clearml-server says "Signature has expired" (PyJWT) for an expired token
// and "revoked token" after logout; everything else is just invalid.
func refusalReason(msg string) string {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "expired"):
		return ReasonExpired
	case strings.Contains(m, "revoked"), strings.Contains(m, "blocked"):
		return ReasonRevoked
	default:
		return ReasonInvalid
	}
}

// currentUser asks users.get_current_user with the caller's own credential.
func (v *Verifier) currentUser(ctx context.Context, auth string) (Identity, error) {
	const endpoint = "users.get_current_user"
	status, env, err := v.post(ctx, endpoint, auth, struct{}{})
	switch {
	case err != nil:
		return Identity{}, err
	case status == http.StatusUnauthorized:
		msg := ""
		if env != nil {
			msg = env.Meta.ResultMsg
		}
		return Identity{}, refusedByClearML(refusalReason(msg))
	case status != http.StatusOK || env == nil:
		return Identity{}, failed(endpoint, status, env)
	}
	var d struct {
		User struct {
			ID      string          `json:"id"`
			Name    string          `json:"name"`
			Role    string          `json:"role"`
			Company json.RawMessage `json:"company"`
		} `json:"user"`
	}
	if err := json.Unmarshal(env.Data, &d); err != nil || d.User.ID == "" {
		return Identity{}, upstream(err, "the ClearML API answered %s without a user", endpoint)
	}
	id := Identity{UserID: d.User.ID, UserName: d.User.Name, Role: d.User.Role}
	// The server joins the company ({id, name}); accept a bare id as well.
	var company struct{ ID, Name string }
	if json.Unmarshal(d.User.Company, &company) != nil {
		json.Unmarshal(d.User.Company, &company.ID)
	}
	id.CompanyID, id.CompanyName = company.ID, company.Name
	return id, nil
}

// validateToken asks auth.validate_token with the service's credentials.
// A 401 or 403 here is about the service's key, not the caller's token, so
// it is an upstream (configuration) failure.
func (v *Verifier) validateToken(ctx context.Context, token string) (Identity, error) {
	const endpoint = "auth.validate_token"
	status, env, err := v.post(ctx, endpoint, v.service, map[string]string{"token": token})
	switch {
	case err != nil:
		return Identity{}, err
	case status == http.StatusUnauthorized:
		return Identity{}, upstream(nil, "ClearML refused clearml.access_key/secret_key (HTTP 401)")
	case status == http.StatusForbidden:
		return Identity{}, upstream(nil, "clearml.access_key may not call %s: it needs a system or root user's credentials", endpoint)
	case status != http.StatusOK || env == nil:
		return Identity{}, failed(endpoint, status, env)
	}
	var d struct {
		Valid   bool    `json:"valid"`
		User    *string `json:"user"`
		Company *string `json:"company"`
		Msg     *string `json:"msg"`
	}
	if err := json.Unmarshal(env.Data, &d); err != nil {
		return Identity{}, upstream(err, "the ClearML API answered %s with malformed data", endpoint)
	}
	if !d.Valid {
		msg := ""
		if d.Msg != nil {
			msg = *d.Msg
		}
		return Identity{}, refusedByClearML(refusalReason(msg))
	}
	if d.User == nil || *d.User == "" {
		return Identity{}, upstream(nil, "the ClearML API answered %s without a user", endpoint)
	}
	id := Identity{UserID: *d.User}
	if d.Company != nil {
		id.CompanyID = *d.Company
	}
	return id, nil
}

// clearmlClaims are the claims of a ClearML session token.
type clearmlClaims struct {
	Identity struct {
		User        string `json:"user"`
		Company     string `json:"company"`
		Role        string `json:"role"`
		UserName    string `json:"user_name"`
		CompanyName string `json:"company_name"`
	} `json:"identity"`
	jwt.RegisteredClaims
}

// verifyJWT checks a token locally with the server's token_secret. Only
// HS256 is accepted, so a token cannot pick its own algorithm (alg "none",
// or RS256 with the secret as a "public key"). A token without exp is
// accepted, as the ClearML server does (it issues such tokens to its own
// system users); there is no revocation check in this mode.
func (v *Verifier) verifyJWT(token string) (Identity, error) {
	var c clearmlClaims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return v.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithTimeFunc(v.now))
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return Identity{}, unauthenticated(ReasonExpired)
	case err != nil, c.Identity.User == "":
		return Identity{}, unauthenticated(ReasonInvalid)
	}
	return Identity{
		UserID:      c.Identity.User,
		UserName:    c.Identity.UserName,
		CompanyID:   c.Identity.Company,
		CompanyName: c.Identity.CompanyName,
		Role:        c.Identity.Role,
	}, nil
}
