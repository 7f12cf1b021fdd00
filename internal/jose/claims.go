package jose

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unsafe"

	"github.com/ssi-project/ssi/internal/jsonx"
)

// Claims is a decoded JSON object. Objects are map[string]any, arrays []any,
// strings string, booleans bool, null nil, and numbers json.Number (the
// literal as sent, so integers are never rounded through float64). Member
// names are case-exact: "ISS" is never "iss".
type Claims map[string]any

// ParseClaims checks data as jsonx.Check does and decodes it as a JSON
// object. A value that is not an object is rejected with code
// malformed_json.
func ParseClaims(data []byte) (Claims, error) {
	v, err := ParseValue(data)
	if err != nil {
		return nil, err
	}
	return asClaims(v)
}

func asClaims(v any) (Claims, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, jsonx.ErrMalformed.With("the JSON value is not an object", nil)
	}
	return Claims(m), nil
}

// ParseValue checks and decodes one JSON value into the Claims
// representation in a single pass. It accepts exactly what
// jsonx.Check(data, jsonx.MaxDepth) accepts and, on rejection, returns
// Check's error (codes malformed_json, json_too_deep, invalid_utf8).
func ParseValue(data []byte) (any, error) {
	return parseValue(data, string(data))
}

// ParseValueString is ParseValue for JSON held as a string: the decoded
// strings are substrings of s instead of copies (a vp_token's
// presentations are most of its bytes).
func ParseValueString(s string) (any, error) {
	return parseValue(readOnly(s), s)
}

// ParseValueOwned is ParseValue for bytes the caller made (decoded) and
// never modifies afterwards: the decoded strings share their memory
// instead of a copy.
func ParseValueOwned(data []byte) (any, error) {
	return parseOwned(data)
}

// parseOwned is ParseValue for bytes that jose decoded itself and never
// modifies afterwards: the decoded strings share their memory instead of a
// copy (a verified presentation decodes four of them).
func parseOwned(data []byte) (any, error) {
	return parseValue(data, unsafe.String(unsafe.SliceData(data), len(data)))
}

func parseValue(data []byte, str string) (any, error) {
	v, err := decodeFast(data, str)
	if err == nil {
		return v, nil
	}
	// Only a rejected input pays for the walk that names the error.
	if cerr := jsonx.Check(data, jsonx.MaxDepth); cerr != nil {
		return nil, cerr
	}
	return nil, jsonx.Malformed(err)
}

// String returns the string claim name. ok is false when it is absent; a
// present value of another type is an invalid_claim error.
func (c Claims) String(name string) (s string, ok bool, err error) {
	v, present := c[name]
	if !present {
		return "", false, nil
	}
	s, isStr := v.(string)
	if !isStr {
		return "", false, ErrInvalidClaim.With(fmt.Sprintf("claim %q must be a string", name), nil)
	}
	return s, true, nil
}

// Bounds of an acceptable NumericDate: 1970-01-01 to 9999-12-31T23:59:59Z.
const maxNumericDate = 253402300799

// NumericDate reads the NumericDate claim name pedantically: only a JSON
// integer literal (no sign, fraction or exponent) between 0 and the year 9999
// is accepted; 1e300, 2^63, -1, "1683000000" and 1.5 are invalid_claim.
// ok is false when the claim is absent.
func (c Claims) NumericDate(name string) (t time.Time, ok bool, err error) {
	v, present := c[name]
	if !present {
		return time.Time{}, false, nil
	}
	n, isNum := v.(json.Number)
	if !isNum {
		return time.Time{}, false, ErrInvalidClaim.With(fmt.Sprintf("claim %q must be a NumericDate", name), nil)
	}
	sec, err := ParseNumericDate(string(n))
	if err != nil {
		return time.Time{}, false, ErrInvalidClaim.With(fmt.Sprintf("claim %q must be an integer NumericDate in range", name), err)
	}
	return time.Unix(sec, 0).UTC(), true, nil
}

// ParseNumericDate parses a JSON number literal as a NumericDate in seconds,
// with the rules of Claims.NumericDate.
func ParseNumericDate(lit string) (int64, error) {
	if lit == "" || len(lit) > 12 {
		return 0, ErrInvalidClaim.With("NumericDate out of range", nil)
	}
	for i := 0; i < len(lit); i++ {
		if lit[i] < '0' || lit[i] > '9' {
			return 0, ErrInvalidClaim.With("NumericDate must be a non-negative integer", nil)
		}
	}
	sec, err := strconv.ParseInt(lit, 10, 64)
	if err != nil || sec > maxNumericDate {
		return 0, ErrInvalidClaim.With("NumericDate out of range", err)
	}
	return sec, nil
}

// MaxSkew is the largest clock skew CheckTimes ever allows (SECURITY-CASES A16).
const MaxSkew = 60 * time.Second

// TimeRules says which time claims CheckTimes requires.
type TimeRules struct {
	Now        time.Time
	Skew       time.Duration // clamped to [0, MaxSkew]
	RequireExp bool
	RequireIat bool
}

// CheckTimes validates exp, nbf and iat of c against r.Now with a bounded
// skew: exp must be after now-skew (else expired), nbf and iat must not be
// after now+skew (else not_yet_valid). Malformed values are invalid_claim; a
// required claim that is absent is invalid_claim.
func (c Claims) CheckTimes(r TimeRules) error {
	skew := min(max(r.Skew, 0), MaxSkew)
	exp, hasExp, err := c.NumericDate("exp")
	if err != nil {
		return err
	}
	nbf, hasNbf, err := c.NumericDate("nbf")
	if err != nil {
		return err
	}
	iat, hasIat, err := c.NumericDate("iat")
	if err != nil {
		return err
	}
	if r.RequireExp && !hasExp {
		return ErrInvalidClaim.With("claim \"exp\" is required", nil)
	}
	if r.RequireIat && !hasIat {
		return ErrInvalidClaim.With("claim \"iat\" is required", nil)
	}
	if hasExp && !r.Now.Add(-skew).Before(exp) {
		return ErrExpired
	}
	if hasNbf && nbf.After(r.Now.Add(skew)) {
		return ErrNotYetValid
	}
	if hasIat && iat.After(r.Now.Add(skew)) {
		return ErrNotYetValid.With("the token was issued in the future", nil)
	}
	return nil
}
