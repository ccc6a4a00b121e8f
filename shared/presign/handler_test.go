package presign_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestRedirectFetchesTheObject(t *testing.T) {
	e := newEnv(t, "")
	e.s3.put(t, bucket, "proj/task.1/artifacts/a/data.bin", []byte("artifact bytes"))
	w := e.do(req{target: presignPath(e.s3url("proj/task.1/artifacts/a/data.bin")), token: "alice"})
	if w.Code != http.StatusFound {
		t.Fatalf("status %d, body %s", w.Code, w.Body)
	}
	loc := w.Header().Get("Location")
	if !strings.HasPrefix(loc, "http://"+e.s3.host+"/artifacts/proj/task.1/artifacts/a/data.bin?") {
		t.Fatalf("Location %q: want path-style http on the configured host", loc)
	}
	// The test config allows a CORS origin, so Origin varies the answer too.
	if got := w.Header().Get("Vary"); got != "Authorization, Cookie, Accept, Origin" {
		t.Errorf("Vary = %q", got)
	}
	cc := w.Header().Get("Cache-Control")
	age, err := strconv.Atoi(strings.TrimPrefix(cc, "private, max-age="))
	if err != nil || age <= 0 || age >= int((15*time.Minute)/time.Second) {
		t.Errorf("Cache-Control = %q, want private with max-age below the expiry", cc)
	}
	status, body, _ := fetch(t, http.MethodGet, loc)
	if status != http.StatusOK || string(body) != "artifact bytes" {
		t.Fatalf("fetching the signed URL: %d %q", status, body)
	}
	// The store refuses a tampered signature and another method.
	tampered := strings.Replace(loc, "X-Amz-Signature=", "X-Amz-Signature=0", 1)
	if status, _, _ := fetch(t, http.MethodGet, tampered); status != http.StatusForbidden {
		t.Errorf("tampered signature: %d, want 403", status)
	}
	if status, _, _ := fetch(t, http.MethodPut, loc); status != http.StatusForbidden {
		t.Errorf("GET-signed URL used for PUT: %d, want 403", status)
	}
}

func TestHeadIsSignedAsHead(t *testing.T) {
	e := newEnv(t, "")
	e.s3.put(t, bucket, "k/obj.txt", []byte("hello"))
	w := e.do(req{method: http.MethodHead, target: presignPath(e.s3url("k/obj.txt")), token: "alice"})
	if w.Code != http.StatusFound {
		t.Fatalf("HEAD: %d", w.Code)
	}
	if status, _, h := fetch(t, http.MethodHead, w.Header().Get("Location")); status != http.StatusOK || h.Get("Content-Length") != "5" {
		t.Fatalf("HEAD on HEAD-signed URL: %d", status)
	}
	get := e.do(req{target: presignPath(e.s3url("k/obj.txt")), token: "alice"}).Header().Get("Location")
	if status, _, _ := fetch(t, http.MethodHead, get); status != http.StatusForbidden {
		t.Errorf("HEAD on a GET-signed URL: %d, want 403", status)
	}
	// The JSON form signs HEAD with method=HEAD.
	var res struct{ SignedURL, Method string }
	j := e.do(req{target: presignPath(e.s3url("k/obj.txt"), "format=json", "method=HEAD"), token: "alice"})
	_ = json.Unmarshal(j.Body.Bytes(), &struct {
		SignedURL *string `json:"signed_url"`
		Method    *string `json:"method"`
	}{&res.SignedURL, &res.Method})
	if res.Method != "HEAD" {
		t.Fatalf("JSON method = %q", res.Method)
	}
	if status, _, _ := fetch(t, http.MethodHead, res.SignedURL); status != http.StatusOK {
		t.Errorf("HEAD on JSON HEAD-signed URL: %d", status)
	}
}

type jsonResult struct {
	URL       string `json:"url"`
	SignedURL string `json:"signed_url"`
	Method    string `json:"method"`
	ExpiresAt string `json:"expires_at"`
	Error     *struct {
		Code, Message string
	} `json:"error"`
}

