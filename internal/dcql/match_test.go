package dcql

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/errs"
)

func pass(t testing.TB, claims string) Credential {
	return Credential{Format: FormatSDJWTVC, VCT: vctPass, Claims: claimsOf(t, claims), KeyBound: true}
}

// withClaim returns passClaims with member name set to the JSON value v,
// or removed when v is "".
func withClaim(t testing.TB, name, v string) string {
	t.Helper()
	m := map[string]json.RawMessage{}
	require.NoError(t, json.Unmarshal([]byte(passClaims), &m))
	if v == "" {
		delete(m, name)
	} else {
		m[name] = json.RawMessage(v)
	}
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return string(b)
}

func TestMatchVenue(t *testing.T) {
	q := mustParse(t, venueQuery)
	res, err := q.Match(map[string][]Credential{"pass": {pass(t, passClaims)}})
	require.NoError(t, err)
	require.Len(t, res.Matches, 1)
	assert.Empty(t, res.Extra)
	assert.Empty(t, res.Discarded)
	assert.Nil(t, res.Sets)
	m := res.Matches[0]
	assert.Equal(t, "pass", m.QueryID)
	assert.Equal(t, -1, m.ClaimSet)
	var got []string
	for _, c := range m.Claims {
		require.Len(t, c.Selected, 1)
		got = append(got, c.Path.Name()+"="+stringOf(c.Selected[0].Value))
	}
	assert.Equal(t, []string{"vaccinated_within_policy=true", "given_name=Erika", "family_name=Mustermann", "birth_date=1963-08-12"}, got,
		"exactly the requested claims, in query order, whatever else the presentation holds")
	assert.Equal(t, []string{"/vaccinated_within_policy", "/given_name", "/family_name", "/birth_date"}, m.Pointers())
}

func stringOf(v any) string {
	b, _ := json.Marshal(v)
	return strings.Trim(string(b), `"`)
}

// TestMatchDiscards: each way a presentation fails its credential query
// discards it with its own code, and the query is then unsatisfied.
func TestMatchDiscards(t *testing.T) {
	q := mustParse(t, venueQuery)
	cases := []struct {
		name string
		cred Credential
		code string
	}{
		{"another format", Credential{Format: "vc+sd-jwt", VCT: vctPass, Claims: claimsOf(t, passClaims), KeyBound: true}, "dcql_format_mismatch"},
		{"another vct", Credential{Format: FormatSDJWTVC, VCT: vctPass + "/v2", Claims: claimsOf(t, passClaims), KeyBound: true}, "dcql_vct_mismatch"},
		{"a vct differing in case", Credential{Format: FormatSDJWTVC, VCT: strings.ToUpper(vctPass), Claims: claimsOf(t, passClaims), KeyBound: true}, "dcql_vct_mismatch"},
		{"no key binding", Credential{Format: FormatSDJWTVC, VCT: vctPass, Claims: claimsOf(t, passClaims)}, "dcql_holder_binding_required"},
		{"a claim not disclosed", pass(t, withClaim(t, "birth_date", "")), "dcql_claims_unsatisfied"},
		{"the required claim not disclosed", pass(t, withClaim(t, "vaccinated_within_policy", "")), "dcql_claims_unsatisfied"},
		{"the value false", pass(t, withClaim(t, "vaccinated_within_policy", "false")), "dcql_claims_unsatisfied"},
		{"the value as a string", pass(t, withClaim(t, "vaccinated_within_policy", `"true"`)), "dcql_claims_unsatisfied"},
		{"the value as a number", pass(t, withClaim(t, "vaccinated_within_policy", `1`)), "dcql_claims_unsatisfied"},
		{"the value in an array", pass(t, withClaim(t, "vaccinated_within_policy", `[true]`)), "dcql_claims_unsatisfied"},
		{"a claim as an object", pass(t, withClaim(t, "given_name", `{"x":1}`)), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := q.Match(map[string][]Credential{"pass": {tc.cred}})
			if tc.code == "" {
				require.NoError(t, err, "without values a claim of any type is present")
				return
			}
			assert.Equal(t, "dcql_credential_missing", errs.CodeOf(err))
			require.NotNil(t, res)
			assert.Empty(t, res.Matches)
			require.Len(t, res.Discarded, 1)
			assert.Equal(t, tc.code, res.Discarded[0].Code)
			assert.Equal(t, tc.code, errs.CodeOf(res.Discarded[0].Reason))
			assert.Equal(t, "pass", res.Discarded[0].QueryID)
		})
	}
}

