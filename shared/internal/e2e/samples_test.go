package e2e

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/storagegate/storagegate/shared/platform/azurefunc"
)

// allSamples loads every presign sample in events/, whatever its platform's
// shape, as one comparable request (the Lambda function URL event's fields),
// pointed at this world. Keys are paths under events/.
func (w *world) allSamples(t *testing.T) map[string]events.LambdaFunctionURLRequest {
	t.Helper()
	out := map[string]events.LambdaFunctionURLRequest{}
	dir := filepath.Join(w.root, "events")
	paths, _ := filepath.Glob(filepath.Join(dir, "*", "presign", "*"))
	for _, p := range paths {
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var ev events.LambdaFunctionURLRequest
		switch {
		case strings.HasPrefix(rel, "aws/"):
			if err := json.Unmarshal(b, &ev); err != nil {
				t.Fatalf("%s: %v", rel, err)
			}
		case strings.HasSuffix(p, ".http"):
			r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(b)))
			if err != nil {
				t.Fatalf("%s: %v", rel, err)
			}
			ev = fromRequest(t, r)
		case strings.HasSuffix(p, ".json") && strings.HasPrefix(rel, "azure/"):
			var inv azurefunc.Invocation
			var hr azurefunc.HTTPRequest
			if err := json.Unmarshal(b, &inv); err != nil || json.Unmarshal(inv.Data["req"], &hr) != nil {
				t.Fatalf("%s: not an invocation", rel)
			}
			r, err := hr.Request(t.Context())
			if err != nil {
				t.Fatalf("%s: %v", rel, err)
			}
			ev = fromRequest(t, r)
		default:
			t.Fatalf("%s: unknown sample kind", rel)
		}
		out[rel] = w.adapt(ev)
	}
	return out
}

// fromRequest turns an HTTP request into the comparable form.
func fromRequest(t *testing.T, r *http.Request) events.LambdaFunctionURLRequest {
	body, _ := io.ReadAll(r.Body)
	ev := events.LambdaFunctionURLRequest{
		RawPath: r.URL.EscapedPath(), RawQueryString: r.URL.RawQuery, Headers: map[string]string{},
		Body: base64.StdEncoding.EncodeToString(body), IsBase64Encoded: true,
	}
	ev.RequestContext.HTTP.Method = r.Method
	for k, v := range r.Header {
		if strings.EqualFold(k, "Cookie") {
			for _, c := range v {
				for _, part := range strings.Split(c, ";") {
					ev.Cookies = append(ev.Cookies, strings.TrimSpace(part))
				}
			}
			continue
		}
		ev.Headers[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	if len(body) == 0 {
		ev.Body, ev.IsBase64Encoded = "", false
	}
	return ev
}

// fromAzureInvocation posts the request as the Functions host does without
// request forwarding: Data.req in, Outputs.res out.
func fromAzureInvocation(t *testing.T, base string, ev events.LambdaFunctionURLRequest) answer {
	t.Helper()
	body := ev.Body
	if ev.IsBase64Encoded {
		raw, _ := base64.StdEncoding.DecodeString(body)
		body = string(raw)
	}
	hr := azurefunc.HTTPRequest{
		URL: "https://storagegate.azurewebsites.net" + ev.RawPath, Method: ev.RequestContext.HTTP.Method,
		Headers: map[string][]string{}, Query: map[string]string{}, Params: map[string]string{"path": strings.TrimPrefix(ev.RawPath, "/")},
	}
	if ev.RawQueryString != "" {
		hr.URL += "?" + ev.RawQueryString
	}
	for k, v := range ev.Headers {
		hr.Headers[http.CanonicalHeaderKey(k)] = []string{v}
	}
	if len(ev.Cookies) > 0 {
		hr.Headers["Cookie"] = []string{strings.Join(ev.Cookies, "; ")}
	}
	if body != "" {
		hr.Body, _ = json.Marshal(body)
	}
	req, _ := json.Marshal(map[string]any{"req": hr})
	inv, _ := json.Marshal(map[string]any{"Data": json.RawMessage(req), "Metadata": map[string]any{"sys": map[string]string{"MethodName": "Presign"}}})
	resp, err := http.Post(base+"/Presign", "application/json", bytes.NewReader(inv))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Outputs struct {
			Res azurefunc.HTTPResponse `json:"res"`
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("invocation answer %d: %v", resp.StatusCode, err)
	}
	res := out.Outputs.Res
	a := answer{Status: res.StatusCode, Headers: map[string]string{}, Body: res.Body, Location: res.Headers["Location"]}
	for _, h := range compared {
		a.Headers[h] = res.Headers[h]
	}
	return a
}
