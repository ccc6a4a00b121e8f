package config

import (
	"strings"
	"testing"
	"time"
)

// TestWindowBounds: a window set by hand that is longer than the lifetime it
// stabilises, or that pushes expires plus window past the providers' 7 days,
// is a start-up error naming presign.window (issue 9, item 1); the default
// window shrinks to fit instead, so no valid config fails because of it.
func TestWindowBounds(t *testing.T) {
	for _, tt := range []struct{ name, doc, want string }{
		{"window weeks long", `{"presign": {"window": "1000h"}}`, "longer than presign.expires"},
		{"window over expires", `{"presign": {"expires": "10m", "window": "11m"}}`, "longer than presign.expires (10m0s)"},
		{"expires plus window past 7 days", `{"presign": {"expires": "160h", "max_expires": "168h", "window": "10h"}}`, "past 168h"},
		{"expires at 7 days, any window", `{"presign": {"expires": "168h", "max_expires": "168h", "window": "1s"}}`, "past 168h"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Parse([]byte(tt.doc))
			checkFieldErr(t, err, "presign.window", tt.want)
		})
	}
	for _, tt := range []struct {
		doc  string
		want time.Duration
	}{
		{`{}`, time.Minute},
		{`{"presign": {"expires": 30}}`, 30 * time.Second},
		{`{"presign": {"expires": "167h59m30s", "max_expires": "168h"}}`, 30 * time.Second},
		{`{"presign": {"expires": "168h", "max_expires": "168h"}}`, 0},
		{`{"presign": {"expires": "10m", "window": "10m"}}`, 10 * time.Minute},
		{`{"presign": {"expires": "10m", "window": 0}}`, 0},
	} {
		c, _ := mustParse(t, tt.doc)
		if got := c.Presign.SigningWindow(); got != tt.want {
			t.Errorf("%s: window %s, want %s", tt.doc, got, tt.want)
		}
	}
}

// TestErrorsNeverEchoUserinfo: a URL or host with user information in any
// field that takes one fails with the field named and the problem said, and
// the password never appears (issue 9, item 2).
func TestErrorsNeverEchoUserinfo(t *testing.T) {
	const secret = "S3CR3T-pa55"
	for _, tt := range []struct{ name, doc, field string }{
		{"api_server", `{"clearml": {"api_server": "https://u:` + secret + `@api.example.com"}}`, "clearml.api_server"},
		{"api_server unparsable", `{"clearml": {"api_server": "https://u:` + secret + `@api example.com"}}`, "clearml.api_server"},
		{"api_server bad port", `{"clearml": {"api_server": "https://u:` + secret + `@api:x"}}`, "clearml.api_server"},
		{"google endpoint", `{"storage": {"google": {"endpoint": "http://u:` + secret + `@gcs:4443"}}}`, "storage.google.endpoint"},
		{"google endpoint unparsable", `{"storage": {"google": {"endpoint": "http://u:` + secret + `@gc s:4443"}}}`, "storage.google.endpoint"},
		{"azure endpoint", `{"storage": {"azure": {"containers": [{"account_name": "acct", "endpoint": "http://u:` + secret + `@azurite:10000/acct"}]}}}`, "storage.azure.containers[0].endpoint"},
		{"azure endpoint unparsable", `{"storage": {"azure": {"containers": [{"account_name": "acct", "endpoint": "http://u:` + secret + `@azu rite:10000"}]}}}`, "storage.azure.containers[0].endpoint"},
		{"bucket host", `{"storage": {"aws": {"buckets": [{"host": "u:` + secret + `@minio:9000"}]}}}`, "storage.aws.buckets[0].host"},
		{"bucket host with scheme", `{"storage": {"aws": {"buckets": [{"host": "https://u:` + secret + `@minio:9000"}]}}}`, "storage.aws.buckets[0].host"},
		{"public_host", `{"storage": {"aws": {"buckets": [{"host": "minio:9000", "public_host": "u:` + secret + `@s3.example.com"}]}}}`, "storage.aws.buckets[0].public_host"},
		{"public_host with scheme", `{"storage": {"aws": {"buckets": [{"host": "minio:9000", "public_host": "https://u:` + secret + `@s3.example.com/"}]}}}`, "storage.aws.buckets[0].public_host"},
		{"cors origin", `{"presign": {"cors_origins": ["https://u:` + secret + `@app.example.com"]}}`, "presign.cors_origins[0]"},
		{"cors origin with path", `{"presign": {"cors_origins": ["https://u:` + secret + `@app.example.com/x"]}}`, "presign.cors_origins[0]"},
		{"cors origin unparsable", `{"presign": {"cors_origins": ["https://u:` + secret + `@app example.com"]}}`, "presign.cors_origins[0]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Parse([]byte(tt.doc))
			checkFieldErr(t, err, tt.field, "")
			if msg := err.Error(); strings.Contains(msg, secret) || strings.Contains(msg, "u:") {
				t.Fatalf("error echoes user information: %s", msg)
			} else if len(msg) < len("config: "+tt.field+": ")+10 {
				t.Fatalf("error %q does not say what is wrong", msg)
			}
		})
	}
	if got := quoteRedacted("https://u:p@h/x@y"); got != `"https://REDACTED@h/x@y"` {
		t.Errorf("quoteRedacted = %s", got)
	}
}
