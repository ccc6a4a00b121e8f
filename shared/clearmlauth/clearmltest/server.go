// Package clearmltest is a small stand-in for the ClearML API server, for
// tests. It answers the calls storagegate makes (users.get_current_user,
// auth.validate_token, auth.login, storage.get_settings) the way
// clearml-server does: the same
// envelope, the same result codes and subcodes, the same wording of the
// messages that callers classify ("Signature has expired", "revoked token"),
// and real HS256 tokens with ClearML's claims. Knobs make it slow, failing or
// unreachable. See docs/http.md#verifying-the-caller-against-clearml (and
// docs/clearml-settings.md for storage.get_settings) for the facts it follows.
package clearmltest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Versions the server reports: the API version (also the version an
// unprefixed call resolves to) and the server build.
const (
	APIVersion    = "2.31"
	ServerVersion = "2.3.0"
)

// User is one ClearML user. Role is one of ClearML's roles: system, root,
// admin, superuser, user, annotator, guest.
type User struct {
	ID, Name, Role, CompanyID, CompanyName string
}

// Server is a running fake ClearML API server. It is safe for concurrent use.
type Server struct {
	URL    string // base URL, the clearml.api_server to configure
	Secret string // the token_secret its tokens are signed with

	tb  testing.TB
	srv *httptest.Server

	retention *retention // the retention calls (tasks.go), made on first use

	mu      sync.Mutex
	users   map[string]User
	keys    map[string]keyPair // access key → owner and secret
	revoked map[string]bool    // session ids logged out
	calls   map[string]int64   // endpoint name → requests received
	// storage is each company's saved storage settings; serverStorage
	// answers for companies that saved none.
	storage       map[string]companySettings
	serverStorage StorageSettings
	down          bool
	delay         time.Duration
	failure       int
}

type keyPair struct{ userID, secret string }

// New starts a server that is closed when the test ends.
func New(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{
		Secret:        randomHex(32),
		tb:            tb,
		users:         map[string]User{},
		keys:          map[string]keyPair{},
		revoked:       map[string]bool{},
		calls:         map[string]int64{},
		storage:       map[string]companySettings{},
		serverStorage: DefaultServerStorage(),
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	tb.Cleanup(s.srv.Close)
	return s
}

// AddUser registers (or replaces) a user.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = u
}

// AddKey gives userID the API credentials key:secret, for Basic auth.
func (s *Server) AddKey(userID, key, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[key] = keyPair{userID: userID, secret: secret}
}

// Token returns a session token for a registered user, as auth.login would,
// living ttl from now. A ttl of zero or less gives an already expired token.
// Call it from the test goroutine: an unknown user fails the test.
func (s *Server) Token(userID string, ttl time.Duration) string {
	s.mu.Lock()
	u, ok := s.users[userID]
	s.mu.Unlock()
	if !ok {
		s.tb.Fatalf("clearmltest: Token for unknown user %q (AddUser it first)", userID)
	}
	return s.sign(u, ttl)
}

func (s *Server) sign(u User, ttl time.Duration) string {
	now := time.Now()
	iat := now
	if ttl <= 0 {
		iat = now.Add(ttl - time.Hour) // an expired token was issued before it expired
	}
	claims := jwt.MapClaims{
		"identity": map[string]string{
			"user":         u.ID,
			"company":      u.CompanyID,
			"role":         u.Role,
			"user_name":    u.Name,
			"company_name": u.CompanyName,
		},
		"iat":            iat.Unix(),
		"exp":            now.Add(ttl).Unix(),
		"session_id":     randomHex(16),
		"env":            "test",
		"auth_type":      "Bearer",
		"api_version":    APIVersion,
		"server_version": ServerVersion,
		"feature_set":    "basic",
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(s.Secret))
	if err != nil {
		panic("clearmltest: signing a token: " + err.Error()) // HMAC signing cannot fail
	}
	return tok
}

// Revoke logs the token's session out: the server refuses it from now on, as
// ClearML does after auth.logout.
func (s *Server) Revoke(token string) {
	var c tokenClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &c); err != nil || c.SessionID == "" {
		s.tb.Fatalf("clearmltest: Revoke: not a token with a session_id: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked[c.SessionID] = true
}

// Calls is how many requests reached endpoint (e.g. "users.get_current_user"),
// whatever their outcome, knobs included.
func (s *Server) Calls(endpoint string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[endpoint]
}

// SetDown makes every request fail at the connection level: the server
// closes the connection without an answer, as a crashed or restarting API
// server does. (For a proxy's 503, use SetFailure(503).)
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// SetDelay makes every answer wait d first; a client that gives up ends the
// wait.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// SetFailure makes every call answer with that HTTP status (e.g. 500), in the
// envelope; 0 restores normal answers.
func (s *Server) SetFailure(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failure = status
}

// pathRE is ClearML's endpoint path: an optional version, service.action.
var pathRE = regexp.MustCompile(`^/?(?:v(\d+\.?\d+)/)?([a-zA-Z_]\w+\.[a-zA-Z_]\w+)/?$`)

// call is one request being answered.
type call struct {
	w         http.ResponseWriter
	id, trx   string
	name      string
	requested string
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	m := pathRE.FindStringSubmatch(r.URL.Path)
	name := r.URL.Path
	if m != nil {
		name = m[2]
	}
	s.mu.Lock()
	s.calls[name]++
	down, delay, failure := s.down, s.delay, s.failure
	s.mu.Unlock()

	if down {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler) // closes the connection too
	}
	if delay > 0 {
		// Reading the body first lets net/http notice a client that hangs
		// up (it watches the connection only once the body is consumed),
		// so the wait ends with the client and Close does not hang.
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		r.Body = io.NopCloser(bytes.NewReader(body))
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}

	c := &call{w: w, id: randomHex(16), name: name, requested: APIVersion}
	c.trx = c.id
	if t := r.Header.Get("X-Clearml-Trx"); t != "" {
		c.trx = t
	}
	if m == nil {
		c.fail(400, 0, "Invalid request path "+r.URL.Path, nil)
		return
	}
	if m[1] != "" {
		c.requested = m[1]
	}
	if failure != 0 {
		c.fail(failure, 0, strings.ToLower(http.StatusText(failure)), nil)
		return
	}
	if s.serveRetention(c, r) {
		return
	}

	switch name {
	case "users.get_current_user":
		s.getCurrentUser(c, r)
	case "auth.validate_token":
		s.validateToken(c, r)
	case "auth.login":
		s.login(c, r)
	case "storage.get_settings":
		s.getSettings(c, r)
	default:
		c.fail(404, 0, "Unable to find endpoint for name "+name+" and version "+c.requested, nil)
	}
}

// identity is who is calling, as the server's auth layer resolves it.
type identity struct {
	User, Company, Role, UserName, CompanyName string
}

type tokenClaims struct {
	Identity struct {
		User        string `json:"user"`
		Company     string `json:"company"`
		Role        string `json:"role"`
		UserName    string `json:"user_name"`
		CompanyName string `json:"company_name"`
	} `json:"identity"`
	SessionID string `json:"session_id"`
	jwt.RegisteredClaims
}

// apiError is an error answer: code, subcode, message and error_data.
type apiError struct {
	code, subcode int
	msg           string
	data          map[string]any
}

// The messages are clearml-server's (apierrors/errors.conf, with the extra
// text its auth code adds), so that callers parse what they would really get.
var (
	errNoCredentials  = &apiError{401, 20, "unauthorized (missing credentials)", nil}
	errBadAuthType    = &apiError{401, 10, "unauthorized (bad authentication header type)", nil}
	errBadCredentials = &apiError{401, 21, "unauthorized (malformed credentials)", nil}
	errInvalidCreds   = &apiError{401, 22, "unauthorized (invalid credentials) (failed to locate provided credentials)", nil}
	errRevoked        = &apiError{401, 30, "invalid token (revoked token)", nil}
	errRoleNotAllowed = &apiError{403, 20, "forbidden (not allowed for role)", nil}
)

// authenticate resolves the Authorization header as ClearML does: a Bearer
// JWT checked against the secret and the revoked sessions, or Basic
// access_key:secret_key against the registered keys.
func (s *Server) authenticate(r *http.Request) (identity, *apiError) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return identity{}, errNoCredentials
	}
	scheme, data, _ := strings.Cut(h, " ")
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		c, reason := s.parseToken(data)
		if reason != "" {
			return identity{}, invalidToken(reason)
		}
		s.mu.Lock()
		revoked := s.revoked[c.SessionID]
		s.mu.Unlock()
		if revoked {
			return identity{}, errRevoked
		}
		return identity{c.Identity.User, c.Identity.Company, c.Identity.Role, c.Identity.UserName, c.Identity.CompanyName}, nil
	case strings.EqualFold(scheme, "Basic"):
		raw, err := base64.StdEncoding.DecodeString(data)
		if err != nil {
			return identity{}, errBadCredentials
		}
		key, secret, _ := strings.Cut(string(raw), ":")
		s.mu.Lock()
		defer s.mu.Unlock()
		kp, ok := s.keys[key]
		u, known := s.users[kp.userID]
		if !ok || kp.secret != secret || !known {
			return identity{}, errInvalidCreds
		}
		return identity{u.ID, u.CompanyID, u.Role, u.Name, u.CompanyName}, nil
	default:
		return identity{}, errBadAuthType
	}
}

