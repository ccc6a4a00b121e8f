package clearmltest

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

type answer struct {
	status int
	Meta   struct {
		ID       *string `json:"id"`
		Trx      *string `json:"trx"`
		Endpoint *struct {
			Name             string  `json:"name"`
			RequestedVersion string  `json:"requested_version"`
			ActualVersion    *string `json:"actual_version"`
		} `json:"endpoint"`
		ResultCode    *int            `json:"result_code"`
		ResultSubcode *int            `json:"result_subcode"`
		ResultMsg     *string         `json:"result_msg"`
		ErrorStack    json.RawMessage `json:"error_stack"`
		ErrorData     map[string]any  `json:"error_data"`
	} `json:"meta"`
	Data map[string]any `json:"data"`
}

func post(t *testing.T, url, auth, body string) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var a answer
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatalf("POST %s: not JSON: %v: %s", url, err, raw)
	}
	a.status = resp.StatusCode
	m := a.Meta
	if m.ID == nil || m.Trx == nil || m.Endpoint == nil || m.ResultCode == nil || m.ResultSubcode == nil ||
		m.ResultMsg == nil || m.ErrorStack == nil || m.ErrorData == nil || a.Data == nil {
		t.Fatalf("POST %s: incomplete envelope: %s", url, raw)
	}
	if *m.ResultCode != resp.StatusCode {
		t.Fatalf("POST %s: HTTP %d but result_code %d", url, resp.StatusCode, *m.ResultCode)
	}
	return a
}

func basic(key, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"+secret))
}

func newServer(t *testing.T) *Server {
	s := New(t)
	s.AddUser(User{ID: "u1", Name: "Alice", Role: "user", CompanyID: "c1", CompanyName: "Acme"})
	s.AddUser(User{ID: "adm", Name: "Admin", Role: "admin", CompanyID: "c1", CompanyName: "Acme"})
	s.AddUser(User{ID: "sys", Name: "Service", Role: "system", CompanyID: "c1", CompanyName: "Acme"})
	s.AddKey("u1", "AK1", "SK1")
	s.AddKey("adm", "AKADM", "SKADM")
	s.AddKey("sys", "AKSYS", "SKSYS")
	return s
}

func TestAnswers(t *testing.T) {
	s := newServer(t)
	good := s.Token("u1", time.Hour)
	expired := s.Token("u1", -time.Minute)
	revoked := s.Token("u1", time.Hour)
	s.Revoke(revoked)

	tests := []struct {
		name, path, auth, body string
		code, subcode          int
		msg                    string // substring of result_msg
	}{
		{"bearer", "/users.get_current_user", "Bearer " + good, "{}", 200, 0, "OK"},
		{"version prefix", "/v2.31/users.get_current_user", "Bearer " + good, "{}", 200, 0, "OK"},
		{"basic", "/users.get_current_user", basic("AK1", "SK1"), "", 200, 0, "OK"},
		{"no credentials", "/users.get_current_user", "", "{}", 401, 20, "missing credentials"},
		{"wrong secret", "/users.get_current_user", basic("AK1", "nope"), "{}", 401, 22, "invalid credentials"},
		{"unknown key", "/users.get_current_user", basic("AKX", "SK1"), "{}", 401, 22, "invalid credentials"},
		{"expired", "/users.get_current_user", "Bearer " + expired, "{}", 401, 30, "Signature has expired"},
		{"revoked", "/users.get_current_user", "Bearer " + revoked, "{}", 401, 30, "revoked token"},
		{"garbage token", "/users.get_current_user", "Bearer abc", "{}", 401, 30, "invalid token"},
		{"bad scheme", "/users.get_current_user", "Digest x", "{}", 401, 10, "bad authentication header type"},
		{"validate as admin", "/auth.validate_token", basic("AKADM", "SKADM"), `{"token":"` + good + `"}`, 403, 20, "not allowed for role"},
		{"validate as system", "/auth.validate_token", basic("AKSYS", "SKSYS"), `{"token":"` + good + `"}`, 200, 0, "OK"},
		{"validate without token", "/auth.validate_token", basic("AKSYS", "SKSYS"), `{}`, 400, 11, "token"},
		{"login", "/auth.login", basic("AK1", "SK1"), `{"expiration_sec": 60}`, 200, 0, "OK"},
		{"unknown endpoint", "/tasks.get_all", basic("AK1", "SK1"), `{}`, 404, 0, "Unable to find endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := post(t, s.URL+tt.path, tt.auth, tt.body)
			if a.status != tt.code || *a.Meta.ResultSubcode != tt.subcode || !strings.Contains(*a.Meta.ResultMsg, tt.msg) {
				t.Fatalf("got %d/%d %q, want %d/%d containing %q", a.status, *a.Meta.ResultSubcode, *a.Meta.ResultMsg, tt.code, tt.subcode, tt.msg)
			}
		})
	}
}

