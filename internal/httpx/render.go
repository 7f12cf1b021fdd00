package httpx

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/ssi-project/ssi/internal/errs"
)

// ProblemTypePrefix prefixes the problem "type" URI; the suffix is the code.
const ProblemTypePrefix = "urn:ssi:problem:"

// Problem is an RFC 9457 problem document with our "code" extension member.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Code      string `json:"code"`
	Instance  string `json:"instance,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// Status maps a Kind to its HTTP status.
func Status(k errs.Kind) int {
	switch k {
	case errs.Invalid:
		return http.StatusBadRequest
	case errs.Unauthorized:
		return http.StatusUnauthorized
	case errs.Forbidden:
		return http.StatusForbidden
	case errs.NotFound:
		return http.StatusNotFound
	case errs.Conflict:
		return http.StatusConflict
	case errs.TooLarge:
		return http.StatusRequestEntityTooLarge
	case errs.RateLimited:
		return http.StatusTooManyRequests
	case errs.Unavailable:
		return http.StatusServiceUnavailable
	case errs.Unprocessable:
		return http.StatusUnprocessableEntity
	case errs.UnsupportedMedia:
		return http.StatusUnsupportedMediaType
	default:
		return http.StatusInternalServerError
	}
}

// public returns the user-safe view of err: its kind, code and detail.
// Anything that is not a known client error becomes a generic internal
// error; the cause is never part of it.
func public(err error) (errs.Kind, string, string) {
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind == errs.Other || e.Kind == errs.Internal {
		return errs.Internal, "internal_error", "an internal error occurred; the request ID identifies it in the log"
	}
	code := e.Code
	if code == "" {
		code = e.Kind.String()
	}
	return e.Kind, code, e.Detail
}

// RetryAfter, when found in an error's chain, sets the Retry-After header.
type RetryAfter interface{ RetryAfterSeconds() int }

// inputOffset is implemented by the causes that locate a fault in the
// request's bytes (jsonx.Position).
type inputOffset interface{ InputOffset() int64 }

// logError logs a refused request. A server fault (kind Internal or
// Unavailable, which public makes of anything that is not a client error)
// is logged with its whole chain: the operator needs the cause, and only
// the server's own parts wrote it. A client error is logged by kind, code
// and, when a decoder located the fault, its byte offset only: never its
// detail or cause, which are about the request and may quote it (a
// decoder's message, a member name, a claim value), and request bodies
// carry citizens' claims and secrets.
func logError(r *http.Request, kind errs.Kind, err error) {
	attrs := []slog.Attr{
		slog.String("request_id", RequestID(r.Context())),
		slog.String("kind", kind.String()),
		slog.String("code", errs.CodeOf(err)),
	}
	lvl := slog.LevelInfo
	switch {
	case kind == errs.Internal || kind == errs.Unavailable:
		lvl = slog.LevelError
		attrs = append(attrs, slog.String("error", err.Error()))
	default:
		var pos inputOffset
		if errors.As(err, &pos) && pos.InputOffset() >= 0 {
			attrs = append(attrs, slog.Int64("offset", pos.InputOffset()))
		}
	}
	Logger(r.Context()).LogAttrs(r.Context(), lvl, "request failed", attrs...)
}

func setRetryAfter(w http.ResponseWriter, err error) {
	var ra RetryAfter
	if errors.As(err, &ra) {
		w.Header().Set("Retry-After", strconv.Itoa(ra.RetryAfterSeconds()))
	}
}

// Render writes err as an application/problem+json document and logs its
// cause. It is the only way ssi handlers write an error.
func Render(w http.ResponseWriter, r *http.Request, err error) {
	kind, code, detail := public(err)
	logError(r, kind, err)
	status := Status(kind)
	setRetryAfter(w, err)
	if status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ssi"`)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(Problem{
		Type:      ProblemTypePrefix + code,
		Title:     http.StatusText(status),
		Status:    status,
		Detail:    detail,
		Code:      code,
		RequestID: RequestID(r.Context()),
	})
}

// OAuthError is the error body of the OAuth 2.0 and OpenID endpoints
// (RFC 6749 §5.2, OpenID4VCI §8.3.1).
type OAuthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// RenderOAuth writes err in the OAuth form. The error code is the
// *errs.Error's Code, which on OpenID endpoints must be one of the codes of
// the spec (invalid_request, invalid_grant, invalid_proof, …); an internal
// error becomes server_error, and a body of the wrong media type (415)
// invalid_request, the OAuth code for a malformed request (RFC 6749 §5.2).
func RenderOAuth(w http.ResponseWriter, r *http.Request, err error) {
	kind, code, detail := public(err)
	logError(r, kind, err)
	status := Status(kind)
	switch kind {
	case errs.Internal:
		code = "server_error"
	case errs.UnsupportedMedia:
		code = "invalid_request"
	}
	setRetryAfter(w, err)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(OAuthError{Error: code, Description: detail})
}

// JSON writes v as a JSON response with the given status.
func JSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return errs.Wrap(errs.Internal, "", "", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, err = w.Write(append(b, '\n'))
	return err
}

// HandlerFunc is an HTTP handler that returns an error instead of writing
// one. It must not have written anything when it returns a non-nil error.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// H adapts h to http.Handler, rendering its error as problem+json.
func H(h HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			Render(w, r, err)
		}
	}
}

// OAuth adapts h to http.Handler, rendering its error in the OAuth form.
func OAuth(h HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			RenderOAuth(w, r, err)
		}
	}
}