// parseToken verifies a token; the reason is PyJWT's wording, which ClearML
// passes on.
func (s *Server) parseToken(tok string) (*tokenClaims, string) {
	var c tokenClaims
	_, err := jwt.ParseWithClaims(tok, &c, func(*jwt.Token) (any, error) { return []byte(s.Secret), nil },
		jwt.WithValidMethods([]string{"HS256"}))
	switch {
	case err == nil && c.Identity.User == "":
		return nil, "token missing identity"
	case err == nil:
		return &c, ""
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, "Signature has expired"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return nil, "Signature verification failed"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return nil, "The specified alg value is not allowed"
	default:
		return nil, "Invalid token"
	}
}

func invalidToken(reason string) *apiError {
	return &apiError{401, 30, "invalid token (invalid jwt token): reason=" + reason, map[string]any{"reason": reason}}
}

func (s *Server) getCurrentUser(c *call, r *http.Request) {
	id, e := s.authenticate(r)
	if e != nil {
		c.failWith(e)
		return
	}
	s.mu.Lock()
	u, ok := s.users[id.User]
	s.mu.Unlock()
	if !ok {
		c.fail(400, 300, "invalid user (failed loading user)", nil)
		return
	}
	c.ok(map[string]any{"user": map[string]any{
		"id":      u.ID,
		"name":    u.Name,
		"company": map[string]string{"id": u.CompanyID, "name": u.CompanyName},
		"role":    id.Role, // the server reports the caller's identity role
	}})
}

