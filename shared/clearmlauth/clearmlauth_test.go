package clearmlauth

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/storagegate/storagegate/shared/clearmlauth/clearmltest"
	"github.com/storagegate/storagegate/shared/config"
)

const endpointUser, endpointValidate = "users.get_current_user", "auth.validate_token"

// clock is a settable clock for cache lifetimes.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture is a ClearML server with users of every kind the tests need.
func fixture(t *testing.T) *clearmltest.Server {
	s := clearmltest.New(t)
	for _, u := range []clearmltest.User{
		{ID: "alice", Name: "Alice", Role: "user", CompanyID: "c1", CompanyName: "Acme"},
		{ID: "gus", Name: "Gus", Role: "guest", CompanyID: "c1", CompanyName: "Acme"},
		{ID: "bob", Name: "Bob", Role: "user", CompanyID: "c2", CompanyName: "Other"},
		{ID: "adm", Name: "Admin", Role: "admin", CompanyID: "c1", CompanyName: "Acme"},
		{ID: "svc", Name: "Service", Role: "system", CompanyID: "c1", CompanyName: "Acme"},
	} {
		s.AddUser(u)
	}
	s.AddKey("alice", "AKALICE", "SKALICE")
	s.AddKey("adm", "AKADM", "SKADM")
	s.AddKey("svc", "AKSVC", "SKSVC")
	return s
}

func cfgFor(s *clearmltest.Server, mode string) config.ClearML {
	return config.ClearML{
		APIServer:   s.URL,
		AuthMode:    mode,
		AccessKey:   "AKSVC",
		SecretKey:   "SKSVC",
		TokenSecret: s.Secret,
		CacheTTL:    config.NewDuration(5 * time.Minute),
		Timeout:     config.NewDuration(2 * time.Second),
	}
}

func newVerifier(t *testing.T, cfg config.ClearML, opts ...Option) *Verifier {
	t.Helper()
	v, err := New(cfg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return v
}

func bearer(tok string) Credential {
	return Credential{Kind: Bearer, Token: tok, Source: "authorization"}
}

func basic(key, secret string) Credential {
	return Credential{Kind: Basic, Key: key, Secret: secret, Source: "authorization"}
}

// forge signs ClearML-shaped claims for alice with any key and method.
func forge(t *testing.T, method jwt.SigningMethod, key any, exp time.Time) string {
	t.Helper()
	claims := jwt.MapClaims{
		"identity": map[string]string{"user": "alice", "company": "c1", "role": "admin", "user_name": "Alice", "company_name": "Acme"},
		"iat":      time.Now().Unix(),
		"exp":      exp.Unix(),
	}
	tok, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatalf("signing: %v", err)
	}
	return tok
}

// wantErr checks err's kind and, if given, its reason.
func wantErr(t *testing.T, err, kind error, reason string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("err = %v, want %v", err, kind)
	}
	var e *Error
	if reason != "" && (!errors.As(err, &e) || e.Reason != reason) {
		t.Fatalf("err = %v, want reason %q", err, reason)
	}
}

