package sdjwt

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/jose/josetest"
	"github.com/ssi-project/ssi/internal/keys"
)

func assertCode(t *testing.T, code string, err error, msg ...any) {
	t.Helper()
	if assert.Error(t, err, msg...) {
		assert.Equal(t, code, errs.CodeOf(err), "error: %v", err)
	}
}

// TestIssuePresentVerify runs the three roles end to end for both
// algorithms and checks that the result holds exactly the revealed claims.
func TestIssuePresentVerify(t *testing.T) {
	for _, alg := range []string{keys.ES256, keys.EdDSA} {
		t.Run(alg, func(t *testing.T) {
			e := newEnv(t)
			e.issuer, e.holder = josetest.New(t, alg), josetest.New(t, alg)
			is := &Issuer{Signer: e.issuer}
			out, err := is.Issue(Request{Claims: e.vcClaims(t), Disclose: vcDisclose, Decoys: 3})
			require.NoError(t, err)
			assert.Len(t, out.Disclosures, 10)

			// The wallet checks what it received.
			v := e.verifier()
			all, err := v.Verify(out.String(), Options{FromIssuer: true})
			require.NoError(t, err)
			assert.Len(t, all.Disclosures, 10)
			assert.Equal(t, "412", mustNumber(t, all.Status.Index))

			pres, err := Present(out.String(), []string{"/given_name", "/age_over_18", "/address/locality"}, e.kb())
			require.NoError(t, err)
			res, err := v.Verify(pres, e.kbOpts())
			require.NoError(t, err)
			assert.True(t, res.KeyBound)
			got := map[string]bool{}
			for _, d := range res.Disclosures {
				got[d.Path] = true
			}
			assert.Equal(t, map[string]bool{"/given_name": true, "/age_over_18": true, "/address": true}, got)
			for _, hidden := range []string{"family_name", "birthdate", "email", "phone", "nationality"} {
				assert.NotContains(t, res.Claims, hidden)
			}
			assert.Equal(t, "Erika", res.Claims["given_name"])
			assert.Equal(t, testIssuer, res.Issuer)
			assert.NotContains(t, res.Claims, "_sd")
			assert.NotContains(t, res.Claims, "_sd_alg")
		})
	}
}

func mustNumber(t *testing.T, n uint64) string {
	t.Helper()
	return strconv.FormatUint(n, 10)
}

