package dcql

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/ssi-project/ssi/internal/jose"
)

// Selected is one element that a claims path selected.
type Selected struct {
	// Pointer is the element's JSON Pointer (RFC 6901) in the claims:
	// "/address/street_address", "/degrees/1/type". It is the form
	// sdjwt.Present takes for what to reveal.
	Pointer string
	// Value is the element, as it is in the claims (not copied).
	Value any
}

// Select processes the claims path p over claims, the top-level object of a
// JSON-based credential (for an SD-JWT VC, the payload with the disclosures
// applied, as internal/sdjwt returns it), by OpenID4VP 1.0 §7.1.1:
//
//   - a name selects that member of each selected element; an element
//     without it leaves the selection; an element that is not an object
//     aborts with ErrPathTypeMismatch;
//   - null selects every element of each selected array, and an index the
//     element at that index (an array too short leaves the selection); an
//     element that is not an array aborts with ErrPathTypeMismatch;
//   - an empty selection at the end is ErrPathNoMatch.
//
// The selection is returned in document order of the arrays and never
// empty. An empty or invalid p is ErrInvalidPath. Select never modifies
// claims and never panics.
func Select(claims map[string]any, p Path) ([]Selected, error) {
	sel, start, err := selectAppend(nil, claims, p)
	if err != nil {
		return nil, err
	}
	return sel[start:], nil
}

// selectAppend processes p and appends the selection to arena: it is
// arena[start:] of the result. On an error arena is returned as it was
// given (its length), so that one arena serves every claim of a match.
func selectAppend(arena []Selected, claims map[string]any, p Path) ([]Selected, int, error) {
	start := len(arena)
	if len(p) == 0 {
		return arena, start, ErrInvalidPath.With("the path is empty", nil)
	}
	arena = append(arena, Selected{Value: claims})
	for _, c := range p {
		end := len(arena)
		switch c.kind {
		case KeyComponent:
			k := start
			for i := start; i < end; i++ {
				o, ok := asObject(arena[i].Value)
				if !ok {
					return arena[:start], start, ErrPathTypeMismatch
				}
				if v, ok := o[c.key]; ok {
					arena[k] = Selected{Pointer: arena[i].Pointer + "/" + escapePointer(c.key), Value: v}
					k++
				}
			}
			arena = arena[:k]
		case IndexComponent:
			k := start
			for i := start; i < end; i++ {
				a, ok := arena[i].Value.([]any)
				if !ok {
					return arena[:start], start, ErrPathTypeMismatch
				}
				if c.index >= 0 && c.index < len(a) {
					arena[k] = Selected{Pointer: arena[i].Pointer + "/" + strconv.Itoa(c.index), Value: a[c.index]}
					k++
				}
			}
			arena = arena[:k]
		case AllComponent:
			// The new selection is built after the current one, then moved
			// down over it.
			for i := start; i < end; i++ {
				a, ok := arena[i].Value.([]any)
				if !ok {
					return arena[:start], start, ErrPathTypeMismatch
				}
				for j, v := range a {
					arena = append(arena, Selected{Pointer: arena[i].Pointer + "/" + strconv.Itoa(j), Value: v})
				}
			}
			n := copy(arena[start:], arena[end:])
			arena = arena[:start+n]
		default:
			return arena[:start], start, ErrInvalidPath.With("the path has an invalid component", nil)
		}
	}
	if len(arena) == start {
		return arena, start, ErrPathNoMatch
	}
	return arena, start, nil
}

// asObject returns v as a JSON object: a map[string]any, or jose.Claims,
// which is one by another name.
func asObject(v any) (map[string]any, bool) {
	switch o := v.(type) {
	case map[string]any:
		return o, true
	case jose.Claims:
		return o, true
	}
	return nil, false
}

// escapePointer escapes one reference token of a JSON Pointer (RFC 6901).
func escapePointer(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

// keepValues filters sel down to the elements equal to one of values
// (§6.3, §6.4.1: a claim whose value does not match is treated as if it
// did not exist) and returns what is left.
func keepValues(sel []Selected, values []any) []Selected {
	k := 0
	for _, s := range sel {
		if matchesValue(s.Value, values) {
			sel[k] = s
			k++
		}
	}
	return sel[:k]
}

// matchesValue reports whether v has the type and value of one of values:
// a string equals a string, a boolean a boolean, and a JSON number an
// integer when the number is an integer literal of that value (issuers
// write integers so; "1.0" or "1e0" match nothing, which fails closed).
func matchesValue(v any, values []any) bool {
	for _, want := range values {
		switch w := want.(type) {
		case string:
			if s, ok := v.(string); ok && s == w {
				return true
			}
		case bool:
			if b, ok := v.(bool); ok && b == w {
				return true
			}
		case int64:
			if numberIs(v, w) {
				return true
			}
		case int:
			if numberIs(v, int64(w)) {
				return true
			}
		}
	}
	return false
}

func numberIs(v any, w int64) bool {
	switch n := v.(type) {
	case json.Number:
		if !isIntLiteral(string(n)) {
			return false
		}
		x, err := strconv.ParseInt(string(n), 10, 64)
		return err == nil && x == w
	case float64:
		return w >= -maxExact && w <= maxExact && n == float64(w)
	case int:
		return int64(n) == w
	case int64:
		return n == w
	}
	return false
}
