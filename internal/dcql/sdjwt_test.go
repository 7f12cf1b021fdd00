package dcql

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/jose/josetest"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/sdjwt"
)

const (
	issuerDID = "did:psr:issuer"
	venueAud  = "decentralized_identifier:did:psr:venue"
)

// TestSDJWTRoundTrip is the package's two users (as callers outside it would, by exported API only) end to end, with real
// SD-JWTs: the holder finds its credential with Candidates and reveals
// exactly CredentialMatch.Pointers with sdjwt.Present; the verifier
// verifies the presentation with sdjwt and Match finds exactly the
// policy's claims in it, and nothing else disclosed.
func TestSDJWTRoundTrip(t *testing.T) {
	issuer := josetest.New(t, keys.ES256)
	holder := josetest.New(t, keys.ES256)
	now := time.Unix(1_800_000_000, 0)
	hk := holder.JWK()
	claims, err := sdjwt.VCClaims{
		Issuer: issuerDID, Type: vctPass, IssuedAt: now.Add(-time.Hour), Expiry: now.Add(24 * time.Hour), HolderKey: &hk,
		Subject: map[string]any{
			"given_name": "Erika", "family_name": "Mustermann", "birth_date": "1963-08-12",
			"vaccinated_within_policy": true, "email": "erika@example.org",
			"vaccinations": []any{map[string]any{"date": "2025-01-02"}, map[string]any{"date": "2025-06-07"}},
		},
	}.JSON()
	require.NoError(t, err)
	issued, err := (&sdjwt.Issuer{Signer: issuer}).Issue(sdjwt.Request{Claims: claims, Disclose: []string{
		"/given_name", "/family_name", "/birth_date", "/vaccinated_within_policy", "/email", "/vaccinations", "/vaccinations/0", "/vaccinations/1",
	}})
	require.NoError(t, err)
	verifier := &sdjwt.Verifier{
		IssuerKey: func(string, *jose.Header) (jose.PublicKey, error) { return issuer.PublicKey(), nil },
		Now:       func() time.Time { return now },
	}

	// The holder: every disclosure applied, then the query's candidates.
	stored, err := verifier.Verify(issued.String(), sdjwt.Options{FromIssuer: true})
	require.NoError(t, err)
	q, err := Parse([]byte(venueQuery))
	require.NoError(t, err)
	offer := q.Candidates([]Credential{{Format: FormatSDJWTVC, VCT: vctPass, Claims: stored.Claims, KeyBound: stored.HolderKey != nil}})
	require.True(t, offer.Satisfiable)
	m := offer.Queries[0].Candidates[0]
	pres, err := sdjwt.Present(issued.String(), m.Pointers(), &sdjwt.KeyBinding{Signer: holder, Nonce: "n-1", Audience: venueAud, IssuedAt: now})
	require.NoError(t, err)

	// The verifier.
	res, err := verifier.Verify(pres, sdjwt.Options{RequireKeyBinding: true, Nonce: "n-1", Audience: venueAud})
	require.NoError(t, err)
	vct, _, err := res.Claims.String("vct")
	require.NoError(t, err)
	got, err := q.Match(map[string][]Credential{"pass": {{Format: FormatSDJWTVC, VCT: vct, Claims: res.Claims, KeyBound: res.KeyBound}}})
	require.NoError(t, err)
	shown := map[string]any{}
	for _, c := range got.Matches[0].Claims {
		shown[c.Path.Name()] = c.Selected[0].Value
	}
	assert.Equal(t, map[string]any{"vaccinated_within_policy": true, "given_name": "Erika", "family_name": "Mustermann", "birth_date": "1963-08-12"}, shown)
	assert.Len(t, res.Disclosures, 4, "the presentation discloses the four asked claims and nothing else")
	assert.NotContains(t, res.Claims, "email")
	assert.NotContains(t, res.Claims, "vaccinations")

	// An array query: the holder reveals both elements' dates, and a
	// presentation of one element only satisfies a values query on it.
	q2, err := Parse([]byte(`{"credentials":[{"id":"pass","format":"dc+sd-jwt","meta":{"vct_values":["` + vctPass + `"]},
		"claims":[{"path":["vaccinations",null,"date"],"values":["2025-06-07"]}]}]}`))
	require.NoError(t, err)
	offer = q2.Candidates([]Credential{{Format: FormatSDJWTVC, VCT: vctPass, Claims: stored.Claims, KeyBound: true}})
	require.True(t, offer.Satisfiable)
	ptrs := offer.Queries[0].Candidates[0].Pointers()
	assert.Equal(t, []string{"/vaccinations/1/date"}, ptrs)
	pres, err = sdjwt.Present(issued.String(), ptrs, &sdjwt.KeyBinding{Signer: holder, Nonce: "n-2", Audience: venueAud, IssuedAt: now})
	require.NoError(t, err)
	res, err = verifier.Verify(pres, sdjwt.Options{RequireKeyBinding: true, Nonce: "n-2", Audience: venueAud})
	require.NoError(t, err)
	_, err = q2.Match(map[string][]Credential{"pass": {{Format: FormatSDJWTVC, VCT: vctPass, Claims: res.Claims, KeyBound: res.KeyBound}}})
	require.NoError(t, err)
	b, err := json.Marshal(res.Claims["vaccinations"])
	require.NoError(t, err)
	assert.Equal(t, `[{"date":"2025-06-07"}]`, string(b), "one element disclosed, the other withheld")

	// The venue's first query does not match this second presentation.
	_, err = q.Match(map[string][]Credential{"pass": {{Format: FormatSDJWTVC, VCT: vctPass, Claims: res.Claims, KeyBound: res.KeyBound}}})
	assert.Equal(t, "dcql_credential_missing", errs.CodeOf(err))
}
