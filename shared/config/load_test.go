package config

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFromEnv(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(file, []byte("presign:\n  expires: 5m\nunknown: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:storagegate-AbCdEf"
	fetch := func(_ context.Context, got string) ([]byte, error) {
		if got != arn {
			return nil, errors.New("unknown secret")
		}
		return []byte(`{"presign": {"expires": "7m"}}`), nil
	}
	failing := func(context.Context, string) ([]byte, error) { return nil, errors.New("AccessDeniedException") }

	t.Run("none set", func(t *testing.T) {
		_, _, err := FromEnv(ctx, env(nil), fetch)
		if !errors.Is(err, ErrNoSource) {
			t.Fatalf("err = %v, want ErrNoSource", err)
		}
		for _, v := range []string{EnvInline, EnvFile, EnvSecret} {
			if !strings.Contains(err.Error(), v) {
				t.Errorf("%q does not name %s", err, v)
			}
		}
	})
	t.Run("empty values are not set", func(t *testing.T) {
		_, _, err := FromEnv(ctx, env(map[string]string{EnvInline: "", EnvFile: ""}), nil)
		if !errors.Is(err, ErrNoSource) {
			t.Fatalf("err = %v, want ErrNoSource", err)
		}
	})
	t.Run("two set", func(t *testing.T) {
		_, _, err := FromEnv(ctx, env(map[string]string{EnvInline: "{}", EnvFile: file}), fetch)
		if err == nil || !strings.Contains(err.Error(), EnvInline) || !strings.Contains(err.Error(), EnvFile) || strings.Contains(err.Error(), EnvSecret) {
			t.Fatalf("err = %v, want one naming %s and %s", err, EnvInline, EnvFile)
		}
	})
	t.Run("inline and secret set", func(t *testing.T) {
		_, _, err := FromEnv(ctx, env(map[string]string{EnvInline: "{}", EnvSecret: arn}), fetch)
		if err == nil || !strings.Contains(err.Error(), EnvInline) || !strings.Contains(err.Error(), EnvSecret) {
			t.Fatalf("err = %v", err)
		}
		if strings.Contains(err.Error(), "{}") {
			t.Fatalf("err %q echoes the inline document", err)
		}
	})
	t.Run("all three set", func(t *testing.T) {
		_, _, err := FromEnv(ctx, env(map[string]string{EnvInline: "{}", EnvFile: file, EnvSecret: arn}), fetch)
		if err == nil || !strings.Contains(err.Error(), EnvInline) || !strings.Contains(err.Error(), EnvFile) || !strings.Contains(err.Error(), EnvSecret) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("inline", func(t *testing.T) {
		c, w, err := FromEnv(ctx, env(map[string]string{EnvInline: `{"presign": {"expires": 60}, "extra": true}`}), nil)
		if err != nil || c.Presign.Expires.D().Seconds() != 60 || len(w) != 1 || w[0] != "extra" {
			t.Fatalf("c=%+v w=%v err=%v", c, w, err)
		}
	})
	t.Run("file", func(t *testing.T) {
		c, w, err := FromEnv(ctx, env(map[string]string{EnvFile: file}), nil)
		if err != nil || c.Presign.Expires.D().Minutes() != 5 || len(w) != 1 || w[0] != "unknown" {
			t.Fatalf("c=%+v w=%v err=%v", c, w, err)
		}
	})
	t.Run("file missing", func(t *testing.T) {
		missing := filepath.Join(dir, "nope.yaml")
		_, _, err := FromEnv(ctx, env(map[string]string{EnvFile: missing}), nil)
		if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), EnvFile) || !strings.Contains(err.Error(), missing) {
			t.Fatalf("err = %v, want a not-exist error naming %s and the path", err, EnvFile)
		}
	})
	t.Run("file invalid", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.yaml")
		os.WriteFile(bad, []byte("clearml: {auth_mode: nope}\n"), 0o600)
		_, _, err := FromEnv(ctx, env(map[string]string{EnvFile: bad}), nil)
		checkFieldErr(t, err, "clearml.auth_mode", "must be one of")
	})
	t.Run("secret without fetcher", func(t *testing.T) {
		_, _, err := FromEnv(ctx, env(map[string]string{EnvSecret: arn}), nil)
		if err == nil || !strings.Contains(err.Error(), EnvSecret) || !strings.Contains(err.Error(), "only on AWS") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("secret with fetcher", func(t *testing.T) {
		c, w, err := FromEnv(ctx, env(map[string]string{EnvSecret: arn}), fetch)
		if err != nil || c.Presign.Expires.D().Minutes() != 7 || len(w) != 0 {
			t.Fatalf("c=%+v w=%v err=%v", c, w, err)
		}
	})
	t.Run("secret fetch fails", func(t *testing.T) {
		_, _, err := FromEnv(ctx, env(map[string]string{EnvSecret: arn}), failing)
		if err == nil || !strings.Contains(err.Error(), EnvSecret) || !strings.Contains(err.Error(), "AccessDeniedException") {
			t.Fatalf("err = %v", err)
		}
	})
}

// Distinctive secret values: none of them may appear in any error or warning.
var secrets = []string{
	"AKIASECRETKEYVALUE01", "SECRETACCESSKEYVALUE02", "SESSIONTOKENVALUE03", "BUCKETKEYVALUE04",
	"BUCKETSECRETVALUE05", "BUCKETTOKENVALUE06", "GOOGLECREDSVALUE07", "GSBUCKETCREDSVALUE08",
	"AZUREACCOUNTKEYVALUE09", "JWTTOKENSECRETVALUE10", "CLEARMLSECRETKEYVALUE11", "CLEANUPTOKENVALUE12",
	"98765432123456", "CLEARMLACCESSKEYVALUE13",
}

const secretDoc = `storage:
  aws:
    key: AKIASECRETKEYVALUE01
    secret: SECRETACCESSKEYVALUE02
    token: SESSIONTOKENVALUE03
    buckets:
      - bucket: b
        key: BUCKETKEYVALUE04
        secret: BUCKETSECRETVALUE05
        token: BUCKETTOKENVALUE06
  google:
    credentials_json: '{"private_key": "GOOGLECREDSVALUE07"}'
    buckets:
      - {bucket: g, credentials_json: GSBUCKETCREDSVALUE08}
  azure:
    containers:
      - {account_name: acct, account_key: AZUREACCOUNTKEYVALUE09}
clearml:
  auth_mode: jwt
  token_secret: JWTTOKENSECRETVALUE10
  access_key: CLEARMLACCESSKEYVALUE13
  secret_key: CLEARMLSECRETKEYVALUE11
cleanup:
  token: CLEANUPTOKENVALUE12
`

func TestNoSecretInErrorsOrWarnings(t *testing.T) {
	if _, _, err := Parse([]byte(secretDoc)); err != nil {
		t.Fatalf("the base document must be valid: %v", err)
	}
	edits := []struct {
		name     string
		old, new string // replaced once in secretDoc; old "" appends new
	}{
		{"auth_mode", "auth_mode: jwt", "auth_mode: nope"},
		{"bad regex", "", "presign: {match_sets: [{rules: [{regex: '('}]}]}\n"},
		{"bad duration", "", "presign: {expires: soon}\n"},
		{"bad cors", "", "presign: {cors_origins: ['*']}\n"},
		{"bucket type error", "      - bucket: b\n", "      - bucket: b\n        secure: 7\n"},
		{"bucket bool string", "      - bucket: b\n", "      - bucket: b\n        verify: SECRETACCESSKEYVALUE02\n"},
		{"unknown fields", "", "extra: {secret_access_key: x}\n"},
		{"azure name", "account_name: acct", "account_name: ACCT"},
		{"host with scheme", "      - bucket: b\n", "      - bucket: b\n        host: http://minio:9000\n"},
		{"secret as number", "secret: SECRETACCESSKEYVALUE02", "secret: 98765432123456"},
		{"secret as float", "secret: BUCKETSECRETVALUE05", "secret: 98765432123456.5"},
		{"secret as list", "secret: SECRETACCESSKEYVALUE02", "secret: [SECRETACCESSKEYVALUE02]"},
		{"secret as object", "secret: BUCKETSECRETVALUE05", "secret: {v: BUCKETSECRETVALUE05}"},
		{"secret as bool", "token: SESSIONTOKENVALUE03", "token: true"},
		{"token_secret as number", "token_secret: JWTTOKENSECRETVALUE10", "token_secret: 98765432123456"},
		{"account_key as list", "account_key: AZUREACCOUNTKEYVALUE09", "account_key: [AZUREACCOUNTKEYVALUE09, 98765432123456]"},
		{"credentials_json as object", `credentials_json: '{"private_key": "GOOGLECREDSVALUE07"}'`, `credentials_json: {private_key: GOOGLECREDSVALUE07}`},
		{"cleanup token as number", "token: CLEANUPTOKENVALUE12", "token: 98765432123456"},
		{"key without secret", "    secret: SECRETACCESSKEYVALUE02\n", ""},
		{"bucket key without secret", "        secret: BUCKETSECRETVALUE05\n", ""},
		{"yaml tag", "secret: SECRETACCESSKEYVALUE02", "secret: !!int SECRETACCESSKEYVALUE02"},
		{"yaml binary tag", "secret: SECRETACCESSKEYVALUE02", "secret: !!binary SECRETACCESSKEYVALUE02!"},
		{"yaml null key", "    secret: SECRETACCESSKEYVALUE02\n", "    ~: SECRETACCESSKEYVALUE02\n"},
		{"yaml list key", "    secret: SECRETACCESSKEYVALUE02\n", "    ? [SECRETACCESSKEYVALUE02]\n    : SECRETACCESSKEYVALUE02\n"},
		{"yaml syntax", "    secret: SECRETACCESSKEYVALUE02\n", "    secret: SECRETACCESSKEYVALUE02\n   oops: SECRETACCESSKEYVALUE02\n"},
		{"yaml unterminated quote", "secret: SECRETACCESSKEYVALUE02", "secret: 'SECRETACCESSKEYVALUE02"},
		{"yaml bad escape", "secret: SECRETACCESSKEYVALUE02", `secret: "SECRETACCESSKEYVALUE02\q"`},
	}
	for _, e := range edits {
		t.Run(e.name, func(t *testing.T) {
			doc := secretDoc + e.new
			if e.old != "" {
				if !strings.Contains(secretDoc, e.old) {
					t.Fatalf("%q not in the document", e.old)
				}
				doc = strings.Replace(secretDoc, e.old, e.new, 1)
			}
			_, warnings, err := Parse([]byte(doc))
			if err == nil && e.name != "unknown fields" {
				t.Fatalf("want an error")
			}
			checkNoSecret(t, err, warnings)
		})
	}
	// The same document as JSON, broken right after a secret.
	jsonDocs := []string{
		`{"storage": {"aws": {"key": "AKIASECRETKEYVALUE01", "secret": "SECRETACCESSKEYVALUE02" "token": 1}}}`,
		`{"storage": {"aws": {"key": "AKIASECRETKEYVALUE01", "secret": SECRETACCESSKEYVALUE02}, "x": [}}`,
		`{"storage": {"aws": {"key": "AKIASECRETKEYVALUE01", "secret": "SECRETACCESSKEYVALUE02`,
		`{"clearml": {"auth_mode": "jwt", "token_secret": 98765432123456}}`,
		`{"storage": {"azure": {"containers": [{"account_name": "x", "account_key": "AZUREACCOUNTKEYVALUE09"}]}}}`,
	}
	for i, doc := range jsonDocs {
		_, warnings, err := Parse([]byte(doc))
		if err == nil {
			t.Errorf("json %d: want an error", i)
		}
		checkNoSecret(t, err, warnings)
	}
	// FromEnv errors do not echo an inline document either.
	_, _, err := FromEnv(context.Background(), env(map[string]string{EnvInline: secretDoc, EnvFile: "x"}), nil)
	checkNoSecret(t, err, nil)
}

func checkNoSecret(t *testing.T, err error, warnings []string) {
	t.Helper()
	texts := append([]string(nil), warnings...)
	if err != nil {
		texts = append(texts, err.Error())
	}
	for _, s := range texts {
		for _, secret := range secrets {
			if strings.Contains(s, secret) {
				t.Errorf("%q shows the secret %q", s, secret)
			}
		}
		for _, part := range []string{"SECRET", "VALUE0", "VALUE1"} {
			if strings.Contains(s, part) {
				t.Errorf("%q shows part of a secret (%q)", s, part)
			}
		}
	}
}
