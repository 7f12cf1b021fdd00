package jsonx

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/ssi-project/ssi/internal/errs"
)

// MaxDepth is the nesting limit used by ssi (SECURITY-CASES A14).
const MaxDepth = 32

// Stable error codes. A duplicate member name and a number beyond the
// range of a double are ErrMalformed too, with their own detail.
var (
	ErrMalformed = errs.E(errs.Invalid, "malformed_json", "the JSON is malformed")
	ErrTooDeep   = errs.E(errs.Invalid, "json_too_deep", "the JSON nests too deeply")
	ErrBadUTF8   = errs.E(errs.Invalid, "invalid_utf8", "the JSON is not valid UTF-8")
	// Unmarshal's: a member the target does not declare (strict), and a
	// value the target cannot hold.
	ErrUnknownField = errs.E(errs.Invalid, "unknown_field", "a member is not allowed here")
	ErrInvalidType  = errs.E(errs.Invalid, "invalid_type", "a member has the wrong type or value")
)

// Position is the cause of every error jsonx returns: what kind of fault
// was found, and the byte offset at which it was found. It deliberately
// holds nothing of the input (no snippet, member name, JSON pointer or
// value), because the input may be a citizen's claims and an error's cause
// reaches the log; the decoders' own errors, which quote the input, are
// never kept.
type Position struct {
	Fault  string // one of a fixed set, e.g. "syntax error"
	Offset int64  // the byte offset in the input; -1 when unknown
	// Own is the *errs.Error that a type of ours refused its value with
	// in its UnmarshalJSON (a JWK with a private member, say), kept so
	// that callers can test for it with errors.Is. Its detail is
	// user-safe by the contract of errs, unlike the decoders' own text.
	Own *errs.Error
}

// Unwrap returns Own.
func (p *Position) Unwrap() error {
	if p.Own == nil {
		return nil
	}
	return p.Own
}

func (p *Position) Error() string {
	if p.Offset < 0 {
		return p.Fault
	}
	return p.Fault + " at byte offset " + strconv.FormatInt(p.Offset, 10)
}

// InputOffset returns the byte offset of the fault, or -1.
func (p *Position) InputOffset() int64 { return p.Offset }

// The faults of Position.
const (
	faultSyntax    = "syntax error"
	faultEOF       = "unexpected end of input"
	faultTrailing  = "data after the value"
	faultDuplicate = "duplicate member name"
	faultDepth     = "nesting too deep"
	faultRange     = "number out of range"
	faultUTF8      = "invalid UTF-8"
	faultUnknown   = "unknown member"
	faultType      = "wrong type or value"
	faultDecode    = "not decodable"
)

// refuse returns sentinel with the fault at offset as its cause; detail
// (or the sentinel's own) is suffixed with the offset, which helps the
// client find its mistake without quoting it.
func refuse(sentinel *errs.Error, detail, fault string, offset int64) error {
	if detail == "" {
		detail = sentinel.Detail
	}
	if offset >= 0 {
		detail += " (at byte offset " + strconv.FormatInt(offset, 10) + ")"
	}
	return sentinel.With(detail, &Position{Fault: fault, Offset: offset})
}

// Malformed returns ErrMalformed for err, a JSON decoder's refusal of
// input (typically input that Check accepted): only the byte offset of err
// survives, never its text, which may quote the input. Every package that
// runs a decoder of its own over untrusted JSON returns its refusals
// through it.
func Malformed(err error) error {
	return refuse(ErrMalformed, "", faultDecode, offsetOf(err, -1))
}

// offsetOf returns the byte offset a decoder error of jsontext or json
// reports, or def.
func offsetOf(err error, def int64) int64 {
	var se *jsontext.SyntacticError
	if errors.As(err, &se) {
		return se.ByteOffset
	}
	var me *json.SemanticError
	if errors.As(err, &me) {
		return me.ByteOffset
	}
	var p *Position
	if errors.As(err, &p) {
		return p.Offset
	}
	return def
}

// Check reports whether data is a single JSON value that is valid UTF-8, has
// no duplicate member names, nests at most maxDepth levels (an object or
// array counts one level) and holds no number beyond the range of an IEEE
// 754 double (I-JSON, RFC 7493 §2.2), so that every decoder behind the gate
// can represent what passed it. Every failure is an *errs.Error of kind Invalid
// with code malformed_json, json_too_deep or invalid_utf8 whose cause is a
// *Position; neither the detail nor the cause quotes the input.
func Check(data []byte, maxDepth int) error {
	// The fast path allocates nothing: one pass for the depth, then
	// jsontext's RFC 7493 validation (UTF-8, escapes, unique names). Only a
	// rejected input pays for the token-by-token walk that names the error.
	if fastValid(data, maxDepth) {
		return nil
	}
	if err := walk(data, maxDepth); err != nil {
		return err
	}
	// The walk accepts what the fast path refused: refuse it anyway, since it
	// is at best an input the two validators see differently.
	return refuse(ErrMalformed, "the JSON is not valid", faultSyntax, -1)
}

