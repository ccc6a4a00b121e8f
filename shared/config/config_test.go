package config

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustParse(t *testing.T, doc string) (*Config, []string) {
	t.Helper()
	c, w, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, doc)
	}
	return c, w
}

func TestDefaults(t *testing.T) {
	for _, doc := range []string{"", "{}", "\n", "# only a comment\n", "null", "storage: {}\n", `{"storage": null, "clearml": {}}`} {
		t.Run(doc, func(t *testing.T) {
			c, w := mustParse(t, doc)
			if len(w) != 0 {
				t.Errorf("warnings %v", w)
			}
			cm := c.ClearML
			checks := []struct {
				name      string
				got, want any
			}{
				{"clearml.api_server", cm.APIServer, "http://localhost:8008"},
				{"clearml.access_key", cm.AccessKey, ""},
				{"clearml.secret_key", cm.SecretKey, ""},
				{"clearml.auth_mode", cm.AuthMode, "user"},
				{"clearml.token_secret", cm.TokenSecret, ""},
				{"clearml.cookie_names", cm.CookieNames, []string{"clearml_token_basic", "clearml-token-k8s"}},
				{"clearml.cache_ttl", cm.CacheTTL.D(), 5 * time.Minute},
				{"clearml.timeout", cm.Timeout.D(), 5 * time.Second},
				{"clearml.allowed_roles", len(cm.AllowedRoles), 0},
				{"clearml.allowed_companies", len(cm.AllowedCompanies), 0},
				{"presign.expires", c.Presign.Expires.D(), 15 * time.Minute},
				{"presign.max_expires", c.Presign.MaxExpires.D(), 24 * time.Hour},
				{"presign.match_sets", len(c.Presign.MatchSets), 0},
				{"presign.services", len(c.Presign.Services), 0},
				{"presign effective match sets", len(c.Presign.EffectiveMatchSets()), 0},
				{"presign.disposition", c.Presign.Disposition, "inline"},
				{"presign.window", c.Presign.SigningWindow(), time.Minute},
				{"presign.cors_origins", len(c.Presign.CORSOrigins), 0},
				{"cleanup.dry_run", c.Cleanup.DryRun, false},
				{"cleanup.min_prefix_depth", c.Cleanup.PrefixDepth(), 2},
				{"cleanup.concurrency", c.Cleanup.Concurrency, 16},
				{"cleanup.match_sets", len(c.Cleanup.MatchSets), 0},
				{"cleanup.deadline", c.Cleanup.Deadline.D(), 4 * time.Minute},
				{"cleanup.token", c.Cleanup.Token, ""},
				{"storage.aws.buckets", len(c.Storage.AWS.Buckets), 0},
				{"storage.google.buckets", len(c.Storage.Google.Buckets), 0},
				{"storage.azure.containers", len(c.Storage.Azure.Containers), 0},
			}
			for _, ch := range checks {
				if !reflect.DeepEqual(ch.got, ch.want) {
					t.Errorf("%s = %#v, want %#v", ch.name, ch.got, ch.want)
				}
			}
		})
	}
}

func TestDefaultCookieNamesNotShared(t *testing.T) {
	c, _ := mustParse(t, "{}")
	c.ClearML.CookieNames[0] = "changed"
	if DefaultCookieNames[0] != "clearml_token_basic" {
		t.Fatal("a config's cookie_names aliases DefaultCookieNames")
	}
}

func TestBucketDefaults(t *testing.T) {
	c, _ := mustParse(t, `storage:
  aws:
    buckets:
      - {bucket: a, key: k, secret: s}
      - {bucket: b, key: k, secret: s, secure: false, verify: false}
      - {bucket: c, key: k, secret: s, secure: "false", verify: "TRUE"}
      - {bucket: d, key: k, secret: s, secure: null}
`)
	b := c.Storage.AWS.Buckets
	for i, want := range [][2]bool{{true, true}, {false, false}, {false, true}, {true, true}} {
		if b[i].IsSecure() != want[0] || b[i].IsVerify() != want[1] {
			t.Errorf("buckets[%d]: secure=%v verify=%v, want %v", i, b[i].IsSecure(), b[i].IsVerify(), want)
		}
	}
}

