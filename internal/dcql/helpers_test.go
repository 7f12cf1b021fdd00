package dcql

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/jose"
)

// specExample reads one of the OpenID4VP 1.0 examples in testdata/spec.
func specExample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "spec", name))
	require.NoError(t, err)
	return b
}

func mustParse(t testing.TB, s string) *Query {
	t.Helper()
	q, err := Parse([]byte(s))
	require.NoError(t, err)
	return q
}

// claimsOf decodes a JSON object as internal/sdjwt hands claims over
// (jose's decoder: numbers are json.Number).
func claimsOf(t testing.TB, s string) map[string]any {
	t.Helper()
	c, err := jose.ParseClaims([]byte(s))
	require.NoError(t, err)
	return c
}

const (
	vctPass = "https://issuer.ssi.example/credentials/vaccination-pass"
	vctPID  = "https://credentials.example.com/identity_credential"
)

// venueQuery is the demo venue's entry policy (issue 15): the pass must
// say vaccinated_within_policy true, and the name and birth date are shown
// for the photo-ID check.
const venueQuery = `{"credentials":[{"id":"pass","format":"dc+sd-jwt",
 "meta":{"vct_values":["` + vctPass + `"]},
 "claims":[
  {"path":["vaccinated_within_policy"],"values":[true]},
  {"path":["given_name"]},
  {"path":["family_name"]},
  {"path":["birth_date"]}]}]}`

// passClaims are the processed claims of a vaccination pass presentation
// that discloses exactly what the venue asks.
const passClaims = `{"iss":"did:psr:issuer","vct":"` + vctPass + `","iat":1800000000,"exp":1900000000,
 "cnf":{"jwk":{"kty":"EC","crv":"P-256","x":"x","y":"y"}},
 "status":{"status_list":{"idx":412,"uri":"https://issuer.example/status/1"}},
 "vaccinated_within_policy":true,"given_name":"Erika","family_name":"Mustermann","birth_date":"1963-08-12"}`