func TestGetCurrentUserData(t *testing.T) {
	s := newServer(t)
	a := post(t, s.URL+"/v2.31/users.get_current_user", "Bearer "+s.Token("u1", time.Hour), "{}")
	if a.Meta.Endpoint.Name != "users.get_current_user" || a.Meta.Endpoint.RequestedVersion != "2.31" {
		t.Errorf("endpoint = %+v", *a.Meta.Endpoint)
	}
	u := a.Data["user"].(map[string]any)
	c := u["company"].(map[string]any)
	if u["id"] != "u1" || u["name"] != "Alice" || u["role"] != "user" || c["id"] != "c1" || c["name"] != "Acme" {
		t.Errorf("data.user = %v", u)
	}
	if s.Calls("users.get_current_user") != 1 {
		t.Errorf("Calls = %d, want 1", s.Calls("users.get_current_user"))
	}
}

func TestValidateToken(t *testing.T) {
	s := newServer(t)
	svc := basic("AKSYS", "SKSYS")
	revoked := s.Token("u1", time.Hour)
	s.Revoke(revoked)
	tests := []struct {
		name, token string
		valid       bool
		msg         string
	}{
		{"valid", s.Token("u1", time.Hour), true, ""},
		{"expired", s.Token("u1", -time.Second), false, "Signature has expired"},
		{"revoked", revoked, false, "revoked token"},
		{"garbage", "x.y.z", false, "Invalid token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := post(t, s.URL+"/auth.validate_token", svc, `{"token":"`+tt.token+`"}`)
			if a.status != 200 || a.Data["valid"] != tt.valid {
				t.Fatalf("got %d %v", a.status, a.Data)
			}
			if tt.valid && (a.Data["user"] != "u1" || a.Data["company"] != "c1") {
				t.Errorf("data = %v", a.Data)
			}
			if !tt.valid && !strings.Contains(a.Data["msg"].(string), tt.msg) {
				t.Errorf("msg = %v, want %q", a.Data["msg"], tt.msg)
			}
		})
	}
}

func TestLoginTokenWorks(t *testing.T) {
	s := newServer(t)
	a := post(t, s.URL+"/auth.login", basic("AK1", "SK1"), `{"expiration_sec": 60}`)
	tok, _ := a.Data["token"].(string)
	if tok == "" {
		t.Fatalf("no token: %v", a.Data)
	}
	if b := post(t, s.URL+"/users.get_current_user", "Bearer "+tok, "{}"); b.status != 200 {
		t.Fatalf("login token refused: %d %s", b.status, *b.Meta.ResultMsg)
	}
}

func TestKnobs(t *testing.T) {
	s := newServer(t)
	tok := "Bearer " + s.Token("u1", time.Hour)

	s.SetFailure(500)
	if a := post(t, s.URL+"/users.get_current_user", tok, "{}"); a.status != 500 {
		t.Errorf("SetFailure(500): got %d", a.status)
	}
	s.SetFailure(0)

	s.SetDown(true)
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/users.get_current_user", strings.NewReader("{}"))
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("SetDown: got HTTP %d, want a connection error", resp.StatusCode)
	}
	s.SetDown(false)

	s.SetDelay(300 * time.Millisecond)
	start := time.Now()
	post(t, s.URL+"/users.get_current_user", tok, "{}")
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("SetDelay: answered in %s", d)
	}
	if got := s.Calls("users.get_current_user"); got != 3 {
		t.Errorf("Calls = %d, want 3", got)
	}
}
