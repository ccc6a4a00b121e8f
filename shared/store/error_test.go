package store

import (
	"errors"
	"fmt"
	"testing"
)

// TestErrorSaysItsCodeOnce: a driver that wraps an *Error in another (GCS
// wraps a listing's transient failure again) gives "transient: ...", not
// "transient: transient: ..." (issue 9, item 8).
func TestErrorSaysItsCodeOnce(t *testing.T) {
	inner := &Error{Code: Transient, Err: errors.New("503 Service Unavailable")}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&Error{Code: Transient, Err: inner}, "transient: 503 Service Unavailable"},
		{&Error{Code: Transient, Err: &Error{Code: Transient, Err: inner}}, "transient: 503 Service Unavailable"},
		{&Error{Code: Transient, Err: fmt.Errorf("%w", inner)}, "transient: 503 Service Unavailable"},
		{&Error{Code: PermissionDenied, Err: errors.New("AccessDenied")}, "permission_denied: AccessDenied"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
	if got := Reason(&Error{Code: Transient, Err: inner}); got != "503 Service Unavailable" {
		t.Errorf("Reason = %q", got)
	}
}
