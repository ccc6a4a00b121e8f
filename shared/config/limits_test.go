package config

import (
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
