package sdjwt

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVCClaimsBuilder(t *testing.T) {
	e := newEnv(t)
	hk := e.holder.JWK()
	c := VCClaims{
		Issuer: testIssuer, Type: "https://credentials.example/pid",
		IssuedAt: e.now.Add(-time.Minute), Expiry: e.now.Add(time.Hour), HolderKey: &hk,
		Status:  &StatusRef{Index: 7, URI: "https://issuer.example/status/1"},
		Subject: map[string]any{"given_name": "Erika", "age_over_18": true},
	}
	b, err := c.JSON()
	require.NoError(t, err)
	assert.Equal(t, `{"iss":"https://issuer.example","vct":"https://credentials.example/pid","iat":1799999940,"exp":1800003600,`+
		`"cnf":{"jwk":{"kty":"EC","crv":"P-256","x":"`+hk.X+`","y":"`+hk.Y+`"}},`+
		`"status":{"status_list":{"idx":7,"uri":"https://issuer.example/status/1"}},"age_over_18":true,"given_name":"Erika"}`, string(b))

	out, err := (&Issuer{Signer: e.issuer}).Issue(Request{Claims: b, Disclose: []string{"/given_name"}})
	require.NoError(t, err)
	pres, err := Present(out.String(), []string{"/given_name"}, e.kb())
	require.NoError(t, err)
	res, err := e.verifier().Verify(pres, e.kbOpts())
	require.NoError(t, err)
	assert.Equal(t, &StatusRef{Index: 7, URI: "https://issuer.example/status/1"}, res.Status)
	assert.Equal(t, "Erika", res.Claims["given_name"])

	_, err = VCClaims{Issuer: "a", Type: "b", Subject: map[string]any{"iss": "x"}}.JSON()
	assertCode(t, "claim_collision", err)
	_, err = VCClaims{Issuer: "a"}.JSON()
	assertCode(t, "missing_claim", err)
}

func TestVCDMClaimsBuilder(t *testing.T) {
	e := newEnv(t)
	hk := e.holder.JWK()
	c := VCDMClaims{
		Types: []string{"VaccinationCertificate"}, Issuer: testIssuer,
		ValidFrom: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), ValidUntil: time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC),
		HolderKey: &hk, Subject: map[string]any{"vaccinated_within_policy": true},
	}
	b, err := c.JSON()
	require.NoError(t, err)
	out, err := (&Issuer{Signer: e.issuer, Profile: ProfileVCDM}).Issue(Request{Claims: b, Disclose: []string{"/credentialSubject/vaccinated_within_policy"}})
	require.NoError(t, err)
	pres, err := Present(out.String(), []string{"/credentialSubject/vaccinated_within_policy"}, e.kb())
	require.NoError(t, err)
	v := e.verifier()
	v.Profile = ProfileVCDM
	res, err := v.Verify(pres, e.kbOpts())
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"vaccinated_within_policy": true}, res.Claims["credentialSubject"])
	assert.Equal(t, []any{VCDMContext}, res.Claims["@context"])
}