// TestRecursiveAndArrayDisclosures covers nested (recursive) and array
// element disclosures: revealing a nested claim brings its parents, and
// undisclosed array elements vanish from the processed payload.
func TestRecursiveAndArrayDisclosures(t *testing.T) {
	e := newEnv(t)
	claims := []byte(`{"iss":"` + testIssuer + `","vct":"urn:x","iat":1799999000,"cnf":{"jwk":` + jwkJSON(e) + `},` +
		`"address":{"street":"Heidestr. 17","locality":"Köln","country":"DE"},"nationalities":["DE","FR","IT"]}`)
	is := &Issuer{Signer: e.issuer}
	out, err := is.Issue(Request{Claims: claims, Disclose: []string{
		"/address", "/address/street", "/address/locality", "/nationalities/0", "/nationalities/2"}, Decoys: 2})
	require.NoError(t, err)
	require.Len(t, out.Disclosures, 5)

	v := e.verifier()
	cases := []struct {
		name   string
		reveal []string
		want   string
	}{
		{"nested_child_brings_parent", []string{"/address/locality"}, `{"address":{"locality":"Köln","country":"DE"},"nationalities":["FR"]}`},
		{"parent_brings_subtree", []string{"/address"}, `{"address":{"street":"Heidestr. 17","locality":"Köln","country":"DE"},"nationalities":["FR"]}`},
		{"array_element", []string{"/nationalities/2"}, `{"nationalities":["FR","IT"]}`},
		{"nothing", nil, `{"nationalities":["FR"]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pres, err := Present(out.String(), tc.reveal, e.kb())
			require.NoError(t, err)
			res, err := v.Verify(pres, e.kbOpts())
			require.NoError(t, err)
			for _, k := range []string{"iss", "vct", "iat", "cnf"} {
				delete(res.Claims, k)
			}
			b, err := json.Marshal(res.Claims)
			require.NoError(t, err)
			assert.JSONEq(t, tc.want, string(b))
		})
	}
	t.Run("unknown_path", func(t *testing.T) {
		_, err := Present(out.String(), []string{"/address/zip"}, nil)
		assertCode(t, "unknown_claim_path", err)
	})
	t.Run("B33_present_refuses_sd_jwt_kb", func(t *testing.T) {
		pres, err := Present(out.String(), nil, e.kb())
		require.NoError(t, err)
		_, err = Present(pres, nil, e.kb())
		assertCode(t, "unexpected_key_binding", err)
	})
}

func jwkJSON(e *env) string {
	b, _ := json.Marshal(e.holder.JWK())
	return string(b)
}

// TestIssueRejects covers the issuer-side checks, including B31 at issue.
func TestIssueRejects(t *testing.T) {
	e := newEnv(t)
	claims := e.vcClaims(t)
	deepClaims := []byte(`{"iss":"` + testIssuer + `","vct":"urn:x","a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":1}}}}}}}}}`)
	deepPtrs := []string{"/a", "/a/b", "/a/b/c", "/a/b/c/d", "/a/b/c/d/e", "/a/b/c/d/e/f", "/a/b/c/d/e/f/g", "/a/b/c/d/e/f/g/h", "/a/b/c/d/e/f/g/h/i"}
	var many []string
	manyClaims := `{"iss":"` + testIssuer + `","vct":"urn:x"`
	for i := range 257 {
		manyClaims += fmt.Sprintf(`,"c%d":%d`, i, i)
		many = append(many, fmt.Sprintf("/c%d", i))
	}
	manyClaims += "}"
	cases := []struct {
		name     string
		is       *Issuer
		claims   []byte
		disclose []string
		code     string
	}{
		{"B31_iss", &Issuer{Signer: e.issuer}, claims, []string{"/iss"}, "non_disclosable_claim"},
		{"B31_iat", &Issuer{Signer: e.issuer}, claims, []string{"/iat"}, "non_disclosable_claim"},
		{"B31_exp", &Issuer{Signer: e.issuer}, claims, []string{"/exp"}, "non_disclosable_claim"},
		{"B31_cnf", &Issuer{Signer: e.issuer}, claims, []string{"/cnf"}, "non_disclosable_claim"},
		{"B31_vct", &Issuer{Signer: e.issuer}, claims, []string{"/vct"}, "non_disclosable_claim"},
		{"B31_status", &Issuer{Signer: e.issuer}, claims, []string{"/status"}, "non_disclosable_claim"},
		{"B31_nbf", &Issuer{Signer: e.issuer}, []byte(`{"iss":"a","vct":"b","nbf":1}`), []string{"/nbf"}, "non_disclosable_claim"},
		{"B31_plain_profile_too", &Issuer{Signer: e.issuer, Profile: ProfilePlain}, claims, []string{"/exp"}, "non_disclosable_claim"},
		{"VCDM_issuer", &Issuer{Signer: e.issuer, Profile: ProfileVCDM}, vcdmClaims(), []string{"/issuer"}, "non_disclosable_claim"},
		{"VCDM_validUntil", &Issuer{Signer: e.issuer, Profile: ProfileVCDM}, vcdmClaims(), []string{"/validUntil"}, "non_disclosable_claim"},
		{"B32_recursion_9_deep", &Issuer{Signer: e.issuer}, deepClaims, deepPtrs, "disclosure_too_deep"},
		{"B32_257_disclosures", &Issuer{Signer: e.issuer}, []byte(manyClaims), many, "too_many_disclosures"},
		{"unknown_path", &Issuer{Signer: e.issuer}, claims, []string{"/nope"}, "unknown_claim_path"},
		{"array_index_out_of_range", &Issuer{Signer: e.issuer}, []byte(`{"iss":"a","vct":"b","n":[1]}`), []string{"/n/1"}, "unknown_claim_path"},
		{"reserved__sd_in_input", &Issuer{Signer: e.issuer}, []byte(`{"iss":"a","vct":"b","x":{"_sd":[]}}`), nil, "invalid_disclosure_name"},
		{"reserved_dots_in_input", &Issuer{Signer: e.issuer}, []byte(`{"iss":"a","vct":"b","...":1}`), nil, "invalid_disclosure_name"},
		{"vc_without_vct", &Issuer{Signer: e.issuer}, []byte(`{"iss":"a"}`), nil, "missing_claim"},
		{"vc_without_iss", &Issuer{Signer: e.issuer}, []byte(`{"vct":"a"}`), nil, "missing_claim"},
		{"vc_bad_status_idx", &Issuer{Signer: e.issuer}, []byte(`{"iss":"a","vct":"b","status":{"status_list":{"idx":-1,"uri":"https://x"}}}`), nil, "missing_claim"},
		{"vc_private_cnf", &Issuer{Signer: e.issuer}, []byte(`{"iss":"a","vct":"b","cnf":{"jwk":{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c"}}}`), nil, "private_jwk"},
		{"A15_exp_float", &Issuer{Signer: e.issuer}, []byte(`{"iss":"a","vct":"b","exp":1.5}`), nil, "invalid_claim"},
		{"duplicate_member", &Issuer{Signer: e.issuer}, []byte(`{"iss":"a","iss":"b","vct":"b"}`), nil, "malformed_json"},
		{"md5_sd_alg", &Issuer{Signer: e.issuer, HashAlg: "md5"}, claims, nil, "unsupported_sd_alg"},
		{"vcdm_missing_context", &Issuer{Signer: e.issuer, Profile: ProfileVCDM}, []byte(`{"type":["VerifiableCredential"],"issuer":"did:x","credentialSubject":{}}`), nil, "missing_claim"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tc.is.Issue(Request{Claims: tc.claims, Disclose: tc.disclose})
			assertCode(t, tc.code, err)
			assert.Nil(t, out)
		})
	}
	t.Run("control_8_levels_allowed", func(t *testing.T) {
		_, err := (&Issuer{Signer: e.issuer}).Issue(Request{Claims: deepClaims, Disclose: deepPtrs[:8]})
		require.NoError(t, err)
	})
}

func vcdmClaims() []byte {
	return []byte(`{"@context":["https://www.w3.org/ns/credentials/v2","https://www.w3.org/ns/credentials/examples/v2"],` +
		`"type":["VerifiableCredential","VaccinationCertificate"],"issuer":"` + testIssuer + `",` +
		`"validFrom":"2026-01-01T00:00:00Z","validUntil":"2027-01-01T00:00:00Z",` +
		`"credentialSubject":{"vaccinated_within_policy":true,"name":"Erika"},` +
		`"credentialStatus":{"type":"BitstringStatusListEntry","statusListIndex":"94567","statusListCredential":"https://issuer.example/status/3"}}`)
}

// TestVCDMProfile issues and verifies a VCDM 2.0 credential secured as
// SD-JWT (typ vc+sd-jwt) and checks validFrom/validUntil.
func TestVCDMProfile(t *testing.T) {
	e := newEnv(t) // now = 2027-01-15
	is := &Issuer{Signer: e.issuer, Profile: ProfileVCDM}
	out, err := is.Issue(Request{Claims: vcdmClaims(), Disclose: []string{"/credentialSubject/name", "/credentialSubject/vaccinated_within_policy"}})
	require.NoError(t, err)
	tok := out.String()
	h, err := jose.ParseUnverified(out.Parts.IssuerJWT, 0)
	require.NoError(t, err)
	assert.Equal(t, TypVCSDJWT, h.Header.Typ)

	pres, err := Present(tok, []string{"/credentialSubject/vaccinated_within_policy"}, nil)
	require.NoError(t, err)
	mk := func(now time.Time, p Profile) *Verifier {
		v := e.verifier()
		v.Profile, v.Now = p, at(now)
		return v
	}
	inside := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	res, err := mk(inside, ProfileVCDM).Verify(pres, Options{})
	require.NoError(t, err)
	subj := res.Claims["credentialSubject"].(map[string]any)
	assert.Equal(t, true, subj["vaccinated_within_policy"])
	assert.NotContains(t, subj, "name")

	_, err = mk(time.Date(2027, 1, 1, 0, 1, 1, 0, time.UTC), ProfileVCDM).Verify(pres, Options{})
	assertCode(t, "expired", err)
	_, err = mk(time.Date(2025, 12, 31, 23, 0, 0, 0, time.UTC), ProfileVCDM).Verify(pres, Options{})
	assertCode(t, "not_yet_valid", err)
	vc := mk(inside, ProfileSDJWTVC)
	vc.IssuerKey = fixedKey(e.issuer.PublicKey())
	_, err = vc.Verify(pres, Options{})
	assertCode(t, "missing_claim", err, "a VCDM credential is not an SD-JWT VC (no vct)")
}

// TestSDJWTVCTyp: dc+sd-jwt is issued; vc+sd-jwt is accepted on input.
func TestSDJWTVCTyp(t *testing.T) {
	e := newEnv(t)
	v := e.verifier()
	for _, typ := range []string{TypDCSDJWT, TypVCSDJWT} {
		t.Run(typ, func(t *testing.T) {
			tok := e.signJWT(t, "{"+e.basePayload()+"}", map[string]any{"typ": typ}) + "~"
			_, err := v.Verify(tok, Options{})
			require.NoError(t, err)
		})
	}
	out, err := (&Issuer{Signer: e.issuer}).Issue(Request{Claims: e.vcClaims(t)})
	require.NoError(t, err)
	j, err := jose.ParseUnverified(out.Parts.IssuerJWT, 0)
	require.NoError(t, err)
	assert.Equal(t, TypDCSDJWT, j.Header.Typ)
	assert.Equal(t, e.issuer.KeyID(), j.Header.Kid)
}

// TestSaltsUnique draws 10^6 salts and finds no duplicate (skipped with -short).
func TestSaltsUnique(t *testing.T) {
	if testing.Short() {
		t.Skip("10^6 salts take a few seconds")
	}
	seen := make(map[string]struct{}, 1_000_000)
	for range 1_000_000 {
		s, err := NewSalt()
		require.NoError(t, err)
		require.Len(t, s, 22, "128 bits in base64url")
		if _, dup := seen[s]; dup {
			t.Fatalf("duplicate salt after %d draws", len(seen))
		}
		seen[s] = struct{}{}
	}
}

// TestBitFlipsRejected is SECURITY-CASES A18 on an SD-JWT+KB: flipping any
// single bit anywhere (every bit of every byte) is rejected, and always with
// a stable client error code, never an internal error.
func TestBitFlipsRejected(t *testing.T) {
	e := newEnv(t)
	pres, err := Present(e.issue(t, e.vcClaims(t), vcDisclose), []string{"/given_name", "/address"}, e.kb())
	require.NoError(t, err)
	v := e.verifier()
	_, err = v.Verify(pres, e.kbOpts())
	require.NoError(t, err)
	b := []byte(pres)
	for i := range b {
		for bit := range 8 {
			f := append([]byte{}, b...)
			f[i] ^= 1 << bit
			res, err := v.Verify(string(f), e.kbOpts())
			if err == nil || res != nil {
				t.Fatalf("A18: a flip of bit %d in byte %d was accepted", bit, i)
			}
			if k := errs.KindOf(err); errs.CodeOf(err) == "" || k == errs.Internal || k == errs.Other {
				t.Fatalf("A18: a flip of bit %d in byte %d gave no stable client code: kind %v, %v", bit, i, k, err)
			}
		}
	}
}