func TestFromRequest(t *testing.T) {
	cookies := []string{"clearml_token_basic", "clearml-token-k8s"}
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name    string
		headers []string // Authorization values
		cookies map[string]string
		query   string
		ok      bool
		kind    Kind
		token   string
		key     string
		source  string
	}{
		{name: "nothing"},
		{name: "query string is never read", query: "?token=T&access_token=T"},
		{name: "bearer", headers: []string{"Bearer T1"}, ok: true, kind: Bearer, token: "T1", source: "authorization"},
		{name: "bearer scheme is case-insensitive", headers: []string{"bearer T1"}, ok: true, kind: Bearer, token: "T1", source: "authorization"},
		{name: "basic", headers: []string{"Basic " + b64("AK:SK:with:colons")}, ok: true, kind: Basic, key: "AK", source: "authorization"},
		{name: "empty bearer", headers: []string{"Bearer "}, ok: true, kind: Invalid, source: "authorization"},
		{name: "bearer with spaces", headers: []string{"Bearer a b"}, ok: true, kind: Invalid, source: "authorization"},
		{name: "basic bad base64", headers: []string{"Basic !!!"}, ok: true, kind: Invalid, source: "authorization"},
		{name: "basic without colon", headers: []string{"Basic " + b64("AKSK")}, ok: true, kind: Invalid, source: "authorization"},
		{name: "basic empty secret", headers: []string{"Basic " + b64("AK:")}, ok: true, kind: Invalid, source: "authorization"},
		{name: "unknown scheme", headers: []string{"Digest x"}, ok: true, kind: Invalid, source: "authorization"},
		{name: "token without scheme", headers: []string{"eyJhbGciOi.x.y"}, ok: true, kind: Invalid, source: "authorization"},
		{name: "two headers", headers: []string{"Bearer A", "Bearer B"}, ok: true, kind: Invalid, source: "authorization"},
		{
			name: "malformed header does not fall through to a cookie", headers: []string{"Basic !!!"},
			cookies: map[string]string{"clearml_token_basic": "C"}, ok: true, kind: Invalid, source: "authorization",
		},
		{
			name: "header wins over cookie", headers: []string{"Bearer H"},
			cookies: map[string]string{"clearml_token_basic": "C"}, ok: true, kind: Bearer, token: "H", source: "authorization",
		},
		{
			name: "blank header counts as absent", headers: []string{"  "},
			cookies: map[string]string{"clearml-token-k8s": "K"}, ok: true, kind: Bearer, token: "K", source: "cookie:clearml-token-k8s",
		},
		{
			name: "cookies in configured order", cookies: map[string]string{"clearml-token-k8s": "K", "clearml_token_basic": "C"},
			ok: true, kind: Bearer, token: "C", source: "cookie:clearml_token_basic",
		},
		{
			name: "empty cookie is absent", cookies: map[string]string{"clearml_token_basic": "", "clearml-token-k8s": "K"},
			ok: true, kind: Bearer, token: "K", source: "cookie:clearml-token-k8s",
		},
		{name: "unconfigured cookie is ignored", cookies: map[string]string{"session": "S"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/presign"+tt.query, nil)
			for _, h := range tt.headers {
				r.Header.Add("Authorization", h)
			}
			for name, val := range tt.cookies {
				r.AddCookie(&http.Cookie{Name: name, Value: val})
			}
			c, ok := FromRequest(r, cookies)
			if ok != tt.ok || c.Kind != tt.kind || c.Token != tt.token || c.Key != tt.key || c.Source != tt.source {
				t.Fatalf("got %v ok=%v token=%q key=%q, want kind %v ok=%v token=%q key=%q source %q",
					c, ok, c.Token, c.Key, tt.kind, tt.ok, tt.token, tt.key, tt.source)
			}
			if tt.kind == Basic && c.Secret != "SK:with:colons" {
				t.Fatalf("secret = %q", c.Secret)
			}
		})
	}
}

func TestInvalidCredentialIsRefusedWithoutUpstreamCall(t *testing.T) {
	s := fixture(t)
	v := newVerifier(t, cfgFor(s, config.AuthUser))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Basic !!!")
	c, _ := FromRequest(r, nil)
	_, err := v.Verify(context.Background(), c)
	wantErr(t, err, ErrUnauthenticated, "the Basic credentials are not valid base64")
	_, err = v.Verify(context.Background(), Credential{})
	wantErr(t, err, ErrUnauthenticated, "")
	if n := s.Calls(endpointUser); n != 0 {
		t.Fatalf("upstream calls = %d, want 0", n)
	}
}

