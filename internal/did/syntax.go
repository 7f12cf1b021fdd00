package did

import (
	"strings"

	"github.com/ssi-project/ssi/internal/errs"
)

// MaxLength bounds every DID and DID URL this package parses, before any
// other work, so hostile input costs O(MaxLength).
const MaxLength = 4096

// ErrInvalidDID is the code for anything that is not a valid DID (or DID
// URL), including a DID whose embedded key is unusable.
var ErrInvalidDID = errs.E(errs.Invalid, "invalid_did", "the DID is not valid")

// DID is a parsed decentralized identifier: did:<Method>:<ID>.
type DID struct {
	Method string // lowercase letters and digits
	ID     string // the method-specific id, still percent-encoded
}

// String returns the DID in its canonical text form.
func (d DID) String() string { return "did:" + d.Method + ":" + d.ID }

// URL is a parsed DID URL: a DID with an optional path, query and fragment
// (W3C DID Core §3.2). Path keeps its leading "/", Query and Fragment are
// without their "?" and "#"; all stay percent-encoded.
type URL struct {
	DID
	Path     string
	Query    string
	Fragment string
	// HasQuery and HasFragment tell an empty "?"/"#" from an absent one,
	// so String round-trips.
	HasQuery, HasFragment bool
}

// String returns the DID URL in text form.
func (u URL) String() string {
	s := u.DID.String() + u.Path
	if u.HasQuery {
		s += "?" + u.Query
	}
	if u.HasFragment {
		s += "#" + u.Fragment
	}
	return s
}

// Parse parses a DID according to the W3C DID Core ABNF:
//
//	did                = "did:" method-name ":" method-specific-id
//	method-name        = 1*method-char
//	method-char        = %x61-7A / DIGIT
//	method-specific-id = *( *idchar ":" ) 1*idchar
//	idchar             = ALPHA / DIGIT / "." / "-" / "_" / pct-encoded
//
// Anything else, including a DID URL with a path, query or fragment, and
// input longer than MaxLength, is ErrInvalidDID. Parse never panics.
func Parse(s string) (DID, error) {
	if len(s) > MaxLength {
		return DID{}, ErrInvalidDID.With("the DID is too long", nil)
	}
	d, rest, err := parseDIDPrefix(s)
	if err != nil {
		return DID{}, err
	}
	if rest != "" {
		return DID{}, ErrInvalidDID.With("the DID has trailing characters", nil)
	}
	return d, nil
}

// ParseURL parses a DID URL (W3C DID Core §3.2):
//
//	did-url = did path-abempty [ "?" query ] [ "#" fragment ]
//
// with path-abempty, query and fragment as in RFC 3986. Failures are
// ErrInvalidDID.
func ParseURL(s string) (URL, error) {
	if len(s) > MaxLength {
		return URL{}, ErrInvalidDID.With("the DID URL is too long", nil)
	}
	d, rest, err := parseDIDPrefix(s)
	if err != nil {
		return URL{}, err
	}
	u := URL{DID: d}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		u.Path, rest = rest[:i], rest[i:]
	} else {
		u.Path, rest = rest, ""
	}
	if u.Path != "" && (u.Path[0] != '/' || !validRFC3986(u.Path, pchar+"/")) {
		return URL{}, ErrInvalidDID.With("the DID URL path is malformed", nil)
	}
	if strings.HasPrefix(rest, "?") {
		u.HasQuery = true
		rest = rest[1:]
		if i := strings.IndexByte(rest, '#'); i >= 0 {
			u.Query, rest = rest[:i], rest[i:]
		} else {
			u.Query, rest = rest, ""
		}
		if !validRFC3986(u.Query, pchar+"/?") {
			return URL{}, ErrInvalidDID.With("the DID URL query is malformed", nil)
		}
	}
	if strings.HasPrefix(rest, "#") {
		u.HasFragment = true
		u.Fragment = rest[1:]
		if !validRFC3986(u.Fragment, pchar+"/?") {
			return URL{}, ErrInvalidDID.With("the DID URL fragment is malformed", nil)
		}
	}
	return u, nil
}

// parseDIDPrefix reads the longest DID at the start of s and returns the
// rest (which starts with "/", "?" or "#", or is empty).
func parseDIDPrefix(s string) (DID, string, error) {
	rest, ok := strings.CutPrefix(s, "did:")
	if !ok {
		return DID{}, "", ErrInvalidDID.With("a DID starts with did:", nil)
	}
	i := 0
	for i < len(rest) && (rest[i] >= 'a' && rest[i] <= 'z' || rest[i] >= '0' && rest[i] <= '9') {
		i++
	}
	if i == 0 || i >= len(rest) || rest[i] != ':' {
		return DID{}, "", ErrInvalidDID.With("the DID method name is malformed", nil)
	}
	method := rest[:i]
	rest = rest[i+1:]
	j := 0
	for j < len(rest) {
		c := rest[j]
		switch {
		case isIDChar(c) || c == ':':
			j++
		case c == '%':
			if j+2 >= len(rest) || !isHex(rest[j+1]) || !isHex(rest[j+2]) {
				return DID{}, "", ErrInvalidDID.With("the DID has a bad percent-encoding", nil)
			}
			j += 3
		case c == '/' || c == '?' || c == '#':
			goto done
		default:
			return DID{}, "", ErrInvalidDID.With("the DID has a character that is not allowed", nil)
		}
	}
done:
	id := rest[:j]
	if id == "" || id[len(id)-1] == ':' {
		return DID{}, "", ErrInvalidDID.With("the method-specific id is empty or ends with a colon", nil)
	}
	return DID{Method: method, ID: id}, rest[j:], nil
}

func isIDChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '-' || c == '_'
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// pchar lists RFC 3986 unreserved, sub-delims, ":" and "@" (pct-encoded is
// handled separately).
const pchar = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@"

func validRFC3986(s, allowed string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
			i += 2
			continue
		}
		if strings.IndexByte(allowed, c) < 0 {
			return false
		}
	}
	return true
}
