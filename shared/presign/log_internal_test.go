package presign

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"regexp"
	"testing"
	"time"
)

// TestAuditLineIsSlogs: the hand-built audit line is the line slog's
// JSONHandler writes for the same record, byte for byte but the time.
func TestAuditLineIsSlogs(t *testing.T) {
	exp := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.FixedZone("x", 3600))
	utc := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, rec := range []logRecord{
		{rid: "abc-1", method: "GET", path: "/presign", status: 302, user: "alice", company: "c1", bucket: "b", key: "a/b c.txt", expires: exp},
		{rid: "r", method: "HEAD", path: "/x\"y\\z\n\t\r\x01\x7f<>&", status: 404, expires: utc},
		{rid: "r", method: "POST", path: "/presign", status: 200, user: "u\u2028\u2029", company: "ü", urls: 3},
		{rid: "r", method: "GET", path: "/", status: 503, err: "upstream: \xff\xfe bad utf-8 \xe2\x82", bucket: "b", key: "k\u00e9\U0001F600"},
	} {
		var fast, slow bytes.Buffer
		h := &Handler{audit: &fast}
		h.logRequest(context.Background(), &rec)
		h = &Handler{log: slog.New(slog.NewJSONHandler(&slow, nil))}
		h.logRequest(context.Background(), &rec)
		timeRE := regexp.MustCompile(`^\{"time":"[^"]+"`)
		f, s := timeRE.ReplaceAll(fast.Bytes(), nil), timeRE.ReplaceAll(slow.Bytes(), nil)
		if !bytes.Equal(f, s) {
			t.Errorf("hand-built %s\nslog       %s", fast.Bytes(), slow.Bytes())
		}
		var v map[string]any
		if err := json.Unmarshal(fast.Bytes(), &v); err != nil {
			t.Errorf("not JSON: %s", fast.Bytes())
		}
		if tm, err := time.Parse(time.RFC3339Nano, v["time"].(string)); err != nil || time.Since(tm) > time.Minute {
			t.Errorf("time %v: %v", v["time"], err)
		}
	}
}

// TestAppendTime: the hand-written UTC times are AppendFormat's.
func TestAppendTime(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2026, 3, 1, 2, 3, 4, 0, time.UTC), time.Date(2026, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC), time.Date(2026, 3, 1, 2, 3, 4, 120000000, time.UTC),
		time.Date(2026, 3, 1, 2, 3, 4, 5, time.FixedZone("x", -5400)), time.Now(), time.Now().UTC(),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		if got, want := string(appendTime(nil, tm, true)), tm.Format("2006-01-02T15:04:05.000Z07:00"); got != want {
			t.Errorf("millis %s, want %s", got, want)
		}
		if got, want := string(appendTime(nil, tm, false)), tm.Format(time.RFC3339Nano); got != want {
			t.Errorf("nano %s, want %s", got, want)
		}
	}
}

func BenchmarkAuditLine(b *testing.B) {
	rec := logRecord{rid: "0123456789ab-1x", method: "GET", path: "/presign", status: 302, user: "alice", company: "c1", bucket: "artifacts", key: "proj/task.1/metrics/loss/iter_000123.png", expires: time.Now()}
	var w discard
	b.Run("handbuilt", func(b *testing.B) {
		h := &Handler{audit: w}
		b.ReportAllocs()
		for b.Loop() {
			h.logRequest(context.Background(), &rec)
		}
	})
	b.Run("slog", func(b *testing.B) {
		h := &Handler{log: slog.New(slog.NewJSONHandler(w, nil))}
		b.ReportAllocs()
		for b.Loop() {
			h.logRequest(context.Background(), &rec)
		}
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
