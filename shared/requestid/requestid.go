// Package requestid is the one rule for the id that every answer and log
// line of a request or a deletion message carries: a client's X-Request-Id
// is kept when it is at most MaxLen characters of A-Z a-z 0-9 - _ . (so it
// can neither break nor forge a log line); otherwise the service makes one.
package requestid

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strconv"
	"sync/atomic"
)

// MaxLen is the longest client id kept.
const MaxLen = 64

// FromClient is r's X-Request-Id when it may be kept, else "".
func FromClient(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= MaxLen && valid(id) {
		return id
	}
	return ""
}

func valid(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// Ids made here are a random per-process prefix and a counter: unique enough
// to find a request's lines, and cheaper than reading crypto/rand each time.
var (
	prefix  = newPrefix()
	counter atomic.Uint64
)

func newPrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:]) + "-"
}

// New makes an id.
func New() string {
	var b [32]byte // one allocation: the prefix and counter built in place
	return string(strconv.AppendUint(append(b[:0], prefix...), counter.Add(1), 36))
}

// Of is r's kept X-Request-Id, or a new id.
func Of(r *http.Request) string {
	if id := FromClient(r); id != "" {
		return id
	}
	return New()
}

type key struct{}

// With carries id in ctx (a queue's message id, an HTTP request id).
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, key{}, id)
}

// From is the id ctx carries, or a new one.
func From(ctx context.Context) string {
	if id, ok := ctx.Value(key{}).(string); ok && id != "" {
		return id
	}
	return New()
}
