package dcql

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/errs"
)

func TestParseSpecExamples(t *testing.T) {
	cases := []struct {
		file    string
		ids     []string
		formats []string
		claims  []int // claims per credential query
		sets    int
	}{
		{"5.6_request_object.json", []string{"some_identity_credential"}, []string{"dc+sd-jwt"}, []int{2}, 0},
		{"8.3_encrypted_request.json", []string{"my_credential"}, []string{"dc+sd-jwt"}, []int{3}, 0},
		{"D.1_mdoc.json", []string{"my_credential"}, []string{"mso_mdoc"}, []int{2}, 0},
		{"D.2_multi_credentials.json", []string{"pid", "mdl"}, []string{"dc+sd-jwt", "mso_mdoc"}, []int{3, 2}, 0},
		{"D.3_credentials_alternatives.json", []string{"pid", "other_pid", "pid_reduced_cred_1", "pid_reduced_cred_2", "nice_to_have"},
			[]string{"dc+sd-jwt", "dc+sd-jwt", "dc+sd-jwt", "dc+sd-jwt", "dc+sd-jwt"}, []int{3, 3, 2, 3, 1}, 2},
		{"D.4_complex_mdoc.json", []string{"mdl-id", "mdl-address", "photo_card-id", "photo_card-address"},
			[]string{"mso_mdoc", "mso_mdoc", "mso_mdoc", "mso_mdoc"}, []int{3, 2, 3, 2}, 2},
		{"D.5_claims_alternatives.json", []string{"pid"}, []string{"dc+sd-jwt"}, []int{5}, 0},
		{"D.6_value_matching.json", []string{"my_credential"}, []string{"dc+sd-jwt"}, []int{4}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			q, err := Parse(specExample(t, tc.file))
			require.NoError(t, err)
			require.Len(t, q.Credentials, len(tc.ids))
			for i, c := range q.Credentials {
				assert.Equal(t, tc.ids[i], c.ID)
				assert.Equal(t, tc.formats[i], c.Format)
				assert.Len(t, c.Claims, tc.claims[i])
				assert.False(t, c.Multiple, "multiple defaults to false")
				assert.True(t, c.RequireHolderBinding, "holder binding defaults to required")
				if c.Format == FormatSDJWTVC {
					assert.NotEmpty(t, c.VCTValues)
				} else {
					assert.Nil(t, c.VCTValues, "vct_values belongs to dc+sd-jwt only")
				}
			}
			assert.Len(t, q.CredentialSets, tc.sets)
		})
	}
}

func TestParseSpecDetails(t *testing.T) {
	q, err := Parse(specExample(t, "D.3_credentials_alternatives.json"))
	require.NoError(t, err)
	require.Len(t, q.CredentialSets, 2)
	assert.True(t, q.CredentialSets[0].Required, "required defaults to true")
	assert.Equal(t, [][]string{{"pid"}, {"other_pid"}, {"pid_reduced_cred_1", "pid_reduced_cred_2"}}, q.CredentialSets[0].Options)
	assert.False(t, q.CredentialSets[1].Required)
	assert.Equal(t, Path{Key("address"), Key("street_address")}, q.Credentials[0].Claims[2].Path)

	q, err = Parse(specExample(t, "D.5_claims_alternatives.json"))
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"a", "c", "d", "e"}, {"a", "b", "e"}}, q.Credentials[0].ClaimSets)
	assert.Equal(t, "e", q.Credentials[0].Claims[4].ID)

	q, err = Parse(specExample(t, "D.6_value_matching.json"))
	require.NoError(t, err)
	assert.Equal(t, []any{"Doe"}, q.Credentials[0].Claims[0].Values)
	assert.Nil(t, q.Credentials[0].Claims[1].Values)
	assert.Equal(t, []any{"90210", "90211"}, q.Credentials[0].Claims[3].Values)
}