// TestMatchResponseShape: faults of the VP Token as a whole refuse it.
func TestMatchResponseShape(t *testing.T) {
	q := mustParse(t, venueQuery)
	good := pass(t, passClaims)
	many := make([]Credential, MaxPresentations+1)
	for i := range many {
		many[i] = good
	}
	multi := mustParse(t, strings.Replace(venueQuery, `"format"`, `"multiple":true,"format"`, 1))
	cases := []struct {
		name string
		q    *Query
		resp map[string][]Credential
		code string
	}{
		{"an id the query does not have", q, map[string][]Credential{"pass": {good}, "other": {good}}, "dcql_unexpected_credential"},
		{"an empty entry", q, map[string][]Credential{"pass": {}}, "dcql_empty_entry"},
		{"two for a single", q, map[string][]Credential{"pass": {good, good}}, "dcql_too_many_presentations"},
		{"over the limit", multi, map[string][]Credential{"pass": many}, "dcql_limit_exceeded"},
		{"nothing", q, map[string][]Credential{}, "dcql_credential_missing"},
		{"nil", q, nil, "dcql_credential_missing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tc.q.Match(tc.resp)
			assert.Equal(t, tc.code, errs.CodeOf(err))
			if tc.code != "dcql_credential_missing" {
				assert.Nil(t, res)
			}
		})
	}

	res, err := multi.Match(map[string][]Credential{"pass": {good, good}})
	require.NoError(t, err, "multiple allows two")
	assert.Len(t, res.Matches, 2)
	assert.Equal(t, 1, res.Matches[1].Credential)

	// One of two presentations fails: it is discarded, the other serves.
	res, err = multi.Match(map[string][]Credential{"pass": {pass(t, withClaim(t, "vaccinated_within_policy", "false")), good}})
	require.NoError(t, err)
	require.Len(t, res.Matches, 1)
	assert.Equal(t, 1, res.Matches[0].Credential)
	require.Len(t, res.Discarded, 1)
	assert.Equal(t, 0, res.Discarded[0].Credential)
}

func TestMatchHolderBindingOptional(t *testing.T) {
	q := mustParse(t, strings.Replace(venueQuery, `"format"`, `"require_cryptographic_holder_binding":false,"format"`, 1))
	c := pass(t, passClaims)
	c.KeyBound = false
	_, err := q.Match(map[string][]Credential{"pass": {c}})
	assert.NoError(t, err)
}

func TestMatchNoClaims(t *testing.T) {
	q := mustParse(t, `{"credentials":[{"id":"pass","format":"dc+sd-jwt","meta":{"vct_values":["`+vctPass+`"]}}]}`)
	res, err := q.Match(map[string][]Credential{"pass": {pass(t, passClaims)}})
	require.NoError(t, err)
	assert.Nil(t, res.Matches[0].Claims)
	assert.Nil(t, res.Matches[0].Pointers())
}

func TestMatchOtherFormatNeverMatches(t *testing.T) {
	q, err := Parse(specExample(t, "D.1_mdoc.json"))
	require.NoError(t, err)
	res, err := q.Match(map[string][]Credential{"my_credential": {{Format: "mso_mdoc", Claims: map[string]any{}}}})
	assert.Equal(t, "dcql_credential_missing", errs.CodeOf(err))
	assert.Equal(t, "dcql_format_mismatch", res.Discarded[0].Code)
}