func TestJSONForm(t *testing.T) {
	e := newEnv(t, "")
	e.s3.put(t, bucket, "a/b.txt", []byte("json"))
	su := e.s3url("a/b.txt")
	for name, r := range map[string]req{
		"format=json": {target: presignPath(su, "format=json"), token: "alice"},
		"Accept":      {target: presignPath(su), token: "alice", header: map[string]string{"Accept": "application/json"}},
		"Accept q":    {target: presignPath(su), token: "alice", header: map[string]string{"Accept": "text/html;q=0.5, application/json"}},
	} {
		t.Run(name, func(t *testing.T) {
			w := e.do(r)
			if w.Code != http.StatusOK {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			if w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Content-Type") != "application/json" {
				t.Errorf("headers %v", w.Header())
			}
			var res jsonResult
			if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
				t.Fatal(err)
			}
			exp, err := time.Parse(time.RFC3339, res.ExpiresAt)
			if res.URL != su || res.Method != "GET" || err != nil || !exp.After(e.clock.Now()) {
				t.Fatalf("result %+v", res)
			}
			if status, body, _ := fetch(t, http.MethodGet, res.SignedURL); status != 200 || string(body) != "json" {
				t.Fatalf("fetch: %d %q", status, body)
			}
		})
	}
	// A browser's Accept prefers HTML: it gets the redirect.
	w := e.do(req{target: presignPath(su), token: "alice", header: map[string]string{"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"}})
	if w.Code != http.StatusFound {
		t.Fatalf("browser Accept: %d", w.Code)
	}
}

