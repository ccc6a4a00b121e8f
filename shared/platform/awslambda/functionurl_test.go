package awslambda

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// TestRoundTrip: the raw query string (not queryStringParameters), the
// Cookies field, a base64 body and the request id reach the handler; its
// Set-Cookie, headers, status and a binary body come back in the function
// URL's response shape.
func TestRoundTrip(t *testing.T) {
	ev := events.LambdaFunctionURLRequest{
		RawPath:               "/presign",
		RawQueryString:        "url=s3%3A%2F%2Fb%2Fa%2Bb%20c&x=1,2",
		QueryStringParameters: map[string]string{"url": "s3://b/a+b c", "x": "1,2"},
		Cookies:               []string{"a=1", "clearml_token_basic=tok"},
		Headers:               map[string]string{"host": "presign.example.com", "content-type": "application/json"},
		Body:                  base64.StdEncoding.EncodeToString([]byte(`{"urls":[]}`)),
		IsBase64Encoded:       true,
	}
	ev.RequestContext.HTTP.Method = "POST"
	ev.RequestContext.RequestID = "req-1"
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		c, err := r.Cookie("clearml_token_basic")
		switch {
		case r.Method != "POST" || r.URL.Path != "/presign" || r.URL.RawQuery != ev.RawQueryString:
			t.Errorf("request %s %s?%s", r.Method, r.URL.Path, r.URL.RawQuery)
		case err != nil || c.Value != "tok" || string(body) != `{"urls":[]}`:
			t.Errorf("cookie %v %v, body %q", c, err, body)
		case r.Header.Get("X-Request-Id") != "req-1" || r.Host != "presign.example.com":
			t.Errorf("request id %q, host %q", r.Header.Get("X-Request-Id"), r.Host)
		}
		w.Header().Add("Set-Cookie", "s=1")
		w.Header().Add("Vary", "Cookie")
		w.Header().Add("Vary", "Accept")
		w.WriteHeader(http.StatusTeapot)
		_, _ = w.Write([]byte{0xff, 0x00})
	})
	res, err := FunctionURL(h)(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusTeapot || len(res.Cookies) != 1 || res.Headers["Vary"] != "Cookie, Accept" {
		t.Fatalf("response %+v", res)
	}
	if !res.IsBase64Encoded || res.Body != base64.StdEncoding.EncodeToString([]byte{0xff, 0x00}) {
		t.Fatalf("binary body %q base64=%v", res.Body, res.IsBase64Encoded)
	}
	if _, err := FunctionURL(h)(context.Background(), events.LambdaFunctionURLRequest{Body: "!!", IsBase64Encoded: true}); err == nil {
		t.Fatal("a body that is not base64 was accepted")
	}
}

// TestQueryKeepsHash: a raw '#' in the query reaches the handler, which
// refuses the URL (400) as the local server does, instead of signing the
// object named by what precedes it.
func TestQueryKeepsHash(t *testing.T) {
	ev := events.LambdaFunctionURLRequest{RawPath: "/presign", RawQueryString: "url=s3://b/a#b.bin"}
	ev.RequestContext.HTTP.Method = "GET"
	r, err := HTTPRequest(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if r.URL.RawQuery != "url=s3://b/a#b.bin" || r.URL.Query().Get("url") != "s3://b/a#b.bin" {
		t.Fatalf("query %q", r.URL.RawQuery)
	}
}