func TestExplicitValues(t *testing.T) {
	c, _ := mustParse(t, `
clearml: {cookie_names: [], allowed_roles: [admin], allowed_companies: [c1]}
presign: {window: 0, disposition: attachment, expires: 60, max_expires: 168h}
cleanup: {min_prefix_depth: 1, concurrency: 1, dry_run: true, deadline: 1s}
`)
	if len(c.ClearML.CookieNames) != 0 {
		t.Errorf("an explicit empty cookie_names became %v", c.ClearML.CookieNames)
	}
	if c.Presign.SigningWindow() != 0 {
		t.Errorf("window: 0 gave %v, want 0 (stable URLs off)", c.Presign.SigningWindow())
	}
	if c.Cleanup.PrefixDepth() != 1 || c.Cleanup.Concurrency != 1 || !c.Cleanup.DryRun || c.Cleanup.Deadline.D() != time.Second {
		t.Errorf("cleanup = %+v", c.Cleanup)
	}
	if c.Presign.Expires.D() != time.Minute || c.Presign.MaxExpires.D() != 7*24*time.Hour || c.Presign.Disposition != "attachment" {
		t.Errorf("presign = %+v", c.Presign)
	}
}

const fullJSON = `{
  "storage": {
    "aws": {
      "key": "AKDEFAULT", "secret": "sdefault", "region": "eu-west-1", "use_credentials_chain": false,
      "buckets": [
        {"bucket": "artifacts", "host": "minio:9000", "key": "mk", "secret": "ms", "secure": false, "verify": false, "region": "us-east-1", "public_host": "minio.example.com"},
        {"host": "ceph.internal:443", "key": "ck", "secret": "cs"},
        {"bucket": "models", "subdir": "team/a", "region": "us-west-2", "use_credentials_chain": true}
      ]
    },
    "google": {
      "project": "proj", "credentials_json": "{\"type\": \"service_account\"}", "endpoint": "http://127.0.0.1:4443",
      "buckets": [{"bucket": "gsb", "subdir": "x", "project": "p2", "credentials_json": "{}"}]
    },
    "azure": {
      "containers": [
        {"account_name": "acct", "account_key": "a2V5", "container_name": "data"},
        {"account_name": "devstoreaccount1", "account_key": "a2V5", "endpoint": "http://127.0.0.1:10000/devstoreaccount1"}
      ]
    }
  },
  "clearml": {
    "api_server": "https://api.clear.ml", "access_key": "AK", "secret_key": "SK", "auth_mode": "user",
    "cookie_names": ["clearml_token_basic"], "cache_ttl": "1m", "timeout": 3,
    "allowed_roles": ["admin", "user"], "allowed_companies": ["c1"]
  },
  "presign": {
    "expires": "10m", "max_expires": "12h", "disposition": "attachment", "window": "30s",
    "cors_origins": ["https://app.clear.ml", "http://localhost:8080"],
    "match_sets": [{"rules": [{"field": "", "obj_type": "", "regex": "^s3://"}]}],
    "services": [{"type": "presign", "url": "https://p", "use_fallback": "false", "match_sets": [{"rules": [{"regex": "^gs://"}]}]}]
  },
  "cleanup": {
    "dry_run": true, "min_prefix_depth": 3, "concurrency": 8, "deadline": "2m", "token": "cleanup-token",
    "match_sets": [{"rules": [{"field": "url", "obj_type": "model", "regex": "models/"}]}]
  }
}`

const fullYAML = `# the same document as YAML
storage:
  aws:
    key: AKDEFAULT
    secret: sdefault
    region: eu-west-1
    use_credentials_chain: false
    buckets:
      - bucket: artifacts
        host: minio:9000
        key: mk
        secret: ms
        secure: false
        verify: false
        region: us-east-1
        public_host: minio.example.com
      - host: ceph.internal:443
        key: ck
        secret: cs
      - bucket: models
        subdir: team/a
        region: us-west-2
        use_credentials_chain: true
  google:
    project: proj
    credentials_json: '{"type": "service_account"}'
    endpoint: http://127.0.0.1:4443
    buckets:
      - {bucket: gsb, subdir: x, project: p2, credentials_json: "{}"}
  azure:
    containers:
      - account_name: acct
        account_key: a2V5
        container_name: data
      - account_name: devstoreaccount1
        account_key: a2V5
        endpoint: http://127.0.0.1:10000/devstoreaccount1
clearml:
  api_server: https://api.clear.ml
  access_key: AK
  secret_key: SK
  auth_mode: user
  cookie_names: [clearml_token_basic]
  cache_ttl: 1m
  timeout: 3
  allowed_roles: [admin, user]
  allowed_companies: [c1]
presign:
  expires: 10m
  max_expires: 12h
  disposition: attachment
  window: 30s
  cors_origins:
    - https://app.clear.ml
    - http://localhost:8080
  match_sets:
    - rules:
        - {field: "", obj_type: "", regex: "^s3://"}
  services:
    - type: presign
      url: https://p
      use_fallback: "false"
      match_sets: [{rules: [{regex: "^gs://"}]}]
cleanup:
  dry_run: true
  min_prefix_depth: 3
  concurrency: 8
  deadline: 2m
  token: cleanup-token
  match_sets:
    - rules: [{field: url, obj_type: model, regex: models/}]
`

