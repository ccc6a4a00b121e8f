package config

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestClearMLEnv: ClearML's own three variables fill the clearml section
// where the document leaves it out, alone they need no document, and a
// field set differently in both places is an error naming the field and the
// variable, never either value.
func TestClearMLEnv(t *testing.T) {
	ctx := context.Background()
	three := map[string]string{
		EnvAPIHost:   "https://api.clearml.example.com",
		EnvAccessKey: "SVCACCESSKEY",
		EnvSecretKey: "svc-secret-value",
	}

	t.Run("three alone", func(t *testing.T) {
		c, _, err := FromEnv(ctx, env(three), nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.ClearML.APIServer != three[EnvAPIHost] || c.ClearML.AccessKey != "SVCACCESSKEY" || c.ClearML.SecretKey != "svc-secret-value" {
			t.Fatalf("clearml = %+v", c.ClearML)
		}
		if !c.Storage.UseClearML() || c.Storage.Refresh.D() != time.Minute {
			t.Fatalf("from_clearml %v, refresh %s: want on and 1m", c.Storage.UseClearML(), c.Storage.Refresh.D())
		}
	})

	t.Run("fewer than three and no document", func(t *testing.T) {
		m := map[string]string{EnvAPIHost: three[EnvAPIHost], EnvAccessKey: "k"}
		if _, _, err := FromEnv(ctx, env(m), nil); !errors.Is(err, ErrNoSource) {
			t.Fatalf("err = %v, want ErrNoSource", err)
		}
		if !strings.Contains(ErrNoSource.Error(), EnvAPIHost) {
			t.Errorf("%q does not mention the ClearML variables", ErrNoSource)
		}
	})

	t.Run("fill what the document leaves out", func(t *testing.T) {
		m := map[string]string{EnvInline: `{"clearml": {"api_server": "https://api.clearml.example.com/"}, "presign": {"expires": "5m"}}`}
		for k, v := range three {
			m[k] = v
		}
		c, _, err := FromEnv(ctx, env(m), nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.ClearML.APIServer != "https://api.clearml.example.com/" || c.ClearML.AccessKey != "SVCACCESSKEY" || c.Presign.Expires.D() != 5*time.Minute {
			t.Fatalf("config = %+v", c.ClearML)
		}
	})

	for _, tc := range []struct{ field, doc string }{
		{"clearml.api_server", `{"clearml": {"api_server": "https://other.example.com"}}`},
		{"clearml.access_key", `{"clearml": {"access_key": "DOCKEY"}}`},
		{"clearml.secret_key", `{"clearml": {"secret_key": "doc-secret-value"}}`},
	} {
		t.Run("conflict "+tc.field, func(t *testing.T) {
			m := map[string]string{EnvInline: tc.doc}
			for k, v := range three {
				m[k] = v
			}
			_, _, err := FromEnv(ctx, env(m), nil)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("err = %v, want a FieldError for %s", err, tc.field)
			}
			for _, secret := range []string{"other.example.com", "DOCKEY", "doc-secret-value", "SVCACCESSKEY", "svc-secret-value", "api.clearml.example.com"} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("the error %q echoes a value", err)
				}
			}
		})
	}
}

// TestFromClearMLDefault: on when the document names no store and the
// service credentials are set; off otherwise; an explicit value wins.
func TestFromClearMLDefault(t *testing.T) {
	creds := `"clearml": {"api_server": "http://c:8008", "access_key": "k", "secret_key": "s"}`
	bucket := `"aws": {"buckets": [{"bucket": "b", "key": "k", "secret": "s"}]}`
	for _, tc := range []struct {
		doc  string
		want bool
		err  string
	}{
		{`{` + creds + `}`, true, ""},
		{`{` + creds + `, "storage": {"refresh": "30s", "google": {"endpoint": "http://127.0.0.1:4443"}}}`, true, ""},
		{`{` + creds + `, "storage": {` + bucket + `}}`, false, ""},
		{`{` + creds + `, "storage": {"from_clearml": true, ` + bucket + `}}`, true, ""},
		{`{` + creds + `, "storage": {"from_clearml": false}}`, false, ""},
		{`{"clearml": {"api_server": "http://c:8008"}}`, false, ""},
		{`{"storage": {"from_clearml": true}}`, false, "storage.from_clearml"},
		{`{` + creds + `, "storage": {"refresh": "0s"}}`, false, "storage.refresh"},
	} {
		c, _, err := Parse([]byte(tc.doc))
		if tc.err != "" {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.err {
				t.Errorf("%s: err = %v, want %s", tc.doc, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.doc, err)
			continue
		}
		if c.Storage.UseClearML() != tc.want {
			t.Errorf("%s: from_clearml = %v, want %v", tc.doc, c.Storage.UseClearML(), tc.want)
		}
	}
}
