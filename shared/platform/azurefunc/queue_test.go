package azurefunc

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func loadInvocation(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "events", "azure", "cleanup", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestQueueMessageFromSamples: the message arrives whole whether the host
// passes it as a JSON string or already parsed, with its id and count.
func TestQueueMessageFromSamples(t *testing.T) {
	for _, tc := range []struct {
		file  string
		count int
	}{{"queue-invocation.json", 1}, {"queue-invocation-object.json", 2}} {
		var inv Invocation
		if err := json.Unmarshal(loadInvocation(t, tc.file), &inv); err != nil {
			t.Fatal(err)
		}
		m, err := inv.QueueMessage("message")
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		var doc map[string]any
		if err := json.Unmarshal(m.Body, &doc); err != nil || doc["version"] != 1.0 {
			t.Fatalf("%s: body %q is not the deletion message", tc.file, m.Body)
		}
		if m.ID == "" || m.DequeueCount != tc.count {
			t.Fatalf("%s: %+v", tc.file, m)
		}
	}
}

func TestQueueMessageForms(t *testing.T) {
	body := `{"version":1,"urls":["s3://b/k"]}`
	for name, tc := range map[string]struct {
		data, meta string
		want       string
		count      int
	}{
		"string":               {`{"message":` + quote(body) + `}`, `{"DequeueCount":3,"Id":"x"}`, body, 3},
		"object":               {`{"message":` + body + `}`, `{"DequeueCount":"4","Id":"x"}`, body, 4},
		"still base64":         {`{"message":` + quote(base64.StdEncoding.EncodeToString([]byte(body))) + `}`, `{}`, body, 0},
		"plain text stays":     {`{"message":"not json"}`, `{}`, "not json", 0},
		"base64 of non-object": {`{"message":` + quote(base64.StdEncoding.EncodeToString([]byte("hello"))) + `}`, `{}`, base64.StdEncoding.EncodeToString([]byte("hello")), 0},
	} {
		var inv Invocation
		if err := json.Unmarshal([]byte(`{"Data":`+tc.data+`,"Metadata":`+tc.meta+`}`), &inv); err != nil {
			t.Fatal(err)
		}
		m, err := inv.QueueMessage("message")
		if err != nil || string(m.Body) != tc.want || m.DequeueCount != tc.count {
			t.Errorf("%s: %q %d %v", name, m.Body, m.DequeueCount, err)
		}
	}
	var inv Invocation
	_ = json.Unmarshal([]byte(`{"Data":{"other":"x"}}`), &inv)
	if _, err := inv.QueueMessage("message"); err == nil || !strings.Contains(err.Error(), "Data.message") {
		t.Fatalf("missing binding: %v", err)
	}
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

// TestQueueTriggerAnswers: 200 with the empty result on success, non-2xx
// with the reason in Logs on failure, 400 for an invocation without the
// binding, and 404 for a request that came through the front end.
func TestQueueTriggerAnswers(t *testing.T) {
	var got QueueMessage
	h := QueueTrigger("message", func(ctx context.Context, m QueueMessage) error {
		got = m
		if strings.Contains(string(m.Body), "fail") {
			return errors.New("cleanup x: 1 transient and 0 permanent failures")
		}
		return nil
	})
	post := func(body []byte, hdr ...string) (*httptest.ResponseRecorder, InvocationResult) {
		r := httptest.NewRequest(http.MethodPost, "/Cleanup", bytes.NewReader(body))
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var res InvocationResult
		_ = json.Unmarshal(w.Body.Bytes(), &res)
		return w, res
	}
	w, res := post(loadInvocation(t, "queue-invocation.json"))
	if w.Code != 200 || w.Body.String() != `{"Outputs":{},"Logs":[],"ReturnValue":null}`+"\n" {
		t.Fatalf("success: %d %s", w.Code, w.Body)
	}
	if got.ID != "c0a8f2d4-1e3b-4c5d-8a9e-7f6b5a4c3d2e" {
		t.Fatalf("message %+v", got)
	}
	w, res = post([]byte(`{"Data":{"message":"{\"version\":1,\"task\":\"fail\"}"},"Metadata":{"DequeueCount":1}}`))
	if w.Code != http.StatusInternalServerError || len(res.Logs) != 1 || !strings.Contains(res.Logs[0], "transient") || res.Outputs == nil {
		t.Fatalf("failure: %d %s", w.Code, w.Body)
	}
	if w, _ = post([]byte(`{"Data":{}}`)); w.Code != http.StatusBadRequest {
		t.Fatalf("no binding: %d", w.Code)
	}
	if w, _ = post([]byte(`not json`)); w.Code != http.StatusBadRequest {
		t.Fatalf("not JSON: %d", w.Code)
	}
	got = QueueMessage{}
	for _, h := range []string{"X-ARR-LOG-ID", "X-Forwarded-For", "X-Original-URL"} {
		if w, _ = post(loadInvocation(t, "queue-invocation.json"), h, "1"); w.Code != http.StatusNotFound || got.ID != "" {
			t.Fatalf("external request with %s: %d, handler ran: %v", h, w.Code, got.ID != "")
		}
	}
}

// TestHTTPRequestKeepsRawQuery: Data.req.Url's query is taken whole, a '#'
// included, and the path stays as sent.
func TestHTTPRequestKeepsRawQuery(t *testing.T) {
	hr := HTTPRequest{URL: "https://app.azurewebsites.net/presign?url=s3%3A%2F%2Fb%2Fa%2Bb#x&format=json", Method: "GET"}
	r, err := hr.Request(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r.URL.Path != "/presign" || r.URL.RawQuery != "url=s3%3A%2F%2Fb%2Fa%2Bb#x&format=json" || r.Host != "app.azurewebsites.net" {
		t.Fatalf("path %q query %q host %q", r.URL.Path, r.URL.RawQuery, r.Host)
	}
	if _, err := (HTTPRequest{URL: "ftp://x/y", Method: "GET"}).Request(context.Background()); err == nil {
		t.Fatal("a non-http Url was accepted")
	}
}
