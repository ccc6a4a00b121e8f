package main

import (
	"bytes"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"
)

// The limits of `storagegate serve` (README, "Security notes"). A presign
// request is a URL and a few headers, answered after at most one ClearML
// call (clearml.timeout, 5s by default): anything slower is a stuck or
// hostile client.
const (
	// readHeaderTimeout bounds the request line and headers (slowloris).
	readHeaderTimeout = 10 * time.Second
	// readTimeout bounds the whole request, a 256 KiB batch body (or a
	// 16 MiB POST /cleanup message) included.
	readTimeout = 30 * time.Second
	// writeTimeout bounds reading plus answering: the ClearML call and the
	// signing fit in it many times over.
	writeTimeout = 30 * time.Second
	// idleTimeout closes a keep-alive connection with no request for this
	// long.
	idleTimeout = 60 * time.Second
	// maxHeaderBytes bounds the request line and headers: ClearML's cookie
	// and token are under 2 KiB; browsers send a few KiB of other cookies.
	maxHeaderBytes = 64 << 10
)

// newServer is the HTTP server of `storagegate serve`. cleanupDeadline,
// when POST /cleanup is served, lengthens the write timeout: a message may
// run that long before it is answered.
func newServer(h http.Handler, log *slog.Logger, cleanupDeadline time.Duration) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      max(writeTimeout, cleanupDeadline+writeTimeout),
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// jsonErrors wraps a listener so that the answers net/http writes itself,
// before any handler runs, have the service's JSON error shape too: 400 for
// a malformed request line or header, 431 for headers over maxHeaderBytes,
// 501 for an unsupported transfer encoding. net/http writes each of them to
// the connection in one call, as a fixed text/plain message; a handler's
// answer never starts that way (the service answers JSON, and net/http
// writes Content-Type after Cache-Control and Content-Length).
type jsonErrors struct{ net.Listener }

func (l jsonErrors) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return jsonErrorConn{c}, nil
}

type jsonErrorConn struct{ net.Conn }

// CloseWrite keeps net/http's half-close after an error answer (so the
// client reads the answer before the connection goes): the wrapper must not
// hide it.
func (c jsonErrorConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// plainError is what net/http puts between a status line and the body of
// the answers it writes itself.
const plainError = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

func (c jsonErrorConn) Write(p []byte) (int, error) {
	if b, ok := rewritePlainError(p); ok {
		if _, err := c.Conn.Write(b); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// rewritePlainError turns net/http's own "HTTP/1.1 <code> <text>" +
// plainError + "<code> <text>[: detail]" into the JSON error shape.
func rewritePlainError(p []byte) ([]byte, bool) {
	if !bytes.HasPrefix(p, []byte("HTTP/1.1 ")) || len(p) < 12 {
		return nil, false
	}
	i := bytes.Index(p, []byte(plainError))
	if i < 0 || bytes.IndexByte(p[:i], '\n') >= 0 {
		return nil, false
	}
	status, err := strconv.Atoi(string(p[9:12]))
	if err != nil || status < 400 {
		return nil, false
	}
	code, msg := "invalid_parameter", "the request line or a header is malformed"
	switch status {
	case http.StatusRequestHeaderFieldsTooLarge:
		msg = "the request line and headers are larger than " + strconv.Itoa(maxHeaderBytes>>10) + " KiB"
	case http.StatusNotImplemented:
		code, msg = "invalid_body", "the transfer encoding is not supported"
	default:
		// net/http's detail ("missing required Host header", "malformed
		// Host header", ...) is a fixed phrase, never the request's bytes.
		if _, detail, ok := bytes.Cut(p[i+len(plainError):], []byte(": ")); ok && len(detail) < 100 {
			msg += ": " + string(detail)
		}
	}
	body := `{"error":{"code":"` + code + `","message":` + strconv.Quote(msg) + "}}\n"
	var b bytes.Buffer
	b.Write(p[:i]) // the status line
	b.WriteString("\r\nContent-Type: application/json\r\nCache-Control: no-store\r\nConnection: close\r\nContent-Length: ")
	b.WriteString(strconv.Itoa(len(body)))
	b.WriteString("\r\n\r\n")
	b.WriteString(body)
	return b.Bytes(), true
}
