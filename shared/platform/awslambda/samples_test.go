package awslambda

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"path"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/storagegate/storagegate/shared/cleanup"
	"github.com/storagegate/storagegate/shared/platform/internal/samples"
	"github.com/storagegate/storagegate/shared/sweep"
)

// TestSamplesRoundTrip: every sample in events/aws decodes into the
// aws-lambda-go type of its trigger, encodes back to the same JSON, and runs
// through its handler: a function URL request reaches the http.Handler with
// its method, path, raw query, cookies, body and request id, and its answer
// encodes as the function URL's response; an SQS batch hands every record's
// body to the cleanup pipeline and reports no failure; a scheduled event runs one
// sweep.
func TestSamplesRoundTrip(t *testing.T) {
	files := samples.Files(t, "aws")
	for _, name := range samples.Names(files) {
		b := files[name]
		switch path.Dir(name) {
		case "presign":
			var ev events.LambdaFunctionURLRequest
			roundTrip(t, name, b, &ev)
			want := []byte(ev.Body)
			if ev.IsBase64Encoded {
				want, _ = base64.StdEncoding.DecodeString(ev.Body)
			}
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				switch {
				case r.Method != ev.RequestContext.HTTP.Method || r.URL.Path != ev.RawPath || r.URL.RawQuery != ev.RawQueryString:
					t.Errorf("%s: request %s %s?%s", name, r.Method, r.URL.Path, r.URL.RawQuery)
				case string(body) != string(want) || r.Header.Get("X-Request-Id") != ev.RequestContext.RequestID:
					t.Errorf("%s: body %q, request id %q", name, body, r.Header.Get("X-Request-Id"))
				case len(ev.Cookies) > 0 && len(r.Cookies()) != len(ev.Cookies):
					t.Errorf("%s: cookies %v", name, r.Cookies())
				}
				http.SetCookie(w, &http.Cookie{Name: "s", Value: "1"})
				w.Header().Set("Location", "https://signed.example/x")
				w.WriteHeader(http.StatusFound)
			})
			res, err := FunctionURL(h)(context.Background(), ev)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			var back events.LambdaFunctionURLResponse
			roundTrip(t, name+" response", mustJSON(t, res), &back)
			if back.StatusCode != http.StatusFound || back.Headers["Location"] != "https://signed.example/x" || len(back.Cookies) != 1 {
				t.Errorf("%s: response %+v", name, back)
			}
		case "cleanup":
			var ev events.SQSEvent
			roundTrip(t, name, b, &ev)
			p := &fakeProcessor{}
			resp, err := SQS(p)(context.Background(), ev)
			if err != nil || len(resp.BatchItemFailures) != 0 || len(p.ids) != len(ev.Records) {
				t.Fatalf("%s: %v %+v, %d of %d records run", name, err, resp, len(p.ids), len(ev.Records))
			}
			for _, r := range ev.Records {
				if _, err := cleanup.ParseMessage([]byte(r.Body)); err != nil || r.MessageId == "" {
					t.Errorf("%s: record %q: %v", name, r.MessageId, err)
				}
			}
			var back events.SQSEventResponse
			roundTrip(t, name+" response", mustJSON(t, resp), &back)
		case "sweep":
			var ev events.EventBridgeEvent
			roundTrip(t, name, b, &ev)
			f := &fakeRunner{status: sweep.StatusOK}
			if _, err := Scheduled(f)(context.Background(), ev); err != nil || f.runs != 1 {
				t.Fatalf("%s: %v, %d runs", name, err, f.runs)
			}
		default:
			t.Fatalf("%s: a sample of no trigger this package serves", name)
		}
	}
}

// roundTrip decodes b into v and checks that v encodes back to the same
// JSON, but for what aws-lambda-go's types are known to write differently
// (alike).
func roundTrip(t *testing.T, name string, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	samples.JSONEqual(t, name, alike(t, name, b), mustJSON(t, v))
}

// alike rewrites a sample where aws-lambda-go's types cannot give it back,
// and fails the test if such a member holds anything but the one value the
// platform sends:
//
//   - LambdaFunctionURLRequest has no routeKey, top level or in
//     requestContext, nor requestContext.stage: a function URL always sends
//     "$default" in all three (the function URL payload in the Lambda
//     developer guide), and the adapter reads none of them;
//   - SQSMessage always writes md5OfMessageAttributes, which SQS leaves out
//     of a record without message attributes: written back as "".
func alike(t *testing.T, name string, b []byte) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if doc["version"] == "2.0" {
		rc, _ := doc["requestContext"].(map[string]any)
		for _, m := range []struct {
			obj map[string]any
			key string
		}{{doc, "routeKey"}, {rc, "routeKey"}, {rc, "stage"}} {
			if v, ok := m.obj[m.key]; ok && v != "$default" {
				t.Errorf("%s: %s is %v, a function URL sends $default", name, m.key, v)
			}
			delete(m.obj, m.key)
		}
	}
	if recs, ok := doc["Records"].([]any); ok {
		for _, r := range recs {
			if r, ok := r.(map[string]any); ok && r["eventSource"] == "aws:sqs" {
				if _, ok := r["md5OfMessageAttributes"]; !ok {
					r["md5OfMessageAttributes"] = ""
				}
			}
		}
	}
	return mustJSON(t, doc)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