// TestMatchCredentialSets runs Appendix D's credential alternatives.
func TestMatchCredentialSets(t *testing.T) {
	q, err := Parse(specExample(t, "D.3_credentials_alternatives.json"))
	require.NoError(t, err)
	person := `{"given_name":"Arthur","family_name":"Dent","address":{"street_address":"42 Market Street"}}`
	cred := func(vct, claims string) Credential {
		return Credential{Format: FormatSDJWTVC, VCT: vct, Claims: claimsOf(t, claims), KeyBound: true}
	}
	pid := cred("https://credentials.example.com/identity_credential", person)
	other := cred("https://othercredentials.example/pid", person)
	r1 := cred("https://credentials.example.com/reduced_identity_credential", person)
	r2 := cred("https://cred.example/residence_credential", `{"postal_code":"12345","locality":"Milliways","region":"Betelgeuse"}`)
	nice := cred("https://company.example/company_rewards", `{"rewards_number":42}`)
	cases := []struct {
		name    string
		resp    map[string][]Credential
		code    string
		sets    []int
		matches []string
		extra   []string
	}{
		{"pid", map[string][]Credential{"pid": {pid}}, "", []int{0, -1}, []string{"pid"}, nil},
		{"other_pid", map[string][]Credential{"other_pid": {other}}, "", []int{1, -1}, []string{"other_pid"}, nil},
		{"both reduced", map[string][]Credential{"pid_reduced_cred_1": {r1}, "pid_reduced_cred_2": {r2}}, "", []int{2, -1},
			[]string{"pid_reduced_cred_1", "pid_reduced_cred_2"}, nil},
		{"pid and the optional one", map[string][]Credential{"pid": {pid}, "nice_to_have": {nice}}, "", []int{0, 0}, []string{"pid", "nice_to_have"}, nil},
		{"two options: the first is used", map[string][]Credential{"pid": {pid}, "other_pid": {other}}, "", []int{0, -1}, []string{"pid"}, []string{"other_pid"}},
		{"half an option is extra", map[string][]Credential{"pid": {pid}, "pid_reduced_cred_1": {r1}}, "", []int{0, -1}, []string{"pid"}, []string{"pid_reduced_cred_1"}},
		{"half an option", map[string][]Credential{"pid_reduced_cred_1": {r1}}, "dcql_credential_set_unsatisfied", []int{-1, -1}, nil, []string{"pid_reduced_cred_1"}},
		{"only the optional one", map[string][]Credential{"nice_to_have": {nice}}, "dcql_credential_set_unsatisfied", []int{-1, 0}, []string{"nice_to_have"}, nil},
		{"a pid of the wrong type under pid", map[string][]Credential{"pid": {other}}, "dcql_credential_set_unsatisfied", []int{-1, -1}, nil, nil},
		{"a discarded pid, a good other_pid", map[string][]Credential{"pid": {other}, "other_pid": {other}}, "", []int{1, -1}, []string{"other_pid"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := q.Match(tc.resp)
			assert.Equal(t, tc.code, errs.CodeOf(err))
			require.NotNil(t, res)
			assert.Equal(t, tc.sets, res.Sets)
			assert.Equal(t, tc.matches, queryIDs(res.Matches))
			assert.Equal(t, tc.extra, queryIDs(res.Extra))
		})
	}
}

func queryIDs(ms []CredentialMatch) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.QueryID)
	}
	return out
}