func (s *Server) validateToken(c *call, r *http.Request) {
	id, e := s.authenticate(r)
	if e != nil {
		c.failWith(e)
		return
	}
	if id.Role != "system" && id.Role != "root" {
		c.failWith(errRoleNotAllowed)
		return
	}
	var body struct {
		Token *string `json:"token"`
	}
	if !c.decode(r, &body) {
		return
	}
	if body.Token == nil {
		c.fail(400, 11, "missing required fields (token)", nil)
		return
	}
	tc, reason := s.parseToken(*body.Token)
	if reason == "" {
		s.mu.Lock()
		if s.revoked[tc.SessionID] {
			reason = "revoked token"
		}
		s.mu.Unlock()
	}
	if reason != "" {
		c.ok(map[string]any{"valid": false, "user": nil, "company": nil, "msg": reason})
		return
	}
	c.ok(map[string]any{"valid": true, "user": tc.Identity.User, "company": tc.Identity.Company, "msg": nil})
}

func (s *Server) login(c *call, r *http.Request) {
	id, e := s.authenticate(r)
	if e != nil {
		c.failWith(e)
		return
	}
	var body struct {
		ExpirationSec *int64 `json:"expiration_sec"`
	}
	if !c.decode(r, &body) {
		return
	}
	ttl := 30 * 24 * time.Hour // ClearML's default token lifetime
	if body.ExpirationSec != nil && *body.ExpirationSec > 0 {
		ttl = time.Duration(*body.ExpirationSec) * time.Second
	}
	u := User{ID: id.User, Name: id.UserName, Role: id.Role, CompanyID: id.Company, CompanyName: id.CompanyName}
	c.ok(map[string]any{"token": s.sign(u, ttl)})
}

// decode reads a JSON body; ClearML also takes query arguments on GET, which
// these endpoints do not need.
func (c *call) decode(r *http.Request, v any) bool {
	if r.Body == nil {
		return true
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(v); err != nil && !errors.Is(err, io.EOF) {
		c.fail(400, 12, "validation error (invalid JSON body)", nil)
		return false
	}
	return true
}

func (c *call) ok(data any) { c.write(200, 0, "OK", nil, data) }

func (c *call) failWith(e *apiError) { c.fail(e.code, e.subcode, e.msg, e.data) }

func (c *call) fail(code, subcode int, msg string, errData map[string]any) {
	c.write(code, subcode, msg, errData, map[string]any{})
}

// write sends the envelope; the HTTP status is the result code, as ClearML's.
func (c *call) write(code, subcode int, msg string, errData map[string]any, data any) {
	if errData == nil {
		errData = map[string]any{}
	}
	actual := any(nil)
	if code != 404 {
		actual = "1.0" // the version these endpoints were introduced in
		if c.name == "storage.get_settings" {
			actual = "2.22"
		}
	}
	env := map[string]any{
		"meta": map[string]any{
			"id":  c.id,
			"trx": c.trx,
			"endpoint": map[string]any{
				"name":              c.name,
				"requested_version": c.requested,
				"actual_version":    actual,
			},
			"result_code":    code,
			"result_subcode": subcode,
			"result_msg":     msg,
			"error_stack":    nil,
			"error_data":     errData,
		},
		"data": data,
	}
	b, err := json.Marshal(env)
	if err != nil {
		panic("clearmltest: encoding an answer: " + err.Error())
	}
	c.w.Header().Set("Content-Type", "application/json")
	c.w.WriteHeader(code)
	c.w.Write(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
