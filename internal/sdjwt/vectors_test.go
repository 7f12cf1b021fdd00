package sdjwt

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/jose/josetest"
	"github.com/ssi-project/ssi/internal/keys"
)

type specDisclosure struct {
	Ptr        string `json:"ptr"`
	Salt       string `json:"salt"`
	Disclosure string `json:"disclosure"`
	Digest     string `json:"digest"`
}

// TestRFC9901IssuerReproducesDisclosures: given the spec's salts, our
// issuer produces the spec's disclosures and digests byte for byte, and the
// _sd arrays of the spec's payload.
func TestRFC9901IssuerReproducesDisclosures(t *testing.T) {
	for _, tc := range []struct{ name, claims, discs, sdjwt string }{
		{"section5", "sec5_claims.json", "sec5_disclosures.json", "sec5_sdjwt.txt"},
		{"appendixA1_structured", "a1_claims.json", "a1_disclosures.json", "a1_presentation.txt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want []specDisclosure
			require.NoError(t, json.Unmarshal([]byte(readVector(t, tc.discs)), &want))
			salts := map[string]string{}
			var ptrs []string
			for _, d := range want {
				salts[d.Ptr] = d.Salt
				ptrs = append(ptrs, d.Ptr)
			}
			is := &Issuer{
				Signer: josetest.New(t, keys.ES256), Profile: ProfilePlain, Typ: "example+sd-jwt", Spaced: true,
				Salt: func(ptr string) (string, error) { return salts[ptr], nil },
			}
			out, err := is.Issue(Request{Claims: []byte(readVector(t, tc.claims)), Disclose: ptrs})
			require.NoError(t, err)
			require.Len(t, out.Disclosures, len(want))
			got := map[string]*Disclosure{}
			for _, d := range out.Disclosures {
				got[d.Path] = d
			}
			for _, w := range want {
				d := got[w.Ptr]
				require.NotNil(t, d, w.Ptr)
				assert.Equal(t, w.Disclosure, d.Encoded, w.Ptr)
				assert.Equal(t, w.Digest, d.Digest, w.Ptr)
			}
			// Every digest in our payload is in the spec's payload at the
			// same place (the spec adds decoys in A.1, we add none).
			specParts, err := Split(readVector(t, tc.sdjwt), 0)
			require.NoError(t, err)
			spec, err := jose.ParseUnverified(specParts.IssuerJWT, 0)
			require.NoError(t, err)
			specClaims, err := spec.Claims()
			require.NoError(t, err)
			ours, err := jose.ParseClaims(out.Payload)
			require.NoError(t, err)
			assert.Subset(t, specClaims["_sd"], ours["_sd"])
			if tc.name == "section5" {
				assert.Equal(t, specClaims["_sd"], ours["_sd"], "the same sorted _sd")
				assert.Equal(t, specClaims["nationalities"], ours["nationalities"])
			} else {
				assert.Subset(t, specClaims["address"].(map[string]any)["_sd"], ours["address"].(map[string]any)["_sd"])
			}
		})
	}
}

// TestRFC9901VectorsVerify: the spec's SD-JWTs and presentations verify
// under the A.5 key and yield the spec's processed payloads.
func TestRFC9901VectorsVerify(t *testing.T) {
	key := rfcIssuerKey(t)
	kb := Options{RequireKeyBinding: true, Nonce: rfcNonce, Audience: rfcAud}
	cases := []struct {
		name, token, processed string
		profile                Profile
		typ                    []string
		opts                   Options
	}{
		{"section5_2_sdjwt_kb", "sec5_presentation.txt", "sec5_processed.json", ProfilePlain, []string{"example+sd-jwt"}, kb},
		{"section5_1_issued_all_disclosures", "sec5_sdjwt.txt", "", ProfilePlain, []string{"example+sd-jwt"}, Options{FromIssuer: true}},
		{"A1_structured_with_decoys", "a1_presentation.txt", "a1_processed.json", ProfilePlain, []string{"example+sd-jwt"}, Options{}},
		{"A2_complex_nested_arrays", "a2_presentation.txt", "a2_processed.json", ProfilePlain, []string{"example+sd-jwt"}, Options{}},
		{"A3_sd_jwt_vc_recursive_issued", "a3_sdjwt.txt", "", ProfileSDJWTVC, nil, Options{FromIssuer: true}},
		{"A3_sd_jwt_vc_presentation_kb", "a3_presentation.txt", "a3_processed.json", ProfileSDJWTVC, nil, kb},
		{"A4_w3c_vcdm_issued", "a4_sdjwt.txt", "", ProfilePlain, []string{"example+sd-jwt"}, Options{FromIssuer: true}},
		{"A4_w3c_vcdm_presentation_kb", "a4_presentation.txt", "a4_processed.json", ProfilePlain, []string{"example+sd-jwt"}, kb},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := &Verifier{IssuerKey: fixedKey(key), Profile: tc.profile, Typ: tc.typ, Now: at(rfcKBTime.Add(10))}
			res, err := v.Verify(readVector(t, tc.token), tc.opts)
			require.NoError(t, err)
			assert.Equal(t, tc.opts.RequireKeyBinding, res.KeyBound)
			if tc.processed == "" {
				return
			}
			want, err := os.ReadFile(filepath.Join("testdata", "rfc9901", tc.processed))
			require.NoError(t, err)
			got, err := json.Marshal(res.Claims)
			require.NoError(t, err)
			assert.JSONEq(t, string(want), string(got))
		})
	}
}

// TestRFC9901VectorsRejectedWhenTampered: the spec presentation fails with
// another nonce, audience or clock (so the passing case is not vacuous).
func TestRFC9901VectorsRejectedWhenTampered(t *testing.T) {
	key := rfcIssuerKey(t)
	tok := readVector(t, "sec5_presentation.txt")
	v := &Verifier{IssuerKey: fixedKey(key), Profile: ProfilePlain, Typ: []string{"example+sd-jwt"}, Now: at(rfcKBTime)}
	for _, tc := range []struct {
		name string
		opts Options
		v    *Verifier
		code string
	}{
		{"other_nonce", Options{RequireKeyBinding: true, Nonce: "x", Audience: rfcAud}, v, "invalid_nonce"},
		{"other_audience", Options{RequireKeyBinding: true, Nonce: rfcNonce, Audience: "https://other.example"}, v, "invalid_audience"},
		{"one_hour_later", Options{RequireKeyBinding: true, Nonce: rfcNonce, Audience: rfcAud},
			&Verifier{IssuerKey: fixedKey(key), Profile: ProfilePlain, Typ: []string{"example+sd-jwt"}, Now: at(rfcKBTime.Add(3600e9))}, "stale_key_binding"},
		{"wrong_typ_expected", Options{}, &Verifier{IssuerKey: fixedKey(key), Profile: ProfileSDJWTVC, Now: at(rfcKBTime)}, "wrong_typ"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.v.Verify(tok, tc.opts)
			assertCode(t, tc.code, err)
		})
	}
}
