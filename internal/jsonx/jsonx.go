package jsonx

import (
	"bytes"
	"errors"
	"fmt"
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
)

// Check reports whether data is a single JSON value that is valid UTF-8, has
// no duplicate member names, nests at most maxDepth levels (an object or
// array counts one level) and holds no number beyond the range of an IEEE
// 754 double (I-JSON, RFC 7493 §2.2), so that every decoder behind the gate
// can represent what passed it. Every failure is an *errs.Error of kind Invalid
// with code malformed_json, json_too_deep or invalid_utf8; the detail never
// quotes the input.
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
	return ErrMalformed.With("the JSON is not valid", nil)
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
	if !utf8.Valid(data) {
		return ErrBadUTF8
	}
	dec := jsontext.NewDecoder(bytes.NewReader(data),
		jsontext.AllowDuplicateNames(false),
		jsontext.AllowInvalidUTF8(false))
	for {
		tok, err := dec.ReadToken()
		if err != nil {
			return classify(err)
		}
		switch k := tok.Kind(); {
		case (k == '{' || k == '[') && dec.StackDepth() > maxDepth:
			return ErrTooDeep.With("", fmt.Errorf("depth over %d", maxDepth))
		case k == '0' && !NumberInRange([]byte(tok.String())):
			return ErrMalformed.With("a JSON number is beyond the range of a double", nil)
		}
		if dec.StackDepth() == 0 {
			break
		}
	}
	// Exactly one value, then only whitespace.
	if _, err := dec.ReadToken(); err != io.EOF {
		if err == nil {
			return ErrMalformed.With("there is data after the JSON value", nil)
		}
		return classify(err)
	}
	return nil
}

func classify(err error) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrMalformed.With("the JSON ends early", err)
	}
	if errors.Is(err, jsontext.ErrDuplicateName) {
		return ErrMalformed.With("a JSON object has a duplicate member name", err)
	}
	return ErrMalformed.With("", err)
}

// Unmarshal runs Check with MaxDepth and then decodes data into v with
// JSON v2 semantics: member names match struct tags case-exactly (so "ISS"
// is never taken for "iss"), and when strict is true a member that v does not
// declare is rejected with code unknown_field. A value of the wrong type is
// rejected with code invalid_type.
func Unmarshal(data []byte, v any, strict bool) error {
	if err := Check(data, MaxDepth); err != nil {
		return err
	}
	if err := json.Unmarshal(data, v, json.RejectUnknownMembers(strict)); err != nil {
		var se *json.SemanticError
		if errors.As(err, &se) {
			if errors.Is(se.Err, json.ErrUnknownName) {
				return errs.Wrap(errs.Invalid, "unknown_field",
					fmt.Sprintf("member %s is not allowed here", se.JSONPointer), err)
			}
			return errs.Wrap(errs.Invalid, "invalid_type",
				fmt.Sprintf("member %s has the wrong type or value", se.JSONPointer), err)
		}
		return ErrMalformed.With("", err)
	}
	return nil
}
