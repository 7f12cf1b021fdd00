package verifier

import (
	"bytes"
	"errors"
	"net/url"
	"unsafe"
)

// maxFormParams is url.ParseQuery's default limit on a query's
// parameters (net/url's defaultMaxParams; GODEBUG urlmaxqueryparams).
const maxFormParams = 10000

var errNotForm = errors.New("the body is not a form")

// parseForm is url.ParseQuery(string(body)) for a body the caller owns
// and never uses again: the same pairs ('&'-separated, split at the first
// '=', '+' read as a space, %XX escapes decoded), and an error exactly
// when ParseQuery's would be one (a pair with a ';', an invalid escape,
// more than 10,000 parameters), but without copying the body: every
// escape is decoded in place in body, and the names and values are
// strings over it. body must not be modified afterwards.
//
// A wallet's response (a vp_token of a few KB) was copied three times by
// ParseQuery(string(body)): into a string, into its unescaped value, and
// into url.Values; here it is not copied at all.
func parseForm(body []byte) (url.Values, error) {
	if bytes.Count(body, []byte{'&'})+1 > maxFormParams {
		return nil, errNotForm
	}
	// One array for the first value of every name: most names come once.
	n := 0
	for rest := body; len(rest) > 0; n++ {
		_, rest, _ = bytes.Cut(rest, []byte{'&'})
	}
	vals := make([]string, 0, n)
	m := make(url.Values, n)
	var failed bool
	for rest := body; len(rest) > 0; {
		var pair []byte
		pair, rest, _ = bytes.Cut(rest, []byte{'&'})
		if bytes.IndexByte(pair, ';') >= 0 {
			failed = true
			continue
		}
		if len(pair) == 0 {
			continue
		}
		k, v, _ := bytes.Cut(pair, []byte{'='})
		key, ok := unescapeInPlace(k)
		if !ok {
			failed = true
			continue
		}
		val, ok := unescapeInPlace(v)
		if !ok {
			failed = true
			continue
		}
		if old, seen := m[key]; seen {
			m[key] = append(old, val)
			continue
		}
		vals = append(vals, val)
		m[key] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	if failed {
		return nil, errNotForm
	}
	return m, nil
}

// unescapeInPlace decodes the query escapes of b ('+' is a space, %XX a
// byte: url.QueryUnescape's rules) into b's own memory and returns the
// result as a string over it; false for an invalid escape (a '%' not
// followed by two hex digits).
func unescapeInPlace(b []byte) (string, bool) {
	i := bytes.IndexByte(b, '%')
	plus := bytes.IndexByte(b, '+') >= 0
	if plus {
		i = 0
	} else if i < 0 {
		return unsafe.String(unsafe.SliceData(b), len(b)), true
	}
	w := i
	for i < len(b) {
		switch c := b[i]; c {
		case '%':
			if i+2 >= len(b) || !isHex(b[i+1]) || !isHex(b[i+2]) {
				return "", false
			}
			b[w] = unhex(b[i+1])<<4 | unhex(b[i+2])
			i += 3
			w++
		case '+':
			b[w] = ' '
			i++
			w++
		default:
			// The run up to the next escape, moved at once (a vp_token is
			// mostly base64url, escaped only around its JSON).
			var n int
			if plus {
				n = bytes.IndexAny(b[i:], "%+")
			} else {
				n = bytes.IndexByte(b[i:], '%')
			}
			if n < 0 {
				n = len(b) - i
			}
			w += copy(b[w:], b[i:i+n])
			i += n
		}
	}
	return unsafe.String(unsafe.SliceData(b), w), true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}
