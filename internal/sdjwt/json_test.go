package sdjwt

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRFC9901JSONSerialization: the §8 examples convert to compact form
// and verify, including the sd_hash of the KB-JWT (§8.1).
func TestRFC9901JSONSerialization(t *testing.T) {
	key := rfcIssuerKey(t)
	v := &Verifier{IssuerKey: fixedKey(key), Profile: ProfilePlain, Typ: []string{"example+sd-jwt"}, Now: at(rfcKBTime)}
	for _, tc := range []struct {
		file  string
		opts  Options
		discs int
	}{
		{"sec8_2_flattened_sdjwt.json", Options{FromIssuer: true}, 4},
		{"sec8_2_flattened_kb.json", Options{RequireKeyBinding: true, Nonce: rfcNonce, Audience: rfcAud}, 2},
		{"sec8_3_general_kb.json", Options{RequireKeyBinding: true, Nonce: rfcNonce, Audience: rfcAud}, 2},
	} {
		t.Run(tc.file, func(t *testing.T) {
			p, err := FromJSON([]byte(readVector(t, tc.file)), 0)
			require.NoError(t, err)
			res, err := v.VerifyParts(p, tc.opts)
			require.NoError(t, err)
			assert.Len(t, res.Disclosures, tc.discs)
			assert.Equal(t, tc.opts.RequireKeyBinding, res.KeyBound)
		})
	}
}

func TestJSONRoundTrip(t *testing.T) {
	e := newEnv(t)
	pres, err := Present(e.issue(t, e.vcClaims(t), vcDisclose), []string{"/email"}, e.kb())
	require.NoError(t, err)
	p, err := Split(pres, 0)
	require.NoError(t, err)
	js, err := p.ToJSON()
	require.NoError(t, err)
	back, err := FromJSON(js, 0)
	require.NoError(t, err)
	assert.Equal(t, pres, back.String())
	res, err := e.verifier().VerifyParts(back, e.kbOpts())
	require.NoError(t, err)
	assert.Equal(t, "erika@example.org", res.Claims["email"])
}

func TestFromJSONRejects(t *testing.T) {
	cases := []struct{ name, json, code string }{
		{"A10_protected_missing", `{"payload":"e30","signature":"AA"}`, "malformed_sd_jwt"},
		{"unknown_member", `{"payload":"e30","protected":"e30","signature":"AA","extra":1}`, "unknown_field"},
		{"disclosures_in_second_header", `{"payload":"e30","signatures":[{"protected":"e30","signature":"AA"},{"protected":"e30","signature":"AA","header":{"disclosures":["WyJhIiwiYiJd"]}}]}`, "malformed_sd_jwt"},
		{"no_signatures", `{"payload":"e30","signatures":[]}`, "malformed_sd_jwt"},
		{"tilde_in_disclosure", `{"payload":"e30","protected":"e30","signature":"AA","header":{"disclosures":["a~b"]}}`, "malformed_disclosure"},
		{"duplicate_member", `{"payload":"e30","payload":"e30","protected":"e30","signature":"AA"}`, "malformed_json"},
		{"not_object", `["e30"]`, "malformed_sd_jwt"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromJSON([]byte(tc.json), 0)
			assertCode(t, tc.code, err)
		})
	}
}