func fastValid(data []byte, maxDepth int) bool {
	return scanWithin(data, maxDepth) && jsontext.Value(data).IsValid()
}

// scanWithin reports whether the brackets outside strings nest at most max
// deep and every number outside strings is within range. Malformed input
// may pass here; IsValid then rejects it.
func scanWithin(data []byte, max int) bool {
	depth, inString := 0, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case inString:
			if c == '\\' {
				i++
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			if depth > max {
				return false
			}
		case c == '}' || c == ']':
			depth--
		case c == '-' || (c >= '0' && c <= '9'):
			// Outside strings these bytes only start numbers.
			j := i + 1
			for j < len(data) && isNumberByte(data[j]) {
				j++
			}
			if !NumberInRange(data[i:j]) {
				return false
			}
			i = j - 1
		}
	}
	return true
}

func isNumberByte(c byte) bool {
	return (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'
}

// NumberInRange reports whether num, the text of a JSON number, is within
// the range of an IEEE 754 double: its magnitude does not round to
// infinity (a value that underflows to zero is in range). A number without
// an exponent and of at most 308 bytes is always in range and costs no
// conversion; text that is not a number is reported out of range.
func NumberInRange(num []byte) bool {
	const maxPlain = 308 // 1.8e308 has 309 integer digits
	if len(num) <= maxPlain && !bytes.ContainsAny(num, "eE") {
		return true
	}
	_, err := strconv.ParseFloat(string(num), 64)
	return err == nil
}

// walk checks data token by token and returns its precise error, or nil.
func walk(data []byte, maxDepth int) error {
	if off := invalidUTF8(data); off >= 0 {
		return refuse(ErrBadUTF8, "", faultUTF8, off)
	}
	dec := jsontext.NewDecoder(bytes.NewReader(data),
		jsontext.AllowDuplicateNames(false),
		jsontext.AllowInvalidUTF8(false))
	for {
		tok, err := dec.ReadToken()
		if err != nil {
			return classify(err, dec, len(data))
		}
		switch k := tok.Kind(); {
		case (k == '{' || k == '[') && dec.StackDepth() > maxDepth:
			return refuse(ErrTooDeep, "", faultDepth, dec.InputOffset()-1)
		case k == '0' && !NumberInRange([]byte(tok.String())):
			return refuse(ErrMalformed, "a JSON number is beyond the range of a double", faultRange, dec.InputOffset())
		}
		if dec.StackDepth() == 0 {
			break
		}
	}
	// Exactly one value, then only whitespace.
	end := dec.InputOffset()
	if _, err := dec.ReadToken(); err != io.EOF {
		if err == nil {
			return refuse(ErrMalformed, "there is data after the JSON value", faultTrailing, end)
		}
		return classify(err, dec, len(data))
	}
	return nil
}

// invalidUTF8 returns the offset of the first byte of data that is not
// valid UTF-8, or -1.
func invalidUTF8(data []byte) int64 {
	if utf8.Valid(data) {
		return -1
	}
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n == 1 {
			return int64(i)
		}
		i += n
	}
	return -1
}

// classify turns a refusal of jsontext into ours; only its offset is kept.
func classify(err error, dec *jsontext.Decoder, size int) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return refuse(ErrMalformed, "the JSON ends early", faultEOF, int64(size))
	}
	off := offsetOf(err, dec.InputOffset())
	if errors.Is(err, jsontext.ErrDuplicateName) {
		return refuse(ErrMalformed, "a JSON object has a duplicate member name", faultDuplicate, off)
	}
	return refuse(ErrMalformed, "", faultSyntax, off)
}

// Unmarshal runs Check with MaxDepth and then decodes data into v with
// JSON v2 semantics: member names match struct tags case-exactly (so "ISS"
// is never taken for "iss"), and when strict is true a member that v does not
// declare is rejected with code unknown_field. A value of the wrong type is
// rejected with code invalid_type. As with Check, the error locates the
// fault by byte offset and never names the member or quotes the value.
func Unmarshal(data []byte, v any, strict bool) error {
	if err := Check(data, MaxDepth); err != nil {
		return err
	}
	if err := json.Unmarshal(data, v, json.RejectUnknownMembers(strict)); err != nil {
		// The decoder's error names the member and may quote its value:
		// only the offset is kept (see Position).
		var se *json.SemanticError
		if errors.As(err, &se) {
			if errors.Is(se.Err, json.ErrUnknownName) {
				return refuse(ErrUnknownField, "", faultUnknown, se.ByteOffset)
			}
			err := refuse(ErrInvalidType, "", faultType, se.ByteOffset)
			var own *errs.Error
			if errors.As(se.Err, &own) {
				var p *Position
				errors.As(err, &p)
				p.Own = own
			}
			return err
		}
		return Malformed(err)
	}
	return nil
}
