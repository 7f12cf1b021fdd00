package httpx

import (
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jsonx"
)

// DefaultMaxBody is the default request body cap (64 KiB).
const DefaultMaxBody = 64 << 10

// Stable codes of the decoder.
var (
	ErrBodyTooLarge     = errs.E(errs.TooLarge, "body_too_large", "the request body is too large")
	ErrUnsupportedMedia = errs.E(errs.Invalid, "unsupported_media_type", "the request body must be application/json")
	ErrEmptyBody        = jsonx.ErrMalformed.With("the request body is empty", nil)
)

// ErrInvalidQuery answers a query parameter that does not parse or is out
// of range, for every API that reads one.
var ErrInvalidQuery = errs.E(errs.Invalid, "invalid_query", "a query parameter is invalid")

// ReadBody reads the whole body, at most max bytes (the LimitBody
// middleware may have set a lower cap). Over the cap it returns
// ErrBodyTooLarge.
func ReadBody(r *http.Request, max int64) ([]byte, error) {
	if r.ContentLength > max {
		return nil, ErrBodyTooLarge
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, ErrBodyTooLarge
	case err != nil:
		return nil, errs.Wrap(errs.Invalid, "unreadable_body", "the request body could not be read", err)
	case int64(len(b)) > max:
		return nil, ErrBodyTooLarge
	}
	return b, nil
}

// DecodeJSON reads r's body (at most max bytes; 0 means DefaultMaxBody) and
// decodes it into v strictly: the media type must be JSON, the bytes valid
// UTF-8, no duplicate member names, nesting ≤ 32, no member that v does not
// declare, and names matched case-exactly. Every failure is an *errs.Error
// with a stable code (body_too_large, unsupported_media_type,
// malformed_json, json_too_deep, invalid_utf8, unknown_field, invalid_type).
func DecodeJSON(r *http.Request, v any, max int64) error {
	if max <= 0 {
		max = DefaultMaxBody
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return ErrUnsupportedMedia
		}
	}
	b, err := ReadBody(r, max)
	if err != nil {
		return err
	}
	if len(b) == 0 {
		return ErrEmptyBody
	}
	return jsonx.Unmarshal(b, v, true)
}
