// Package azurefunc speaks the Azure Functions custom-handler protocol. The
// Functions host either forwards an HTTP trigger's request unchanged
// (enableForwardingHttpRequest, which storagegate's host.json turns off) or
// posts an invocation, {"Data": {"req": {...}}, "Metadata": {...}} to
// /<FunctionName>, and expects {"Outputs": {"res": {...}}, "Logs": [],
// "ReturnValue": null}. Both forms reach the same http.Handler. Queue and
// timer triggers are invocations too (QueueTrigger, TimerTrigger); App routes
// all three of storagegate's functions, and functions/azure serves it.
package azurefunc

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/storagegate/storagegate/shared/platform/httpbuffer"
)

// Invocation is what the host posts to /<FunctionName>.
type Invocation struct {
	Data     map[string]json.RawMessage `json:"Data"`
	Metadata map[string]json.RawMessage `json:"Metadata"`
}

// HTTPRequest is an HTTP trigger's request inside Data (binding "req").
type HTTPRequest struct {
	URL     string              `json:"Url"`
	Method  string              `json:"Method"`
	Query   map[string]string   `json:"Query"`
	Headers map[string][]string `json:"Headers"`
	Params  map[string]string   `json:"Params"`
	Body    json.RawMessage     `json:"Body"`
	// Identities are the caller's identities as App Service authentication
	// saw them; unused (the ClearML check is the authentication), kept so
	// that a request encodes back as it came.
	Identities json.RawMessage `json:"Identities,omitempty"`
}

// HTTPResponse is an HTTP output binding's value ("res").
type HTTPResponse struct {
	StatusCode int               `json:"statusCode"`
	Headers    map[string]string `json:"headers"`
	Body       string            `json:"body"`
}

// InvocationResult is the answer to an invocation.
type InvocationResult struct {
	Outputs     map[string]any `json:"Outputs"`
	Logs        []string       `json:"Logs"`
	ReturnValue any            `json:"ReturnValue"`
}

// ListenAddr is where the host expects the handler: 127.0.0.1 and
// FUNCTIONS_CUSTOMHANDLER_PORT.
func ListenAddr(getenv func(string) string) string {
	port := getenv("FUNCTIONS_CUSTOMHANDLER_PORT")
	if port == "" {
		port = "8080"
	}
	return "127.0.0.1:" + port
}

// HTTPTrigger answers an invocation of an HTTP-triggered function by
// rebuilding the original request from Data.req and serving it with h.
func HTTPTrigger(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var inv Invocation
		if err := json.NewDecoder(io.LimitReader(r.Body, 8<<20)).Decode(&inv); err != nil {
			http.Error(w, "azurefunc: invocation is not JSON", http.StatusBadRequest)
			return
		}
		var hr HTTPRequest
		if err := json.Unmarshal(inv.Data["req"], &hr); err != nil || hr.Method == "" {
			http.Error(w, "azurefunc: invocation has no Data.req", http.StatusBadRequest)
			return
		}
		req, err := hr.Request(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rec := httpbuffer.New()
		h.ServeHTTP(rec, req)
		res := HTTPResponse{StatusCode: rec.Status(), Headers: map[string]string{}}
		res.Body, _ = rec.Body()
		for k, v := range rec.Header() {
			res.Headers[k] = strings.Join(v, ", ")
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(InvocationResult{Outputs: map[string]any{"res": res}, Logs: []string{}})
	})
}

// Request rebuilds the original HTTP request. The query string is taken
// raw from Url, as the client sent it (everything after the first '?', a
// '#' included), never re-encoded from Query.
func (hr HTTPRequest) Request(ctx context.Context) (*http.Request, error) {
	rest, ok := strings.CutPrefix(hr.URL, "https://")
	if !ok {
		rest, ok = strings.CutPrefix(hr.URL, "http://")
	}
	if !ok {
		return nil, fmt.Errorf("azurefunc: Data.req.Url %q is not an http(s) URL", hr.URL)
	}
	hostPath, rawQuery, _ := strings.Cut(rest, "?")
	host, path, _ := strings.Cut(hostPath, "/")
	var body []byte
	if len(hr.Body) > 0 && string(hr.Body) != "null" {
		var s string
		if json.Unmarshal(hr.Body, &s) == nil {
			body = []byte(s)
		} else {
			body = hr.Body // a JSON body the host already parsed
		}
	}
	req, err := httpbuffer.NewRequest(ctx, hr.Method, host, "/"+path, rawQuery, body)
	if err != nil {
		return nil, fmt.Errorf("azurefunc: %w", err)
	}
	for k, vs := range hr.Headers {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	return req, nil
}
