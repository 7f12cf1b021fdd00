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