func TestBatch(t *testing.T) {
	e := newEnv(t, "")
	e.s3.put(t, bucket, "x/1.txt", []byte("one"))
	body := fmt.Sprintf(`{"urls": [%q, "http://example.com/x", %q, "s3://unconfigured-bucket/k"], "download": true}`,
		e.s3url("x/1.txt"), e.s3url("x/../y"))
	w := e.do(req{method: http.MethodPost, target: "/presign", body: body, token: "alice", header: map[string]string{"Content-Type": "application/json"}})
	if w.Code != http.StatusOK {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	var out struct{ Results []jsonResult }
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || len(out.Results) != 4 {
		t.Fatalf("body %s", w.Body)
	}
	if r := out.Results[0]; r.Error != nil || r.SignedURL == "" {
		t.Fatalf("first: %+v", r)
	}
	status, body2, h := fetch(t, http.MethodGet, out.Results[0].SignedURL)
	if status != 200 || string(body2) != "one" || !strings.HasPrefix(h.Get("Content-Disposition"), "attachment;") {
		t.Fatalf("batch download: %d %q %q", status, body2, h.Get("Content-Disposition"))
	}
	for i, want := range []string{"", "invalid_url", "invalid_url", "not_configured"} {
		r := out.Results[i]
		if want == "" {
			continue
		}
		if r.Error == nil || r.Error.Code != want || r.Error.Message == "" || r.SignedURL != "" {
			t.Errorf("result %d = %+v, want error %s", i, r, want)
		}
	}

	urls := make([]string, 101)
	for i := range urls {
		urls[i] = e.s3url(fmt.Sprintf("k/%d", i))
	}
	many, _ := json.Marshal(map[string]any{"urls": urls})
	big := `{"urls": ["` + strings.Repeat("a", 300<<10) + `"]}`
	for name, c := range map[string]struct {
		body, ctype, code string
	}{
		"101 urls":     {string(many), "application/json", "too_many_urls"},
		"empty list":   {`{"urls": []}`, "application/json", "invalid_body"},
		"malformed":    {`{"urls": [`, "application/json", "invalid_body"},
		"not json":     {`urls=s3://a/b`, "application/x-www-form-urlencoded", "invalid_body"},
		"no type":      {`{"urls": ["s3://a/b"]}`, "", "invalid_body"},
		"over 256 KiB": {big, "application/json", "invalid_body"},
		"trailing":     {`{"urls": ["s3://a/b"]} {}`, "application/json", "invalid_body"},
		"bad expires":  {`{"urls": ["s3://a/b"], "expires": 0}`, "application/json", "invalid_parameter"},
	} {
		t.Run(name, func(t *testing.T) {
			w := e.do(req{method: http.MethodPost, target: "/presign", body: c.body, token: "alice", header: map[string]string{"Content-Type": c.ctype}})
			if w.Code != http.StatusBadRequest {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			if code, _ := errorBody(t, w); code != c.code {
				t.Fatalf("code %s, want %s", code, c.code)
			}
		})
	}
	// A batch without credentials is 401 before its body is looked at.
	w = e.do(req{method: http.MethodPost, target: "/presign", body: `{`, header: map[string]string{"Content-Type": "application/json"}})
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("anonymous batch: %d", w.Code)
	}
}

// TestAnswers walks the table of docs/http.md#answers, one row per case.
func TestAnswers(t *testing.T) {
	e := newEnv(t, "", func(m map[string]any) {
		m["clearml"].(map[string]any)["allowed_roles"] = []any{"user", "admin"}
		m["clearml"].(map[string]any)["allowed_companies"] = []any{"c1"}
	})
	e.s3.put(t, bucket, "ok.txt", []byte("ok"))
	expired := e.cml.Token("alice", -time.Minute)
	revoked := e.cml.Token("alice", time.Hour)
	e.cml.Revoke(revoked)
	wrongSecret := forgeToken(t, "alice")
	good := presignPath(e.s3url("ok.txt"))
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice-key:alice-secret-value"))
	badBasic := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice-key:wrong"))

	cases := []struct {
		name   string
		r      req
		status int
		code   string
	}{
		{"signed", req{target: good, token: "alice"}, 302, ""},
		{"signed with Basic", req{target: good, header: map[string]string{"Authorization": basic}}, 302, ""},
		{"signed with cookie", req{target: good, header: map[string]string{"Cookie": "clearml_token_basic=" + e.tokens["alice"]}}, 302, ""},
		{"signed with k8s cookie", req{target: good, header: map[string]string{"Cookie": "other=1; clearml-token-k8s=" + e.tokens["alice"]}}, 302, ""},
		{"signed on /", req{target: strings.Replace(good, "/presign", "/", 1), token: "alice"}, 302, ""},
		{"unknown path", req{target: "/presign/x?url=s3://a/b", token: "alice"}, 404, "not_found"},
		{"unknown path anonymous", req{target: "/admin"}, 404, "not_found"},
		{"malformed url", req{target: presignPath("s3://"), token: "alice"}, 400, "invalid_url"},
		{"no url", req{target: "/presign", token: "alice"}, 400, "invalid_parameter"},
		{"two urls", req{target: good + "&url=s3://a/b", token: "alice"}, 400, "invalid_parameter"},
		{"bad expires", req{target: good + "&expires=abc", token: "alice"}, 400, "invalid_parameter"},
		{"zero expires", req{target: good + "&expires=0", token: "alice"}, 400, "invalid_parameter"},
		{"negative expires", req{target: good + "&expires=-5", token: "alice"}, 400, "invalid_parameter"},
		{"bad download", req{target: good + "&download=maybe", token: "alice"}, 400, "invalid_parameter"},
		{"bad method", req{target: good + "&format=json&method=PUT", token: "alice"}, 400, "invalid_parameter"},
		{"bad percent-encoding", req{target: "/presign?url=%zz", token: "alice"}, 400, "invalid_parameter"},
		{"no credentials", req{target: good}, 401, "unauthenticated"},
		{"no credentials, bad url", req{target: presignPath("junk")}, 401, "unauthenticated"},
		{"token in query ignored", req{target: good + "&token=" + e.tokens["alice"] + "&access_token=" + e.tokens["alice"]}, 401, "unauthenticated"},
		{"expired token", req{target: good, header: map[string]string{"Authorization": "Bearer " + expired}}, 401, "unauthenticated"},
		{"revoked token", req{target: good, header: map[string]string{"Authorization": "Bearer " + revoked}}, 401, "unauthenticated"},
		{"wrong-secret token", req{target: good, header: map[string]string{"Authorization": "Bearer " + wrongSecret}}, 401, "unauthenticated"},
		{"garbage token", req{target: good, header: map[string]string{"Authorization": "Bearer not-a-jwt"}}, 401, "unauthenticated"},
		{"bad Basic", req{target: good, header: map[string]string{"Authorization": badBasic}}, 401, "unauthenticated"},
		{"malformed Authorization", req{target: good, header: map[string]string{"Authorization": "Digest abc"}}, 401, "unauthenticated"},
		{"invalid header, valid cookie: no fall-through", req{target: good, header: map[string]string{"Authorization": "Bearer junk", "Cookie": "clearml_token_basic=" + e.tokens["alice"]}}, 401, "unauthenticated"},
		{"guest role", req{target: good, token: "guest"}, 403, "role_not_allowed"},
		{"other company", req{target: good, token: "bob"}, 403, "company_not_allowed"},
		{"bucket not configured", req{target: presignPath("s3://" + e.s3.host + "/other-bucket/k"), token: "alice"}, 403, "not_configured"},
		{"host not configured", req{target: presignPath("s3://127.0.0.1:1/artifacts/k"), token: "alice"}, 403, "not_configured"},
		{"AWS bucket without entry", req{target: presignPath("s3://some-bucket/k"), token: "alice"}, 403, "not_configured"},
		{"wrong method", req{method: http.MethodDelete, target: good, token: "alice"}, 405, "method_not_allowed"},
		{"POST on /", req{method: http.MethodPost, target: "/", token: "alice"}, 405, "method_not_allowed"},
		{"PUT anonymous", req{method: http.MethodPut, target: good}, 405, "method_not_allowed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := e.do(c.r)
			if w.Code != c.status {
				t.Fatalf("status %d, want %d: %s", w.Code, c.status, w.Body)
			}
			if c.code == "" {
				return
			}
			code, msg := errorBody(t, w)
			if code != c.code {
				t.Fatalf("code %q, want %q (%s)", code, c.code, msg)
			}
			if c.status == 405 && w.Header().Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}

	t.Run("healthz", func(t *testing.T) {
		w := e.do(req{target: "/healthz"})
		if w.Code != 200 || !strings.Contains(w.Body.String(), `"version"`) || w.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("%d %s %v", w.Code, w.Body, w.Header())
		}
	})
	t.Run("expired token message says so", func(t *testing.T) {
		w := e.do(req{target: good, header: map[string]string{"Authorization": "Bearer " + expired}})
		if _, msg := errorBody(t, w); !strings.Contains(msg, "expired") {
			t.Fatalf("message %q does not say expired", msg)
		}
	})
}

func TestClearMLUnavailable(t *testing.T) {
	for _, mode := range []string{"down", "slow", "failing"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, "", func(m map[string]any) { m["clearml"].(map[string]any)["timeout"] = "300ms" })
			switch mode {
			case "down":
				e.cml.SetDown(true)
			case "slow":
				e.cml.SetDelay(3 * time.Second)
			case "failing":
				e.cml.SetFailure(500)
			}
			start := time.Now()
			w := e.do(req{target: presignPath(e.s3url("ok.txt")), token: "alice"})
			if w.Code != http.StatusServiceUnavailable {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			if code, _ := errorBody(t, w); code != "upstream_unavailable" || w.Header().Get("Retry-After") == "" {
				t.Fatalf("code %s, Retry-After %q", code, w.Header().Get("Retry-After"))
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("took %s with a 300ms timeout", d)
			}
		})
	}
}

