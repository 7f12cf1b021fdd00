package bundle

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Condition is one `claim == value` of a policy rule. Value is a bool, an
// int64 or a string.
type Condition struct {
	Claim string `json:"claim"`
	Value any    `json:"value"`
}

// ParseRule reads a rule: conditions `claim == literal` joined by &&, a
// literal being true, false, an integer or a "string", a claim a dot path
// of object members. An empty rule has no condition.
func ParseRule(s string) ([]Condition, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []Condition
	for _, part := range strings.Split(s, "&&") {
		name, lit, ok := strings.Cut(part, "==")
		name, lit = strings.TrimSpace(name), strings.TrimSpace(lit)
		if !ok || name == "" || lit == "" || strings.ContainsAny(name, " \"=!") {
			return nil, fmt.Errorf("rule %q: each condition is claim == literal", s)
		}
		var v any
		switch {
		case lit == "true":
			v = true
		case lit == "false":
			v = false
		case strings.HasPrefix(lit, `"`):
			u, err := strconv.Unquote(lit)
			if err != nil {
				return nil, fmt.Errorf("rule %q: bad string literal", s)
			}
			v = u
		default:
			n, err := strconv.ParseInt(lit, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("rule %q: bad literal %q", s, lit)
			}
			v = n
		}
		out = append(out, Condition{Claim: name, Value: v})
	}
	return out, nil
}

// Holds reports whether claims satisfy every condition.
func Holds(conds []Condition, claims map[string]any) bool {
	for _, c := range conds {
		v, ok := Lookup(claims, c.Claim)
		if !ok || !sameValue(v, c.Value) {
			return false
		}
	}
	return true
}

// Lookup finds the claim at a dot path of object members.
func Lookup(claims map[string]any, name string) (any, bool) {
	var cur any = claims
	for _, part := range strings.Split(name, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func sameValue(got, want any) bool {
	switch w := want.(type) {
	case int64:
		return intValue(got, w)
	case float64: // a Condition decoded from JSON
		if w == float64(int64(w)) {
			return intValue(got, int64(w))
		}
		return false
	default:
		return got == want
	}
}

func intValue(got any, w int64) bool {
	switch g := got.(type) {
	case json.Number:
		n, err := g.Int64()
		return err == nil && n == w
	case float64:
		return g == float64(w)
	case int64:
		return g == w
	}
	return false
}
