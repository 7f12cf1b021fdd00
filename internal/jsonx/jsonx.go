package jsonx

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/ssi-project/ssi/internal/errs"
)

// MaxDepth is the nesting limit used by ssi (SECURITY-CASES A14).
const MaxDepth = 32

// Stable error codes.
var (
	ErrMalformed = errs.E(errs.Invalid, "malformed_json", "the JSON is malformed")
	ErrDuplicate = errs.E(errs.Invalid, "malformed_json", "a JSON object has a duplicate member name")
	ErrTooDeep   = errs.E(errs.Invalid, "json_too_deep", "the JSON nests too deeply")
	ErrBadUTF8   = errs.E(errs.Invalid, "invalid_utf8", "the JSON is not valid UTF-8")
)

// Check reports whether data is a single JSON value that is valid UTF-8, has
// no duplicate member names and nests at most maxDepth levels (an object or
// array counts one level). Every failure is an *errs.Error of kind Invalid
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
	return depthWithin(data, maxDepth) && jsontext.Value(data).IsValid()
}

// depthWithin reports whether the brackets outside strings nest at most
// max deep. Malformed input may pass here; IsValid then rejects it.
func depthWithin(data []byte, max int) bool {
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
		}
	}
	return true
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
		if k := tok.Kind(); (k == '{' || k == '[') && dec.StackDepth() > maxDepth {
			return ErrTooDeep.With("", fmt.Errorf("depth over %d", maxDepth))
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
		return ErrDuplicate.With("", err)
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