func TestParseAccepts(t *testing.T) {
	q := mustParse(t, `{"credentials":[{"id":"A-b_9","format":"dc+sd-jwt","multiple":true,
		"meta":{"vct_values":["urn:a","urn:b"],"other":1},
		"trusted_authorities":[{"type":"aki","values":["s9tIpPmhxdiuNkHMEWNpYim8S8Y"]},{"type":"openid_federation","values":["https://ta.example"]},{"type":"future_type","values":["x"]}],
		"require_cryptographic_holder_binding":false,
		"claims":[{"id":"x","path":["degrees",null,"type"],"values":["B.Sc.",7,-3,false]},{"path":["nationalities",0]}],
		"future_member":{"deep":[1,2,3]}}],
		"credential_sets":[{"options":[["A-b_9"]],"required":false,"purpose":"entry"}],
		"future_top":true}`)
	c := q.Credentials[0]
	assert.True(t, c.Multiple)
	assert.False(t, c.RequireHolderBinding)
	assert.Equal(t, []string{"urn:a", "urn:b"}, c.VCTValues)
	assert.Equal(t, []TrustedAuthority{{"aki", []string{"s9tIpPmhxdiuNkHMEWNpYim8S8Y"}}, {"openid_federation", []string{"https://ta.example"}}, {"future_type", []string{"x"}}}, c.TrustedAuthorities)
	assert.Equal(t, Path{Key("degrees"), All(), Key("type")}, c.Claims[0].Path)
	assert.Equal(t, []any{"B.Sc.", int64(7), int64(-3), false}, c.Claims[0].Values)
	assert.Equal(t, Path{Key("nationalities"), Index(0)}, c.Claims[1].Path)
	assert.Equal(t, "", c.Claims[1].ID)
	assert.Nil(t, c.ClaimSets)
	assert.Equal(t, "entry", q.CredentialSets[0].Purpose)

	// A purpose that is not a string is an unknown shape of an undefined
	// member: ignored.
	q = mustParse(t, `{"credentials":[{"id":"a","format":"dc+sd-jwt","meta":{"vct_values":["v"]}}],
		"credential_sets":[{"options":[["a"]],"purpose":{"en":"x"}}]}`)
	assert.Equal(t, "", q.CredentialSets[0].Purpose)
	assert.Nil(t, q.Credentials[0].Claims, "no claims: nothing selectively disclosable is asked")

	// Another format keeps no meta; its contents are not looked at.
	q = mustParse(t, `{"credentials":[{"id":"a","format":"vc+sd-jwt","meta":{"vct_values":[1]}}]}`)
	assert.Nil(t, q.Credentials[0].VCTValues)

	// An empty claim set (§6.1 requires non-empty options of credential
	// sets, not of claim sets) asks for the credential without claims.
	q = mustParse(t, query(`,"claims":[{"id":"a","path":["a"]}],"claim_sets":[["a"],[]]`))
	assert.Equal(t, [][]string{{"a"}, {}}, q.Credentials[0].ClaimSets)
	roundTrip(t, q)
	m, err := q.Credentials[0].Match(&Credential{Format: FormatSDJWTVC, VCT: "v", Claims: map[string]any{}, KeyBound: true})
	require.NoError(t, err)
	assert.Equal(t, 1, m.ClaimSet)
	assert.Nil(t, m.Claims)
}

// query builds a one-credential dc+sd-jwt query around the members of the
// credential query given (without braces).
func query(members string) string {
	return `{"credentials":[{"id":"c","format":"dc+sd-jwt","meta":{"vct_values":["v"]}` + members + `}]}`
}