func TestMatchSets(t *testing.T) {
	doc := `
storage:
  aws:
    key: AKIADEFAULTKEY
    secret: default-secret
    region: eu-west-1
    buckets:
      - {bucket: artifacts, host: "{{S3}}", key: "{{KEY}}", secret: "{{SECRET}}", secure: false}
clearml: {api_server: "{{API}}"}
presign:
  services:
    - type: presign
      url: https://presign.example.com
      use_fallback: "false"
      match_sets:
        - rules: [{field: "", obj_type: "", regex: "^s3://"}]
        - rules: [{field: "debug_images", obj_type: "task", regex: "^gs://"}]
`
	e := newEnv(t, doc)
	for _, c := range []struct {
		target string
		status int
		code   string
	}{
		// ^s3:// opens every AWS bucket the default credentials reach.
		{presignPath("s3://any-aws-bucket/k/f.bin"), 302, ""},
		{presignPath(e.s3url("x")), 302, ""},
		// Defaults never reach a host the config does not name.
		{presignPath("s3://10.0.0.1:9000/b/k"), 403, "not_configured"},
		// gs:// matches the second set only with its field and obj_type.
		{presignPath("gs://b/k"), 403, "no_matching_rule"},
		{presignPath("gs://b/k", "field=debug_images"), 403, "no_matching_rule"},
		{presignPath("gs://b/k", "field=debug_images", "obj_type=task"), 403, "not_configured"},
	} {
		w := e.do(req{target: c.target, token: "alice"})
		if w.Code != c.status {
			t.Fatalf("%s: %d, want %d (%s)", c.target, w.Code, c.status, w.Body)
		}
		if c.code != "" {
			if code, _ := errorBody(t, w); code != c.code {
				t.Fatalf("%s: code %s, want %s", c.target, code, c.code)
			}
		}
	}
	loc := e.do(req{target: presignPath("s3://any-aws-bucket/k/f.bin"), token: "alice"}).Header().Get("Location")
	if !strings.HasPrefix(loc, "https://any-aws-bucket.s3.eu-west-1.amazonaws.com/k/f.bin?") {
		t.Fatalf("AWS default signing: %s", loc)
	}
}