func TestVerifyModes(t *testing.T) {
	s := fixture(t)
	// The verifier's clock runs 2h behind the server's, so that a token the
	// server has just seen expire is still live by the verifier's own check:
	// this exercises ClearML's "Signature has expired" answer.
	behind := func() time.Time { return time.Now().Add(-2 * time.Hour) }
	serverExpired := s.Token("alice", -time.Minute)
	revoked := s.Token("alice", time.Hour)
	s.Revoke(revoked)
	wrongSecret := forge(t, jwt.SigningMethodHS256, []byte("not-the-secret"), time.Now().Add(time.Hour))

	alice := Identity{UserID: "alice", UserName: "Alice", CompanyID: "c1", CompanyName: "Acme", Role: "user"}
	aliceIDs := Identity{UserID: "alice", CompanyID: "c1"}
	tests := []struct {
		name     string
		mode     string
		cred     Credential
		clock    func() time.Time
		want     Identity
		kind     error
		reason   string
		endpoint string // the one upstream call expected, if any
	}{
		{name: "user: token", mode: config.AuthUser, cred: bearer(s.Token("alice", time.Hour)), want: alice, endpoint: endpointUser},
		{name: "user: cookie token", mode: config.AuthUser, cred: Credential{Kind: Bearer, Token: s.Token("alice", time.Hour), Source: "cookie:clearml_token_basic"}, want: alice, endpoint: endpointUser},
		{name: "user: guest", mode: config.AuthUser, cred: bearer(s.Token("gus", time.Hour)), want: Identity{UserID: "gus", UserName: "Gus", CompanyID: "c1", CompanyName: "Acme", Role: "guest"}, endpoint: endpointUser},
		{name: "user: basic", mode: config.AuthUser, cred: basic("AKALICE", "SKALICE"), want: alice, endpoint: endpointUser},
		{name: "user: basic wrong secret", mode: config.AuthUser, cred: basic("AKALICE", "nope"), kind: ErrUnauthenticated, reason: ReasonInvalid, endpoint: endpointUser},
		{name: "user: expired locally", mode: config.AuthUser, cred: bearer(s.Token("alice", -time.Minute)), kind: ErrUnauthenticated, reason: ReasonExpired},
		{name: "user: expired at server", mode: config.AuthUser, clock: behind, cred: bearer(serverExpired), kind: ErrUnauthenticated, reason: ReasonExpired, endpoint: endpointUser},
		{name: "user: revoked", mode: config.AuthUser, cred: bearer(revoked), kind: ErrUnauthenticated, reason: ReasonRevoked, endpoint: endpointUser},
		{name: "user: wrong secret", mode: config.AuthUser, cred: bearer(wrongSecret), kind: ErrUnauthenticated, reason: ReasonInvalid, endpoint: endpointUser},
		{name: "user: not a jwt, no upstream call", mode: config.AuthUser, cred: bearer("garbage"), kind: ErrUnauthenticated, reason: ReasonNotAToken},
		{name: "validate_token: not a jwt, no upstream call", mode: config.AuthValidateToken, cred: bearer("e30.bm9wZQ.sig"), kind: ErrUnauthenticated, reason: ReasonNotAToken},
		{name: "user: forged jwt asks ClearML", mode: config.AuthUser, cred: bearer(forge(t, jwt.SigningMethodHS256, []byte("wrong"), time.Now().Add(time.Hour))), kind: ErrUnauthenticated, reason: ReasonInvalid, endpoint: endpointUser},

		{name: "validate_token: token", mode: config.AuthValidateToken, cred: bearer(s.Token("alice", time.Hour)), want: aliceIDs, endpoint: endpointValidate},
		{name: "validate_token: other company", mode: config.AuthValidateToken, cred: bearer(s.Token("bob", time.Hour)), want: Identity{UserID: "bob", CompanyID: "c2"}, endpoint: endpointValidate},
		{name: "validate_token: expired at server", mode: config.AuthValidateToken, clock: behind, cred: bearer(serverExpired), kind: ErrUnauthenticated, reason: ReasonExpired, endpoint: endpointValidate},
		{name: "validate_token: revoked", mode: config.AuthValidateToken, cred: bearer(revoked), kind: ErrUnauthenticated, reason: ReasonRevoked, endpoint: endpointValidate},
		{name: "validate_token: wrong secret", mode: config.AuthValidateToken, cred: bearer(wrongSecret), kind: ErrUnauthenticated, reason: ReasonInvalid, endpoint: endpointValidate},
		{name: "validate_token: basic goes to get_current_user", mode: config.AuthValidateToken, cred: basic("AKALICE", "SKALICE"), want: alice, endpoint: endpointUser},

		{name: "jwt: token", mode: config.AuthJWT, cred: bearer(s.Token("alice", time.Hour)), want: alice},
		{name: "jwt: revoked is not known locally", mode: config.AuthJWT, cred: bearer(revoked), want: alice},
		{name: "jwt: expired", mode: config.AuthJWT, clock: behind, cred: bearer(serverExpired), want: alice},
		{name: "jwt: expired by the verifier's clock", mode: config.AuthJWT, cred: bearer(s.Token("alice", -time.Second)), kind: ErrUnauthenticated, reason: ReasonExpired},
		{name: "jwt: wrong secret", mode: config.AuthJWT, cred: bearer(wrongSecret), kind: ErrUnauthenticated, reason: ReasonInvalid},
		{name: "jwt: HS512 with the right secret", mode: config.AuthJWT, cred: bearer(forge(t, jwt.SigningMethodHS512, []byte(s.Secret), time.Now().Add(time.Hour))), kind: ErrUnauthenticated, reason: ReasonInvalid},
		{name: "jwt: alg none", mode: config.AuthJWT, cred: bearer(forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, time.Now().Add(time.Hour))), kind: ErrUnauthenticated, reason: ReasonNotAToken},
		{name: "jwt: basic goes to get_current_user", mode: config.AuthJWT, cred: basic("AKALICE", "SKALICE"), want: alice, endpoint: endpointUser},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := map[string]int64{endpointUser: s.Calls(endpointUser), endpointValidate: s.Calls(endpointValidate)}
			var opts []Option
			if tt.clock != nil {
				opts = append(opts, WithClock(tt.clock))
			}
			v := newVerifier(t, cfgFor(s, tt.mode), opts...)
			id, err := v.Verify(context.Background(), tt.cred)
			if tt.kind != nil {
				wantErr(t, err, tt.kind, tt.reason)
			} else if err != nil || id != tt.want {
				t.Fatalf("got %+v, %v; want %+v", id, err, tt.want)
			}
			for ep, n := range before {
				want := n
				if ep == tt.endpoint {
					want++
				}
				if got := s.Calls(ep); got != want {
					t.Errorf("%s calls = %d, want %d", ep, got, want)
				}
			}
		})
	}
}

