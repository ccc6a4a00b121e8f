package azurefunc

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTimerTriggerSample: the timer invocation in events/azure/sweep
// reaches the function with its schedule status; an error is a 500.
func TestTimerTriggerSample(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "events", "azure", "sweep", "timer-invocation.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got TimerInfo
	fail := false
	h := TimerTrigger("timer", func(_ context.Context, ti TimerInfo) error {
		got = ti
		if fail {
			return errors.New("2 tasks failed")
		}
		return nil
	})
	for _, tc := range []struct {
		fail bool
		want int
	}{{false, 200}, {true, 500}} {
		fail = tc.fail
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/Sweep", strings.NewReader(string(b))))
		if rec.Code != tc.want || !strings.Contains(rec.Body.String(), `"Outputs":{}`) {
			t.Fatalf("answer %d %s", rec.Code, rec.Body)
		}
	}
	if got.ScheduleStatus == nil || got.ScheduleStatus.Next != "2026-11-23T03:00:00+00:00" || got.IsPastDue || !got.Schedule.AdjustForDST {
		t.Fatalf("timer %+v", got)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/Sweep", strings.NewReader(`{"Data": {}}`)))
	if rec.Code != 400 {
		t.Fatalf("no timer: %d", rec.Code)
	}
}
