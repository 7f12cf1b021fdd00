package jose

import (
	"errors"
	"strconv"
)

// Reader reads one JSON value into the caller's own types in a single
// pass, member by member, with the one-pass decoder's validation: what it
// reads to the end (End returns nil) is exactly what jsonx.Check(data,
// jsonx.MaxDepth) accepts, and what it skips is validated as strictly as
// what it reads, without building a map for it. It suits a payload of
// which a verifier needs a few members (a SMART Health Card's FHIR bundle),
// where decoding the whole value into maps costs more than the rest of the
// check. FuzzReaderAgreesWithCheck holds it to jsonx.Check.
//
// Its errors say nothing of the input. A caller that wants Check's precise
// code for a refused input runs jsonx.Check on it (only a refusal pays for
// that); an input that Check accepts was refused for its shape
// (ErrReaderType), by the caller's rules, or by the caller's own errors.
// A Reader is not safe for concurrent use; the strings it returns are
// copies that outlive it.
type Reader struct {
	d decoder
}

// ErrReaderType: a value of another kind than the method asked for.
var ErrReaderType = errors.New("a JSON value of another kind")

// NewReader returns a Reader at the start of data.
func NewReader(data []byte) *Reader {
	return &Reader{d: decoder{data: data, str0: string(data)}}
}

// next skips whitespace and returns the byte that starts the next value,
// or 0 at the end of the input (which a NUL byte is too, and refused as
// anything that starts no value).
func (r *Reader) next() byte {
	r.d.ws()
	if r.d.pos >= len(r.d.data) {
		return 0
	}
	return r.d.data[r.d.pos]
}

// Null consumes a null and reports whether the next value was one.
func (r *Reader) Null() (bool, error) {
	if r.next() != 'n' {
		return false, nil
	}
	return true, r.d.lit("null")
}

// IsArray reports whether the next value starts an array (it consumes
// nothing).
func (r *Reader) IsArray() bool { return r.next() == '[' }

// String reads a string.
func (r *Reader) String() (string, error) {
	if r.next() != '"' {
		return "", ErrReaderType
	}
	return r.d.str()
}

// Number reads a number as a float64 (Check's range rule holds for it).
func (r *Reader) Number() (float64, error) {
	switch c := r.next(); {
	case c != '-' && (c < '0' || c > '9'):
		return 0, ErrReaderType
	}
	start := r.d.pos
	if err := r.d.skipNumber(); err != nil {
		return 0, err
	}
	return strconv.ParseFloat(r.d.str0[start:r.d.pos], 64)
}

// Object reads an object, calling member with each member's name (after
// unescaping) with the reader at its value, which member must consume (by
// reading it or with Skip). A name that occurs twice is refused.
func (r *Reader) Object(member func(name string) error) error {
	if r.next() != '{' {
		return ErrReaderType
	}
	d := &r.d
	empty, err := d.open('}')
	if empty || err != nil {
		return err
	}
	// Names are substrings of the input unless escaped: a short list of
	// them costs no allocation; a long object moves them to a set.
	var stack [16]string
	names := stack[:0]
	var set map[string]struct{}
	for {
		d.ws()
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return errSyntax
		}
		name, err := d.str()
		if err != nil {
			return err
		}
		switch {
		case set != nil:
			if _, dup := set[name]; dup {
				return errSyntax
			}
			set[name] = struct{}{}
		case len(names) < len(stack):
			for _, n := range names {
				if n == name {
					return errSyntax
				}
			}
			names = append(names, name)
		default:
			set = make(map[string]struct{}, 2*len(names))
			for _, n := range append(names, name) {
				if _, dup := set[n]; dup {
					return errSyntax
				}
				set[n] = struct{}{}
			}
		}
		d.ws()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return errSyntax
		}
		d.pos++
		if err := member(name); err != nil {
			return err
		}
		if done, err := d.next('}'); done || err != nil {
			return err
		}
	}
}

// Array reads an array, calling elem with the reader at each element,
// which elem must consume.
func (r *Reader) Array(elem func() error) error {
	if r.next() != '[' {
		return ErrReaderType
	}
	empty, err := r.d.open(']')
	if empty || err != nil {
		return err
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		if done, err := r.d.next(']'); done || err != nil {
			return err
		}
	}
}

// Skip consumes one value of any kind, validating it.
func (r *Reader) Skip() error {
	switch c := r.next(); {
	case c == '{':
		return r.Object(func(string) error { return r.Skip() })
	case c == '[':
		return r.Array(r.Skip)
	case c == '"':
		_, err := r.d.str()
		return err
	case c == 't':
		return r.d.lit("true")
	case c == 'f':
		return r.d.lit("false")
	case c == 'n':
		return r.d.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return r.d.skipNumber()
	}
	return errSyntax
}

// End checks that only whitespace follows the value read.
func (r *Reader) End() error {
	if r.d.ws(); r.d.pos != len(r.d.data) {
		return errSyntax
	}
	return nil
}