func TestJSONAndYAMLGiveTheSameConfig(t *testing.T) {
	fromJSON, wj := mustParse(t, fullJSON)
	fromYAML, wy := mustParse(t, fullYAML)
	if len(wj) != 0 || len(wy) != 0 {
		t.Fatalf("warnings: json %v, yaml %v", wj, wy)
	}
	if !reflect.DeepEqual(fromJSON, fromYAML) {
		a, _ := json.MarshalIndent(fromJSON, "", " ")
		b, _ := json.MarshalIndent(fromYAML, "", " ")
		t.Fatalf("JSON and YAML differ:\n%s\n---\n%s", a, b)
	}
	// Tab-indented JSON (jq --tab, json.MarshalIndent with "\t") is not YAML.
	var v any
	if err := json.Unmarshal([]byte(fullJSON), &v); err != nil {
		t.Fatal(err)
	}
	tabbed, _ := json.MarshalIndent(v, "", "\t")
	fromTabs, _ := mustParse(t, "\ufeff\n"+string(tabbed))
	if !reflect.DeepEqual(fromJSON, fromTabs) {
		t.Fatal("tab-indented JSON differs")
	}
	c := fromJSON
	b := c.Storage.AWS.Buckets
	if b[0].Host != "minio:9000" || b[0].IsSecure() || b[0].IsVerify() || b[0].PublicHost != "minio.example.com" ||
		b[1].Bucket != "" || b[2].Subdir != "team/a" || !b[2].UseCredentialsChain {
		t.Errorf("buckets = %+v", b)
	}
	if c.ClearML.Timeout.D() != 3*time.Second || c.ClearML.CacheTTL.D() != time.Minute || c.Presign.SigningWindow() != 30*time.Second {
		t.Errorf("durations: %v %v %v", c.ClearML.Timeout.D(), c.ClearML.CacheTTL.D(), c.Presign.SigningWindow())
	}
	if c.Presign.Services[0].UseFallback != "false" || c.Storage.Google.CredentialsJSON != `{"type": "service_account"}` {
		t.Errorf("presign.services[0] = %+v, google = %+v", c.Presign.Services[0], c.Storage.Google)
	}
	if got := c.Presign.EffectiveMatchSets(); len(got) != 1 || got[0].Rules[0].Regex != "^s3://" {
		t.Errorf("EffectiveMatchSets = %+v, want match_sets over services", got)
	}
}

func TestDurations(t *testing.T) {
	good := []struct {
		raw  string
		want time.Duration
	}{
		{`"15m"`, 15 * time.Minute},
		{`"900"`, 900 * time.Second},
		{`900`, 900 * time.Second},
		{`900.0`, 900 * time.Second},
		{`"1h30m"`, 90 * time.Minute},
		{`"1.5s"`, 1500 * time.Millisecond},
		{`"+60"`, time.Minute},
		{`1e3`, 1000 * time.Second},
		{`null`, 15 * time.Minute},
	}
	for _, tt := range good {
		t.Run(tt.raw, func(t *testing.T) {
			c, _ := mustParse(t, `{"presign": {"expires": `+tt.raw+`}}`)
			if c.Presign.Expires.D() != tt.want {
				t.Fatalf("expires %s = %v, want %v", tt.raw, c.Presign.Expires.D(), tt.want)
			}
			y, _ := mustParse(t, "presign:\n  expires: "+tt.raw+"\n")
			if y.Presign.Expires.D() != tt.want {
				t.Fatalf("YAML expires %s = %v, want %v", tt.raw, y.Presign.Expires.D(), tt.want)
			}
		})
	}
	bad := []struct {
		raw, want string
	}{
		{`"abc"`, `config: presign.expires: "abc" is not a duration such as "15m" or a number of seconds`},
		{`""`, `presign.expires: "" is not a duration`},
		{`"15 m"`, `presign.expires: "15 m" is not a duration`},
		{`1.5`, `presign.expires: 1.5 is not a whole number of seconds`},
		{`true`, `presign.expires: want a duration`},
		{`[900]`, `presign.expires: want a duration`},
		{`{"s": 900}`, `presign.expires: want a duration`},
		{`0`, `presign.expires: must be at least 1s`},
		{`"0s"`, `presign.expires: must be at least 1s`},
		{`-5`, `presign.expires: must be at least 1s`},
		{`"500ms"`, `presign.expires: must be at least 1s`},
		// time.Duration(18446744074) * time.Second wraps around to 0.29s.
		{`18446744074`, `presign.expires: 1.8446744074e+10 seconds is out of range`},
		{`"18446744074"`, `presign.expires: "18446744074" seconds is out of range`},
		{`"99999999999999999999999"`, `presign.expires: "99999999999999999999999" seconds is out of range`},
		{`1e300`, `presign.expires: 1e+300 seconds is out of range`},
		{`"100000000h"`, `presign.expires: "100000000h" is not a duration`},
	}
	for _, tt := range bad {
		t.Run("bad "+tt.raw, func(t *testing.T) {
			_, _, err := Parse([]byte(`{"presign": {"expires": ` + tt.raw + `}}`))
			checkFieldErr(t, err, "presign.expires", tt.want)
		})
	}
	// Every duration field names itself.
	for _, f := range []string{"clearml.cache_ttl", "clearml.timeout", "presign.expires", "presign.max_expires", "presign.window", "cleanup.deadline"} {
		sec, name, _ := strings.Cut(f, ".")
		_, _, err := Parse([]byte(`{"` + sec + `": {"` + name + `": "soon"}}`))
		checkFieldErr(t, err, f, f+`: "soon" is not a duration`)
	}
}

