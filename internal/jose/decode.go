package jose

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/ssi-project/ssi/internal/jsonx"
)

// decoder is a small recursive-descent JSON decoder that validates as it
// decodes: it accepts exactly what jsonx.Check(data, jsonx.MaxDepth)
// accepts (RFC 8259 syntax, valid UTF-8 with no unpaired surrogate escape,
// no duplicate member names after unescaping, at most jsonx.MaxDepth levels,
// no number beyond the range of a double)
// and errs, never panics, on anything else. It exists because checking and
// decoding in one pass is several times cheaper than a token stream on the
// verify hot path; FuzzDecodeAgreesWithCheck holds it to jsonx.Check.
type decoder struct {
	data  []byte
	str0  string // data as one string: unescaped strings are substrings of it
	pos   int
	depth int
}

var errSyntax = errors.New("unexpected JSON input")

func (d *decoder) ws() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *decoder) value() (any, error) {
	d.ws()
	if d.pos >= len(d.data) {
		return nil, errSyntax
	}
	switch c := d.data[d.pos]; {
	case c == '{':
		return d.object()
	case c == '[':
		return d.array()
	case c == '"':
		return d.str()
	case c == 't':
		return true, d.lit("true")
	case c == 'f':
		return false, d.lit("false")
	case c == 'n':
		return nil, d.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	}
	return nil, errSyntax
}

// number reads an RFC 8259 number: -?(0|[1-9]digits)(.digits)?([eE][+-]?digits)?
func (d *decoder) number() (any, error) {
	start := d.pos
	if err := d.skipNumber(); err != nil {
		return nil, err
	}
	return json.Number(d.str0[start:d.pos]), nil
}

// skipNumber consumes the number at d.pos and checks its range.
func (d *decoder) skipNumber() error {
	start := d.pos
	if d.data[d.pos] == '-' {
		d.pos++
	}
	switch {
	case d.pos < len(d.data) && d.data[d.pos] == '0':
		d.pos++
	case !d.digits():
		return errSyntax
	}
	if d.pos < len(d.data) && d.data[d.pos] == '.' {
		d.pos++
		if !d.digits() {
			return errSyntax
		}
	}
	if d.pos < len(d.data) && (d.data[d.pos] == 'e' || d.data[d.pos] == 'E') {
		d.pos++
		if d.pos < len(d.data) && (d.data[d.pos] == '+' || d.data[d.pos] == '-') {
			d.pos++
		}
		if !d.digits() {
			return errSyntax
		}
	}
	if !jsonx.NumberInRange(d.data[start:d.pos]) {
		return errSyntax
	}
	return nil
}

// digits consumes one or more decimal digits and reports whether there was one.
func (d *decoder) digits() bool {
	start := d.pos
	for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
		d.pos++
	}
	return d.pos > start
}

func (d *decoder) lit(s string) error {
	if len(d.data)-d.pos < len(s) || string(d.data[d.pos:d.pos+len(s)]) != s {
		return errSyntax
	}
	d.pos += len(s)
	return nil
}

func (d *decoder) object() (any, error) {
	empty, err := d.open('}')
	m := make(map[string]any, 8)
	if empty || err != nil {
		return m, err
	}
	for {
		d.ws()
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return nil, errSyntax
		}
		name, err := d.str()
		if err != nil {
			return nil, err
		}
		d.ws()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return nil, errSyntax
		}
		d.pos++
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		if _, dup := m[name]; dup {
			return nil, errSyntax
		}
		m[name] = v
		if done, err := d.next('}'); done || err != nil {
			return m, err
		}
	}
}

// next consumes the separator after a member or element: ',' (more to
// come) or the closing byte (done, one level up).
func (d *decoder) next(closing byte) (done bool, err error) {
	d.ws()
	if d.pos >= len(d.data) {
		return false, errSyntax
	}
	switch d.data[d.pos] {
	case ',':
		d.pos++
		return false, nil
	case closing:
		d.pos++
		d.depth--
		return true, nil
	}
	return false, errSyntax
}

// open enters a container at d.pos and reports whether it is empty.
func (d *decoder) open(closing byte) (empty bool, err error) {
	if d.depth++; d.depth > jsonx.MaxDepth {
		return false, errSyntax
	}
	d.pos++
	d.ws()
	if d.pos < len(d.data) && d.data[d.pos] == closing {
		d.pos++
		d.depth--
		return true, nil
	}
	return false, nil
}

