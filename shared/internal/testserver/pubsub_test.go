package testserver

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestPubSub(t *testing.T) {
	ps := StartPubSub(t)

	type push struct {
		Message struct {
			Data       string            `json:"data"`
			Attributes map[string]string `json:"attributes"`
			MessageID  string            `json:"messageId"`
		} `json:"message"`
	}
	got := make(chan push, 10)
	var attempts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p push
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			t.Errorf("push body: %v", err)
		}
		// Refuse the first delivery: the emulator must push the message again.
		if attempts.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		got <- p
	}))
	defer srv.Close()

	ps.CreateTopic(t, "deletions")
	ps.CreatePushSubscription(t, "cleanup", "deletions", srv.URL+"/push")
	id := ps.Publish(t, "deletions", []byte(`{"urls":[]}`), map[string]string{"k": "v"})

	select {
	case p := <-got:
		data, _ := base64.StdEncoding.DecodeString(p.Message.Data)
		if p.Message.MessageID != id || string(data) != `{"urls":[]}` || p.Message.Attributes["k"] != "v" {
			t.Fatalf("pushed %+v (data %q), want id %s", p, data, id)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no push redelivery within 30 s (%d attempts); emulator output:\n%s", attempts.Load(), ps.Process.Output())
	}
}