func TestDurationMarshal(t *testing.T) {
	b, err := json.Marshal(NewDuration(90 * time.Second))
	if err != nil || string(b) != `"1m30s"` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	var d Duration
	if err := json.Unmarshal(b, &d); err != nil || d.D() != 90*time.Second {
		t.Fatalf("round trip = %v, %v", d.D(), err)
	}
}

// What the Storage Credentials page's storage.get_settings answers, pasted
// under storage: fields storagegate does not use are warnings, not errors.
const clearMLSettings = `{
  "storage": {
    "last_update": "2026-11-20T09:41:12.345000+00:00",
    "aws": {
      "key": "", "secret": "", "region": "", "token": "", "use_credentials_chain": false,
      "buckets": [
        {"bucket": "artifacts", "subdir": "", "host": "minio.local:9000", "key": "minio", "secret": "minio123",
         "token": "", "multipart": false, "acl": "private", "secure": false, "region": "", "verify": true,
         "use_credentials_chain": false},
        {"bucket": "aws-bucket", "subdir": null, "host": null, "key": "AKIA", "secret": "sss", "token": null,
         "multipart": true, "acl": null, "secure": true, "region": "eu-central-1", "verify": null,
         "use_credentials_chain": false}
      ]
    },
    "google": {"project": "", "credentials_json": "", "buckets": []},
    "azure": {"containers": [{"account_name": "acct", "account_key": "a2V5", "container_name": "models"}]}
  }
}`