func TestParseRefusals(t *testing.T) {
	many := func(n int, item string) string {
		return strings.TrimSuffix(strings.Repeat(item+",", n), ",")
	}
	cases := []struct {
		name string
		in   string
		code string
		lim  Limit // for dcql_limit_exceeded
	}{
		// The JSON gate.
		{"not JSON", `{"credentials":`, "malformed_json", ""},
		{"duplicate member", `{"credentials":[],"credentials":[]}`, "malformed_json", ""},
		{"duplicate member inside", query(`,"id":"d"`), "malformed_json", ""},
		{"invalid UTF-8", "{\"credentials\":[{\"id\":\"\xff\"}]}", "invalid_utf8", ""},
		{"depth bomb", strings.Repeat("[", 100000) + strings.Repeat("]", 100000), "dcql_limit_exceeded", LimitQuerySize},
		{"depth bomb within the size", `{"credentials":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, "json_too_deep", ""},
		// Top level.
		{"not an object", `[]`, "dcql_wrong_type", ""},
		{"no credentials", `{}`, "dcql_missing_member", ""},
		{"credentials not an array", `{"credentials":{"c":{}}}`, "dcql_wrong_type", ""},
		{"credentials empty", `{"credentials":[]}`, "dcql_empty_array", ""},
		{"credential not an object", `{"credentials":["c"]}`, "dcql_wrong_type", ""},
		// Credential query.
		{"no id", `{"credentials":[{"format":"dc+sd-jwt","meta":{"vct_values":["v"]}}]}`, "dcql_missing_member", ""},
		{"id not a string", `{"credentials":[{"id":1,"format":"dc+sd-jwt","meta":{"vct_values":["v"]}}]}`, "dcql_wrong_type", ""},
		{"id empty", `{"credentials":[{"id":"","format":"dc+sd-jwt","meta":{"vct_values":["v"]}}]}`, "dcql_invalid_id", ""},
		{"id with a dot", `{"credentials":[{"id":"a.b","format":"dc+sd-jwt","meta":{"vct_values":["v"]}}]}`, "dcql_invalid_id", ""},
		{"id with a space", `{"credentials":[{"id":"a b","format":"dc+sd-jwt","meta":{"vct_values":["v"]}}]}`, "dcql_invalid_id", ""},
		{"id non-ASCII alphanumeric", `{"credentials":[{"id":"ä","format":"dc+sd-jwt","meta":{"vct_values":["v"]}}]}`, "dcql_invalid_id", ""},
		{"id too long", `{"credentials":[{"id":"` + strings.Repeat("a", MaxIDLength+1) + `","format":"dc+sd-jwt","meta":{"vct_values":["v"]}}]}`, "dcql_limit_exceeded", LimitIDLength},
		{"duplicate id", `{"credentials":[{"id":"c","format":"x","meta":{}},{"id":"c","format":"y","meta":{}}]}`, "dcql_duplicate_id", ""},
		{"no format", `{"credentials":[{"id":"c","meta":{}}]}`, "dcql_missing_member", ""},
		{"format not a string", `{"credentials":[{"id":"c","format":["dc+sd-jwt"],"meta":{}}]}`, "dcql_wrong_type", ""},
		{"format empty", `{"credentials":[{"id":"c","format":"","meta":{}}]}`, "dcql_invalid_format", ""},
		{"multiple not a boolean", query(`,"multiple":"true"`), "dcql_wrong_type", ""},
		{"holder binding not a boolean", query(`,"require_cryptographic_holder_binding":0`), "dcql_wrong_type", ""},
		{"no meta", `{"credentials":[{"id":"c","format":"dc+sd-jwt"}]}`, "dcql_missing_member", ""},
		{"meta not an object", `{"credentials":[{"id":"c","format":"mso_mdoc","meta":[]}]}`, "dcql_wrong_type", ""},
		{"no vct_values", `{"credentials":[{"id":"c","format":"dc+sd-jwt","meta":{}}]}`, "dcql_missing_member", ""},
		{"vct_values not an array", `{"credentials":[{"id":"c","format":"dc+sd-jwt","meta":{"vct_values":"v"}}]}`, "dcql_wrong_type", ""},
		{"vct_values empty", `{"credentials":[{"id":"c","format":"dc+sd-jwt","meta":{"vct_values":[]}}]}`, "dcql_empty_array", ""},
		{"vct not a string", `{"credentials":[{"id":"c","format":"dc+sd-jwt","meta":{"vct_values":[null]}}]}`, "dcql_wrong_type", ""},
		{"vct empty", `{"credentials":[{"id":"c","format":"dc+sd-jwt","meta":{"vct_values":[""]}}]}`, "dcql_invalid_string", ""},
		{"vct with a control character", `{"credentials":[{"id":"c","format":"dc+sd-jwt","meta":{"vct_values":["a\nb"]}}]}`, "dcql_invalid_string", ""},
		{"too many vct_values", `{"credentials":[{"id":"c","format":"dc+sd-jwt","meta":{"vct_values":[` + many(MaxVCTValues+1, `"v"`) + `]}}]}`, "dcql_limit_exceeded", LimitVCTValues},
		{"vct too long", `{"credentials":[{"id":"c","format":"dc+sd-jwt","meta":{"vct_values":["` + strings.Repeat("v", MaxStringLength+1) + `"]}}]}`, "dcql_limit_exceeded", LimitStringLength},
		// Trusted authorities.
		{"trusted_authorities empty", query(`,"trusted_authorities":[]`), "dcql_empty_array", ""},
		{"trusted authority not an object", query(`,"trusted_authorities":["aki"]`), "dcql_wrong_type", ""},
		{"trusted authority without type", query(`,"trusted_authorities":[{"values":["x"]}]`), "dcql_missing_member", ""},
		{"trusted authority type empty", query(`,"trusted_authorities":[{"type":"","values":["x"]}]`), "dcql_invalid_string", ""},
		{"trusted authority without values", query(`,"trusted_authorities":[{"type":"etsi_tl"}]`), "dcql_missing_member", ""},
		{"trusted authority values empty", query(`,"trusted_authorities":[{"type":"etsi_tl","values":[]}]`), "dcql_empty_array", ""},
		{"trusted authority value not a string", query(`,"trusted_authorities":[{"type":"etsi_tl","values":[1]}]`), "dcql_wrong_type", ""},
		{"aki not base64url", query(`,"trusted_authorities":[{"type":"aki","values":["s9t+IpP="]}]`), "dcql_invalid_string", ""},
		{"too many trusted authorities", query(`,"trusted_authorities":[` + many(MaxTrustedAuthorities+1, `{"type":"t","values":["x"]}`) + `]`), "dcql_limit_exceeded", LimitTrustedAuthority},
		{"too many authority values", query(`,"trusted_authorities":[{"type":"t","values":[` + many(MaxAuthorityValues+1, `"x"`) + `]}]`), "dcql_limit_exceeded", LimitAuthorityValues},
		// Claims.
		{"claims not an array", query(`,"claims":{"path":["a"]}`), "dcql_wrong_type", ""},
		{"claims empty", query(`,"claims":[]`), "dcql_empty_array", ""},
		{"claim not an object", query(`,"claims":[["a"]]`), "dcql_wrong_type", ""},
		{"claim without path", query(`,"claims":[{"id":"a"}]`), "dcql_missing_member", ""},
		{"path not an array", query(`,"claims":[{"path":"a"}]`), "dcql_wrong_type", ""},
		{"path empty", query(`,"claims":[{"path":[]}]`), "dcql_empty_array", ""},
		{"path negative index", query(`,"claims":[{"path":["a",-1]}]`), "dcql_invalid_path", ""},
		{"path fractional index", query(`,"claims":[{"path":["a",1.5]}]`), "dcql_invalid_path", ""},
		{"path index with an exponent", query(`,"claims":[{"path":["a",1e2]}]`), "dcql_invalid_path", ""},
		{"path index 1.0", query(`,"claims":[{"path":["a",1.0]}]`), "dcql_invalid_path", ""},
		{"path boolean", query(`,"claims":[{"path":["a",true]}]`), "dcql_invalid_path", ""},
		{"path object", query(`,"claims":[{"path":[{"a":1}]}]`), "dcql_invalid_path", ""},
		{"path array", query(`,"claims":[{"path":[["a"]]}]`), "dcql_invalid_path", ""},
		{"path index too large", query(`,"claims":[{"path":["a",65537]}]`), "dcql_limit_exceeded", LimitPathIndex},
		{"path index beyond int64", query(`,"claims":[{"path":["a",99999999999999999999999]}]`), "dcql_limit_exceeded", LimitPathIndex},
		{"path too long", query(`,"claims":[{"path":[` + many(MaxPathLength+1, `"a"`) + `]}]`), "dcql_limit_exceeded", LimitPathLength},
		{"path name too long", query(`,"claims":[{"path":["` + strings.Repeat("a", MaxStringLength+1) + `"]}]`), "dcql_limit_exceeded", LimitStringLength},
		{"claim id invalid", query(`,"claims":[{"id":"a/b","path":["a"]}]`), "dcql_invalid_id", ""},
		{"claim id empty", query(`,"claims":[{"id":"","path":["a"]}]`), "dcql_invalid_id", ""},
		{"claim id not a string", query(`,"claims":[{"id":7,"path":["a"]}]`), "dcql_wrong_type", ""},
		{"duplicate claim id", query(`,"claims":[{"id":"a","path":["a"]},{"id":"a","path":["b"]}]`), "dcql_duplicate_id", ""},
		{"duplicate claim path", query(`,"claims":[{"path":["a",0]},{"path":["a",0]}]`), "dcql_duplicate_claim", ""},
		{"duplicate claim path with other values", query(`,"claims":[{"id":"x","path":["a"]},{"id":"y","path":["a"],"values":[1]}]`), "dcql_duplicate_claim", ""},
		{"too many claims", query(`,"claims":[` + many(MaxClaims+1, `{"path":["a"]}`) + `]`), "dcql_limit_exceeded", LimitClaims},
		// Values.
		{"values not an array", query(`,"claims":[{"path":["a"],"values":"x"}]`), "dcql_wrong_type", ""},
		{"values empty", query(`,"claims":[{"path":["a"],"values":[]}]`), "dcql_empty_array", ""},
		{"value null", query(`,"claims":[{"path":["a"],"values":[null]}]`), "dcql_invalid_value", ""},
		{"value fraction", query(`,"claims":[{"path":["a"],"values":[1.5]}]`), "dcql_invalid_value", ""},
		{"value exponent", query(`,"claims":[{"path":["a"],"values":[1e3]}]`), "dcql_invalid_value", ""},
		{"value beyond int64", query(`,"claims":[{"path":["a"],"values":[9223372036854775808]}]`), "dcql_invalid_value", ""},
		{"value object", query(`,"claims":[{"path":["a"],"values":[{}]}]`), "dcql_invalid_value", ""},
		{"value array", query(`,"claims":[{"path":["a"],"values":[["x"]]}]`), "dcql_invalid_value", ""},
		{"value too long", query(`,"claims":[{"path":["a"],"values":["` + strings.Repeat("x", MaxStringLength+1) + `"]}]`), "dcql_limit_exceeded", LimitStringLength},
		{"too many values", query(`,"claims":[{"path":["a"],"values":[` + many(MaxValues+1, `1`) + `]}]`), "dcql_limit_exceeded", LimitValues},
		// Claim sets.
		{"claim_sets without claims", query(`,"claim_sets":[["a"]]`), "dcql_claim_sets_without_claims", ""},
		{"claim without id under claim_sets", query(`,"claims":[{"id":"a","path":["a"]},{"path":["b"]}],"claim_sets":[["a"]]`), "dcql_missing_claim_id", ""},
		{"claim_sets not an array", query(`,"claims":[{"id":"a","path":["a"]}],"claim_sets":"a"`), "dcql_wrong_type", ""},
		{"claim_sets empty", query(`,"claims":[{"id":"a","path":["a"]}],"claim_sets":[]`), "dcql_empty_array", ""},
		{"claim set not an array", query(`,"claims":[{"id":"a","path":["a"]}],"claim_sets":["a"]`), "dcql_wrong_type", ""},
		{"claim set id not a string", query(`,"claims":[{"id":"a","path":["a"]}],"claim_sets":[[1]]`), "dcql_wrong_type", ""},
		{"claim set unknown id", query(`,"claims":[{"id":"a","path":["a"]}],"claim_sets":[["a"],["b"]]`), "dcql_unknown_claim_id", ""},
		{"too many claim sets", query(`,"claims":[{"id":"a","path":["a"]}],"claim_sets":[` + many(MaxClaimSets+1, `["a"]`) + `]`), "dcql_limit_exceeded", LimitClaimSets},
		{"claim set too large", query(`,"claims":[{"id":"a","path":["a"]}],"claim_sets":[[` + many(MaxClaims+1, `"a"`) + `]]`), "dcql_limit_exceeded", LimitClaimSetSize},
		// Credential sets.
		{"credential_sets not an array", query(``)[:len(query(``))-1] + `,"credential_sets":{}}`, "dcql_wrong_type", ""},
		{"credential_sets empty", sets(`[]`), "dcql_empty_array", ""},
		{"credential set not an object", sets(`[["c"]]`), "dcql_wrong_type", ""},
		{"credential set without options", sets(`[{"required":true}]`), "dcql_missing_member", ""},
		{"options empty", sets(`[{"options":[]}]`), "dcql_empty_array", ""},
		{"option empty", sets(`[{"options":[[]]}]`), "dcql_empty_array", ""},
		{"option not an array", sets(`[{"options":["c"]}]`), "dcql_wrong_type", ""},
		{"option id not a string", sets(`[{"options":[[null]]}]`), "dcql_wrong_type", ""},
		{"option unknown id", sets(`[{"options":[["c"],["d"]]}]`), "dcql_unknown_credential_id", ""},
		{"required not a boolean", sets(`[{"options":[["c"]],"required":"false"}]`), "dcql_wrong_type", ""},
		{"purpose too long", sets(`[{"options":[["c"]],"purpose":"` + strings.Repeat("p", MaxStringLength+1) + `"}]`), "dcql_limit_exceeded", LimitStringLength},
		{"too many credential sets", sets(`[` + many(MaxCredentialSets+1, `{"options":[["c"]]}`) + `]`), "dcql_limit_exceeded", LimitCredentialSets},
		{"too many options", sets(`[{"options":[` + many(MaxOptions+1, `["c"]`) + `]}]`), "dcql_limit_exceeded", LimitOptions},
		{"option too large", sets(`[{"options":[[` + many(MaxCredentials+1, `"c"`) + `]]}]`), "dcql_limit_exceeded", LimitOptionSize},
		// Counts and size.
		{"too many credential queries", `{"credentials":[` + credentials(MaxCredentials+1) + `]}`, "dcql_limit_exceeded", LimitCredentials},
		{"10,000 claims", query(`,"claims":[` + many(10000, `{"path":["a"]}`) + `]`), "dcql_limit_exceeded", LimitQuerySize},
		{"over the size in whitespace", query(``) + strings.Repeat(" ", MaxQuerySize), "dcql_limit_exceeded", LimitQuerySize},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q, err := Parse([]byte(tc.in))
			require.Error(t, err)
			assert.Nil(t, q)
			assert.Equal(t, errs.Invalid, errs.KindOf(err))
			assert.Equal(t, tc.code, errs.CodeOf(err))
			var le *LimitError
			if tc.lim != "" && assert.True(t, errors.As(err, &le), "a limit refusal carries a *LimitError") {
				assert.Equal(t, tc.lim, le.Limit)
			}
		})
		seen[tc.code] = true
	}
	// Every refusal code of Parse has a case above.
	for _, e := range []error{ErrLimit, ErrWrongType, ErrMissing, ErrEmpty, ErrInvalidID, ErrDuplicateID, ErrDuplicateClaim,
		ErrMissingClaimID, ErrClaimSetsWithoutClaims, ErrUnknownClaimID, ErrUnknownCredentialID, ErrInvalidPath,
		ErrInvalidValue, ErrInvalidFormat, ErrInvalidString} {
		assert.True(t, seen[errs.CodeOf(e)], "no refusal case for %s", errs.CodeOf(e))
	}
}

// sets builds a one-credential query (id "c") with the credential_sets given.
func sets(v string) string {
	return `{"credentials":[{"id":"c","format":"dc+sd-jwt","meta":{"vct_values":["v"]}}],"credential_sets":` + v + `}`
}

// credentials returns n credential queries with ids c0, c1, ...
func credentials(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"id":"c` + strconv.Itoa(i) + `","format":"dc+sd-jwt","meta":{"vct_values":["v"]}}`)
	}
	return b.String()
}

