package dcql

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/ssi-project/ssi/internal/jose"
)

// Parse decodes and validates a DCQL query from untrusted JSON.
//
// The bytes pass the strict JSON gate first (jose.ParseValue, which accepts
// exactly what jsonx.Check with jsonx.MaxDepth accepts: valid UTF-8, no
// duplicate member names, at most 32 levels), and no more than
// MaxQuerySize of them are looked at. Then every MUST of OpenID4VP 1.0
// §6–7 and Appendix B.3.5 is checked, and every limit; see FromValue.
//
// Every refusal is an *errs.Error of kind Invalid: a jsonx code for JSON
// that is not acceptable, dcql_limit_exceeded (cause *LimitError) for input
// over a limit, or one of the dcql_ codes of this package for a broken
// rule. Parse never panics and does work linear in the size of its input.
func Parse(data []byte) (*Query, error) {
	if len(data) > MaxQuerySize {
		return nil, limit(LimitQuerySize, MaxQuerySize, "the query")
	}
	v, err := jose.ParseValue(data)
	if err != nil {
		return nil, err
	}
	return FromValue(v)
}

// FromValue validates a DCQL query that is already decoded, for example
// the dcql_query member of a verified request object: objects are
// map[string]any, arrays []any, numbers json.Number (as jose decodes them)
// or float64 or int. It checks, besides the types:
//
//   - credentials: present, a non-empty array of at most MaxCredentials;
//   - each credential query: id present, of [A-Za-z0-9_-], unique in the
//     query; format present and not empty; multiple and
//     require_cryptographic_holder_binding booleans when present; meta
//     present and an object, and for dc+sd-jwt meta.vct_values a non-empty
//     array of non-empty strings; trusted_authorities, when present, a
//     non-empty array of objects with a type and a non-empty array of
//     values (for aki, base64url); claims, when present, non-empty;
//     claim_sets only with claims, a non-empty array of arrays of ids of
//     claims (an empty claim set asks for the credential without claims);
//   - each claims query: id of [A-Za-z0-9_-] when present, present when
//     claim_sets is, unique in its claims; path a non-empty array of
//     strings, nulls and non-negative integers; values, when present, a
//     non-empty array of strings, integers and booleans; no two claims
//     queries with the same path;
//   - credential_sets, when present: a non-empty array of objects whose
//     options are non-empty arrays of non-empty arrays of ids of credential
//     queries, and whose required is a boolean when present.
//
// Integers are JSON integer literals (no fraction or exponent) in the range
// of int64. Members the spec does not define are ignored, and not walked.
func FromValue(v any) (*Query, error) {
	top, ok := v.(map[string]any)
	if !ok {
		return nil, at(ErrWrongType, "the query", "must be a JSON object")
	}
	root := loc{name: "credentials"}
	creds, _, err := array(top, &root, true, MaxCredentials, LimitCredentials)
	if err != nil {
		return nil, err
	}
	q := &Query{Credentials: make([]CredentialQuery, len(creds))}
	for i, c := range creds {
		l := loc{parent: &root, index: i}
		if err := parseCredential(c, &l, &q.Credentials[i]); err != nil {
			return nil, err
		}
		for j := range i {
			if q.Credentials[j].ID == q.Credentials[i].ID {
				return nil, at(ErrDuplicateID, l.member("id").String(), "the id of an earlier credential query")
			}
		}
	}
	setsLoc := loc{name: "credential_sets"}
	sets, present, err := array(top, &setsLoc, false, MaxCredentialSets, LimitCredentialSets)
	if err != nil {
		return nil, err
	}
	if !present {
		return q, nil
	}
	q.CredentialSets = make([]CredentialSet, len(sets))
	for i, s := range sets {
		l := loc{parent: &setsLoc, index: i}
		if err := parseSet(q, s, &l, &q.CredentialSets[i]); err != nil {
			return nil, err
		}
	}
	return q, nil
}

func parseCredential(v any, l *loc, c *CredentialQuery) error {
	o, ok := v.(map[string]any)
	if !ok {
		return at(ErrWrongType, l.String(), "must be an object")
	}
	var err error
	if c.ID, err = id(o, l, true); err != nil {
		return err
	}
	if c.Format, _, err = str(o, l, "format", true); err != nil {
		return err
	}
	if c.Format == "" {
		return at(ErrInvalidFormat, l.member("format").String(), "must not be empty")
	}
	if c.Multiple, err = boolean(o, l, "multiple", false); err != nil {
		return err
	}
	if c.RequireHolderBinding, err = boolean(o, l, "require_cryptographic_holder_binding", true); err != nil {
		return err
	}
	if err := parseMeta(o, l, c); err != nil {
		return err
	}
	if err := parseAuthorities(o, l, c); err != nil {
		return err
	}
	return parseClaims(o, l, c)
}