// TestMatchClaimSets runs Appendix D's claim alternatives.
func TestMatchClaimSets(t *testing.T) {
	q, err := Parse(specExample(t, "D.5_claims_alternatives.json"))
	require.NoError(t, err)
	cq := &q.Credentials[0]
	cases := []struct {
		name   string
		claims string
		set    int
		sat    []int
		ids    []string
	}{
		{"everything: the first set", `{"last_name":"D","postal_code":"1","locality":"L","region":"R","date_of_birth":"1"}`, 0, []int{0, 1}, []string{"a", "c", "d", "e"}},
		{"no locality: the second", `{"last_name":"D","postal_code":"1","region":"R","date_of_birth":"1"}`, 1, []int{1}, []string{"a", "b", "e"}},
		{"no postal code", `{"last_name":"D","locality":"L","region":"R","date_of_birth":"1"}`, 0, []int{0}, []string{"a", "c", "d", "e"}},
		{"neither", `{"last_name":"D","region":"R","date_of_birth":"1"}`, -2, nil, nil},
		{"no last name", `{"postal_code":"1","locality":"L","region":"R","date_of_birth":"1"}`, -2, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := cq.Match(&Credential{Format: FormatSDJWTVC, VCT: vctPID, Claims: claimsOf(t, tc.claims), KeyBound: true})
			if tc.set == -2 {
				assert.Equal(t, "dcql_claims_unsatisfied", errs.CodeOf(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.set, m.ClaimSet)
			assert.Equal(t, tc.sat, m.Satisfiable)
			var ids []string
			for _, c := range m.Claims {
				ids = append(ids, c.ID)
				assert.Equal(t, cq.Claims[c.Index].ID, c.ID)
			}
			assert.Equal(t, tc.ids, ids, "only the chosen set's claims")
		})
	}
}

func TestMatchClaimSetWithRepeatedID(t *testing.T) {
	q := mustParse(t, query(`,"claims":[{"id":"a","path":["a"]},{"id":"b","path":["b"]}],"claim_sets":[["a","a","b"]]`))
	m, err := q.Credentials[0].Match(&Credential{Format: FormatSDJWTVC, VCT: "v", Claims: map[string]any{"a": "1", "b": "2"}, KeyBound: true})
	require.NoError(t, err)
	assert.Len(t, m.Claims, 2)
}

// TestMatchValues runs Appendix D's value matching, and values over a path
// that selects several elements.
func TestMatchValues(t *testing.T) {
	q, err := Parse(specExample(t, "D.6_value_matching.json"))
	require.NoError(t, err)
	cq := &q.Credentials[0]
	base := `"first_name":"John","address":{"street_address":"1 Main St"}`
	for claims, ok := range map[string]bool{
		`{"last_name":"Doe",` + base + `,"postal_code":"90211"}`: true,
		`{"last_name":"Doe",` + base + `,"postal_code":"90212"}`: false,
		`{"last_name":"Roe",` + base + `,"postal_code":"90210"}`: false,
		`{"last_name":"Doe",` + base + `,"postal_code":90210}`:   false,
	} {
		_, err := cq.Match(&Credential{Format: FormatSDJWTVC, VCT: vctPID, Claims: claimsOf(t, claims), KeyBound: true})
		assert.Equal(t, ok, err == nil, claims)
	}

	q = mustParse(t, query(`,"claims":[{"path":["degrees",null,"type"],"values":["MSc","PhD"]},{"path":["age"],"values":[42]}]`))
	m, err := q.Credentials[0].Match(&Credential{Format: FormatSDJWTVC, VCT: "v", KeyBound: true,
		Claims: claimsOf(t, `{"age":42,"degrees":[{"type":"BSc"},{"type":"MSc"},{"type":"PhD"}]}`)})
	require.NoError(t, err)
	assert.Equal(t, []string{"/degrees/1/type", "/degrees/2/type", "/age"}, m.Pointers(), "only the elements with a requested value")
	_, err = q.Credentials[0].Match(&Credential{Format: FormatSDJWTVC, VCT: "v", KeyBound: true,
		Claims: claimsOf(t, `{"age":42,"degrees":[{"type":"BSc"}]}`)})
	assert.Equal(t, "dcql_claims_unsatisfied", errs.CodeOf(err))
}

// TestMatchHandBuiltQuery: a Query changed by hand after Parse (a claim
// set naming a claim that is gone, a set naming a missing query) is
// matched without a panic and fails closed.
func TestMatchHandBuiltQuery(t *testing.T) {
	q := mustParse(t, query(`,"claims":[{"id":"a","path":["a"]}],"claim_sets":[["a"]]`))
	q.Credentials[0].ClaimSets = [][]string{{"gone"}}
	_, err := q.Credentials[0].Match(&Credential{Format: FormatSDJWTVC, VCT: "v", Claims: map[string]any{"a": 1}, KeyBound: true})
	assert.Equal(t, "dcql_claims_unsatisfied", errs.CodeOf(err))

	q = mustParse(t, sets(`[{"options":[["c"]]}]`))
	q.CredentialSets[0].Options = [][]string{{"gone"}}
	_, err = q.Match(map[string][]Credential{"c": {{Format: FormatSDJWTVC, VCT: "v", KeyBound: true}}})
	assert.Equal(t, "dcql_credential_set_unsatisfied", errs.CodeOf(err))

	q.Credentials[0].Claims = []ClaimQuery{{Path: Path{}}}
	_, err = q.Credentials[0].Match(&Credential{Format: FormatSDJWTVC, VCT: "v", Claims: map[string]any{}, KeyBound: true})
	assert.Equal(t, "dcql_claims_unsatisfied", errs.CodeOf(err))

	big := make([]ClaimQuery, 3*MaxClaims)
	claims := map[string]any{}
	for i := range big {
		k := "k" + strings.Repeat("x", i)
		big[i] = ClaimQuery{Path: Path{Key(k)}}
		claims[k] = i
	}
	q.Credentials[0].Claims = big
	m, err := q.Credentials[0].Match(&Credential{Format: FormatSDJWTVC, VCT: "v", Claims: claims, KeyBound: true})
	require.NoError(t, err)
	assert.Len(t, m.Claims, 3*MaxClaims)
}
