package keystest

import "strings"

// PrivateMember is one JSON member that makes a JWK private: keys.ParseJWK
// and keys.JWKFromMap must refuse any JWK that carries it, with code
// private_jwk, and every path that reads a JWK must refuse it too.
type PrivateMember struct {
	Name string // for t.Run
	JSON string // the member, as it appears inside the JWK's object
}

// PrivateMembers lists every private member name of RFC 7518 and RFC 8037
// (d p q dp dq qi oth, and the symmetric k) and the odd forms a parser that
// looks at values instead of names would miss.
var PrivateMembers = []PrivateMember{
	{"d", `"d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"`},
	{"d_null", `"d":null`},
	{"d_empty", `"d":""`},
	{"d_number", `"d":0`},
	{"d_false", `"d":false`},
	{"d_object", `"d":{}`},
	{"d_array", `"d":["AA"]`},
	{"d_escaped_name", `"\u0064":"AA"`},
	{"p", `"p":"AQAB"`},
	{"q", `"q":"AQAB"`},
	{"dp", `"dp":"AQAB"`},
	{"dq", `"dq":"AQAB"`},
	{"qi", `"qi":"AQAB"`},
	{"oth", `"oth":[{"r":"AQAB","d":"AQAB","t":"AQAB"}]`},
	{"oth_empty", `"oth":[]`},
	{"k", `"k":"c2VjcmV0"`},
	{"k_null", `"k":null`},
	{"k_empty", `"k":""`},
}

// NotPrivateMembers are members that look private and are not: member
// names are case-exact and only a JWK's own members count, so a JWK that
// carries one of these is the public key it names (RFC 7517 ignores unknown
// members).
var NotPrivateMembers = []PrivateMember{
	{"D_upper", `"D":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"`},
	{"K_upper", `"K":"c2VjcmV0"`},
	{"d_nested_in_unknown_member", `"ext":{"d":"AA","k":"AA"}`},
	{"d_as_a_value", `"key_ops":["d","k"]`},
}

// With returns the JSON object jwk (a JWK's JSON, "{...}") with member
// added, at the end when last is true and at the start otherwise.
func With(jwk, member string, last bool) string {
	inner := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(jwk), "{"), "}")
	if last {
		return "{" + inner + "," + member + "}"
	}
	return "{" + member + "," + inner + "}"
}
