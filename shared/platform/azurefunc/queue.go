package azurefunc

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// MaxQueueMessage is the largest Storage Queue message (64 KiB of content);
// with the default base64 message encoding that is 48 KiB of payload.
const MaxQueueMessage = 64 * 1024

// QueueMessage is one Storage Queue message handed to a queue-triggered
// function.
type QueueMessage struct {
	// Body is the message as the producer wrote it: the host has already
	// undone the base64 encoding (host.json extensions.queues.messageEncoding).
	Body []byte
	// ID is the queue's message id.
	ID string
	// DequeueCount is how many times the message has been handed out,
	// this time included; past host.json's maxDequeueCount the host moves it
	// to <queue>-poison.
	DequeueCount int
}

// QueueTrigger answers the host's invocations of a queue-triggered function
// whose trigger binding is named binding. fn's nil is success: 200 with
// {"Outputs": {}, "Logs": [], "ReturnValue": null}, and the host deletes the
// message. An error is a 500 with the same shape and the error in Logs: the
// host counts a failed attempt, makes the message visible again, and after
// maxDequeueCount moves it to the poison queue.
//
// storagegate's host.json does not forward HTTP requests, so no client
// reaches this route. Should an operator turn forwarding on, a client could
// POST a forged invocation here through the presign function's catch-all
// route; requests bearing the App Service front end's headers are therefore
// refused as well: the host's own invocations never carry them.
func QueueTrigger(binding string, fn func(context.Context, QueueMessage) error) http.Handler {
	return bindingTrigger(4*MaxQueueMessage, func(inv Invocation) (QueueMessage, error) { return inv.QueueMessage(binding) }, fn)
}

// bindingTrigger answers the host's invocations of a non-HTTP trigger: a
// request from outside is 404; the invocation (at most limit bytes) is
// decoded and its binding extracted by bind (400 when either fails); fn's
// nil is 200, its error a 500 with the error in Logs.
func bindingTrigger[T any](limit int64, bind func(Invocation) (T, error), fn func(context.Context, T) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ExternalRequest(r) {
			http.NotFound(w, r)
			return
		}
		var inv Invocation
		if err := json.NewDecoder(io.LimitReader(r.Body, limit)).Decode(&inv); err != nil {
			writeResult(w, http.StatusBadRequest, "azurefunc: the invocation is not JSON")
			return
		}
		v, err := bind(inv)
		if err != nil {
			writeResult(w, http.StatusBadRequest, err.Error())
			return
		}
		if err := fn(r.Context(), v); err != nil {
			writeResult(w, http.StatusInternalServerError, strings.TrimSpace(err.Error()))
			return
		}
		writeResult(w, http.StatusOK, "")
	})
}

// ExternalRequest reports whether r came from outside through the App
// Service front end, which adds these headers to every request it passes on
// (the Functions host itself tells external requests by X-ARR-LOG-ID).
func ExternalRequest(r *http.Request) bool {
	for _, h := range []string{"X-ARR-LOG-ID", "X-Original-URL", "X-Forwarded-For", "X-Forwarded-Host", "Forwarded"} {
		if r.Header.Get(h) != "" {
			return true
		}
	}
	return false
}

func writeResult(w http.ResponseWriter, status int, log string) {
	res := InvocationResult{Outputs: map[string]any{}, Logs: []string{}}
	if log != "" {
		res.Logs = append(res.Logs, log)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(res)
}

// QueueMessage extracts the queue message bound as binding. The host passes
// the message as a JSON string, or, when the message is itself JSON, may
// pass it parsed; both give back the producer's bytes. A string that is
// still base64 (a host set to messageEncoding "none" reading a message a
// producer encoded) is decoded when it decodes to a JSON object.
func (inv Invocation) QueueMessage(binding string) (QueueMessage, error) {
	raw, ok := inv.Data[binding]
	raw = bytes.TrimSpace(raw)
	if !ok || len(raw) == 0 || string(raw) == "null" {
		return QueueMessage{}, fmt.Errorf("azurefunc: the invocation has no Data.%s", binding)
	}
	var m QueueMessage
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return QueueMessage{}, fmt.Errorf("azurefunc: Data.%s: %v", binding, err)
		}
		m.Body = []byte(s)
		if t := strings.TrimSpace(s); t != "" && t[0] != '{' {
			if b, err := base64.StdEncoding.DecodeString(t); err == nil && len(bytes.TrimSpace(b)) > 0 && bytes.TrimSpace(b)[0] == '{' {
				m.Body = b
			}
		}
	} else {
		m.Body = append([]byte(nil), raw...)
	}
	m.ID = metaString(inv.Metadata["Id"])
	if n, err := strconv.Atoi(metaString(inv.Metadata["DequeueCount"])); err == nil {
		m.DequeueCount = n
	}
	return m, nil
}

// metaString reads a metadata value that the host may send as a JSON string
// or as a bare number.
func metaString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return strings.TrimSpace(string(raw))
}
