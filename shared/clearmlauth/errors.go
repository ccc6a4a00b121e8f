package clearmlauth

import (
	"errors"
	"fmt"
)

// The kinds of failure. Every error from Verify and Authorize is an *Error
// whose Kind is one of these; test with errors.Is, and take the user-facing
// sentence from (*Error).Reason via errors.As.
var (
	// ErrUnauthenticated: no valid credential (invalid, expired, revoked).
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrUpstream: the ClearML API is unreachable, too slow, failing or
	// answering nonsense, or refuses the service's own credentials.
	ErrUpstream = errors.New("ClearML API unavailable")
	// ErrBusy is the cause of an ErrUpstream when the calls in flight to
	// ClearML are at their bound.
	ErrBusy = errors.New("ClearML calls at their bound")
	// ErrRoleNotAllowed: the caller's role is not in allowed_roles.
	ErrRoleNotAllowed = errors.New("role not allowed")
	// ErrCompanyNotAllowed: the caller's company is not in allowed_companies.
	ErrCompanyNotAllowed = errors.New("company not allowed")
)

// Error is a failure to verify or admit a caller.
type Error struct {
	Kind error // one of the Err* values above
	// Reason is a sentence for the caller, e.g. "token expired". It never
	// contains a credential.
	Reason string
	// Err is the underlying cause, for operators' logs (a network error, a
	// context error); it may be nil and never contains a credential.
	Err error
	// ByClearML is true when the ClearML API server refused the credential;
	// false when the service itself did (a malformed credential, an expired
	// exp claim, a jwt-mode check), so that answers name who refused.
	ByClearML bool
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Kind.Error() + ": " + e.Reason + ": " + e.Err.Error()
	}
	return e.Kind.Error() + ": " + e.Reason
}

// Unwrap lets errors.Is match both the kind and the cause.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// Reasons for ErrUnauthenticated that callers may want to tell apart.
const (
	ReasonExpired = "token expired"
	ReasonRevoked = "token revoked"
	ReasonInvalid = "invalid credentials"
	// ReasonNotAToken: a Bearer value that cannot be a ClearML token (not a
	// JWT with a JSON payload), refused without asking ClearML.
	ReasonNotAToken = "the token is not a ClearML token"
)

func unauthenticated(reason string) error { return &Error{Kind: ErrUnauthenticated, Reason: reason} }

// refusedByClearML is ClearML's own refusal of the caller's credential.
func refusedByClearML(reason string) error {
	return &Error{Kind: ErrUnauthenticated, Reason: reason, ByClearML: true}
}

func upstream(cause error, format string, args ...any) error {
	return &Error{Kind: ErrUpstream, Reason: fmt.Sprintf(format, args...), Err: cause}
}
