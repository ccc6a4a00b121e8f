package store

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
)

// StatusCode classifies an HTTP answer's status the same way for every
// provider, after its driver has looked at what only it can read (an S3 or
// Azure error code, a GCS message): 404 NotFound; 401 and 403
// PermissionDenied; 408, 429 and 5xx Transient; any other 4xx
// InvalidArgument (a request that can never succeed as it is); anything
// else Unknown (retried).
func StatusCode(status int) ErrorCode {
	switch {
	case status == http.StatusNotFound:
		return NotFound
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return PermissionDenied
	case status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500:
		return Transient
	case status >= 400 && status < 500:
		return InvalidArgument
	}
	return Unknown
}

// TransportCode classifies a failure that got no answer: a certificate the
// transport does not trust is InvalidArgument (it stays untrusted: fix the
// CA, or set the entry's verify: false); a canceled or expired context, a
// network error, a refused or reset connection or an early EOF is
// Transient; anything else Unknown.
func TransportCode(err error) ErrorCode {
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	var badCert x509.CertificateInvalidError
	if errors.As(err, &certErr) || errors.As(err, &unknownCA) || errors.As(err, &badHost) || errors.As(err, &badCert) {
		return InvalidArgument
	}
	var ne net.Error
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return Transient
	}
	return Unknown
}
