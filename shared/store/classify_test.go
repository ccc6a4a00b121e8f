package store_test

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"

	"github.com/storagegate/storagegate/shared/store"
)

func TestStatusCode(t *testing.T) {
	for st, want := range map[int]store.ErrorCode{
		200: store.Unknown, 301: store.Unknown, 400: store.InvalidArgument, 401: store.PermissionDenied,
		403: store.PermissionDenied, 404: store.NotFound, 408: store.Transient, 409: store.InvalidArgument,
		429: store.Transient, 500: store.Transient, 503: store.Transient,
	} {
		if got := store.StatusCode(st); got != want {
			t.Errorf("%d: %s, want %s", st, got, want)
		}
	}
}

func TestTransportCode(t *testing.T) {
	for _, c := range []struct {
		err  error
		want store.ErrorCode
	}{
		{fmt.Errorf("dial: %w", syscall.ECONNREFUSED), store.Transient},
		{fmt.Errorf("read: %w", syscall.ECONNRESET), store.Transient},
		{io.ErrUnexpectedEOF, store.Transient},
		{context.DeadlineExceeded, store.Transient},
		{context.Canceled, store.Transient},
		{fmt.Errorf("tls: %w", x509.UnknownAuthorityError{}), store.InvalidArgument},
		{errors.New("something else"), store.Unknown},
	} {
		if got := store.TransportCode(c.err); got != c.want {
			t.Errorf("%v: %s, want %s", c.err, got, c.want)
		}
	}
}
