package clearmlauth

import (
	"net/http/httptest"
	"testing"
)

// TestFirstCookieAsSentIsTheCredential: a configured cookie whose value Go's
// cookie parser would drop is still present, so it is the caller's (invalid)
// credential and the next cookie is never used (issue 9, item 5).
func TestFirstCookieAsSentIsTheCredential(t *testing.T) {
	names := []string{"clearml_token_basic", "clearml-token-k8s"}
	for _, tc := range []struct {
		name    string
		headers []string
		kind    Kind
		source  string
		token   string
	}{
		{"backslash", []string{`clearml_token_basic=a\b; clearml-token-k8s=good.tok.en`}, Invalid, "cookie:clearml_token_basic", ""},
		{"double quote inside", []string{`clearml_token_basic=a"b; clearml-token-k8s=good.tok.en`}, Invalid, "cookie:clearml_token_basic", ""},
		{"control byte", []string{"clearml_token_basic=a\x01b; clearml-token-k8s=good.tok.en"}, Invalid, "cookie:clearml_token_basic", ""},
		{"non-ASCII", []string{"clearml_token_basic=a\xffb; clearml-token-k8s=good.tok.en"}, Invalid, "cookie:clearml_token_basic", ""},
		{"space inside", []string{"clearml_token_basic=a b; clearml-token-k8s=good.tok.en"}, Invalid, "cookie:clearml_token_basic", ""},
		{"bad first, in a second header line", []string{"other=1", `clearml_token_basic=a\b`, "clearml-token-k8s=good.tok.en"}, Invalid, "cookie:clearml_token_basic", ""},
		{"configured order, not header order", []string{`clearml-token-k8s=good.tok.en; clearml_token_basic=x\y`}, Invalid, "cookie:clearml_token_basic", ""},
		{"second name when the first is absent", []string{`other=a\b; clearml-token-k8s=good.tok.en`}, Bearer, "cookie:clearml-token-k8s", "good.tok.en"},
		{"quoted value", []string{`clearml_token_basic="good.tok.en"`}, Bearer, "cookie:clearml_token_basic", "good.tok.en"},
		{"empty counts as absent", []string{`clearml_token_basic=; clearml-token-k8s=good.tok.en`}, Bearer, "cookie:clearml-token-k8s", "good.tok.en"},
		{"first of two with one name", []string{`clearml_token_basic=one.a.b; clearml_token_basic=two.a.b`}, Bearer, "cookie:clearml_token_basic", "one.a.b"},
		{"name is exact", []string{`xclearml_token_basic=a.b.c; clearml_token_basicx=d.e.f; clearml-token-k8s=good.tok.en`}, Bearer, "cookie:clearml-token-k8s", "good.tok.en"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/presign", nil)
			r.Header["Cookie"] = tc.headers
			c, ok := FromRequest(r, names)
			if !ok || c.Kind != tc.kind || c.Source != tc.source || c.Token != tc.token {
				t.Fatalf("got %v (ok %v, token %q), want %v from %s", c, ok, c.Token, tc.kind, tc.source)
			}
		})
	}
	r := httptest.NewRequest("GET", "/presign", nil)
	r.Header["Cookie"] = []string{"a=1; b=2"}
	if c, ok := FromRequest(r, names); ok {
		t.Fatalf("no configured cookie: got %v", c)
	}
}
