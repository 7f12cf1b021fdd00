// Package errs is the one internal error type of ssi.
//
// Every error that may reach a client is an *Error: a Kind (how it maps to a
// status), a stable Code (the machine-readable name documented in
// openapi.yaml and SECURITY-CASES.md), a Detail that is safe to show to the
// user, and the wrapped cause that only ever goes to the log.
//
// This package must never import HTTP, SQL or logging code: the format
// packages (sdjwt, did, statuslist, keys, qr) return these errors too.
//
// # One code, one meaning
//
// A code names one error across the whole module: it has one definition
// (one sentinel, in the lowest package that every user of the code imports;
// the others reuse it, with [Error.With] for their own detail) and one
// Kind. TestErrorCodesAreUnique parses the module and fails on a code made
// with two kinds or declared as a sentinel twice.
//
// [Error.Is] therefore compares codes only, not kinds. With unique codes the
// code is the error's identity and the kind follows from it, so comparing
// both would add nothing for the errors the module defines; and a boundary
// may deliberately re-kind a code it passes on (the issuer reports an
// invalid_dpop_proof as 401 at a protected resource, the registry's
// resolver turns a did:web fetch refusal into a 400), which must still
// match its sentinel.
package errs