func parseMeta(o map[string]any, l *loc, c *CredentialQuery) error {
	ml := l.member("meta")
	raw, ok := o["meta"]
	if !ok {
		return at(ErrMissing, ml.String(), "is required")
	}
	meta, ok := raw.(map[string]any)
	if !ok {
		return at(ErrWrongType, ml.String(), "must be an object")
	}
	if c.Format != FormatSDJWTVC {
		return nil
	}
	vl := ml.member("vct_values")
	vcts, _, err := array(meta, &vl, true, MaxVCTValues, LimitVCTValues)
	if err != nil {
		return err
	}
	c.VCTValues = make([]string, len(vcts))
	for i, v := range vcts {
		el := loc{parent: &vl, index: i}
		if c.VCTValues[i], err = name(v, &el); err != nil {
			return err
		}
	}
	return nil
}

func parseAuthorities(o map[string]any, l *loc, c *CredentialQuery) error {
	tl := l.member("trusted_authorities")
	tas, present, err := array(o, &tl, false, MaxTrustedAuthorities, LimitTrustedAuthority)
	if err != nil || !present {
		return err
	}
	c.TrustedAuthorities = make([]TrustedAuthority, len(tas))
	for i, v := range tas {
		el := loc{parent: &tl, index: i}
		ta, ok := v.(map[string]any)
		if !ok {
			return at(ErrWrongType, el.String(), "must be an object")
		}
		typ, _, err := str(ta, &el, "type", true)
		if err != nil {
			return err
		}
		tyl := el.member("type")
		if _, err := name(typ, &tyl); err != nil {
			return err
		}
		vl := el.member("values")
		vals, _, err := array(ta, &vl, true, MaxAuthorityValues, LimitAuthorityValues)
		if err != nil {
			return err
		}
		out := TrustedAuthority{Type: typ, Values: make([]string, len(vals))}
		for j, v := range vals {
			vel := loc{parent: &vl, index: j}
			if out.Values[j], err = name(v, &vel); err != nil {
				return err
			}
			// The one type whose value has a defined encoding (§6.1.1.1).
			if typ == "aki" {
				if _, err := base64.RawURLEncoding.Strict().DecodeString(out.Values[j]); err != nil {
					return at(ErrInvalidString, vel.String(), "an aki value must be base64url without padding")
				}
			}
		}
		c.TrustedAuthorities[i] = out
	}
	return nil
}

func parseClaims(o map[string]any, l *loc, c *CredentialQuery) error {
	cl := l.member("claims")
	claims, hasClaims, err := array(o, &cl, false, MaxClaims, LimitClaims)
	if err != nil {
		return err
	}
	_, hasSets := o["claim_sets"]
	if hasSets && !hasClaims {
		return at(ErrClaimSetsWithoutClaims, l.member("claim_sets").String(), "is present without claims")
	}
	if !hasClaims {
		return nil
	}
	c.Claims = make([]ClaimQuery, len(claims))
	for i, v := range claims {
		el := loc{parent: &cl, index: i}
		if err := parseClaim(v, &el, hasSets, &c.Claims[i]); err != nil {
			return err
		}
		for j := range i {
			if c.Claims[i].ID != "" && c.Claims[j].ID == c.Claims[i].ID {
				return at(ErrDuplicateID, el.member("id").String(), "the id of an earlier claim of this credential query")
			}
			if c.Claims[j].Path.Equal(c.Claims[i].Path) {
				return at(ErrDuplicateClaim, el.member("path").String(), "the path of an earlier claim of this credential query")
			}
		}
	}
	if !hasSets {
		return nil
	}
	sl := l.member("claim_sets")
	sets, _, err := array(o, &sl, true, MaxClaimSets, LimitClaimSets)
	if err != nil {
		return err
	}
	c.ClaimSets = make([][]string, len(sets))
	for i, s := range sets {
		el := loc{parent: &sl, index: i}
		// §6.1 asks options of credential_sets to be non-empty, not claim
		// sets: an empty one asks for the credential without claims.
		ids, err := idList(s, &el, true, MaxClaims, LimitClaimSetSize)
		if err != nil {
			return err
		}
		for j, cid := range ids {
			if claimIndex(c.Claims, cid) < 0 {
				il := loc{parent: &el, index: j}
				return at(ErrUnknownClaimID, il.String(), "names no claim of this credential query")
			}
		}
		c.ClaimSets[i] = ids
	}
	return nil
}