func TestClearMLSettingsLoadWithWarnings(t *testing.T) {
	c, w := mustParse(t, clearMLSettings)
	want := []string{
		"storage.last_update",
		"storage.aws.buckets[0].acl",
		"storage.aws.buckets[0].multipart",
		"storage.aws.buckets[1].acl",
		"storage.aws.buckets[1].multipart",
	}
	if !sameSet(w, want) {
		t.Fatalf("warnings = %q, want %q", w, want)
	}
	b := c.Storage.AWS.Buckets
	if len(b) != 2 || b[0].Host != "minio.local:9000" || b[0].IsSecure() || b[1].Region != "eu-central-1" || !b[1].IsVerify() {
		t.Fatalf("buckets = %+v", b)
	}
	// Unknown fields anywhere are warnings, with their full path.
	_, w = mustParse(t, "extra: 1\nclearml: {colour: blue}\npresign: {match_sets: [{rules: [{regex: x, note: y}], name: z}]}\n")
	want = []string{"extra", "clearml.colour", "presign.match_sets[0].rules[0].note", "presign.match_sets[0].name"}
	if !sameSet(w, want) {
		t.Fatalf("warnings = %q, want %q", w, want)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

func checkFieldErr(t *testing.T, err error, field, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one for %s", field)
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %q (%T) is not a *FieldError", err, err)
	}
	if fe.Field != field {
		t.Fatalf("error %q names field %q, want %q", err, fe.Field, field)
	}
	if !strings.HasPrefix(err.Error(), "config: "+field+": ") {
		t.Fatalf("error %q does not start with the field", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q, want it to contain %q", err, want)
	}
}

func TestTypeErrors(t *testing.T) {
	tests := []struct {
		name, doc, field, want string
	}{
		{"bool as number", `{"storage": {"aws": {"buckets": [{"bucket": "b", "secure": 3}]}}}`, "storage.aws.buckets[0].secure", "want true or false, got a number"},
		{"bool in second entry", "storage:\n  aws:\n    buckets:\n      - {bucket: a}\n      - {bucket: b, verify: maybe}\n", "storage.aws.buckets[1].verify", "want true or false, got another string"},
		{"list as object", `{"storage": {"aws": {"buckets": {"bucket": "b"}}}}`, "storage.aws.buckets", "want a list, got an object"},
		{"object as string", `{"storage": {"aws": "nope"}}`, "storage.aws", "want an object, got a string"},
		{"list entry as string", `{"storage": {"aws": {"buckets": ["b"]}}}`, "storage.aws.buckets[0]", "want an object, got a string"},
		{"string as number", `{"clearml": {"api_server": 8008}}`, "clearml.api_server", "want a string, got a number"},
		{"string as bool", `{"clearml": {"auth_mode": true}}`, "clearml.auth_mode", "want a string, got a boolean"},
		{"string list entry", `{"clearml": {"cookie_names": ["a", 5]}}`, "clearml.cookie_names[1]", "want a string, got a number"},
		{"string list as string", `{"clearml": {"allowed_roles": "admin"}}`, "clearml.allowed_roles", "want a list, got a string"},
		{"int as string", `{"cleanup": {"concurrency": "16"}}`, "cleanup.concurrency", "want a whole number, got a string"},
		{"int fraction", `{"cleanup": {"concurrency": 1.5}}`, "cleanup.concurrency", "want a whole number"},
		{"int overflow", `{"cleanup": {"concurrency": 1e300}}`, "cleanup.concurrency", "out of range"},
		{"int pointer", `{"cleanup": {"min_prefix_depth": "two"}}`, "cleanup.min_prefix_depth", "want a whole number, got a string"},
		{"nested rule", `{"presign": {"match_sets": [{"rules": [{"regex": "a"}, {"regex": ["b"]}]}]}}`, "presign.match_sets[0].rules[1].regex", "want a string, got a list"},
		{"services rule", `{"presign": {"services": [{"type": "presign", "match_sets": [{"rules": [{"field": 1}]}]}]}}`, "presign.services[0].match_sets[0].rules[0].field", "want a string, got a number"},
		{"azure entry", `{"storage": {"azure": {"containers": [{"account_name": ["x"]}]}}}`, "storage.azure.containers[0].account_name", "want a string, got a list"},
		{"google bucket", `{"storage": {"google": {"buckets": [{"bucket": false}]}}}`, "storage.google.buckets[0].bucket", "want a string, got a boolean"},
		{"document is a list", `[1, 2]`, "(document)", "want an object, got a list"},
		{"document is a string", `just words`, "(document)", "want an object, got a string"},
		{"section is a list", `{"presign": []}`, "presign", "want an object, got a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Parse([]byte(tt.doc))
			checkFieldErr(t, err, tt.field, tt.want)
		})
	}
}

func TestSyntaxErrors(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"broken JSON", "{\n  \"storage\": {\n    \"aws\": {\"key\": \"a\" \"secret\": \"b\"}\n  }\n}", "config: not valid JSON: line 3, column"},
		{"truncated JSON", `{"storage": {`, "config: not valid JSON"},
		{"broken YAML", "storage:\n  aws: x\n   key: y\n", "config: not valid JSON or YAML: yaml: line 3"},
		{"tab-indented YAML", "storage:\n\taws: {}\n", "config: not valid JSON or YAML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Parse([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestValidationErrors(t *testing.T) {
	tests := []struct {
		name, doc, field, want string
	}{
		{"auth_mode", `{"clearml": {"auth_mode": "oauth"}}`, "clearml.auth_mode", `must be one of user, validate_token, jwt (got "oauth")`},
		{"auth_mode case", `{"clearml": {"auth_mode": "JWT"}}`, "clearml.auth_mode", "must be one of"},
		{"jwt without token_secret", `{"clearml": {"auth_mode": "jwt"}}`, "clearml.token_secret", "required when auth_mode is jwt"},
		{"validate_token with allowed_roles", `{"clearml": {"auth_mode": "validate_token", "access_key": "a", "secret_key": "s", "allowed_roles": ["admin"]}}`, "clearml.allowed_roles", "returns no role"},
		{"validate_token without access_key", `{"clearml": {"auth_mode": "validate_token", "secret_key": "s"}}`, "clearml.access_key", "required when auth_mode is validate_token"},
		{"validate_token without secret_key", `{"clearml": {"auth_mode": "validate_token", "access_key": "a"}}`, "clearml.secret_key", "required when auth_mode is validate_token"},
		{"api_server not http", `{"clearml": {"api_server": "ftp://clearml:8008"}}`, "clearml.api_server", `must be an http or https URL (got scheme "ftp")`},
		{"api_server no scheme", `{"clearml": {"api_server": "clearml:8008"}}`, "clearml.api_server", "must be an http or https URL"},
		{"api_server no host", `{"clearml": {"api_server": "http://"}}`, "clearml.api_server", "has no host"},
		{"api_server bad url", `{"clearml": {"api_server": "http://a b:80"}}`, "clearml.api_server", "is not a URL"},
		{"api_server userinfo", `{"clearml": {"api_server": "https://u:p@api"}}`, "clearml.api_server", "user information"},
		{"cookie name empty", `{"clearml": {"cookie_names": ["ok", ""]}}`, "clearml.cookie_names[1]", "not a valid cookie name"},
		{"cookie name separator", `{"clearml": {"cookie_names": ["a=b"]}}`, "clearml.cookie_names[0]", "not a valid cookie name"},
		{"cookie name colon", `{"clearml": {"cookie_names": ["a:b"]}}`, "clearml.cookie_names[0]", "not a valid cookie name"},
		{"cache_ttl negative", `{"clearml": {"cache_ttl": "-1s"}}`, "clearml.cache_ttl", "must not be negative"},
		{"timeout zero", `{"clearml": {"timeout": 0}}`, "clearml.timeout", "must be positive"},
		{"cors star", `{"presign": {"cors_origins": ["*"]}}`, "presign.cors_origins[0]", `"*" is not allowed`},
		{"cors path", `{"presign": {"cors_origins": ["https://ok.example", "https://app.example.com/path"]}}`, "presign.cors_origins[1]", "must be an origin"},
		{"cors bare host", `{"presign": {"cors_origins": ["app.example.com"]}}`, "presign.cors_origins[0]", "must be an origin"},
		{"cors other scheme", `{"presign": {"cors_origins": ["ftp://app.example.com"]}}`, "presign.cors_origins[0]", "must be an origin"},
		{"cors null", `{"presign": {"cors_origins": ["null"]}}`, "presign.cors_origins[0]", "must be an origin"},
		{"cors query", `{"presign": {"cors_origins": ["https://a.example?x=1"]}}`, "presign.cors_origins[0]", "must be an origin"},
		{"cors fragment", `{"presign": {"cors_origins": ["https://a.example#x"]}}`, "presign.cors_origins[0]", "must be an origin"},
		{"cors userinfo", `{"presign": {"cors_origins": ["https://u@a.example"]}}`, "presign.cors_origins[0]", "must be an origin"},
		{"cors wildcard host", `{"presign": {"cors_origins": ["https://*.example.com"]}}`, "presign.cors_origins[0]", "must be an origin"},
		{"cors upper case", `{"presign": {"cors_origins": ["https://App.example.com"]}}`, "presign.cors_origins[0]", "must be lower-case"},
		{"cors default port", `{"presign": {"cors_origins": ["https://app.example.com:443"]}}`, "presign.cors_origins[0]", "default port"},
		{"max_expires over 7d", `{"presign": {"max_expires": "169h"}}`, "presign.max_expires", "at most 168h"},
		{"max_expires 8 days in seconds", `{"presign": {"max_expires": 691200}}`, "presign.max_expires", "at most 168h"},
		{"max_expires zero", `{"presign": {"max_expires": 0}}`, "presign.max_expires", "at least 1s"},
		{"expires over max_expires", `{"presign": {"expires": "2h", "max_expires": "1h"}}`, "presign.expires", "longer than presign.max_expires (1h0m0s)"},
		{"expires over default max", `{"presign": {"expires": "25h"}}`, "presign.expires", "longer than presign.max_expires (24h0m0s)"},
		{"window negative", `{"presign": {"window": "-1m"}}`, "presign.window", "must not be negative"},
		{"disposition", `{"presign": {"disposition": "download"}}`, "presign.disposition", "inline or attachment"},
		{"bad regex", `{"presign": {"match_sets": [{"rules": [{"regex": "^s3://"}]}, {"rules": [{"regex": "ok"}, {"regex": "a("}]}]}}`, "presign.match_sets[1].rules[1].regex", "error parsing regexp"},
		{"perl regex", `{"presign": {"match_sets": [{"rules": [{"regex": "(?<=x)y"}]}]}}`, "presign.match_sets[0].rules[0].regex", "error parsing regexp"},
		{"empty match set", `{"presign": {"match_sets": [{"rules": []}]}}`, "presign.match_sets[0].rules", "at least one rule"},
		{"services bad regex", `{"presign": {"services": [{"type": "x"}, {"type": "presign", "match_sets": [{"rules": [{"regex": "["}]}]}]}}`, "presign.services[1].match_sets[0].rules[0].regex", "error parsing regexp"},
		{"cleanup bad regex", `{"cleanup": {"match_sets": [{"rules": [{"regex": "*"}]}]}}`, "cleanup.match_sets[0].rules[0].regex", "error parsing regexp"},
		{"min_prefix_depth 0", `{"cleanup": {"min_prefix_depth": 0}}`, "cleanup.min_prefix_depth", "at least 1"},
		{"concurrency negative", `{"cleanup": {"concurrency": -1}}`, "cleanup.concurrency", "between 1 and 1024"},
		{"concurrency huge", `{"cleanup": {"concurrency": 5000}}`, "cleanup.concurrency", "between 1 and 1024"},
		{"deadline zero", `{"cleanup": {"deadline": "0s"}}`, "cleanup.deadline", "must be positive"},
		{"aws key without secret", `{"storage": {"aws": {"key": "AK"}}}`, "storage.aws.secret", "key and secret must be given together"},
		{"aws secret without key", `{"storage": {"aws": {"secret": "S"}}}`, "storage.aws.key", "key and secret must be given together"},
		{"aws token without key", `{"storage": {"aws": {"token": "T"}}}`, "storage.aws.token", "needs key and secret"},
		{"aws bad region", `{"storage": {"aws": {"region": "eu-west-1/evil"}}}`, "storage.aws.region", "not a region name"},
		{"bucket key without secret", `{"storage": {"aws": {"buckets": [{"bucket": "b", "key": "AK"}]}}}`, "storage.aws.buckets[0].secret", "key and secret must be given together"},
		{"bucket secret without key", `{"storage": {"aws": {"buckets": [{"bucket": "b", "secret": "S"}]}}}`, "storage.aws.buckets[0].key", "key and secret must be given together"},
		{"bucket token without key", `{"storage": {"aws": {"buckets": [{"bucket": "b", "token": "T"}]}}}`, "storage.aws.buckets[0].token", "needs key and secret"},
		{"bucket entry empty", `{"storage": {"aws": {"buckets": [{"bucket": "ok"}, {"key": "k", "secret": "s"}]}}}`, "storage.aws.buckets[1].bucket", "needs a bucket, a host, or both"},
		{"bucket name", `{"storage": {"aws": {"buckets": [{"bucket": "a/b"}]}}}`, "storage.aws.buckets[0].bucket", `"a/b" is not a bucket name`},
		{"host with scheme", `{"storage": {"aws": {"buckets": [{"bucket": "b", "host": "http://minio:9000"}]}}}`, "storage.aws.buckets[0].host", "without scheme or path"},
		{"host with path", `{"storage": {"aws": {"buckets": [{"host": "minio:9000/b"}]}}}`, "storage.aws.buckets[0].host", "without scheme or path"},
		{"host without port", `{"storage": {"aws": {"buckets": [{"host": "minio.example.com"}]}}}`, "storage.aws.buckets[0].host", "must carry its port"},
		{"host bad port", `{"storage": {"aws": {"buckets": [{"host": "minio:0"}]}}}`, "storage.aws.buckets[0].host", `port "0"`},
		{"host trailing dot", `{"storage": {"aws": {"buckets": [{"host": "minio.:9000"}]}}}`, "storage.aws.buckets[0].host", "must not end in a dot"},
		{"host non-ascii", `{"storage": {"aws": {"buckets": [{"host": "mínio:9000"}]}}}`, "storage.aws.buckets[0].host", "ASCII"},
		{"host ipv6", `{"storage": {"aws": {"buckets": [{"host": "[::1]:9000"}]}}}`, "storage.aws.buckets[0].host", "DNS name or IPv4"},
		{"public_host without host", `{"storage": {"aws": {"buckets": [{"bucket": "b", "public_host": "s3.example.com"}]}}}`, "storage.aws.buckets[0].public_host", "needs host"},
		{"public_host with scheme", `{"storage": {"aws": {"buckets": [{"host": "minio:9000", "public_host": "https://s3.example.com"}]}}}`, "storage.aws.buckets[0].public_host", "without scheme"},
		{"bucket bad region", `{"storage": {"aws": {"buckets": [{"bucket": "b", "region": "a b"}]}}}`, "storage.aws.buckets[0].region", "not a region name"},
		{"subdir absolute", `{"storage": {"aws": {"buckets": [{"bucket": "b", "subdir": "/x"}]}}}`, "storage.aws.buckets[0].subdir", "relative folder"},
		{"subdir double slash", `{"storage": {"aws": {"buckets": [{"bucket": "b", "subdir": "x//y"}]}}}`, "storage.aws.buckets[0].subdir", "relative folder"},
		{"subdir dotdot", `{"storage": {"aws": {"buckets": [{"bucket": "b", "subdir": "x/../y"}]}}}`, "storage.aws.buckets[0].subdir", "relative folder"},
		{"subdir without bucket", `{"storage": {"aws": {"buckets": [{"host": "minio:9000", "subdir": "team"}]}}}`, "storage.aws.buckets[0].subdir", "needs bucket"},
		{"google endpoint", `{"storage": {"google": {"endpoint": "localhost:4443"}}}`, "storage.google.endpoint", "http or https"},
		{"google bucket missing", `{"storage": {"google": {"buckets": [{"subdir": "x"}]}}}`, "storage.google.buckets[0].bucket", "is required"},
		{"google bucket invalid", `{"storage": {"google": {"buckets": [{"bucket": "gs://b"}]}}}`, "storage.google.buckets[0].bucket", "not a bucket name"},
		{"google subdir", `{"storage": {"google": {"buckets": [{"bucket": "b", "subdir": "/abs"}]}}}`, "storage.google.buckets[0].subdir", "relative folder"},
		{"azure account missing", `{"storage": {"azure": {"containers": [{"container_name": "c"}]}}}`, "storage.azure.containers[0].account_name", "is required"},
		{"azure account upper", `{"storage": {"azure": {"containers": [{"account_name": "MyAccount"}]}}}`, "storage.azure.containers[0].account_name", "not a storage account name"},
		{"azure account host", `{"storage": {"azure": {"containers": [{"account_name": "acct.blob.core.windows.net"}]}}}`, "storage.azure.containers[0].account_name", "not a storage account name"},
		{"azure account short", `{"storage": {"azure": {"containers": [{"account_name": "ok1"}, {"account_name": "ab"}]}}}`, "storage.azure.containers[1].account_name", "not a storage account name"},
		{"azure container", `{"storage": {"azure": {"containers": [{"account_name": "acct", "container_name": "a/b"}]}}}`, "storage.azure.containers[0].container_name", "not a container name"},
		{"azure container upper", `{"storage": {"azure": {"containers": [{"account_name": "acct", "container_name": "Data"}]}}}`, "storage.azure.containers[0].container_name", "not a container name"},
		{"azure endpoint", `{"storage": {"azure": {"containers": [{"account_name": "acct", "endpoint": "127.0.0.1:10000"}]}}}`, "storage.azure.containers[0].endpoint", "is not a URL"},
		{"azure endpoint scheme", `{"storage": {"azure": {"containers": [{"account_name": "acct", "endpoint": "tcp://h:1"}]}}}`, "storage.azure.containers[0].endpoint", "http or https"},
		{"azure endpoint shared", `{"storage": {"azure": {"containers": [{"account_name": "one", "endpoint": "http://azurite:10000/one"}, {"account_name": "two", "endpoint": "http://AZURITE:10000/two"}]}}}`, "storage.azure.containers[1].endpoint", "already serves account one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Parse([]byte(tt.doc))
			checkFieldErr(t, err, tt.field, tt.want)
		})
	}
}

