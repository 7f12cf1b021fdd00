package dcql

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCandidatesVenue(t *testing.T) {
	q := mustParse(t, venueQuery)
	full := withClaim(t, "email", `"erika@example.org"`)
	wallet := []Credential{
		{Format: FormatSDJWTVC, VCT: vctPID, Claims: claimsOf(t, full), KeyBound: true}, // another type
		pass(t, full), // a pass with more claims than asked
		pass(t, withClaim(t, "vaccinated_within_policy", "false")),       // not within policy
		{Format: FormatSDJWTVC, VCT: vctPass, Claims: claimsOf(t, full)}, // no cnf: cannot be bound
		pass(t, withClaim(t, "birth_date", `"1970-01-01"`)),              // a second good pass
	}
	o := q.Candidates(wallet)
	require.True(t, o.Satisfiable)
	require.Len(t, o.Queries, 1)
	qo := o.Queries[0]
	assert.Equal(t, "pass", qo.ID)
	assert.True(t, qo.Required)
	assert.False(t, qo.Optional)
	assert.Nil(t, o.Sets)
	require.Len(t, qo.Candidates, 2)
	assert.Equal(t, 1, qo.Candidates[0].Credential)
	assert.Equal(t, 4, qo.Candidates[1].Credential)
	assert.Equal(t, []string{"/vaccinated_within_policy", "/given_name", "/family_name", "/birth_date"}, qo.Candidates[0].Pointers(),
		"the minimal set: never email")

	o = q.Candidates(wallet[2:4])
	assert.False(t, o.Satisfiable)
	assert.Empty(t, o.Queries[0].Candidates)
	assert.False(t, q.Candidates(nil).Satisfiable)
}

func TestCandidatesCredentialSets(t *testing.T) {
	q, err := Parse(specExample(t, "D.3_credentials_alternatives.json"))
	require.NoError(t, err)
	person := `{"given_name":"Arthur","family_name":"Dent","address":{"street_address":"42 Market Street","locality":"x"}}`
	cred := func(vct, claims string) Credential {
		return Credential{Format: FormatSDJWTVC, VCT: vct, Claims: claimsOf(t, claims), KeyBound: true}
	}
	r1 := cred("https://credentials.example.com/reduced_identity_credential", person)
	r2 := cred("https://cred.example/residence_credential", `{"postal_code":"12345","locality":"Milliways","region":"Betelgeuse"}`)
	nice := cred("https://company.example/company_rewards", `{"rewards_number":42}`)

	o := q.Candidates([]Credential{nice, r1, r2})
	assert.True(t, o.Satisfiable)
	require.Len(t, o.Sets, 2)
	assert.Equal(t, SetOffer{Required: true, Options: []bool{false, false, true}, Option: 2}, o.Sets[0])
	assert.Equal(t, SetOffer{Required: false, Options: []bool{true}, Option: 0}, o.Sets[1])
	byID := map[string]QueryOffer{}
	for _, qo := range o.Queries {
		byID[qo.ID] = qo
	}
	for _, id := range []string{"pid", "other_pid", "pid_reduced_cred_1", "pid_reduced_cred_2"} {
		assert.False(t, byID[id].Required, "%s is one alternative", id)
		assert.False(t, byID[id].Optional, "%s is in a required set", id)
	}
	assert.True(t, byID["nice_to_have"].Optional)
	assert.False(t, byID["nice_to_have"].Required)
	assert.Empty(t, byID["pid"].Candidates)
	require.Len(t, byID["pid_reduced_cred_1"].Candidates, 1)
	assert.Equal(t, 1, byID["pid_reduced_cred_1"].Candidates[0].Credential)
	assert.Equal(t, []string{"/family_name", "/given_name"}, byID["pid_reduced_cred_1"].Candidates[0].Pointers(),
		"the address of the same credential is not asked by this query")

	o = q.Candidates([]Credential{nice, r1})
	assert.False(t, o.Satisfiable, "half of an option satisfies nothing")
	assert.Equal(t, -1, o.Sets[0].Option)

	o = q.Candidates([]Credential{r1, r2})
	assert.True(t, o.Satisfiable, "the optional set may stay unsatisfied")
	assert.Equal(t, -1, o.Sets[1].Option)

	// A query in every option of a required set is required.
	q = mustParse(t, `{"credentials":[`+credentials(3)+`],"credential_sets":[{"options":[["c0","c1"],["c0","c2"]]}]}`)
	o = q.Candidates(nil)
	assert.True(t, o.Queries[0].Required)
	assert.False(t, o.Queries[1].Required)
	assert.False(t, o.Queries[1].Optional)
	assert.False(t, o.Satisfiable)
}

func TestCandidatesClaimSets(t *testing.T) {
	q, err := Parse(specExample(t, "D.5_claims_alternatives.json"))
	require.NoError(t, err)
	c := Credential{Format: FormatSDJWTVC, VCT: vctPID, KeyBound: true,
		Claims: claimsOf(t, `{"last_name":"D","postal_code":"1","region":"R","date_of_birth":"1","email":"x"}`)}
	o := q.Candidates([]Credential{c})
	require.Len(t, o.Queries[0].Candidates, 1)
	m := o.Queries[0].Candidates[0]
	assert.Equal(t, 1, m.ClaimSet, "the first set the credential can satisfy")
	assert.Equal(t, []string{"/last_name", "/postal_code", "/date_of_birth"}, m.Pointers())
}
