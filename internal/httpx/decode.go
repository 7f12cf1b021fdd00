package httpx

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jsonx"
)

// DefaultMaxBody is the default request body cap (64 KiB).
const DefaultMaxBody = 64 << 10

// Stable codes of the decoder.
var (
	ErrBodyTooLarge     = errs.E(errs.TooLarge, "body_too_large", "the request body is too large")
	ErrUnsupportedMedia = errs.E(errs.UnsupportedMedia, "unsupported_media_type", "the request body's media type is not supported here")
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
	b, err := readAll(io.LimitReader(r.Body, max+1), r.ContentLength)
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

// maxPrealloc caps the buffer readAll makes from an announced length
// before any of the body arrives: a client announcing the largest body
// and sending nothing must not hold that much memory per connection.
const maxPrealloc = 64 << 10

// readAll is io.ReadAll into a buffer of the announced length (plus the
// byte that meets the end; at most maxPrealloc), read without growing
// when the length is true and small; a body without one, or longer,
// grows as io.ReadAll's.
func readAll(r io.Reader, length int64) ([]byte, error) {
	if length <= 0 {
		return io.ReadAll(r)
	}
	b := make([]byte, 0, min(length, maxPrealloc)+1)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// RequireMediaType checks that r's Content-Type is the media type want (a
// lower-case literal), compared exactly (case-insensitively, as media
// types are) after mime.ParseMediaType: a missing header, one that does not parse, another
// type or a longer one (application/jsonfoo), and any parameter but
// charset=utf-8 are ErrUnsupportedMedia (415), whose detail names want.
// Bodies are read as UTF-8, and a parameter we do not read must not
// change how the bytes are taken.
func RequireMediaType(r *http.Request, want string) error {
	ct := r.Header.Get("Content-Type")
	if ct == want {
		return nil // what mime.ParseMediaType would accept, without its map
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != want {
		return ErrUnsupportedMedia.With("the request body must be "+want, nil)
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return ErrUnsupportedMedia.With("the request body must be "+want, nil)
		}
	}
	return nil
}

// DecodeJSON reads r's body (at most max bytes; 0 means DefaultMaxBody) and
// decodes it into v strictly: the media type must be application/json
// (RequireMediaType), the bytes valid UTF-8, no duplicate member names,
// nesting ≤ 32, no member that v does not declare, and names matched
// case-exactly. Every failure is an *errs.Error with a stable code
// (unsupported_media_type (415), body_too_large (413), malformed_json,
// json_too_deep, invalid_utf8, unknown_field, invalid_type).
func DecodeJSON(r *http.Request, v any, max int64) error {
	if max <= 0 {
		max = DefaultMaxBody
	}
	if err := RequireMediaType(r, "application/json"); err != nil {
		return err
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