// In jwt mode an expired token is refused by the library's own exp check;
// the case above with a clock behind shows it follows the injected clock.
func TestJWTModeBasicWithoutAPIServer(t *testing.T) {
	s := fixture(t)
	cfg := cfgFor(s, config.AuthJWT)
	cfg.APIServer = ""
	v := newVerifier(t, cfg)
	_, err := v.Verify(context.Background(), basic("AKALICE", "SKALICE"))
	wantErr(t, err, ErrUnauthenticated, "")
	if id, err := v.Verify(context.Background(), bearer(s.Token("alice", time.Hour))); err != nil || id.UserID != "alice" {
		t.Fatalf("token: %+v, %v", id, err)
	}
}

func TestValidateTokenServiceCredentialsRefused(t *testing.T) {
	s := fixture(t)
	tok := bearer(s.Token("alice", time.Hour))
	for _, tc := range []struct{ name, key, secret string }{
		{"admin is not system", "AKADM", "SKADM"},
		{"wrong service secret", "AKSVC", "nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := cfgFor(s, config.AuthValidateToken)
			cfg.AccessKey, cfg.SecretKey = tc.key, tc.secret
			_, err := newVerifier(t, cfg).Verify(context.Background(), tok)
			// The caller's token is fine; the service is misconfigured.
			wantErr(t, err, ErrUpstream, "")
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	s := fixture(t)
	for name, mutate := range map[string]func(*config.ClearML){
		"unknown mode":                     func(c *config.ClearML) { c.AuthMode = "oauth" },
		"user mode without api_server":     func(c *config.ClearML) { c.APIServer = "" },
		"validate_token without key":       func(c *config.ClearML) { c.AuthMode = config.AuthValidateToken; c.AccessKey = "" },
		"jwt without secret":               func(c *config.ClearML) { c.AuthMode = config.AuthJWT; c.TokenSecret = "" },
		"api_server with user information": func(c *config.ClearML) { c.APIServer = "http://u:p@localhost:8008" },
		"negative cache_ttl":               func(c *config.ClearML) { c.CacheTTL = config.NewDuration(-time.Second) },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := cfgFor(s, config.AuthUser)
			mutate(&cfg)
			if _, err := New(cfg); err == nil {
				t.Fatal("New accepted it")
			}
		})
	}
}

