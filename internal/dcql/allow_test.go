package dcql

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/errs"
)

func TestCovers(t *testing.T) {
	cases := []struct {
		name string
		path Path
		want bool
	}{
		{"given_name", Path{Key("given_name")}, true},
		{"given_name", Path{Key("family_name")}, false},
		{"given_name", Path{Key("given_name_x")}, false},
		{"given", Path{Key("given_name")}, false},
		{"address", Path{Key("address")}, true},
		{"address", Path{Key("address"), Key("street_address")}, true},
		{"address", Path{Key("address"), All()}, true},
		{"address.street_address", Path{Key("address"), Key("street_address")}, true},
		{"address.street_address", Path{Key("address"), Key("street_address"), Key("x")}, true},
		{"address.street_address", Path{Key("address")}, false},
		{"address.street_address", Path{Key("address"), Key("locality")}, false},
		{"degrees.type", Path{Key("degrees"), All(), Key("type")}, true},
		{"degrees.type", Path{Key("degrees"), Index(3), Key("type")}, true},
		{"degrees", Path{Key("degrees"), Index(3)}, true},
		{"degrees.type", Path{Key("degrees"), All()}, false},
		{"a.b", Path{Key("a.b")}, false},
		{"a", Path{Key("a.b")}, false},
		{"x", Path{All(), Key("x")}, false},
		{"x", Path{}, false},
		{"", Path{Key("")}, false},
		{"a..b", Path{Key("a"), Key(""), Key("b")}, false},
		{".a", Path{Key(""), Key("a")}, false},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, Covers(tc.name, tc.path), "%q covers %s", tc.name, tc.path)
	}
}

func TestCheckAllowed(t *testing.T) {
	venue := Allowed{vctPass: {"birth_date", "family_name", "given_name", "vaccinated_within_policy"}}
	q := mustParse(t, venueQuery)
	assert.NoError(t, q.CheckAllowed(venue))
	assert.Nil(t, q.Exceeds(venue))

	short := Allowed{vctPass: {"family_name", "given_name", "vaccinated_within_policy"}}
	err := q.CheckAllowed(short)
	assert.Equal(t, "over_asking", errs.CodeOf(err))
	assert.Equal(t, errs.Forbidden, errs.KindOf(err))
	assert.Equal(t, []Excess{{CredentialID: "pass", Format: FormatSDJWTVC, VCT: vctPass, Path: Path{Key("birth_date")}}}, q.Exceeds(short))

	assert.Equal(t, []Excess{{CredentialID: "pass", Format: FormatSDJWTVC, VCT: vctPass}}, q.Exceeds(Allowed{vctPID: {"given_name"}}),
		"an unregistered vct is an excess as a whole")
	assert.Len(t, q.Exceeds(nil), 1)

	// Every vct of vct_values must allow every claim.
	two := mustParse(t, `{"credentials":[{"id":"p","format":"dc+sd-jwt","meta":{"vct_values":["a","b"]},"claims":[{"path":["x"]},{"path":["y"]}]}]}`)
	assert.Equal(t, []Excess{{CredentialID: "p", Format: FormatSDJWTVC, VCT: "b", Path: Path{Key("y")}}},
		two.Exceeds(Allowed{"a": {"x", "y"}, "b": {"x"}}))

	// A claim in a claim set counts even when an earlier set avoids it.
	sets := mustParse(t, `{"credentials":[{"id":"p","format":"dc+sd-jwt","meta":{"vct_values":["a"]},
		"claims":[{"id":"o","path":["age_over_18"]},{"id":"b","path":["birth_date"]}],"claim_sets":[["o"],["b"]]}]}`)
	assert.Equal(t, "over_asking", errs.CodeOf(sets.CheckAllowed(Allowed{"a": {"age_over_18"}})))

	// No claims: the vct alone must be registered.
	none := mustParse(t, `{"credentials":[{"id":"p","format":"dc+sd-jwt","meta":{"vct_values":["a"]}}]}`)
	assert.NoError(t, none.CheckAllowed(Allowed{"a": {"x"}}))
	assert.Error(t, none.CheckAllowed(Allowed{"b": {"x"}}))

	// Another format cannot be checked against vcts.
	mdoc, err := Parse(specExample(t, "D.1_mdoc.json"))
	require.NoError(t, err)
	assert.Equal(t, []Excess{{CredentialID: "my_credential", Format: "mso_mdoc"}}, mdoc.Exceeds(Allowed{"org.iso.7367.1.mVRC": {"org"}}))
}

func TestCheckFormats(t *testing.T) {
	q := mustParse(t, venueQuery)
	assert.NoError(t, q.CheckFormats(FormatSDJWTVC))
	multi, err := Parse(specExample(t, "D.2_multi_credentials.json"))
	require.NoError(t, err)
	assert.Equal(t, "dcql_unsupported_format", errs.CodeOf(multi.CheckFormats(FormatSDJWTVC)))
	assert.NoError(t, multi.CheckFormats(FormatSDJWTVC, "mso_mdoc"))
}