func (d *decoder) array() (any, error) {
	empty, err := d.open(']')
	if empty || err != nil {
		return []any{}, err
	}
	// Elements gather on the stack and move to the heap once, at their
	// final length (an _sd array holds a digest per claim).
	var stack [16]any
	a := stack[:0]
	for {
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		if done, err := d.next(']'); done || err != nil {
			if err != nil {
				return nil, err
			}
			return append(make([]any, 0, len(a)), a...), nil
		}
	}
}

// str reads a JSON string at d.pos (which is '"').
func (d *decoder) str() (string, error) {
	d.pos++
	start := d.pos
	ascii := true
	d.skipPlain()
	for d.pos < len(d.data) {
		switch c := d.data[d.pos]; {
		case c == '"':
			s := d.str0[start:d.pos]
			d.pos++
			if !ascii && !utf8.ValidString(s) {
				return "", errSyntax
			}
			return s, nil
		case c == '\\':
			return d.strEscaped(start)
		case c < 0x20:
			return "", errSyntax
		default:
			ascii = ascii && c < utf8.RuneSelf
			d.pos++
		}
	}
	return "", errSyntax
}

// skipPlain moves d.pos over the 8-byte words of a string that hold no
// byte str must look at: no '"', no '\\', no control character (< 0x20)
// and no byte of a multi-byte UTF-8 sequence (>= 0x80). It stops at the
// first word that may hold one (the word test may flag a word that holds
// none, never misses one), which str then reads byte by byte. A
// presentation's strings are long runs of base64url: a vp_token's SD-JWT,
// the _sd digests, a key's coordinates.
func (d *decoder) skipPlain() {
	const lsb, msb = 0x0101010101010101, 0x8080808080808080
	for d.pos+8 <= len(d.data) {
		x := binary.LittleEndian.Uint64(d.data[d.pos:])
		q, b := x^(lsb*'"'), x^(lsb*'\\')
		if (x|(x-lsb*0x20)|((q-lsb)&^q)|((b-lsb)&^b))&msb != 0 {
			return
		}
		d.pos += 8
	}
}

func (d *decoder) strEscaped(start int) (string, error) {
	buf := make([]byte, 0, d.pos-start+16)
	buf = append(buf, d.data[start:d.pos]...)
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			if !utf8.Valid(buf) {
				return "", errSyntax
			}
			return string(buf), nil
		case c < 0x20:
			return "", errSyntax
		case c != '\\':
			buf = append(buf, c)
			d.pos++
			continue
		}
		if d.pos+1 >= len(d.data) {
			return "", errSyntax
		}
		e := d.data[d.pos+1]
		d.pos += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return "", errSyntax
			}
			if utf16.IsSurrogate(r) {
				if r = d.lowSurrogate(r); r == utf8.RuneError {
					return "", errSyntax // unpaired: not valid UTF-8 (RFC 7493 §2.1)
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", errSyntax
		}
	}
	return "", errSyntax
}

// lowSurrogate completes the high surrogate hi with a following \uDC00–
// \uDFFF escape; anything else yields U+FFFD, which the caller refuses.
func (d *decoder) lowSurrogate(hi rune) rune {
	if hi >= 0xDC00 || len(d.data)-d.pos < 6 || d.data[d.pos] != '\\' || d.data[d.pos+1] != 'u' {
		return utf8.RuneError
	}
	save := d.pos
	d.pos += 2
	lo, ok := d.hex4()
	if !ok || lo < 0xDC00 || lo > 0xDFFF {
		d.pos = save
		return utf8.RuneError
	}
	return utf16.DecodeRune(hi, lo)
}

func (d *decoder) hex4() (rune, bool) {
	if len(d.data)-d.pos < 4 {
		return 0, false
	}
	v, err := strconv.ParseUint(string(d.data[d.pos:d.pos+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	d.pos += 4
	return rune(v), true
}

// decodeFast checks and decodes one JSON value; see decoder. str is data
// as a string: decoded strings without escapes are substrings of it.
func decodeFast(data []byte, str string) (any, error) {
	d := decoder{data: data, str0: str}
	v, err := d.value()
	if err != nil {
		return nil, err
	}
	d.ws()
	if d.pos != len(d.data) {
		return nil, errSyntax
	}
	return v, nil
}
