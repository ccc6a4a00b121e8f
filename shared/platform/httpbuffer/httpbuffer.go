// Package httpbuffer is an http.ResponseWriter that keeps the whole answer,
// for platforms that want a response as a value rather than a stream: a
// BUFFERED Lambda function URL, an Azure Functions invocation.
package httpbuffer

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"unicode/utf8"
)

// ResponseWriter buffers status, headers and body.
type ResponseWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

// New returns an empty ResponseWriter.
func New() *ResponseWriter { return &ResponseWriter{header: http.Header{}} }

// Header is the response's header map.
func (w *ResponseWriter) Header() http.Header { return w.header }

// WriteHeader keeps the first status written, as net/http does.
func (w *ResponseWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

// Write buffers b (implying 200 when no status was written).
func (w *ResponseWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

// Status is the status written, 200 when none was.
func (w *ResponseWriter) Status() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// Body is the body as text, or base64 (and true) when it is not UTF-8.
func (w *ResponseWriter) Body() (string, bool) {
	if utf8.Valid(w.body.Bytes()) {
		return w.body.String(), false
	}
	return base64.StdEncoding.EncodeToString(w.body.Bytes()), true
}