func TestAuthorize(t *testing.T) {
	user := Identity{UserID: "alice", CompanyID: "c1", Role: "user"}
	tests := []struct {
		name      string
		roles     []string
		companies []string
		id        Identity
		want      error
	}{
		{name: "empty lists admit everyone", id: user},
		{name: "allowed role and company", roles: []string{"admin", "user"}, companies: []string{"c1"}, id: user},
		{name: "guest role", roles: []string{"admin", "user"}, id: Identity{UserID: "gus", CompanyID: "c1", Role: "guest"}, want: ErrRoleNotAllowed},
		{name: "no role reported", roles: []string{"user"}, id: Identity{UserID: "alice", CompanyID: "c1"}, want: ErrRoleNotAllowed},
		{name: "other company", companies: []string{"c1"}, id: Identity{UserID: "bob", CompanyID: "c2", Role: "user"}, want: ErrCompanyNotAllowed},
		{name: "company list holds ids, not names", companies: []string{"Acme"}, id: Identity{UserID: "alice", CompanyID: "c1", CompanyName: "Acme", Role: "user"}, want: ErrCompanyNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Authorize(config.ClearML{AllowedRoles: tt.roles, AllowedCompanies: tt.companies}, tt.id)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestCache(t *testing.T) {
	s := fixture(t)
	good := s.Token("alice", time.Hour)
	short := s.Token("alice", 2*time.Minute)
	wrong := forge(t, jwt.SigningMethodHS256, []byte("not-the-secret"), time.Now().Add(time.Hour))

	type step struct {
		advance time.Duration
		token   string
		ok      bool
		calls   int64 // upstream calls so far
	}
	tests := []struct {
		name   string
		ttl    time.Duration
		negTTL time.Duration // 0: default
		steps  []step
	}{
		{name: "hit within ttl, miss after", ttl: 5 * time.Minute, steps: []step{
			{0, good, true, 1}, {4 * time.Minute, good, true, 1}, {time.Minute + time.Second, good, true, 2},
		}},
		{name: "ttl 0 caches nothing", ttl: 0, steps: []step{
			{0, good, true, 1}, {0, good, true, 2}, {0, wrong, false, 3}, {0, wrong, false, 4},
		}},
		{name: "never past exp, then refused without a call", ttl: 5 * time.Minute, steps: []step{
			{0, short, true, 1}, {time.Minute, short, true, 1}, {time.Minute + time.Second, short, false, 1},
		}},
		{name: "refusals cached for 5s", ttl: 5 * time.Minute, steps: []step{
			{0, wrong, false, 1}, {4 * time.Second, wrong, false, 1}, {time.Second, wrong, false, 2},
		}},
		{name: "refusals never cached longer than ttl", ttl: 2 * time.Second, negTTL: time.Minute, steps: []step{
			{0, wrong, false, 1}, {time.Second, wrong, false, 1}, {time.Second, wrong, false, 2},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := cfgFor(s, config.AuthUser)
			cfg.CacheTTL = config.NewDuration(tt.ttl)
			clk := newClock(time.Now())
			opts := []Option{WithClock(clk.Now)}
			if tt.negTTL != 0 {
				opts = append(opts, WithNegativeTTL(tt.negTTL))
			}
			v := newVerifier(t, cfg, opts...)
			base := s.Calls(endpointUser)
			for i, st := range tt.steps {
				clk.Advance(st.advance)
				_, err := v.Verify(context.Background(), bearer(st.token))
				if (err == nil) != st.ok {
					t.Fatalf("step %d: err = %v, want ok=%v", i, err, st.ok)
				}
				if err != nil && !errors.Is(err, ErrUnauthenticated) {
					t.Fatalf("step %d: err = %v", i, err)
				}
				if got := s.Calls(endpointUser) - base; got != st.calls {
					t.Fatalf("step %d: upstream calls = %d, want %d", i, got, st.calls)
				}
			}
		})
	}
}

func TestUpstreamErrorsAreNotCached(t *testing.T) {
	s := fixture(t)
	v := newVerifier(t, cfgFor(s, config.AuthUser))
	tok := bearer(s.Token("alice", time.Hour))
	s.SetFailure(http.StatusInternalServerError)
	for i := range 2 {
		_, err := v.Verify(context.Background(), tok)
		wantErr(t, err, ErrUpstream, "")
		if got := s.Calls(endpointUser); got != int64(i+1) {
			t.Fatalf("upstream calls = %d, want %d", got, i+1)
		}
	}
	s.SetFailure(0)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}

func TestMalformedAnswersAreUpstreamFailures(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		kind   error
	}{
		{"not JSON", 200, "<html>ok</html>", ErrUpstream},
		{"no user", 200, `{"meta":{"result_code":200,"result_subcode":0,"result_msg":"OK"},"data":{}}`, ErrUpstream},
		{"status differs from result_code", 200, `{"meta":{"result_code":500},"data":{"user":{"id":"x"}}}`, ErrUpstream},
		{"proxy 502", 502, "Bad Gateway", ErrUpstream},
		{"redirect is not followed", 302, "", ErrUpstream},
		{"400 envelope", 400, `{"meta":{"result_code":400,"result_subcode":12,"result_msg":"validation error"},"data":{}}`, ErrUpstream},
		{"401 without envelope", 401, "Unauthorized", ErrUnauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.status == 302 {
					w.Header().Set("Location", "http://example.invalid/")
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			v := newVerifier(t, config.ClearML{APIServer: srv.URL, CacheTTL: config.NewDuration(time.Minute)})
			_, err := v.Verify(context.Background(), bearer("e30.e30.c")) // {}.{}: JWT-shaped
			wantErr(t, err, tt.kind, "")
		})
	}
}

// TestVerifyConcurrentMissesMakeOneUpstreamCall: 1,000 callers with one
// token, one request to ClearML.
func TestVerifyConcurrentMissesMakeOneUpstreamCall(t *testing.T) {
	s := fixture(t)
	s.SetDelay(100 * time.Millisecond) // keep the flight open while callers pile up
	v := newVerifier(t, cfgFor(s, config.AuthUser))
	tok := bearer(s.Token("alice", time.Hour))

	const n = 1000
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			id, err := v.Verify(context.Background(), tok)
			if err == nil && id.UserID != "alice" {
				err = fmt.Errorf("identity %+v", id)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := s.Calls(endpointUser); got != 1 {
		t.Fatalf("upstream calls = %d, want exactly 1", got)
	}
}

func TestCancelledCallerDoesNotCancelSharedCall(t *testing.T) {
	s := fixture(t)
	s.SetDelay(300 * time.Millisecond)
	v := newVerifier(t, cfgFor(s, config.AuthUser))
	tok := bearer(s.Token("alice", time.Hour))

	impatient, cancel := context.WithCancel(context.Background())
	impatientErr := make(chan error, 1)
	go func() {
		_, err := v.Verify(impatient, tok)
		impatientErr <- err
	}()
	// Wait until the impatient caller's flight has reached ClearML.
	for deadline := time.Now().Add(5 * time.Second); s.Calls(endpointUser) == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first call never reached the server")
		}
	}
	patient := make(chan error, 1)
	go func() {
		id, err := v.Verify(context.Background(), tok)
		if err == nil && id.UserID != "alice" {
			err = fmt.Errorf("identity %+v", id)
		}
		patient <- err
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()

	select {
	case err := <-impatientErr:
		if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrUpstream) {
			t.Fatalf("impatient caller: err = %v, want context.Canceled and ErrUpstream", err)
		}
	case <-time.After(200 * time.Millisecond):
		t.Fatal("the cancelled caller did not return when its context ended")
	}
	if err := <-patient; err != nil {
		t.Fatalf("patient caller: %v", err)
	}
	if got := s.Calls(endpointUser); got != 1 {
		t.Fatalf("upstream calls = %d, want 1", got)
	}
}

func TestUpstreamDownOrSlow(t *testing.T) {
	closedPort := func(t *testing.T) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return "http://" + addr
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, s *clearmltest.Server) string // returns api_server
	}{
		{"closed port", func(t *testing.T, s *clearmltest.Server) string { return closedPort(t) }},
		{"connection dropped", func(t *testing.T, s *clearmltest.Server) string { s.SetDown(true); return s.URL }},
		{"503", func(t *testing.T, s *clearmltest.Server) string { s.SetFailure(503); return s.URL }},
		{"slower than timeout", func(t *testing.T, s *clearmltest.Server) string { s.SetDelay(10 * time.Second); return s.URL }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fixture(t)
			cfg := cfgFor(s, config.AuthUser)
			cfg.APIServer = tt.setup(t, s)
			cfg.Timeout = config.NewDuration(200 * time.Millisecond)
			v := newVerifier(t, cfg)
			start := time.Now()
			_, err := v.Verify(context.Background(), bearer(s.Token("alice", time.Hour)))
			wantErr(t, err, ErrUpstream, "")
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("took %s, want about the 200ms timeout", d)
			}
		})
	}
}