func TestCORS(t *testing.T) {
	e := newEnv(t, "")
	su := presignPath(e.s3url("a"), "format=json")
	w := e.do(req{target: su, token: "alice", header: map[string]string{"Origin": "https://app.clear.ml"}})
	if w.Header().Get("Access-Control-Allow-Origin") != "https://app.clear.ml" || w.Header().Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("allowed origin: %v", w.Header())
	}
	w = e.do(req{target: su, token: "alice", header: map[string]string{"Origin": "https://evil.example"}})
	if v := w.Header().Get("Access-Control-Allow-Origin"); v != "" {
		t.Fatalf("other origin got ACAO %q", v)
	}
	w = e.do(req{method: http.MethodOptions, target: "/presign", header: map[string]string{"Origin": "https://app.clear.ml", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}})
	if w.Code != http.StatusNoContent || !strings.Contains(w.Header().Get("Access-Control-Allow-Methods"), "POST") || w.Header().Get("Access-Control-Allow-Origin") != "https://app.clear.ml" {
		t.Fatalf("preflight: %d %v", w.Code, w.Header())
	}
	w = e.do(req{method: http.MethodOptions, target: "/presign", header: map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}})
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight from another origin: %d %v", w.Code, w.Header())
	}
	// No origins configured: none allowed.
	e2 := newEnv(t, "", func(m map[string]any) { delete(m["presign"].(map[string]any), "cors_origins") })
	w = e2.do(req{target: su, token: "alice", header: map[string]string{"Origin": "https://app.clear.ml"}})
	if w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("CORS allowed with no origins configured")
	}
}

func TestStableURLs(t *testing.T) {
	e := newEnv(t, "")
	base := time.Date(2026, 11, 22, 10, 0, 5, 0, time.UTC)
	e.clock.Set(base)
	get := func(extra ...string) jsonResult {
		t.Helper()
		w := e.do(req{target: presignPath(e.s3url("img/a.png"), append([]string{"format=json"}, extra...)...), token: "alice"})
		var r jsonResult
		if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil || w.Code != 200 {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		return r
	}
	a := get()
	e.clock.Add(40 * time.Second)
	b := get()
	if a.SignedURL != b.SignedURL {
		t.Fatal("two requests in one signing window got different URLs")
	}
	// Signing time is the window start, lifetime expires + window.
	if !strings.Contains(a.SignedURL, "X-Amz-Date=20261122T100000Z") || !strings.Contains(a.SignedURL, "X-Amz-Expires=960") {
		t.Fatalf("window signing: %s", a.SignedURL)
	}
	if a.ExpiresAt != "2026-11-22T10:16:00Z" {
		t.Fatalf("expires_at %s", a.ExpiresAt)
	}
	e.clock.Add(30 * time.Second) // next window
	if c := get(); c.SignedURL == a.SignedURL {
		t.Fatal("the URL was reused past the point where less than expires remains")
	}
	// Different method or disposition: a different URL.
	if get("method=HEAD").SignedURL == get().SignedURL || get("download=1").SignedURL == get().SignedURL {
		t.Fatal("method or disposition did not change the URL")
	}
	// An explicit expires= is honoured exactly, without windows.
	x := get("expires=120")
	if !strings.Contains(x.SignedURL, "X-Amz-Expires=120") || !strings.Contains(x.SignedURL, "X-Amz-Date=20261122T100115Z") {
		t.Fatalf("explicit expires: %s", x.SignedURL)
	}
	// Above max_expires (24h) it is clamped, not refused.
	if y := get("expires=999999"); !strings.Contains(y.SignedURL, "X-Amz-Expires=86400") {
		t.Fatalf("clamped expires: %s", y.SignedURL)
	}
}

func TestCacheControlShortLifetime(t *testing.T) {
	e := newEnv(t, "")
	e.clock.Set(time.Now().Truncate(time.Second))
	w := e.do(req{target: presignPath(e.s3url("a"), "expires=8"), token: "alice"})
	if w.Code != 302 || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("%d %q", w.Code, w.Header().Get("Cache-Control"))
	}
	w = e.do(req{target: presignPath(e.s3url("a"), "expires=100"), token: "alice"})
	if w.Header().Get("Cache-Control") != "private, max-age=50" {
		t.Fatalf("%q", w.Header().Get("Cache-Control"))
	}
}

