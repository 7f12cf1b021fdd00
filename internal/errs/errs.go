package errs

import (
	"errors"
	"fmt"
)

// Kind classifies an error. The list is append-only: values are never
// renumbered, because they are compared across packages.
type Kind uint8

const (
	Other            Kind = iota // unclassified; rendered as Internal
	Invalid                      // the input is malformed or breaks a rule (400)
	Unauthorized                 // no or bad credentials (401)
	Forbidden                    // authenticated, but not allowed (403)
	NotFound                     // no such resource, or not visible to the caller (404)
	Conflict                     // state conflict: duplicate, stale version, reused value (409)
	TooLarge                     // the request body is over its limit (413)
	RateLimited                  // too many requests (429)
	Unavailable                  // a dependency is down; retry later (503)
	Internal                     // a bug or an unexpected fault (500)
	Unprocessable                // well-formed but semantically refused, e.g. idempotency key reuse (422)
	UnsupportedMedia             // the request body's media type is not the one the endpoint reads (415)
)

var kindNames = [...]string{
	Other: "other", Invalid: "invalid", Unauthorized: "unauthorized",
	Forbidden: "forbidden", NotFound: "not_found", Conflict: "conflict",
	TooLarge: "too_large", RateLimited: "rate_limited",
	Unavailable: "unavailable", Internal: "internal", Unprocessable: "unprocessable",
	UnsupportedMedia: "unsupported_media",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Error is the internal error type. Detail must be safe to show to a client:
// it never contains keys, tokens, disclosures, SQL or file paths. Err is the
// cause, for the log only.
type Error struct {
	Kind   Kind
	Code   string
	Detail string
	Err    error
}

// E returns a new error with no cause.
func E(kind Kind, code, detail string) *Error {
	return &Error{Kind: kind, Code: code, Detail: detail}
}

// Wrap returns a new error carrying cause for the log.
func Wrap(kind Kind, code, detail string, cause error) *Error {
	return &Error{Kind: kind, Code: code, Detail: detail, Err: cause}
}

// Error implements error. It includes the cause, so it is for logs only;
// clients see Detail through the renderer.
func (e *Error) Error() string {
	s := e.Code
	if s == "" {
		s = e.Kind.String()
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same Code (or, when target
// has no Code, the same Kind). It lets callers declare sentinel values such
// as
//
//	var ErrNonceUsed = errs.E(errs.Conflict, "nonce_used", "the nonce was already used")
//
// and test with errors.Is(err, ErrNonceUsed) even after the error was
// re-created with another detail or cause, or re-kinded at a boundary.
// Codes are unique in the module (see the package doc), so the code alone
// names the error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	if t.Code != "" {
		return e.Code == t.Code
	}
	return e.Kind == t.Kind
}

// With returns a copy of e with another detail and cause. Use it to raise a
// sentinel with context: return ErrInvalidNonce.With("nonce expired", err).
func (e *Error) With(detail string, cause error) *Error {
	c := *e
	if detail != "" {
		c.Detail = detail
	}
	c.Err = cause
	return &c
}

// KindOf returns the Kind of the outermost *Error in err's chain, or Other.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Other
}

// CodeOf returns the Code of the outermost *Error in err's chain, or "".
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