func TestSecretsNeverInLogsOrErrors(t *testing.T) {
	s := fixture(t)
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))

	good := s.Token("alice", time.Hour)
	revoked := s.Token("alice", time.Hour)
	s.Revoke(revoked)
	expired := s.Token("alice", -time.Minute)
	secrets := []string{good, revoked, expired, "SKALICE", "AKALICE", "garbage-token-value",
		base64.StdEncoding.EncodeToString([]byte("AKALICE:SKALICE"))}

	creds := []Credential{
		bearer(good), bearer(revoked), bearer(expired), bearer("garbage-token-value"),
		{Kind: Bearer, Token: good, Source: "cookie:clearml_token_basic"},
		basic("AKALICE", "SKALICE"),
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "garbage-token-value") // no scheme: the "scheme" is the token
	bad, _ := FromRequest(r, nil)
	creds = append(creds, bad)

	var texts []string
	verify := func(v *Verifier) {
		for _, c := range creds {
			id, err := v.Verify(context.Background(), c)
			log.Info("verify", "credential", c, "identity", id, "err", err)
			if err != nil {
				texts = append(texts, err.Error())
			}
			texts = append(texts, fmt.Sprintf("%v %+v %#v %s %d %q", c, c, c, c, c, c))
			b, _ := json.Marshal(c)
			texts = append(texts, string(b))
		}
	}
	for _, mode := range []string{config.AuthUser, config.AuthValidateToken, config.AuthJWT} {
		verify(newVerifier(t, cfgFor(s, mode)))
	}
	s.SetFailure(500)
	verify(newVerifier(t, cfgFor(s, config.AuthUser)))
	s.SetFailure(0)
	s.SetDown(true)
	verify(newVerifier(t, cfgFor(s, config.AuthUser)))

	all := buf.String() + strings.Join(texts, "\n")
	for _, secret := range secrets {
		if strings.Contains(all, secret) {
			t.Errorf("a credential (%d bytes) appears in logs or errors", len(secret))
		}
	}
	if !strings.Contains(buf.String(), `"credential":{"kind":"bearer","source":"cookie:clearml_token_basic"}`) {
		t.Errorf("credential not logged as kind and source:\n%s", buf.String())
	}
	if !strings.Contains(buf.String(), `"identity":{"user_id":"alice","company_id":"c1","company":"Acme","role":"user"}`) {
		t.Errorf("identity not logged as ids, company and role:\n%s", buf.String())
	}
}