// TestParseLimitsAtTheEdge: each limit accepts its maximum, so that the
// refusals above are the limit and not something else.
func TestParseLimitsAtTheEdge(t *testing.T) {
	many := func(n int, item string) string {
		return strings.TrimSuffix(strings.Repeat(item+",", n), ",")
	}
	claims := make([]string, MaxClaims)
	for i := range claims {
		claims[i] = `{"id":"k` + strconv.Itoa(i) + `","path":["a` + strconv.Itoa(i) + `",` + strconv.Itoa(MaxPathIndex) + `]}`
	}
	for name, in := range map[string]string{
		"credentials": `{"credentials":[` + credentials(MaxCredentials) + `]}`,
		"claims":      query(`,"claims":[` + strings.Join(claims, ",") + `]`),
		"path length": query(`,"claims":[{"path":[` + many(MaxPathLength, `"a"`) + `]}]`),
		"values":      query(`,"claims":[{"path":["a"],"values":[` + many(MaxValues, `1`) + `]}]`),
		"claim sets":  query(`,"claims":[{"id":"a","path":["a"]}],"claim_sets":[` + many(MaxClaimSets, `["a"]`) + `]`),
		"vct_values":  `{"credentials":[{"id":"c","format":"dc+sd-jwt","meta":{"vct_values":[` + many(MaxVCTValues, `"v"`) + `]}}]}`,
		"options":     sets(`[{"options":[` + many(MaxOptions, `["c"]`) + `]}]`),
		"id length":   `{"credentials":[{"id":"` + strings.Repeat("a", MaxIDLength) + `","format":"x","meta":{}}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(in))
			assert.NoError(t, err)
		})
	}
}

// TestParseErrorsQuoteNothing: a refusal locates the fault by position and
// never repeats the input, which for a holder is a stranger's text.
func TestParseErrorsQuoteNothing(t *testing.T) {
	const secret = "S3CR3T-marker"
	for _, in := range []string{
		`{"credentials":[{"id":"` + secret + `!","format":"x","meta":{}}]}`,
		`{"credentials":[{"id":"c","format":"dc+sd-jwt","meta":{"vct_values":["` + secret + `\u0001"]}}]}`,
		query(`,"claims":[{"path":["` + secret + `"]},{"path":["` + secret + `"]}]`),
		query(`,"claims":[{"id":"a","path":["a"]}],"claim_sets":[["` + secret + `"]]`),
		sets(`[{"options":[["` + secret + `"]]}]`),
		`{"credentials":[{"id":"c","format":"dc+sd-jwt","meta":{"vct_values":"` + secret + `"}}]}`,
		`{"credentials":[{"id":"c","format":"dc+sd-jwt","meta":{"vct_values":["v"]},"claims":[{"path":["a"],"values":[{"` + secret + `":1}]}]}]}`,
	} {
		_, err := Parse([]byte(in))
		require.Error(t, err)
		assert.NotContains(t, err.Error(), secret)
		var e *errs.Error
		require.True(t, errors.As(err, &e))
		assert.NotContains(t, e.Detail, secret)
		assert.Contains(t, e.Detail, "credential", "the detail locates the fault")
	}
}

func TestParseLocatesTheFault(t *testing.T) {
	_, err := Parse([]byte(`{"credentials":[{"id":"a","format":"x","meta":{}},{"id":"b","format":"dc+sd-jwt","meta":{"vct_values":["v"]},
		"claims":[{"path":["a"]},{"path":["b",-1]}]}]}`))
	var e *errs.Error
	require.True(t, errors.As(err, &e))
	assert.Equal(t, "dcql_invalid_path", e.Code)
	assert.True(t, strings.HasPrefix(e.Detail, "credentials[1].claims[1].path[1]: "), e.Detail)
}

func TestFromValueNumbers(t *testing.T) {
	// A tree from another decoder (float64 numbers, Go ints) is read the
	// same way; an integral float is an integer, a fraction is not.
	v := map[string]any{"credentials": []any{map[string]any{
		"id": "c", "format": "dc+sd-jwt", "meta": map[string]any{"vct_values": []any{"v"}},
		"claims": []any{map[string]any{"path": []any{"a", float64(2), nil, 3}, "values": []any{float64(7), int64(8), 9}}},
	}}}
	q, err := FromValue(v)
	require.NoError(t, err)
	assert.Equal(t, Path{Key("a"), Index(2), All(), Index(3)}, q.Credentials[0].Claims[0].Path)
	assert.Equal(t, []any{int64(7), int64(8), int64(9)}, q.Credentials[0].Claims[0].Values)

	v["credentials"].([]any)[0].(map[string]any)["claims"] = []any{map[string]any{"path": []any{"a", 2.5}}}
	_, err = FromValue(v)
	assert.Equal(t, "dcql_invalid_path", errs.CodeOf(err))
	v["credentials"].([]any)[0].(map[string]any)["claims"] = []any{map[string]any{"path": []any{"a"}, "values": []any{float64(1 << 60)}}}
	_, err = FromValue(v)
	assert.Equal(t, "dcql_invalid_value", errs.CodeOf(err), "a float beyond 2^53 is not an exact integer")

	// FromValue has no byte size to check, and still bounds the counts.
	claims := make([]any, 10000)
	for i := range claims {
		claims[i] = map[string]any{"path": []any{"a"}}
	}
	v["credentials"].([]any)[0].(map[string]any)["claims"] = claims
	_, err = FromValue(v)
	var le *LimitError
	require.True(t, errors.As(err, &le))
	assert.Equal(t, LimitClaims, le.Limit)
}

// TestMarshalRoundTrip: Parse(Marshal(q)) is q, for the spec's examples
// and for generated queries.
func TestMarshalRoundTrip(t *testing.T) {
	for _, f := range []string{"5.6_request_object.json", "8.3_encrypted_request.json", "D.2_multi_credentials.json",
		"D.3_credentials_alternatives.json", "D.5_claims_alternatives.json", "D.6_value_matching.json"} {
		t.Run(f, func(t *testing.T) {
			q, err := Parse(specExample(t, f))
			require.NoError(t, err)
			roundTrip(t, q)
		})
	}
	q := mustParse(t, `{"credentials":[{"id":"a","format":"dc+sd-jwt","multiple":true,"meta":{"vct_values":["v"]},
		"require_cryptographic_holder_binding":false,"trusted_authorities":[{"type":"aki","values":["AA"]}],
		"claims":[{"id":"x","path":["a/b~c",null,0],"values":[1,"1",true]},{"id":"y","path":["b"]}],"claim_sets":[["y"],["x","y"]]}],
		"credential_sets":[{"options":[["a"]],"required":false,"purpose":"p"}]}`)
	roundTrip(t, q)
}

func roundTrip(t *testing.T, q *Query) {
	t.Helper()
	b, err := q.MarshalJSON()
	require.NoError(t, err)
	again, err := Parse(b)
	require.NoError(t, err, "%s", b)
	assert.Equal(t, q, again)
}

func TestPathNameAndString(t *testing.T) {
	p := Path{Key("degrees"), All(), Key("type"), Index(2)}
	assert.Equal(t, "degrees.type", p.Name())
	assert.Equal(t, `["degrees",null,"type",2]`, p.String())
	assert.Equal(t, "[invalid path]", Path{{}}.String())
	assert.True(t, p.Equal(Path{Key("degrees"), All(), Key("type"), Index(2)}))
	assert.False(t, p.Equal(Path{Key("degrees"), Index(0), Key("type"), Index(2)}))
	assert.False(t, p.Equal(p[:3]))
	assert.Equal(t, KeyComponent, p[0].Kind())
	assert.Equal(t, "degrees", p[0].Key())
	assert.Equal(t, 2, p[3].Index())
}
