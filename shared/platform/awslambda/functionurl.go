package awslambda

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/storagegate/storagegate/shared/platform/httpbuffer"
)

// FunctionURL adapts h to a Lambda handler behind a BUFFERED function URL:
// events.LambdaFunctionURLRequest in, events.LambdaFunctionURLResponse out.
// aws-lambda-go's own lambdaurl package only does RESPONSE_STREAM, whose
// invoke mode and payload differ, hence this small adapter.
func FunctionURL(h http.Handler) func(context.Context, events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	return func(ctx context.Context, ev events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
		r, err := HTTPRequest(ctx, ev)
		if err != nil {
			return events.LambdaFunctionURLResponse{}, err
		}
		w := httpbuffer.New()
		h.ServeHTTP(w, r)
		return functionURLResponse(w), nil
	}
}

// HTTPRequest builds the http.Request the handler sees. The query is the raw
// query string as the client sent it (never the comma-joined
// queryStringParameters), and cookies come from the event's Cookies field.
func HTTPRequest(ctx context.Context, ev events.LambdaFunctionURLRequest) (*http.Request, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			// The prefix is the adapter's former package name, kept so that the
			// error the runtime reports stays word for word the same.
			return nil, fmt.Errorf("lambdahttp: body is not base64: %w", err)
		}
		body = b
	}
	host := ev.RequestContext.DomainName
	if h := ev.Headers["host"]; h != "" {
		host = h
	}
	r, err := httpbuffer.NewRequest(ctx, ev.RequestContext.HTTP.Method, host, ev.RawPath, ev.RawQueryString, body)
	if err != nil {
		return nil, fmt.Errorf("lambdahttp: %w", err)
	}
	for k, v := range ev.Headers {
		r.Header.Set(k, v)
	}
	if len(ev.Cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	if ev.RequestContext.RequestID != "" {
		r.Header.Set("X-Request-Id", ev.RequestContext.RequestID)
	}
	r.RemoteAddr = ev.RequestContext.HTTP.SourceIP
	return r, nil
}

// functionURLResponse is the function URL's answer: Set-Cookie values go in Cookies,
// every other header is one comma-joined value.
func functionURLResponse(w *httpbuffer.ResponseWriter) events.LambdaFunctionURLResponse {
	res := events.LambdaFunctionURLResponse{StatusCode: w.Status(), Headers: make(map[string]string, len(w.Header()))}
	for k, v := range w.Header() {
		if k == "Set-Cookie" {
			res.Cookies = v
			continue
		}
		res.Headers[k] = strings.Join(v, ", ")
	}
	res.Body, res.IsBase64Encoded = w.Body()
	return res
}