func TestUnverifiedClaims(t *testing.T) {
	head := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	payload := func(s string) string { return head + "." + base64.RawURLEncoding.EncodeToString([]byte(s)) + ".sig" }
	tests := []struct {
		token string
		want  time.Time
		ok    bool
	}{
		{payload(`{"exp":1700000000}`), time.Unix(1700000000, 0), true},
		{payload(`{"exp":1700000000.5}`), time.UnixMilli(1700000000500), true},
		{payload(`{"exp":"1700000000"}`), time.Time{}, true},
		{payload(`{}`), time.Time{}, true},
		{payload(`{"exp":1e300}`), time.Time{}, true},
		{"not-a-jwt", time.Time{}, false},
		{"a.!!!.c", time.Time{}, false},
		{payload(`[1]`), time.Time{}, false},
		{payload(`{"exp":1}`) + ".x", time.Time{}, false},
		{strings.TrimSuffix(payload(`{}`), "sig"), time.Time{}, false},
		{"e30.e30.sig", time.Time{}, true},     // {} and {}
		{"bm9wZQ.e30.sig", time.Time{}, false}, // "nope" is no JSON header
	}
	for _, tt := range tests {
		if got, ok := unverifiedClaims(tt.token); !got.Equal(tt.want) || ok != tt.ok {
			t.Errorf("unverifiedClaims(%s) = %v %v, want %v %v", tt.token, got, ok, tt.want, tt.ok)
		}
	}
}