func parseClaim(v any, l *loc, needID bool, c *ClaimQuery) error {
	o, ok := v.(map[string]any)
	if !ok {
		return at(ErrWrongType, l.String(), "must be an object")
	}
	var err error
	if c.ID, err = id(o, l, false); err != nil {
		return err
	}
	if needID && c.ID == "" {
		return at(ErrMissingClaimID, l.member("id").String(), "is required when claim_sets is present")
	}
	pl := l.member("path")
	comps, _, err := array(o, &pl, true, MaxPathLength, LimitPathLength)
	if err != nil {
		return err
	}
	c.Path = make(Path, len(comps))
	for i, v := range comps {
		el := loc{parent: &pl, index: i}
		if c.Path[i], err = component(v, &el); err != nil {
			return err
		}
	}
	vl := l.member("values")
	vals, present, err := array(o, &vl, false, MaxValues, LimitValues)
	if err != nil || !present {
		return err
	}
	c.Values = make([]any, len(vals))
	for i, v := range vals {
		el := loc{parent: &vl, index: i}
		if c.Values[i], err = value(v, &el); err != nil {
			return err
		}
	}
	return nil
}

func parseSet(q *Query, v any, l *loc, s *CredentialSet) error {
	o, ok := v.(map[string]any)
	if !ok {
		return at(ErrWrongType, l.String(), "must be an object")
	}
	var err error
	if s.Required, err = boolean(o, l, "required", true); err != nil {
		return err
	}
	// purpose is not a member of OpenID4VP 1.0 (drafts had it): kept when
	// a string, otherwise ignored like any unknown member.
	if p, ok := o["purpose"].(string); ok {
		if len(p) > MaxStringLength {
			return limit(LimitStringLength, MaxStringLength, l.member("purpose").String())
		}
		s.Purpose = p
	}
	ol := l.member("options")
	opts, _, err := array(o, &ol, true, MaxOptions, LimitOptions)
	if err != nil {
		return err
	}
	s.Options = make([][]string, len(opts))
	for i, opt := range opts {
		el := loc{parent: &ol, index: i}
		ids, err := idList(opt, &el, false, MaxCredentials, LimitOptionSize)
		if err != nil {
			return err
		}
		for j, cid := range ids {
			if q.indexOf(cid) < 0 {
				il := loc{parent: &el, index: j}
				return at(ErrUnknownCredentialID, il.String(), "names no credential query")
			}
		}
		s.Options[i] = ids
	}
	return nil
}

// claimIndex returns the index of the claims query id in claims, or -1.
func claimIndex(claims []ClaimQuery, id string) int {
	for i := range claims {
		if claims[i].ID == id && id != "" {
			return i
		}
	}
	return -1
}

// array reads member l.name of o as a non-empty array of at most maxLen
// elements. present is false when it is absent, which is ErrMissing when
// required.
func array(o map[string]any, l *loc, required bool, maxLen int, lim Limit) (arr []any, present bool, err error) {
	raw, ok := o[l.name]
	if !ok {
		if required {
			return nil, false, at(ErrMissing, l.String(), "is required")
		}
		return nil, false, nil
	}
	return asArray(raw, l, maxLen, lim)
}

func asArray(raw any, l *loc, maxLen int, lim Limit) ([]any, bool, error) {
	arr, ok := raw.([]any)
	switch {
	case !ok:
		return nil, true, at(ErrWrongType, l.String(), "must be an array")
	case len(arr) == 0:
		return nil, true, at(ErrEmpty, l.String(), "must not be empty")
	case len(arr) > maxLen:
		return nil, true, limit(lim, maxLen, l.String())
	}
	return arr, true, nil
}

// idList reads an array of at most maxLen strings (a claim set or a
// credential set option), non-empty unless mayBeEmpty; whether they name
// anything is the caller's.
func idList(v any, l *loc, mayBeEmpty bool, maxLen int, lim Limit) ([]string, error) {
	if a, ok := v.([]any); ok && len(a) == 0 && mayBeEmpty {
		return []string{}, nil
	}
	arr, _, err := asArray(v, l, maxLen, lim)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(arr))
	for i, e := range arr {
		s, ok := e.(string)
		if !ok {
			el := loc{parent: l, index: i}
			return nil, at(ErrWrongType, el.String(), "must be a string")
		}
		ids[i] = s
	}
	return ids, nil
}

// str reads member key of o as a string of at most MaxStringLength bytes.
func str(o map[string]any, l *loc, key string, required bool) (string, bool, error) {
	raw, ok := o[key]
	if !ok {
		if required {
			return "", false, at(ErrMissing, l.member(key).String(), "is required")
		}
		return "", false, nil
	}
	s, ok := raw.(string)
	if !ok {
		return "", true, at(ErrWrongType, l.member(key).String(), "must be a string")
	}
	if len(s) > MaxStringLength {
		return "", true, limit(LimitStringLength, MaxStringLength, l.member(key).String())
	}
	return s, true, nil
}