func TestDownloadDisposition(t *testing.T) {
	e := newEnv(t, "")
	key := "proj/task.1/artifacts/r/résumé 100%20final.txt"
	e.s3.put(t, bucket, key, []byte("cv"))
	w := e.do(req{target: presignPath(e.s3url(key), "download=1"), token: "alice"})
	status, _, h := fetch(t, http.MethodGet, w.Header().Get("Location"))
	want := `attachment; filename="r_sum_ 100%20final.txt"; filename*=UTF-8''r%C3%A9sum%C3%A9%20100%2520final.txt`
	if status != 200 || h.Get("Content-Disposition") != want {
		t.Fatalf("%d Content-Disposition %q, want %q", status, h.Get("Content-Disposition"), want)
	}
}

// TestClearMLKeysRoundTrip: keys that ClearML really writes are signed
// literally and fetched back.
func TestClearMLKeysRoundTrip(t *testing.T) {
	e := newEnv(t, "")
	for _, key := range clearMLKeys {
		t.Run(key, func(t *testing.T) {
			e.s3.put(t, bucket, key, []byte("v:"+key))
			w := e.do(req{target: presignPath(e.s3url(key)), token: "alice"})
			if w.Code != 302 {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			status, body, _ := fetch(t, http.MethodGet, w.Header().Get("Location"))
			if status != 200 || string(body) != "v:"+key {
				t.Fatalf("%d %q", status, body)
			}
		})
	}
}

// Keys as the ClearML SDK writes them: spaces, literal %xx (it quotes names),
// '+', unicode, '=', deep paths.
var clearMLKeys = []string{
	"My Project/train model.3f2a/artifacts/data frame/df.csv.gz",
	"proj/task.abc/artifacts/a%20b/file%2Fname.bin",
	"proj/task.abc/metrics/loss/train/loss_00001.png",
	"proj/c++ model+v2/models/model+final.pt",
	"проект/задача.1/artifacts/данные/файл.txt",
	"proj/t.1/artifacts/x/a=b&c=d;e.json",
	"a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/deep.bin",
	"proj/task.1/artifacts/~tilde/!bang*(paren)'quote'.txt",
}

func TestHostNotConfiguredIsNeverContacted(t *testing.T) {
	e := newEnv(t, "")
	for _, u := range []string{"s3://169.254.169.254:80/latest/meta-data", "s3://evil.example.com:443/artifacts/k", "gs://artifacts/k", "azure://acct.blob.core.windows.net/c/k"} {
		w := e.do(req{target: presignPath(u), token: "alice"})
		if w.Code != 403 {
			t.Fatalf("%s: %d", u, w.Code)
		}
		if loc := w.Header().Get("Location"); loc != "" {
			t.Fatalf("%s: redirected to %s", u, loc)
		}
	}
}

func TestBadInput(t *testing.T) {
	e := newEnv(t, "")
	long := strings.Repeat("k", 1025)
	cases := map[string]string{
		"empty":                 "",
		"relative":              "artifacts/key",
		"http":                  "http://example.com/a",
		"https":                 "https://bucket.s3.amazonaws.com/key",
		"file":                  "file:///etc/passwd",
		"no key":                "s3://artifacts",
		"bucket only slash":     "s3://artifacts/",
		"dotdot":                "s3://" + e.s3.host + "/artifacts/a/../b",
		"dot":                   "s3://" + e.s3.host + "/artifacts/./b",
		"trailing dotdot":       "s3://" + e.s3.host + "/artifacts/a/..",
		"control char":          "s3://" + e.s3.host + "/artifacts/a\x01b",
		"newline":               "s3://" + e.s3.host + "/artifacts/a\nb",
		"userinfo":              "s3://user:pass@" + e.s3.host + "/artifacts/k",
		"backslash":             "s3://" + e.s3.host + "/artifacts\\k",
		"fragment":              "s3://" + e.s3.host + "/artifacts/k#frag",
		"query":                 "s3://" + e.s3.host + "/artifacts/k?x=1",
		"trailing dot host":     "s3://minio.local.:9000/artifacts/k",
		"non-ascii host":        "s3://mínio:9000/artifacts/k",
		"azure other host":      "azure://evil.example.com/container/k",
		"azure suffix trick":    "azure://acct.blob.core.windows.net.evil.com/c/k",
		"azure no container":    "azure://acct.blob.core.windows.net",
		"key over 1024 bytes":   "s3://" + e.s3.host + "/artifacts/" + long,
		"unsupported scheme":    "ftp://host/file",
		"bad port":              "s3://host:99999/artifacts/k",
		"url parameter > 4 KiB": "s3://" + e.s3.host + "/artifacts/" + strings.Repeat("%41", 1400),
	}
	for name, u := range cases {
		t.Run(name, func(t *testing.T) {
			w := e.do(req{target: "/presign?url=" + url.QueryEscape(u), token: "alice"})
			if w.Code != http.StatusBadRequest {
				t.Fatalf("%q: %d, want 400 (%s)", u, w.Code, w.Body)
			}
			code, msg := errorBody(t, w)
			if code != "invalid_url" && code != "invalid_parameter" {
				t.Fatalf("code %s", code)
			}
			if strings.Contains(msg, "pass@") {
				t.Fatalf("message echoes userinfo: %s", msg)
			}
		})
	}
	// A raw '+' is a space (form decoding); %2B is a literal plus.
	e.s3.put(t, bucket, "p/a+b.txt", []byte("plus"))
	e.s3.put(t, bucket, "p/a b.txt", []byte("space"))
	for raw, want := range map[string]string{"a%2Bb.txt": "plus", "a+b.txt": "space"} {
		w := e.do(req{target: "/presign?url=s3://" + e.s3.host + "/artifacts/p/" + raw, token: "alice"})
		if _, body, _ := fetch(t, http.MethodGet, w.Header().Get("Location")); string(body) != want {
			t.Fatalf("%s fetched %q, want %q", raw, body, want)
		}
	}
}

func TestBatchOf100(t *testing.T) {
	e := newEnv(t, "")
	urls := make([]string, 100)
	for i := range urls {
		urls[i] = e.s3url(fmt.Sprintf("k/%d.png", i))
	}
	b, _ := json.Marshal(map[string]any{"urls": urls, "expires": 60})
	w := e.do(req{method: http.MethodPost, target: "/presign", body: string(b), token: "alice", header: map[string]string{"Content-Type": "application/json; charset=utf-8"}})
	var out struct{ Results []jsonResult }
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || w.Code != 200 || len(out.Results) != 100 {
		t.Fatalf("%d %d", w.Code, len(out.Results))
	}
	for i, r := range out.Results {
		if r.URL != urls[i] || r.Error != nil || !strings.Contains(r.SignedURL, "X-Amz-Expires=60") {
			t.Fatalf("result %d out of order or failed: %+v", i, r)
		}
	}
}

func TestVaryWithoutCORS(t *testing.T) {
	e := newEnv(t, "", func(m map[string]any) { delete(m["presign"].(map[string]any), "cors_origins") })
	w := e.do(req{target: presignPath(e.s3url("a")), token: "alice"})
	if got := w.Header().Get("Vary"); w.Code != 302 || got != "Authorization, Cookie, Accept" {
		t.Fatalf("%d Vary %q", w.Code, got)
	}
}

// TestBatchPolicy: a caller whose role may not presign gets 403 for the
// whole batch, after the body's syntax; field and obj_type in the body reach
// the match_sets rules.
func TestBatchPolicy(t *testing.T) {
	e := newEnv(t, "", func(m map[string]any) {
		m["clearml"].(map[string]any)["allowed_roles"] = []any{"user"}
		m["presign"].(map[string]any)["match_sets"] = []any{map[string]any{"rules": []any{map[string]any{"field": "debug_images", "regex": "^s3://"}}}}
	})
	body := `{"urls": ["` + e.s3url("a.png") + `"]}`
	ct := map[string]string{"Content-Type": "application/json"}
	w := e.do(req{method: http.MethodPost, target: "/presign", body: body, token: "guest", header: ct})
	if code, _ := errorBody(t, w); w.Code != 403 || code != "role_not_allowed" {
		t.Fatalf("guest batch: %d %s", w.Code, code)
	}
	w = e.do(req{method: http.MethodPost, target: "/presign", body: `{"urls": [`, token: "guest", header: ct})
	if w.Code != 400 {
		t.Fatalf("guest with a malformed body: %d, want 400 (syntax before policy)", w.Code)
	}
	for field, want := range map[string]string{"": "no_matching_rule", "debug_images": ""} {
		b := `{"urls": ["` + e.s3url("a.png") + `"], "field": "` + field + `"}`
		w := e.do(req{method: http.MethodPost, target: "/presign", body: b, token: "alice", header: ct})
		var out struct{ Results []jsonResult }
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || w.Code != 200 || len(out.Results) != 1 {
			t.Fatalf("field %q: %d %s", field, w.Code, w.Body)
		}
		got := ""
		if out.Results[0].Error != nil {
			got = out.Results[0].Error.Code
		}
		if got != want {
			t.Fatalf("field %q: result error %q, want %q", field, got, want)
		}
	}
}

// TestExpiresEdges: a huge expires is clamped, not refused; the batch takes
// a number or a quoted number, nothing else; q=0 in Accept is "not JSON".
func TestExpiresEdges(t *testing.T) {
	e := newEnv(t, "")
	w := e.do(req{target: presignPath(e.s3url("a"), "expires=99999999999999999999", "format=json"), token: "alice"})
	if w.Code != 200 || !strings.Contains(w.Body.String(), "X-Amz-Expires=86400") {
		t.Fatalf("huge expires: %d %s", w.Code, w.Body)
	}
	ct := map[string]string{"Content-Type": "application/json"}
	for raw, status := range map[string]int{`60`: 200, `"60"`: 200, `"6`: 400, `6.5`: 400, `true`: 400, `"x"`: 400, `99999999999999999999`: 200} {
		b := `{"urls": ["` + e.s3url("a") + `"], "expires": ` + raw + `}`
		if w := e.do(req{method: http.MethodPost, target: "/presign", body: b, token: "alice", header: ct}); w.Code != status {
			t.Errorf("batch expires %s: %d, want %d (%s)", raw, w.Code, status, w.Body)
		}
	}
	w = e.do(req{target: presignPath(e.s3url("a")), token: "alice", header: map[string]string{"Accept": "application/json;q=0, */*;q=0.1"}})
	if w.Code != http.StatusFound {
		t.Fatalf("Accept with q=0 JSON: %d", w.Code)
	}
}

// TestUpstreamCauseLogged: a 503 names its cause in the log line, for the
// operator (never a credential).
func TestUpstreamCauseLogged(t *testing.T) {
	e := newEnv(t, "", func(m map[string]any) { m["clearml"].(map[string]any)["timeout"] = "200ms" })
	e.cml.SetFailure(500)
	if w := e.do(req{target: presignPath(e.s3url("a")), token: "alice"}); w.Code != 503 {
		t.Fatalf("%d", w.Code)
	}
	if logs := e.logs.String(); !strings.Contains(logs, `"status":503`) || !strings.Contains(logs, `"error":`) || strings.Contains(logs, e.tokens["alice"]) {
		t.Fatalf("logs:\n%s", logs)
	}
}

// TestRepeatedQueryIsCheckedForEachCaller: a query answered once is
// answered again from its cached plan, yet each caller's own policy, the
// method and the audit line are as for a first request.
func TestRepeatedQueryIsCheckedForEachCaller(t *testing.T) {
	e := newEnv(t, "", func(m map[string]any) {
		m["clearml"].(map[string]any)["allowed_roles"] = []any{"user", "admin"}
		m["clearml"].(map[string]any)["allowed_companies"] = []any{"c1"}
	})
	e.s3.put(t, bucket, "cached/plan.png", []byte("png"))
	target := presignPath(e.s3url("cached/plan.png"))
	first := e.do(req{target: target, token: "alice"})
	again := e.do(req{target: target, token: "alice"})
	if first.Code != http.StatusFound || again.Code != http.StatusFound || first.Header().Get("Location") != again.Header().Get("Location") {
		t.Fatalf("alice twice: %d %d, same URL %v", first.Code, again.Code, first.Header().Get("Location") == again.Header().Get("Location"))
	}
	for _, c := range []struct{ token, code string }{{"guest", "role_not_allowed"}, {"bob", "company_not_allowed"}} {
		w := e.do(req{target: target, token: c.token})
		if w.Code != http.StatusForbidden {
			t.Fatalf("%s after alice: %d, want 403 %s", c.token, w.Code, c.code)
		}
		if code, _ := errorBody(t, w); code != c.code {
			t.Errorf("%s after alice: %s, want %s", c.token, code, c.code)
		}
	}
	// HEAD of the same query is signed for HEAD, not served GET's URL.
	head := e.do(req{method: http.MethodHead, target: target, token: "alice"})
	if status, _, _ := fetch(t, http.MethodHead, head.Header().Get("Location")); head.Code != http.StatusFound || status != http.StatusOK {
		t.Fatalf("HEAD: %d, the signed URL answered HEAD with %d", head.Code, status)
	}
	if head.Header().Get("Location") == first.Header().Get("Location") {
		t.Error("HEAD got GET's signed URL")
	}
	lines := strings.Split(strings.TrimSpace(e.logs.String()), "\n")
	for _, l := range lines {
		if !strings.Contains(l, `"bucket":"artifacts","key":"cached/plan.png"`) {
			t.Errorf("audit line without the object: %s", l)
		}
	}
	if len(lines) != 5 {
		t.Errorf("%d audit lines for 5 requests", len(lines))
	}
}