func TestValidConfigsAccepted(t *testing.T) {
	for _, doc := range []string{
		`{"clearml": {"auth_mode": "validate_token", "access_key": "a", "secret_key": "s", "allowed_companies": ["c"]}}`,
		`{"clearml": {"auth_mode": "jwt", "token_secret": "t", "allowed_roles": ["admin"]}}`,
		`{"presign": {"cors_origins": ["https://app.example.com", "http://localhost:8080", "https://app.example.com/"]}}`,
		`{"presign": {"expires": "168h", "max_expires": "168h"}}`,
		`{"storage": {"aws": {"use_credentials_chain": true, "region": "cn-north-1"}}}`,
		`{"storage": {"aws": {"buckets": [{"host": "minio:9000"}, {"host": "s3.example.com:443", "bucket": "b", "subdir": "team/a/", "public_host": "files.example.com"}]}}}`,
		`{"storage": {"azure": {"containers": [{"account_name": "acct", "endpoint": "http://azurite:10000/acct"}, {"account_name": "acct", "container_name": "other-1", "endpoint": "http://azurite:10000/acct"}]}}}`,
		`{"storage": {"google": {"project": "p"}}}`,
	} {
		if _, _, err := Parse([]byte(doc)); err != nil {
			t.Errorf("Parse(%s): %v", doc, err)
		}
	}
}

func TestLogValueHasNoSecrets(t *testing.T) {
	c, _ := mustParse(t, fullJSON)
	s := c.LogValue().String()
	for _, secret := range []string{"AKDEFAULT", "sdefault", "a2V5", "cleanup-token", "service_account", "AK"} {
		if strings.Contains(s, secret) {
			t.Errorf("LogValue %q shows %q", s, secret)
		}
	}
}
