package sdjwt

import (
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/jose/josetest"
	"github.com/ssi-project/ssi/internal/keys"
)

// stdAlphabet encodes body with the standard base64 alphabet (+ and /).
func stdAlphabet(t *testing.T, body string) string {
	enc := base64.RawStdEncoding.EncodeToString([]byte(body))
	require.True(t, strings.ContainsAny(enc, "+/"), "the seed must use + or /")
	return enc
}

func b64s(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// kbJWT signs a KB-JWT payload over the given header with s.
func kbJWT(t testing.TB, s *josetest.Signer, header map[string]any, payload string) string {
	t.Helper()
	tok, err := jose.Sign(s, header, []byte(payload))
	require.NoError(t, err)
	return tok
}

func kbPayload(nonce, aud string, iat int64, sdHash string) string {
	return fmt.Sprintf(`{"nonce":%q,"aud":%q,"iat":%d,"sd_hash":%q}`, nonce, aud, iat, sdHash)
}

// TestSecurityCases feeds each hostile input of SECURITY-CASES.md that
// applies to SD-JWT (A, B23–B33, C34–C39) to the real verifier, issuer or
// holder path and asserts its error code.
func TestSecurityCases(t *testing.T) {
	e := newEnv(t)
	v := e.verifier()
	anyIss := &Verifier{IssuerKey: fixedKey(e.issuer.PublicKey()), Now: at(e.now)}
	base := e.basePayload()
	// sd builds a compact SD-JWT from payload members and disclosures.
	sd := func(members string, discs ...string) string {
		s := e.signJWT(t, "{"+members+"}", nil) + "~"
		for _, d := range discs {
			s += d + "~"
		}
		return s
	}
	dGiven, hGiven := disc(`["salt-1","given_name","Erika"]`)
	dArr, hArr := disc(`["salt-2","DE"]`)
	good := sd(base+`,"_sd":["`+hGiven+`"],"nat":[{"...":"`+hArr+`"}]`, dGiven, dArr)

	// A valid presentation with KB, and its pieces for hand-made KB-JWTs.
	issued := e.issue(t, e.vcClaims(t), vcDisclose)
	pres, err := Present(issued, []string{"/given_name"}, e.kb())
	require.NoError(t, err)
	presParts, err := Split(pres, 0)
	require.NoError(t, err)
	sdPart := presParts.SDJWT()
	withKB := func(kb string) string { return sdPart + kb }
	okHash := digest(SHA256, sdPart)
	now := e.now.Unix()

	attacker := josetest.New(t, keys.ES256)
	edHolder := josetest.New(t, keys.EdDSA)
	aj := attacker.JWK()
	pub := e.issuer.JWK()

	hsSI := b64s(`{"alg":"HS256","typ":"dc+sd-jwt","kid":"`+e.issuer.KeyID()+`"}`) + "." + b64s("{"+base+"}")
	mac := hmac.New(sha256.New, []byte(pub.X+pub.Y))
	mac.Write([]byte(hsSI))
	hs256 := hsSI + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)) + "~"

	h64, rest, _ := strings.Cut(strings.TrimSuffix(sd(base), "~"), ".")
	p64, s64, _ := strings.Cut(rest, ".")
	// A17: the valid signature over h64.p64, re-encoded as DER, one byte
	// longer, and with r = n.
	rawSig, err := base64.RawURLEncoding.DecodeString(s64)
	require.NoError(t, err)
	require.Len(t, rawSig, 64)
	derSig, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(rawSig[:32]), new(big.Int).SetBytes(rawSig[32:])})
	require.NoError(t, err)
	withSig := func(sig []byte) string {
		return h64 + "." + p64 + "." + base64.RawURLEncoding.EncodeToString(sig) + "~"
	}
	p256N := elliptic.P256().Params().N.FillBytes(make([]byte, 32))

	deep := func(levels int) string {
		// levels of disclosures, each holding the next one's digest.
		var discs []string
		inner, dg := disc(`["s0","leaf","x"]`)
		discs = append(discs, inner)
		for i := 1; i < levels; i++ {
			inner, dg = disc(fmt.Sprintf(`["s%d","l%d",{"_sd":["%s"]}]`, i, i, dg))
			discs = append(discs, inner)
		}
		return sd(base+`,"_sd":["`+dg+`"]`, discs...)
	}
	many := func(n int) string {
		var discs, digests []string
		for i := range n {
			d, h := disc(fmt.Sprintf(`["s%d","c%d",%d]`, i, i, i))
			discs, digests = append(discs, d), append(digests, `"`+h+`"`)
		}
		return sd(base+`,"_sd":[`+strings.Join(digests, ",")+`]`, discs...)
	}

	type secCase struct {
		name string
		in   string
		v    *Verifier
		opts Options
		code string
	}
	cases := []secCase{
		// A: JOSE and JSON on the credential path.
		{"A1_alg_none", b64s(`{"alg":"none","typ":"dc+sd-jwt"}`) + "." + b64s("{"+base+"}") + ".~", v, Options{}, "unsupported_alg"},
		{"A1_alg_NONE_upper", b64s(`{"alg":"NONE","typ":"dc+sd-jwt"}`) + "." + b64s("{"+base+"}") + ".~", v, Options{}, "unsupported_alg"},
		{"A1_alg_None_title", b64s(`{"alg":"None","typ":"dc+sd-jwt"}`) + "." + b64s("{"+base+"}") + ".~", v, Options{}, "unsupported_alg"},
		{"A1_alg_nOnE_mixed", b64s(`{"alg":"nOnE","typ":"dc+sd-jwt"}`) + "." + b64s("{"+base+"}") + ".~", v, Options{}, "unsupported_alg"},
		{"A2_hs256_issuer_public_key_as_secret", hs256, v, Options{}, "unsupported_alg"},
		{"A3_alg_not_allowed_for_verifier", good, &Verifier{IssuerKey: v.IssuerKey, Now: v.Now, Algs: []string{keys.EdDSA}}, Options{}, "unsupported_alg"},
		{"A3_key_bound_to_other_alg", good, &Verifier{IssuerKey: fixedKey(edHolder.PublicKey()), Now: v.Now}, Options{}, "unsupported_alg"},
		{"A4_attacker_jwk_in_header", e.signJWT(t, "{"+base+"}", map[string]any{"jwk": aj.Map()}) + "~", v, Options{}, "untrusted_key"},
		{"A4_x5c_in_header", e.signJWT(t, "{"+base+"}", map[string]any{"x5c": []string{"MIIBIjAN"}}) + "~", v, Options{}, "untrusted_key"},
		{"A5_jku_metadata_ip", e.signJWT(t, "{"+base+"}", map[string]any{"jku": "http://169.254.169.254/latest"}) + "~", v, Options{}, "untrusted_key"},
		{"A5_x5u_attacker", e.signJWT(t, "{"+base+"}", map[string]any{"x5u": "https://attacker.example/c.pem"}) + "~", v, Options{}, "untrusted_key"},
		{"A6_kid_sql", e.signJWT(t, "{"+base+"}", map[string]any{"kid": "1' OR '1'='1"}) + "~", v, Options{}, "unknown_key"},
		{"A6_kid_dotdot", e.signJWT(t, "{"+base+"}", map[string]any{"kid": "../../../etc/passwd"}) + "~", v, Options{}, "unknown_key"},
		{"A6_kid_10KB", e.signJWT(t, "{"+base+"}", map[string]any{"kid": strings.Repeat("A", 10240)}) + "~", v, Options{}, "unknown_key"},
		{"A6_kid_NUL", e.signJWT(t, "{"+base+"}", map[string]any{"kid": "k\x00"}) + "~", v, Options{}, "unknown_key"},
		{"A7_crit_unknown", e.signJWT(t, "{"+base+"}", map[string]any{"crit": []string{"x"}, "x": 1}) + "~", v, Options{}, "unsupported_crit"},
		{"A7_crit_empty", e.signJWT(t, "{"+base+"}", map[string]any{"crit": []string{}}) + "~", v, Options{}, "unsupported_crit"},
		{"A7_crit_alg", e.signJWT(t, "{"+base+"}", map[string]any{"crit": []string{"alg"}}) + "~", v, Options{}, "unsupported_crit"},
		{"A7_crit_absent_header", e.signJWT(t, "{"+base+"}", map[string]any{"crit": []string{"b64"}}) + "~", v, Options{}, "unsupported_crit"},
		{"A8_duplicate_member_in_payload", sd(base + `,"vct":"urn:other"`), v, Options{}, "malformed_json"},
		{"A8_duplicate_member_in_disclosure", sd(base+`,"_sd":["`+func() string { _, h := disc(`["s","a",{"x":1,"x":2}]`); return h }()+`"]`, func() string { d, _ := disc(`["s","a",{"x":1,"x":2}]`); return d }()), v, Options{}, "malformed_json"},
		{"A9_case_variant__SD_not_taken", sd(base+`,"_SD":["`+hGiven+`"]`, dGiven), v, Options{}, "unreferenced_disclosure"},
		{"A9_case_variant_ISS_not_taken", sd(strings.Replace(base, `"iss"`, `"ISS"`, 1)), v, Options{}, "unknown_key"},
		{"A10_json_serialization_to_compact", `{"protected":"` + h64 + `","payload":"` + p64 + `","signature":"AA"}`, v, Options{}, "malformed_sd_jwt"},
		{"A10_json_serialization_protected_missing", `{"payload":"` + p64 + `","signature":"` + s64 + `"}`, v, Options{}, "malformed_sd_jwt"},
		{"A10_json_serialization_as_issuer_jwt", `{"payload":"` + p64 + `","signature":"` + s64 + `"}~`, v, Options{}, "malformed_jws"},
		{"A11_jwe", "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d~", v, Options{}, "malformed_jws"},
		{"A11_jwe_as_kb_jwt", sdPart + b64s(`{"alg":"ECDH-ES","enc":"A256GCM"}`) + "..AAAA.AAAA.AAAA", v, e.kbOpts(), "malformed_jws"},
		{"A12_2MB_tildes", strings.Repeat("~", 2<<20), v, Options{}, "token_too_large"},
		{"A12_2MB_dots", strings.Repeat(".", 2<<20), v, Options{}, "token_too_large"},
		{"A14_disclosure_deeper_than_32", sd(base+`,"_sd":["`+func() string {
			_, h := disc(`["s","a",` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `]`)
			return h
		}()+`"]`, func() string {
			d, _ := disc(`["s","a",` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `]`)
			return d
		}()), v, Options{}, "json_too_deep"},
		{"A15_exp_1e300", sd(strings.Replace(base, `"exp":1900000000`, `"exp":1e300`, 1)), v, Options{}, "invalid_claim"},
		{"A15_exp_2pow63", sd(strings.Replace(base, `"exp":1900000000`, `"exp":9223372036854775808`, 1)), v, Options{}, "invalid_claim"},
		{"A15_iat_minus_1", sd(strings.Replace(base, `"iat":1799999000`, `"iat":-1`, 1)), v, Options{}, "invalid_claim"},
		{"A15_nbf_string", sd(base + `,"nbf":"1799999000"`), v, Options{}, "invalid_claim"},
		{"A15_exp_float", sd(strings.Replace(base, `"exp":1900000000`, `"exp":1900000000.5`, 1)), v, Options{}, "invalid_claim"},
		{"A16_expired_beyond_skew", sd(strings.Replace(base, `"exp":1900000000`, `"exp":1799999900`, 1)), &Verifier{IssuerKey: v.IssuerKey, Now: v.Now, Skew: time.Hour}, Options{}, "expired"},
		{"A16_nbf_future_beyond_skew", sd(base + `,"nbf":1800000061`), &Verifier{IssuerKey: v.IssuerKey, Now: v.Now, Skew: time.Minute}, Options{}, "not_yet_valid"},
		{"A17_sig_all_zeros", h64 + "." + p64 + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 64)) + "~", v, Options{}, "invalid_signature"},
		{"A17_sig_MAYCAQACAQA", h64 + "." + p64 + ".MAYCAQACAQA~", v, Options{}, "invalid_signature"},
		{"A17_sig_63_bytes", h64 + "." + p64 + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 63)) + "~", v, Options{}, "invalid_signature"},
		{"A17_sig_63_bytes_of_valid", withSig(rawSig[:63]), v, Options{}, "invalid_signature"},
		{"A17_sig_65_bytes", withSig(append(append([]byte{}, rawSig...), 0)), v, Options{}, "invalid_signature"},
		{"A17_sig_DER_of_valid", withSig(derSig), v, Options{}, "invalid_signature"},
		{"A17_sig_r_equals_n", withSig(append(append([]byte{}, p256N...), rawSig[32:]...)), v, Options{}, "invalid_signature"},
		{"A19_zip_DEF_in_credential_header", e.signJWT(t, "{"+base+"}", map[string]any{"zip": "DEF"}) + "~", v, Options{}, "malformed_jws"},
		{"A19_zip_DEF_in_kb_jwt_header", withKB(kbJWT(t, e.holder, map[string]any{"typ": "kb+jwt", "zip": "DEF"}, kbPayload("n-123", testVerAud, now, okHash))), v, e.kbOpts(), "malformed_jws"},
		{"A20_pbes2_huge_p2c_jwe", b64s(`{"alg":"PBES2-HS512+A256KW","enc":"A256GCM","p2c":2147483647,"p2s":"AAAA"}`) + ".AAAA.AAAA.AAAA.AAAA~", v, Options{}, "malformed_jws"},
		{"A20_rsa1_5_jwe", b64s(`{"alg":"RSA1_5","enc":"A128CBC-HS256"}`) + ".AAAA.AAAA.AAAA.AAAA~", v, Options{}, "malformed_jws"},
		{"A20_dir_jwe", b64s(`{"alg":"dir","enc":"A256GCM"}`) + "..AAAA.AAAA.AAAA~", v, Options{}, "malformed_jws"},
		{"A21_ecdh_es_off_curve_epk_jwe", b64s(`{"alg":"ECDH-ES","enc":"A256GCM","epk":{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}}`) + "..AAAA.AAAA.AAAA~", v, Options{}, "malformed_jws"},
		{"A22_kb_jwt_as_credential", e.signJWT(t, "{"+base+"}", map[string]any{"typ": "kb+jwt"}) + "~", v, Options{}, "wrong_typ"},
		{"A22_status_list_jwt_as_credential", e.signJWT(t, "{"+base+"}", map[string]any{"typ": "statuslist+jwt"}) + "~", v, Options{}, "wrong_typ"},
		{"A22_proof_jwt_as_credential", e.signJWT(t, "{"+base+"}", map[string]any{"typ": "openid4vci-proof+jwt"}) + "~", v, Options{}, "wrong_typ"},
		{"A22_typ_missing", func() string {
			tok, err := jose.Sign(e.issuer, map[string]any{"kid": e.issuer.KeyID()}, []byte("{"+base+"}"))
			require.NoError(t, err)
			return tok + "~"
		}(), v, Options{}, "wrong_typ"},

		// B: SD-JWT structure.
		{"B23_unreferenced_disclosure", sd(base, dGiven), v, Options{}, "unreferenced_disclosure"},
		{"B24_same_disclosure_twice", sd(base+`,"_sd":["`+hGiven+`"]`, dGiven, dGiven), v, Options{}, "duplicate_disclosure"},
		{"B25_same_digest_twice_in_sd", sd(base+`,"_sd":["`+hGiven+`","`+hGiven+`"]`, dGiven), v, Options{}, "duplicate_digest"},
		{"B25_same_digest_in_sd_and_nested", sd(base+`,"_sd":["`+hGiven+`"],"x":{"_sd":["`+hGiven+`"]}`, dGiven), v, Options{}, "duplicate_digest"},
		{"B25_same_undisclosed_digest_twice", sd(base + `,"_sd":["AAAA","AAAA"]`), v, Options{}, "duplicate_digest"},
		{"B26_disclosure_named__sd", sd(base+`,"_sd":["`+func() string { _, h := disc(`["s","_sd",["x"]]`); return h }()+`"]`, func() string { d, _ := disc(`["s","_sd",["x"]]`); return d }()), v, Options{}, "invalid_disclosure_name"},
		{"B26_disclosure_named_dots", sd(base+`,"_sd":["`+func() string { _, h := disc(`["s","...","x"]`); return h }()+`"]`, func() string { d, _ := disc(`["s","...","x"]`); return d }()), v, Options{}, "invalid_disclosure_name"},
		{"B27_collides_with_plaintext_iss", sd(base+`,"_sd":["`+func() string { _, h := disc(`["s","iss","https://evil.example"]`); return h }()+`"]`, func() string { d, _ := disc(`["s","iss","https://evil.example"]`); return d }()), v, Options{}, "claim_collision"},
		{"B27_collides_with_plaintext_cnf", sd(base+`,"_sd":["`+func() string { _, h := disc(`["s","cnf",{"jwk":{}}]`); return h }()+`"]`, func() string { d, _ := disc(`["s","cnf",{"jwk":{}}]`); return d }()), v, Options{}, "claim_collision"},
		{"B27_collides_with_plaintext_claim", sd(base+`,"given_name":"Max","_sd":["`+hGiven+`"]`, dGiven), v, Options{}, "claim_collision"},
		{"B27_two_disclosures_same_name", sd(base+`,"_sd":["`+hGiven+`","`+func() string { _, h := disc(`["salt-x","given_name","Max"]`); return h }()+`"]`, dGiven, func() string { d, _ := disc(`["salt-x","given_name","Max"]`); return d }()), v, Options{}, "claim_collision"},
		{"B28_two_element_disclosure_in__sd", sd(base+`,"_sd":["`+hArr+`"]`, dArr), v, Options{}, "disclosure_kind_mismatch"},
		{"B28_three_element_disclosure_in_array", sd(base+`,"nat":[{"...":"`+hGiven+`"}]`, dGiven), v, Options{}, "disclosure_kind_mismatch"},
		{"B28_salt_not_string", sd(base+`,"_sd":["`+func() string { _, h := disc(`[42,"a","b"]`); return h }()+`"]`, func() string { d, _ := disc(`[42,"a","b"]`); return d }()), v, Options{}, "malformed_disclosure"},
		{"B28_name_not_string", sd(base+`,"_sd":["`+func() string { _, h := disc(`["s",1,"b"]`); return h }()+`"]`, func() string { d, _ := disc(`["s",1,"b"]`); return d }()), v, Options{}, "malformed_disclosure"},
		{"B28_four_elements", sd(base+`,"_sd":["`+func() string { _, h := disc(`["s","a","b","c"]`); return h }()+`"]`, func() string { d, _ := disc(`["s","a","b","c"]`); return d }()), v, Options{}, "malformed_disclosure"},
		{"B28_disclosure_is_object", sd(base+`,"_sd":["`+func() string { _, h := disc(`{"s":"a"}`); return h }()+`"]`, func() string { d, _ := disc(`{"s":"a"}`); return d }()), v, Options{}, "malformed_disclosure"},
		{"B29__sd_is_string", sd(base + `,"_sd":"AAAA"`), v, Options{}, "malformed_sd"},
		{"B29__sd_holds_number", sd(base + `,"_sd":[42]`), v, Options{}, "malformed_sd"},
		{"B29_array_digest_42", sd(base + `,"nat":[{"...":42}]`), v, Options{}, "malformed_sd"},
		{"B30_sd_alg_truncated", sd(base + `,"_sd_alg":"sha-25"`), v, Options{}, "unsupported_sd_alg"},
		{"B30_sd_alg_md5", sd(base + `,"_sd_alg":"md5"`), v, Options{}, "unsupported_sd_alg"},
		{"B30_sd_alg_unknown", sd(base + `,"_sd_alg":"sha3-256"`), v, Options{}, "unsupported_sd_alg"},
		{"B30_sd_alg_upper_case", sd(base + `,"_sd_alg":"SHA-256"`), v, Options{}, "unsupported_sd_alg"},
		{"B30_sd_alg_number", sd(base + `,"_sd_alg":256`), v, Options{}, "unsupported_sd_alg"},
		{"B30_sd_alg_not_top_level", sd(base + `,"address":{"_sd_alg":"sha-256"}`), v, Options{}, "unsupported_sd_alg"},
		{"B31_iat_disclosable", sd(strings.Replace(base, `"iat":1799999000,`, "", 1)+`,"_sd":["`+func() string { _, h := disc(`["s","iat",1799999000]`); return h }()+`"]`, func() string { d, _ := disc(`["s","iat",1799999000]`); return d }()), v, Options{}, "non_disclosable_claim"},
		{"B31_exp_disclosable", sd(strings.Replace(base, `"exp":1900000000,`, "", 1)+`,"_sd":["`+func() string { _, h := disc(`["s","exp",1900000000]`); return h }()+`"]`, func() string { d, _ := disc(`["s","exp",1900000000]`); return d }()), v, Options{}, "non_disclosable_claim"},
		{"B31_vct_disclosable", sd(strings.Replace(base, `"vct":"urn:x",`, "", 1)+`,"_sd":["`+func() string { _, h := disc(`["s","vct","urn:x"]`); return h }()+`"]`, func() string { d, _ := disc(`["s","vct","urn:x"]`); return d }()), v, Options{}, "non_disclosable_claim"},
		{"B31_status_disclosable", sd(base+`,"_sd":["`+func() string {
			_, h := disc(`["s","status",{"status_list":{"idx":1,"uri":"https://x"}}]`)
			return h
		}()+`"]`, func() string { d, _ := disc(`["s","status",{"status_list":{"idx":1,"uri":"https://x"}}]`); return d }()), v, Options{}, "non_disclosable_claim"},
		{"B31_iss_disclosable", sd(strings.Replace(base, `"iss":"`+testIssuer+`",`, "", 1)+`,"_sd":["`+func() string { _, h := disc(`["s","iss","` + testIssuer + `"]`); return h }()+`"]`, func() string { d, _ := disc(`["s","iss","` + testIssuer + `"]`); return d }()), anyIss, Options{}, "non_disclosable_claim"},
		{"B31_cnf_disclosable", sd(`"iss":"`+testIssuer+`","vct":"urn:x","_sd":["`+func() string { _, h := disc(`["s","cnf",{"jwk":{}}]`); return h }()+`"]`, func() string { d, _ := disc(`["s","cnf",{"jwk":{}}]`); return d }()), v, Options{}, "non_disclosable_claim"},
		{"B32_257_disclosures", many(257), v, Options{}, "too_many_disclosures"},
		{"B32_recursion_9_deep", deep(9), v, Options{}, "disclosure_too_deep"},
		{"B32_bad_base64url", sd(base, "not*base64"), v, Options{}, "malformed_disclosure"},
		{"B32_padded_base64url", sd(base, dGiven+"=="), v, Options{}, "malformed_disclosure"},
		{"B32_standard_base64_alphabet", sd(base, stdAlphabet(t, `["s","a","???>>>"]`)), v, Options{}, "malformed_disclosure"},
		{"B33_issuer_sends_sd_jwt_kb_to_wallet", pres, v, Options{FromIssuer: true}, "unexpected_key_binding"},
		{"B33_sd_jwt_given_kb_expected", issued, v, e.kbOpts(), "kb_required"},
		{"B33_kb_jwt_in_disclosure_position", sdPart + presParts.KBJWT + "~", v, Options{}, "malformed_disclosure"},
		{"B33_empty_component", strings.Replace(good, "~", "~~", 1), v, Options{}, "malformed_sd_jwt"},

		// C: presentation.
		{"C34_kb_missing_but_required", sdPart, v, e.kbOpts(), "kb_required"},
		{"C35_nonce_differs", withKB(kbJWT(t, e.holder, map[string]any{"typ": "kb+jwt"}, kbPayload("other", testVerAud, now, okHash))), v, e.kbOpts(), "invalid_nonce"},
		{"A9_kb_NONCE_case_variant", withKB(kbJWT(t, e.holder, map[string]any{"typ": "kb+jwt"}, `{"NONCE":"n-123","aud":"`+testVerAud+`","iat":`+fmt.Sprint(now)+`,"sd_hash":"`+okHash+`"}`)), v, e.kbOpts(), "invalid_nonce"},
		{"A9_kb_SD_HASH_case_variant", withKB(kbJWT(t, e.holder, map[string]any{"typ": "kb+jwt"}, `{"nonce":"n-123","aud":"`+testVerAud+`","iat":`+fmt.Sprint(now)+`,"SD_HASH":"`+okHash+`"}`)), v, e.kbOpts(), "invalid_sd_hash"},
		{"C35_nonce_missing", withKB(kbJWT(t, e.holder, map[string]any{"typ": "kb+jwt"}, `{"aud":"`+testVerAud+`","iat":`+fmt.Sprint(now)+`,"sd_hash":"`+okHash+`"}`)), v, e.kbOpts(), "invalid_nonce"},
		{"C36_aud_other_verifier", withKB(kbJWT(t, e.holder, map[string]any{"typ": "kb+jwt"}, kbPayload("n-123", "https://venue-b.example", now, okHash))), v, e.kbOpts(), "invalid_audience"},
		{"C36_aud_array", withKB(kbJWT(t, e.holder, map[string]any{"typ": "kb+jwt"}, `{"nonce":"n-123","aud":["`+testVerAud+`"],"iat":`+fmt.Sprint(now)+`,"sd_hash":"`+okHash+`"}`)), v, e.kbOpts(), "invalid_audience"},
		{"C37_iat_301s_old", withKB(kbJWT(t, e.holder, map[string]any{"typ": "kb+jwt"}, kbPayload("n-123", testVerAud, now-301, okHash))), v, e.kbOpts(), "stale_key_binding"},
		{"C37_iat_61s_future", withKB(kbJWT(t, e.holder, map[string]any{"typ": "kb+jwt"}, kbPayload("n-123", testVerAud, now+61, okHash))), v, e.kbOpts(), "stale_key_binding"},
		{"C37_iat_missing", withKB(kbJWT(t, e.holder, map[string]any{"typ": "kb+jwt"}, `{"nonce":"n-123","aud":"`+testVerAud+`","sd_hash":"`+okHash+`"}`)), v, e.kbOpts(), "stale_key_binding"},
		{"C37_iat_float", withKB(kbJWT(t, e.holder, map[string]any{"typ": "kb+jwt"}, `{"nonce":"n-123","aud":"`+testVerAud+`","iat":1.5,"sd_hash":"`+okHash+`"}`)), v, e.kbOpts(), "invalid_claim"},
		{"C38_sd_hash_mismatch", withKB(kbJWT(t, e.holder, map[string]any{"typ": "kb+jwt"}, kbPayload("n-123", testVerAud, now, digest(SHA256, issued)))), v, e.kbOpts(), "invalid_sd_hash"},
		{"C38_sd_hash_without_final_tilde", withKB(kbJWT(t, e.holder, map[string]any{"typ": "kb+jwt"}, kbPayload("n-123", testVerAud, now, digest(SHA256, strings.TrimSuffix(sdPart, "~"))))), v, e.kbOpts(), "invalid_sd_hash"},
		{"C38_sd_hash_missing", withKB(kbJWT(t, e.holder, map[string]any{"typ": "kb+jwt"}, `{"nonce":"n-123","aud":"`+testVerAud+`","iat":`+fmt.Sprint(now)+`}`)), v, e.kbOpts(), "invalid_sd_hash"},
		{"C39_kb_signed_by_other_key", withKB(kbJWT(t, attacker, map[string]any{"typ": "kb+jwt"}, kbPayload("n-123", testVerAud, now, okHash))), v, e.kbOpts(), "invalid_signature"},
		{"C39_kb_attacker_jwk_in_header", withKB(kbJWT(t, attacker, map[string]any{"typ": "kb+jwt", "jwk": aj.Map()}, kbPayload("n-123", testVerAud, now, okHash))), v, e.kbOpts(), "untrusted_key"},
		{"C39_kb_typ_jwt", withKB(kbJWT(t, e.holder, map[string]any{"typ": "JWT"}, kbPayload("n-123", testVerAud, now, okHash))), v, e.kbOpts(), "wrong_typ"},
		{"C39_kb_typ_missing", withKB(kbJWT(t, e.holder, nil, kbPayload("n-123", testVerAud, now, okHash))), v, e.kbOpts(), "wrong_typ"},
		{"C39_kb_alg_none", withKB(b64s(`{"alg":"none","typ":"kb+jwt"}`) + "." + b64s(kbPayload("n-123", testVerAud, now, okHash)) + "."), v, e.kbOpts(), "unsupported_alg"},
		{"C39_kb_alg_hs256", withKB(func() string {
			si := b64s(`{"alg":"HS256","typ":"kb+jwt"}`) + "." + b64s(kbPayload("n-123", testVerAud, now, okHash))
			m := hmac.New(sha256.New, []byte(e.holder.JWK().X))
			m.Write([]byte(si))
			return si + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
		}()), v, e.kbOpts(), "unsupported_alg"},
	}
	// A15: each of exp, iat and nbf, in the issuer-signed JWT and in the
	// KB-JWT, as 1e300, 2^63, -1, a string and a float.
	kbWith := func(members string) string {
		return withKB(kbJWT(t, e.holder, map[string]any{"typ": "kb+jwt"}, "{"+members+"}"))
	}
	kbBase := `"nonce":"n-123","aud":"` + testVerAud + `","sd_hash":"` + okHash + `"`
	kbIat := `,"iat":` + fmt.Sprint(now)
	badDates := []struct{ name, lit string }{
		{"1e300", `1e300`}, {"2pow63", `9223372036854775808`}, {"minus_1", `-1`},
		{"string", `"1799999000"`}, {"float", `1799999000.5`},
	}
	for _, bd := range badDates {
		cases = append(cases,
			secCase{"A15_credential_exp_" + bd.name, sd(strings.Replace(base, `"exp":1900000000`, `"exp":`+bd.lit, 1)), v, Options{}, "invalid_claim"},
			secCase{"A15_credential_iat_" + bd.name, sd(strings.Replace(base, `"iat":1799999000`, `"iat":`+bd.lit, 1)), v, Options{}, "invalid_claim"},
			secCase{"A15_credential_nbf_" + bd.name, sd(base + `,"nbf":` + bd.lit), v, Options{}, "invalid_claim"},
			secCase{"A15_kb_jwt_exp_" + bd.name, kbWith(kbBase + kbIat + `,"exp":` + bd.lit), v, e.kbOpts(), "invalid_claim"},
			secCase{"A15_kb_jwt_iat_" + bd.name, kbWith(kbBase + `,"iat":` + bd.lit), v, e.kbOpts(), "invalid_claim"},
			secCase{"A15_kb_jwt_nbf_" + bd.name, kbWith(kbBase + kbIat + `,"nbf":` + bd.lit), v, e.kbOpts(), "invalid_claim"},
		)
	}
	// A16 on the KB-JWT: exp passed, or nbf ahead, beyond the skew (which
	// is clamped to 60 s however large the verifier's is).
	skewed := &Verifier{IssuerKey: v.IssuerKey, Now: v.Now, Skew: time.Hour}
	cases = append(cases,
		secCase{"A16_kb_jwt_expired", kbWith(kbBase + kbIat + `,"exp":` + fmt.Sprint(now-1)), v, e.kbOpts(), "expired"},
		secCase{"A16_kb_jwt_nbf_future", kbWith(kbBase + kbIat + `,"nbf":` + fmt.Sprint(now+1)), v, e.kbOpts(), "not_yet_valid"},
		secCase{"A16_kb_jwt_expired_beyond_clamped_skew", kbWith(kbBase + kbIat + `,"exp":` + fmt.Sprint(now-61)), skewed, e.kbOpts(), "expired"},
		secCase{"A16_kb_jwt_nbf_beyond_clamped_skew", kbWith(kbBase + kbIat + `,"nbf":` + fmt.Sprint(now+61)), skewed, e.kbOpts(), "not_yet_valid"},
	)

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tc.v.Verify(tc.in, tc.opts)
			assertCode(t, tc.code, err)
			if res != nil {
				t.Fatalf("a result was returned with the error")
			}
		})
	}
	t.Run("control_good_inputs_verify", func(t *testing.T) {
		_, err := v.Verify(good, Options{})
		require.NoError(t, err)
		_, err = v.Verify(pres, e.kbOpts())
		require.NoError(t, err)
		_, err = v.Verify(deep(8), Options{})
		require.NoError(t, err, "8 levels of recursion are allowed")
		_, err = v.Verify(many(256), Options{})
		require.NoError(t, err, "256 disclosures are allowed")
		_, err = v.Verify(kbWith(kbBase+kbIat+`,"exp":`+fmt.Sprint(now+300)+`,"nbf":`+fmt.Sprint(now-300)), e.kbOpts())
		require.NoError(t, err, "a KB-JWT with a valid exp and nbf is accepted")
		_, err = skewed.Verify(kbWith(kbBase+kbIat+`,"exp":`+fmt.Sprint(now-30)+`,"nbf":`+fmt.Sprint(now+30)), e.kbOpts())
		require.NoError(t, err, "KB-JWT exp and nbf are allowed the verifier's skew")
	})
}

// TestSplitBoundedAllocation is SECURITY-CASES A12 for SD-JWTs: separators
// are counted before anything is allocated per component.
func TestSplitBoundedAllocation(t *testing.T) {
	for name, in := range map[string]string{
		"2MB_tildes":            strings.Repeat("~", 2<<20),
		"200KB_tildes":          strings.Repeat("~", 200<<10),
		"200KB_dots_tildes":     strings.Repeat(".~", 100<<10),
		"257_empty_disclosures": "a.b.c" + strings.Repeat("~", 258),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Split(in, 0)
			require.Error(t, err)
			allocs := testing.AllocsPerRun(5, func() { _, _ = Split(in, 0) })
			assert.LessOrEqual(t, allocs, 2.0)
		})
	}
}
