// Package httpx holds the HTTP conventions every ssi service shares:
// middleware (request ID, access log, panic recovery, body limit, metrics),
// the bounded JSON decoder every endpoint uses, API-key authentication with
// scopes, Idempotency-Key handling, and the one error renderer.
//
// Only this package writes error bodies. Handlers return errors; Render
// turns an *errs.Error into an RFC 9457 problem document (or the OAuth
// {error, error_description} form on OpenID endpoints). An error that is
// not an *errs.Error, or is of kind Internal, renders as a generic message
// and its cause goes only to the log.
//
// It must never log request bodies, tokens, API keys, SD-JWTs, disclosures,
// PINs or subject claims. So a client error (4xx) is logged by kind, code
// and the byte offset of a decoder's fault only, never with its detail or
// cause, which may quote the request; only server faults are logged with
// their cause.
package httpx
