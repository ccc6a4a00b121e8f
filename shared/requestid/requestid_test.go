package requestid_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/storagegate/storagegate/shared/requestid"
)

func TestFromClient(t *testing.T) {
	for _, c := range []struct {
		header string
		kept   bool
	}{
		{"abc-DEF_1.2", true},
		{strings.Repeat("a", requestid.MaxLen), true},
		{strings.Repeat("a", requestid.MaxLen+1), false},
		{"", false},
		{"with space", false},
		{"line\nbreak", false},
		{`quote"`, false},
		{"ünïcode", false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header["X-Request-Id"] = []string{c.header}
		got := requestid.FromClient(r)
		if (got == c.header && got != "") != c.kept {
			t.Errorf("%q: kept %q, want kept %v", c.header, got, c.kept)
		}
		if of := requestid.Of(r); c.kept && of != c.header || !c.kept && (of == "" || of == c.header) {
			t.Errorf("%q: Of = %q", c.header, of)
		}
	}
}

func TestNewAndContext(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := requestid.New()
		if seen[id] || len(id) > requestid.MaxLen {
			t.Fatalf("id %q repeated or too long", id)
		}
		seen[id] = true
	}
	if id := requestid.From(requestid.With(context.Background(), "msg-1")); id != "msg-1" {
		t.Errorf("From(With) = %q", id)
	}
	if a, b := requestid.From(context.Background()), requestid.From(context.Background()); a == "" || a == b {
		t.Errorf("From without an id: %q, %q", a, b)
	}
}
