package azurefunc

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"testing"

	"github.com/storagegate/storagegate/shared/cleanup"
	"github.com/storagegate/storagegate/shared/platform/internal/samples"
	"github.com/storagegate/storagegate/shared/sweep"
)

type fakeProcessor struct{ bodies [][]byte }

func (f *fakeProcessor) Process(_ context.Context, body []byte) cleanup.Summary {
	f.bodies = append(f.bodies, body)
	return cleanup.Summary{Status: cleanup.StatusOK}
}

type fakeRunner struct{ runs int }

func (f *fakeRunner) Run(context.Context) *sweep.Report {
	f.runs++
	return &sweep.Report{Status: sweep.StatusOK}
}

// seen is what the fake presign handler was handed.
type seen struct {
	method, path, rawQuery, host string
	header                       http.Header
}

// TestSamplesRoundTrip: every sample in events/azure reads as what it is,
// encodes back the same, and goes through App to the function it is for.
// An invocation's binding (Data.req, Data.message, Data.timer) decodes into
// this package's type and encodes back to the same JSON; a forwarded
// request (.http) reads and writes back as HTTP, is told external, and
// reaches the presign handler as it came.
func TestSamplesRoundTrip(t *testing.T) {
	var got []seen
	presign := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Host, r.Header})
		w.Header().Set("Location", "https://signed.example/x")
		w.WriteHeader(http.StatusFound)
	})
	p, s := &fakeProcessor{}, &fakeRunner{}
	h := App(presign, p, s)
	files := samples.Files(t, "azure")
	for _, name := range samples.Names(files) {
		b := files[name]
		fn := path.Dir(name)
		got, p.bodies, s.runs = nil, nil, 0
		if strings.HasSuffix(name, ".http") {
			r := samples.Request(t, name, b)
			if fn != "presign" || !ExternalRequest(r) {
				t.Fatalf("%s: a forwarded request is presign's, from outside", name)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != http.StatusFound || len(got) != 1 || got[0].method != r.Method || got[0].path != r.URL.Path ||
				got[0].rawQuery != r.URL.RawQuery || got[0].header.Get("Cookie") != r.Header.Get("Cookie") {
				t.Errorf("%s: %d, handler saw %+v", name, rec.Code, got)
			}
			continue
		}
		var inv Invocation
		if err := json.Unmarshal(b, &inv); err != nil {
			t.Fatalf("%s: not an invocation: %v", name, err)
		}
		again, _ := json.Marshal(inv)
		samples.JSONEqual(t, name, b, again)
		var status int
		switch fn {
		case "presign":
			var hr HTTPRequest
			if err := json.Unmarshal(inv.Data["req"], &hr); err != nil || hr.Method == "" {
				t.Fatalf("%s: Data.req: %v", name, err)
			}
			again, _ := json.Marshal(hr)
			samples.JSONEqual(t, name+" Data.req", inv.Data["req"], again)
			var res InvocationResult
			status, res = post(t, h, "/Presign", b)
			out, _ := json.Marshal(res.Outputs["res"])
			var hres HTTPResponse
			_ = json.Unmarshal(out, &hres)
			_, rawQuery, _ := strings.Cut(hr.URL, "?")
			if len(got) != 1 || got[0].method != hr.Method || got[0].path != "/presign" || got[0].rawQuery != rawQuery ||
				got[0].header.Get("Authorization") != hr.Headers["Authorization"][0] {
				t.Errorf("%s: handler saw %+v", name, got)
			}
			if hres.StatusCode != http.StatusFound || hres.Headers["Location"] != "https://signed.example/x" {
				t.Errorf("%s: Outputs.res %s", name, out)
			}
		case "cleanup":
			m, err := inv.QueueMessage(QueueBinding)
			if err != nil || m.ID == "" {
				t.Fatalf("%s: %+v %v", name, m, err)
			}
			if _, err := cleanup.ParseMessage(m.Body); err != nil {
				t.Errorf("%s: not a deletion message: %v", name, err)
			}
			status, _ = post(t, h, "/Cleanup", b)
			if len(p.bodies) != 1 || !bytes.Equal(p.bodies[0], m.Body) {
				t.Errorf("%s: the pipeline got %q", name, p.bodies)
			}
		case "sweep":
			ti, err := inv.Timer(TimerBinding)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			again, _ := json.Marshal(ti)
			samples.JSONEqual(t, name+" Data.timer", inv.Data[TimerBinding], again)
			status, _ = post(t, h, "/Sweep", b)
			if s.runs != 1 {
				t.Errorf("%s: %d runs", name, s.runs)
			}
		default:
			t.Fatalf("%s: a sample of no function App serves", name)
		}
		if status != http.StatusOK {
			t.Errorf("%s: answered %d", name, status)
		}
	}
}

func post(t *testing.T, h http.Handler, path string, body []byte) (int, InvocationResult) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body)))
	b, _ := io.ReadAll(rec.Body)
	var res InvocationResult
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("%s: the answer is not an invocation result: %s", path, b)
	}
	return rec.Code, res
}