// The early exp check already refuses an expired token before the cache is
// consulted; this checks the entry itself ends at exp, so that the cache
// holds nothing that outlives its token.
func TestCacheEntryEndsAtExp(t *testing.T) {
	s := fixture(t)
	v := newVerifier(t, cfgFor(s, config.AuthUser))
	tok := bearer(s.Token("alice", 2*time.Minute))
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	e, ok := v.cache.Get(cacheKey(tok))
	if exp, _ := unverifiedClaims(tok.Token); !ok || !e.until.Equal(exp) {
		t.Fatalf("entry until %v (cached %v), want the token's exp %v", e.until, ok, exp)
	}
}

// TestUpstreamCallsAreBounded: with the calls in flight at their bound, a
// new caller's check fails at once as ErrUpstream caused by ErrBusy, and
// does not queue; a slot freed serves the next caller.
func TestUpstreamCallsAreBounded(t *testing.T) {
	s := fixture(t)
	s.SetDelay(300 * time.Millisecond)
	v := newVerifier(t, cfgFor(s, config.AuthUser), WithMaxUpstream(2))
	var wg sync.WaitGroup
	for _, u := range []string{"alice", "bob"} {
		tok := bearer(s.Token(u, time.Hour))
		wg.Go(func() {
			if _, err := v.Verify(context.Background(), tok); err != nil {
				t.Errorf("%s within the bound: %v", u, err)
			}
		})
	}
	for s.Calls(endpointUser) < 2 { // both calls hold their slots until answered
		time.Sleep(time.Millisecond)
	}
	_, err := v.Verify(context.Background(), bearer(s.Token("adm", time.Hour)))
	if !errors.Is(err, ErrUpstream) || !errors.Is(err, ErrBusy) {
		t.Fatalf("past the bound: %v, want ErrUpstream caused by ErrBusy", err)
	}
	wg.Wait()
	if id, err := v.Verify(context.Background(), bearer(s.Token("adm", time.Hour))); err != nil || id.UserID != "adm" {
		t.Fatalf("after the flights: %+v %v", id, err)
	}
}