// boolean reads member key of o as a boolean, def when absent.
func boolean(o map[string]any, l *loc, key string, def bool) (bool, error) {
	raw, ok := o[key]
	if !ok {
		return def, nil
	}
	b, ok := raw.(bool)
	if !ok {
		return false, at(ErrWrongType, l.member(key).String(), "must be a boolean")
	}
	return b, nil
}

// id reads member "id" of o and checks its characters (§6.1, §6.3).
func id(o map[string]any, l *loc, required bool) (string, error) {
	s, present, err := str(o, l, "id", required)
	if err != nil || !present {
		return "", err
	}
	il := l.member("id")
	if len(s) > MaxIDLength {
		return "", limit(LimitIDLength, MaxIDLength, il.String())
	}
	if !validID(s) {
		return "", at(ErrInvalidID, il.String(), "must be a non-empty string of [A-Za-z0-9_-]")
	}
	return s, nil
}

func validID(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// name checks v as a string that names something: not empty, no control
// character, at most MaxStringLength bytes.
func name(v any, l *loc) (string, error) {
	s, ok := v.(string)
	switch {
	case !ok:
		return "", at(ErrWrongType, l.String(), "must be a string")
	case len(s) > MaxStringLength:
		return "", limit(LimitStringLength, MaxStringLength, l.String())
	case s == "" || strings.IndexFunc(s, isControl) >= 0:
		return "", at(ErrInvalidString, l.String(), "must be a non-empty string without control characters")
	}
	return s, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

// component reads one claims path component (§7).
func component(v any, l *loc) (Component, error) {
	switch x := v.(type) {
	case string:
		if len(x) > MaxStringLength {
			return Component{}, limit(LimitStringLength, MaxStringLength, l.String())
		}
		return Key(x), nil
	case nil:
		return All(), nil
	}
	n, isInt, inRange := integer(v)
	switch {
	case !isInt || n < 0:
		return Component{}, at(ErrInvalidPath, l.String(), "must be a string, null or a non-negative integer")
	case !inRange || n > MaxPathIndex:
		return Component{}, limit(LimitPathIndex, MaxPathIndex, l.String())
	}
	return Index(int(n)), nil
}

// value reads one element of values (§6.3): a string, an int64 or a bool.
func value(v any, l *loc) (any, error) {
	switch x := v.(type) {
	case string:
		if len(x) > MaxStringLength {
			return nil, limit(LimitStringLength, MaxStringLength, l.String())
		}
		return x, nil
	case bool:
		return x, nil
	}
	n, isInt, inRange := integer(v)
	if !isInt || !inRange {
		return nil, at(ErrInvalidValue, l.String(), "must be a string, an integer within 64 bits or a boolean")
	}
	return n, nil
}

// maxExact is the largest integer every float64 below it holds exactly.
const maxExact = 1 << 53

// integer reads a decoded JSON number that is an integer. isInt is false
// for anything else (a fraction, an exponent, a non-number); inRange is
// false for an integer literal beyond int64.
func integer(v any) (n int64, isInt, inRange bool) {
	switch x := v.(type) {
	case json.Number:
		s := string(x)
		if !isIntLiteral(s) {
			return 0, false, false
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return n, true, err == nil
	case float64:
		if x != math.Trunc(x) || math.IsInf(x, 0) {
			return 0, false, false
		}
		if math.Abs(x) > maxExact {
			return 0, true, false
		}
		return int64(x), true, true
	case int:
		return int64(x), true, true
	case int64:
		return x, true, true
	}
	return 0, false, false
}

// isIntLiteral reports whether s is -?digits: a JSON number with neither a
// fraction nor an exponent.
func isIntLiteral(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// loc is the position of a member in the query, rendered only for an
// error ("credentials[1].claims[0].path"): a chain of member names and
// array indices that lives on the stack while the parser walks.
type loc struct {
	parent *loc
	name   string // a member name; "" for an array element
	index  int
}

// member returns the location of member key below l.
func (l *loc) member(key string) loc { return loc{parent: l, name: key} }

func (l loc) String() string {
	parts := []*loc{&l}
	for p := l.parent; p != nil; p = p.parent {
		parts = append(parts, p)
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		p := parts[i]
		switch {
		case p.name == "":
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(p.index))
			b.WriteByte(']')
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(p.name)
		}
	}
	return b.String()
}
