package jose

import (
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/keys"
)

func enc(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

const testTyp = "example+jwt"

func opts(s testSigner) VerifyOptions {
	return VerifyOptions{Typ: []string{testTyp}, Key: lookupFor(s)}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	for _, s := range []testSigner{newES256(t), newEdDSA(t)} {
		t.Run(s.alg, func(t *testing.T) {
			tok, err := Sign(s, map[string]any{"typ": testTyp, "kid": s.kid}, []byte(`{"sub":"a","n":12345678901234567890}`))
			require.NoError(t, err)
			j, err := Verify(tok, opts(s))
			require.NoError(t, err)
			assert.Equal(t, s.alg, j.Header.Alg)
			assert.Equal(t, s.alg, j.Key.Alg)
			c, err := j.Claims()
			require.NoError(t, err)
			assert.Equal(t, "a", c["sub"])
			assert.EqualValues(t, "12345678901234567890", c["n"], "integers keep their literal")
		})
	}
}

// TestInteropJWX checks our JWS against an independent implementation in
// both directions.
func TestInteropJWX(t *testing.T) {
	for _, s := range []testSigner{newES256(t), newEdDSA(t)} {
		alg := jwa.ES256()
		if s.alg == keys.EdDSA {
			alg = jwa.EdDSA()
		}
		t.Run(s.alg+"/ours_to_jwx", func(t *testing.T) {
			tok, err := Sign(s, map[string]any{"typ": testTyp, "kid": s.kid}, []byte(`{"x":1}`))
			require.NoError(t, err)
			got, err := jws.Verify([]byte(tok), jws.WithKey(alg, s.Public()))
			require.NoError(t, err)
			assert.JSONEq(t, `{"x":1}`, string(got))
		})
		t.Run(s.alg+"/jwx_to_ours", func(t *testing.T) {
			hdr := jws.NewHeaders()
			require.NoError(t, hdr.Set("typ", testTyp))
			require.NoError(t, hdr.Set("kid", s.kid))
			tok, err := jws.Sign([]byte(`{"x":2}`), jws.WithKey(alg, s.Signer, jws.WithProtectedHeaders(hdr)))
			require.NoError(t, err)
			j, err := Verify(string(tok), opts(s))
			require.NoError(t, err)
			assert.JSONEq(t, `{"x":2}`, string(j.Payload))
		})
		t.Run(s.alg+"/thumbprint", func(t *testing.T) {
			k, err := jwk.Import(s.Public())
			require.NoError(t, err)
			tp, err := k.Thumbprint(crypto256)
			require.NoError(t, err)
			assert.Equal(t, base64.RawURLEncoding.EncodeToString(tp), s.kid)
		})
	}
}

// forge builds a token with the given raw header and payload JSON and the
// signature of s over them (the signature is valid for the bytes given).
func forge(t *testing.T, s testSigner, header, payload string) string {
	si := enc(header) + "." + enc(payload)
	sig, err := signRaw(s, []byte(si))
	require.NoError(t, err)
	return si + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestVerifyRejects(t *testing.T) {
	es := newES256(t)
	ed := newEdDSA(t)
	good := forge(t, es, `{"alg":"ES256","typ":"example+jwt","kid":"`+es.kid+`"}`, `{"a":1}`)
	h64, rest, _ := strings.Cut(good, ".")
	p64, s64, _ := strings.Cut(rest, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(s64)
	withSig := func(b []byte) string { return h64 + "." + p64 + "." + base64.RawURLEncoding.EncodeToString(b) }
	kidHdr := func(alg string) string { return `{"alg":"` + alg + `","typ":"example+jwt","kid":"` + es.kid + `"}` }

	// A2: HS256 "signed" with the issuer's public key bytes as the secret.
	pubJWK, _ := PublicJWK(es.Public())
	hsSI := enc(kidHdr("HS256")) + "." + enc(`{"a":1}`)
	mac := hmac.New(sha256.New, []byte(pubJWK.X+pubJWK.Y))
	mac.Write([]byte(hsSI))
	hs256 := hsSI + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))

	// A2 with other MAC algorithms and other encodings of the public key
	// as the secret: the JWK JSON and the uncompressed SEC1 point.
	hsToken := func(alg string, h func() hash.Hash, secret []byte) string {
		si := enc(kidHdr(alg)) + "." + enc(`{"a":1}`)
		m := hmac.New(h, secret)
		m.Write([]byte(si))
		return si + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
	jwkJSON := []byte(`{"crv":"P-256","kty":"EC","x":"` + pubJWK.X + `","y":"` + pubJWK.Y + `"}`)
	sec1, err := es.Public().(*ecdsa.PublicKey).Bytes()
	require.NoError(t, err)

	der, err := es.Sign(nil, make([]byte, 32), crypto256)
	require.NoError(t, err)

	cases := []struct {
		name  string
		token string
		opts  VerifyOptions
		code  string
	}{
		{"A1_alg_none", enc(`{"alg":"none","typ":"example+jwt"}`) + "." + enc(`{"a":1}`) + ".", opts(es), "unsupported_alg"},
		{"A1_alg_None_mixed_case", enc(`{"alg":"nOnE","typ":"example+jwt"}`) + "." + enc(`{"a":1}`) + ".", opts(es), "unsupported_alg"},
		{"A1_alg_None_title_case", enc(`{"alg":"None","typ":"example+jwt"}`) + "." + enc(`{"a":1}`) + ".", opts(es), "unsupported_alg"},
		{"A1_alg_NONE_upper_case", enc(`{"alg":"NONE","typ":"example+jwt"}`) + "." + enc(`{"a":1}`) + ".", opts(es), "unsupported_alg"},
		{"A1_alg_none_with_kid_and_signature", enc(kidHdr("none")) + "." + enc(`{"a":1}`) + "." + s64, opts(es), "unsupported_alg"},
		{"A1_alg_missing", enc(`{"typ":"example+jwt"}`) + "." + enc(`{"a":1}`) + ".", opts(es), "unsupported_alg"},
		{"A2_hs256_with_public_key_as_secret", hs256, opts(es), "unsupported_alg"},
		{"A2_hs256_jwk_json_as_secret", hsToken("HS256", sha256.New, jwkJSON), opts(es), "unsupported_alg"},
		{"A2_hs256_sec1_point_as_secret", hsToken("HS256", sha256.New, sec1), opts(es), "unsupported_alg"},
		{"A2_hs384", hsToken("HS384", sha512.New384, sec1), opts(es), "unsupported_alg"},
		{"A2_hs512", hsToken("HS512", sha512.New, sec1), opts(es), "unsupported_alg"},
		{"A2_hs256_even_when_allow_listed", hsToken("HS256", sha256.New, sec1), VerifyOptions{Typ: []string{testTyp}, Key: lookupFor(es), Algs: []string{"HS256", keys.ES256}}, "unsupported_alg"},
		{"A3_alg_not_on_allow_list", good, VerifyOptions{Typ: []string{testTyp}, Key: lookupFor(es), Algs: []string{keys.EdDSA}}, "unsupported_alg"},
		{"A3_key_bound_to_other_alg", forge(t, ed, `{"alg":"EdDSA","typ":"example+jwt","kid":"`+es.kid+`"}`, `{"a":1}`), opts(es), "unsupported_alg"},
		{"A3_ES384", forge(t, es, kidHdr("ES384"), `{"a":1}`), opts(es), "unsupported_alg"},
		{"A4_jwk_in_header", forge(t, es, `{"alg":"ES256","typ":"example+jwt","jwk":{"kty":"EC","crv":"P-256","x":"`+pubJWK.X+`","y":"`+pubJWK.Y+`"}}`, `{"a":1}`), opts(es), "untrusted_key"},
		{"A4_x5c_in_header", forge(t, es, `{"alg":"ES256","typ":"example+jwt","kid":"`+es.kid+`","x5c":["MIIB"]}`, `{"a":1}`), opts(es), "untrusted_key"},
		{"A5_jku_metadata_ip", forge(t, es, `{"alg":"ES256","typ":"example+jwt","jku":"http://169.254.169.254/keys"}`, `{"a":1}`), opts(es), "untrusted_key"},
		{"A5_x5u_loopback", forge(t, es, `{"alg":"ES256","typ":"example+jwt","x5u":"https://127.0.0.1/cert"}`, `{"a":1}`), opts(es), "untrusted_key"},
		{"A5_jku_loopback", forge(t, es, `{"alg":"ES256","typ":"example+jwt","kid":"`+es.kid+`","jku":"https://127.0.0.1/jwks"}`, `{"a":1}`), opts(es), "untrusted_key"},
		{"A5_jku_attacker_host", forge(t, es, `{"alg":"ES256","typ":"example+jwt","kid":"`+es.kid+`","jku":"https://attacker.example/jwks.json"}`, `{"a":1}`), opts(es), "untrusted_key"},
		{"A5_x5u_metadata_ip", forge(t, es, `{"alg":"ES256","typ":"example+jwt","kid":"`+es.kid+`","x5u":"http://169.254.169.254/latest/meta-data"}`, `{"a":1}`), opts(es), "untrusted_key"},
		{"A5_x5u_attacker_host", forge(t, es, `{"alg":"ES256","typ":"example+jwt","kid":"`+es.kid+`","x5u":"https://attacker.example/cert.pem"}`, `{"a":1}`), opts(es), "untrusted_key"},
		{"A6_kid_sql", forge(t, es, `{"alg":"ES256","typ":"example+jwt","kid":"' OR 1=1; DROP TABLE keys;--"}`, `{"a":1}`), opts(es), "unknown_key"},
		{"A6_kid_path", forge(t, es, `{"alg":"ES256","typ":"example+jwt","kid":"../../etc/passwd"}`, `{"a":1}`), opts(es), "unknown_key"},
		{"A6_kid_10KB", forge(t, es, `{"alg":"ES256","typ":"example+jwt","kid":"`+strings.Repeat("k", 10240)+`"}`, `{"a":1}`), opts(es), "unknown_key"},
		{"A6_kid_NUL", forge(t, es, `{"alg":"ES256","typ":"example+jwt","kid":"a\u0000b"}`, `{"a":1}`), opts(es), "unknown_key"},
		{"A7_crit_unknown", forge(t, es, `{"alg":"ES256","typ":"example+jwt","kid":"`+es.kid+`","crit":["exp"],"exp":1}`, `{"a":1}`), opts(es), "unsupported_crit"},
		{"A7_crit_empty", forge(t, es, `{"alg":"ES256","typ":"example+jwt","kid":"`+es.kid+`","crit":[]}`, `{"a":1}`), opts(es), "unsupported_crit"},
		{"A7_crit_lists_alg", forge(t, es, `{"alg":"ES256","typ":"example+jwt","kid":"`+es.kid+`","crit":["alg"]}`, `{"a":1}`), opts(es), "unsupported_crit"},
		{"A7_crit_names_absent_header", forge(t, es, `{"alg":"ES256","typ":"example+jwt","kid":"`+es.kid+`","crit":["b64"]}`, `{"a":1}`), VerifyOptions{Typ: []string{testTyp}, Key: lookupFor(es), Crit: []string{"b64"}}, "unsupported_crit"},
		{"A7_crit_not_array", forge(t, es, `{"alg":"ES256","typ":"example+jwt","kid":"`+es.kid+`","crit":"x","x":1}`, `{"a":1}`), opts(es), "unsupported_crit"},
		{"A8_duplicate_header_member", forge(t, es, `{"alg":"ES256","alg":"none","typ":"example+jwt","kid":"`+es.kid+`"}`, `{"a":1}`), opts(es), "malformed_json"},
		{"A8_duplicate_payload_member", forge(t, es, kidHdr("ES256"), `{"iss":"a","iss":"b"}`), opts(es), "malformed_json"},
		{"A9_case_variant_ALG", forge(t, es, `{"ALG":"ES256","typ":"example+jwt","kid":"`+es.kid+`"}`, `{"a":1}`), opts(es), "unsupported_alg"},
		{"A9_case_variant_TYP", forge(t, es, `{"alg":"ES256","TYP":"example+jwt","kid":"`+es.kid+`"}`, `{"a":1}`), opts(es), "wrong_typ"},
		{"A10_json_serialization", `{"payload":"` + p64 + `","protected":"` + h64 + `","signature":"` + s64 + `"}`, opts(es), "malformed_jws"},
		{"A10_json_serialization_no_protected", `{"payload":"` + p64 + `","signature":"` + s64 + `"}`, opts(es), "malformed_jws"},
		{"A11_jwe_five_parts", enc(`{"alg":"RSA-OAEP","enc":"A256GCM"}`) + ".a.b.c.d", opts(es), "malformed_jws"},
		{"A19_zip_DEF_in_jws_header", forge(t, es, `{"alg":"ES256","typ":"example+jwt","kid":"`+es.kid+`","zip":"DEF"}`, `{"a":1}`), opts(es), "malformed_jws"},
		{"A20_pbes2_huge_p2c_jwe", enc(`{"alg":"PBES2-HS512+A256KW","enc":"A256GCM","p2c":2147483647,"p2s":"AAAA"}`) + ".AAAA.AAAA.AAAA.AAAA", opts(es), "malformed_jws"},
		{"A20_rsa1_5_jwe", enc(`{"alg":"RSA1_5","enc":"A128CBC-HS256"}`) + ".AAAA.AAAA.AAAA.AAAA", opts(es), "malformed_jws"},
		{"A20_dir_jwe", enc(`{"alg":"dir","enc":"A256GCM"}`) + "..AAAA.AAAA.AAAA", opts(es), "malformed_jws"},
		{"A20_enc_in_three_part_token", forge(t, es, `{"alg":"ES256","typ":"example+jwt","kid":"`+es.kid+`","enc":"A256GCM"}`, `{"a":1}`), opts(es), "malformed_jws"},
		{"A21_ecdh_es_off_curve_epk_jwe", enc(`{"alg":"ECDH-ES","enc":"A256GCM","epk":{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}}`) + "..AAAA.AAAA.AAAA", opts(es), "malformed_jws"},
		{"A12_2MB_of_dots", strings.Repeat(".", 2<<20), opts(es), "token_too_large"},
		{"A12_2MB_of_tildes", strings.Repeat("~", 2<<20), opts(es), "token_too_large"},
		{"A14_header_deeper_than_32", forge(t, es, `{"alg":"ES256","typ":"example+jwt","kid":"`+es.kid+`","x":`+strings.Repeat("[", 40)+strings.Repeat("]", 40)+`}`, `{"a":1}`), opts(es), "json_too_deep"},
		{"A14_payload_deeper_than_32", forge(t, es, kidHdr("ES256"), strings.Repeat(`{"a":`, 40)+"1"+strings.Repeat("}", 40)), opts(es), "json_too_deep"},
		{"A17_sig_all_zeros", withSig(make([]byte, 64)), opts(es), "invalid_signature"},
		{"A17_sig_MAYCAQACAQA", h64 + "." + p64 + ".MAYCAQACAQA", opts(es), "invalid_signature"},
		{"A17_sig_DER", withSig(der), opts(es), "invalid_signature"},
		{"A17_sig_63_bytes", withSig(sig[:63]), opts(es), "invalid_signature"},
		{"A17_sig_65_bytes", withSig(append(append([]byte{}, sig...), 0)), opts(es), "invalid_signature"},
		{"A17_sig_r_equals_n", withSig(append(append([]byte{}, p256N...), sig[32:]...)), opts(es), "invalid_signature"},
		{"A22_typ_missing", forge(t, es, `{"alg":"ES256","kid":"`+es.kid+`"}`, `{"a":1}`), opts(es), "wrong_typ"},
		{"A22_typ_other", forge(t, es, `{"alg":"ES256","typ":"kb+jwt","kid":"`+es.kid+`"}`, `{"a":1}`), opts(es), "wrong_typ"},
		{"header_not_object", enc(`["alg"]`) + "." + enc(`{}`) + ".AA", opts(es), "malformed_jws"},
		{"header_alg_number", enc(`{"alg":256}`) + "." + enc(`{}`) + ".AA", opts(es), "malformed_jws"},
		{"header_bad_base64", "e!J." + p64 + "." + s64, opts(es), "malformed_jws"},
		{"payload_padded_base64", h64 + "." + p64 + "==." + s64, opts(es), "malformed_jws"},
		{"unknown_kid", forge(t, es, `{"alg":"ES256","typ":"example+jwt","kid":"other"}`, `{"a":1}`), opts(es), "unknown_key"},
		{"two_parts", h64 + "." + p64, opts(es), "malformed_jws"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j, err := Verify(tc.token, tc.opts)
			require.Error(t, err)
			assert.Nil(t, j)
			assert.Equal(t, tc.code, errs.CodeOf(err))
		})
	}
	t.Run("control_good_token_verifies", func(t *testing.T) {
		_, err := Verify(good, opts(es))
		require.NoError(t, err)
	})
}

// TestVerifyBitFlips is SECURITY-CASES A18: every single bit flip anywhere
// in a valid token is rejected with a stable client error code.
func TestVerifyBitFlips(t *testing.T) {
	for _, s := range []testSigner{newES256(t), newEdDSA(t)} {
		t.Run(s.alg, func(t *testing.T) {
			tok, err := Sign(s, map[string]any{"typ": testTyp, "kid": s.kid}, []byte(`{"iss":"x","n":1}`))
			require.NoError(t, err)
			b := []byte(tok)
			for i := range b {
				for bit := range 8 {
					f := append([]byte{}, b...)
					f[i] ^= 1 << bit
					j, err := Verify(string(f), opts(s))
					if !assert.Error(t, err, "flip byte %d bit %d", i, bit) || !assert.Nil(t, j) {
						return
					}
					// Every rejection carries a stable client code, never an
					// internal error.
					k := errs.KindOf(err)
					if !assert.NotEmpty(t, errs.CodeOf(err), "flip byte %d bit %d: %v", i, bit, err) ||
						!assert.NotContains(t, []errs.Kind{errs.Internal, errs.Other}, k, "flip byte %d bit %d: %v", i, bit, err) {
						return
					}
				}
			}
		})
	}
}

// TestSizeCapDoesNotAllocatePerSeparator is SECURITY-CASES A12: the cap
// is applied before splitting.
func TestSizeCapDoesNotAllocatePerSeparator(t *testing.T) {
	dots := strings.Repeat(".", 2<<20)
	allocs := testing.AllocsPerRun(10, func() { _, _ = Verify(dots, VerifyOptions{Typ: []string{testTyp}}) })
	assert.LessOrEqual(t, allocs, 2.0)
	// Under the cap, a token of only separators is still refused without a split.
	many := strings.Repeat(".", 100_000)
	allocs = testing.AllocsPerRun(10, func() { _, _ = Verify(many, VerifyOptions{Typ: []string{testTyp}}) })
	assert.LessOrEqual(t, allocs, 2.0)
}

// TestHeaderKeyURLsAreNeverFetched is SECURITY-CASES A5: a jku or x5u
// pointing at a live server is untrusted_key, the server gets zero
// requests, and the key lookup is never asked.
func TestHeaderKeyURLsAreNeverFetched(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		http.Error(w, "not here", http.StatusNotFound)
	}))
	t.Cleanup(srv.Close)
	es := newES256(t)
	for _, name := range []string{"jku", "x5u"} {
		for _, withKid := range []bool{false, true} {
			t.Run(fmt.Sprintf("A5_%s_kid_%v", name, withKid), func(t *testing.T) {
				h := map[string]any{"typ": testTyp, name: srv.URL + "/keys"}
				if withKid {
					h["kid"] = es.kid
				}
				tok, err := Sign(es, h, []byte(`{"a":1}`))
				require.NoError(t, err)
				lookups, o := countingLookup(es)
				j, err := Verify(tok, o)
				assert.Nil(t, j)
				assert.Equal(t, "untrusted_key", errs.CodeOf(err))
				assert.Zero(t, *lookups, "the key lookup must not be asked")
			})
		}
	}
	assert.Zero(t, hits.Load(), "no outbound request may be made")
}

// countingLookup returns verify options whose key lookup finds es's key
// and counts how often it is asked.
func countingLookup(es testSigner) (*int, VerifyOptions) {
	lookups := new(int)
	return lookups, VerifyOptions{Typ: []string{testTyp}, Key: func(h *Header, p []byte) (PublicKey, error) {
		*lookups++
		return lookupFor(es)(h, p)
	}}
}

// TestJWERejectedBeforeKeyWork is SECURITY-CASES A11, A20 and A21: a JWE
// is refused by the compact parser, so no key is looked up, no p2c is
// iterated and no epk is read.
func TestJWERejectedBeforeKeyWork(t *testing.T) {
	es := newES256(t)
	for name, tok := range map[string]string{
		"A11_jwe_rsa_oaep":              enc(`{"alg":"RSA-OAEP","enc":"A256GCM","kid":"`+es.kid+`"}`) + ".AAAA.AAAA.AAAA.AAAA",
		"A20_pbes2_huge_p2c":            enc(`{"alg":"PBES2-HS512+A256KW","enc":"A256GCM","p2c":2147483647,"p2s":"AAAA","kid":"`+es.kid+`"}`) + ".AAAA.AAAA.AAAA.AAAA",
		"A20_rsa1_5":                    enc(`{"alg":"RSA1_5","enc":"A128CBC-HS256","kid":"`+es.kid+`"}`) + ".AAAA.AAAA.AAAA.AAAA",
		"A20_dir":                       enc(`{"alg":"dir","enc":"A256GCM","kid":"`+es.kid+`"}`) + "..AAAA.AAAA.AAAA",
		"A21_ecdh_es_off_curve_epk":     enc(`{"alg":"ECDH-ES","enc":"A256GCM","kid":"`+es.kid+`","epk":{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}}`) + "..AAAA.AAAA.AAAA",
		"A21_ecdh_es_kw_off_curve_epk":  enc(`{"alg":"ECDH-ES+A256KW","enc":"A256GCM","kid":"`+es.kid+`","epk":{"kty":"EC","crv":"P-256","x":"AQ","y":"AQ"}}`) + ".AAAA.AAAA.AAAA.AAAA",
		"A20_pbes2_in_three_part_token": forge(t, es, `{"alg":"PBES2-HS512+A256KW","typ":"example+jwt","kid":"`+es.kid+`","p2c":2147483647,"p2s":"AAAA"}`, `{"a":1}`),
	} {
		t.Run(name, func(t *testing.T) {
			lookups, o := countingLookup(es)
			j, err := Verify(tok, o)
			assert.Nil(t, j)
			require.Error(t, err)
			want := "malformed_jws"
			if strings.Count(tok, ".") == 2 {
				want = "unsupported_alg" // a JWE alg in a JWS header
			}
			assert.Equal(t, want, errs.CodeOf(err))
			assert.Zero(t, *lookups, "no key work before the JWE is refused")
		})
	}
}

func TestTyp(t *testing.T) {
	s := newES256(t)
	cases := []struct {
		typ string
		ok  bool
	}{
		{"example+jwt", true},
		{"application/example+jwt", true},
		{"Example+JWT", true},
		{"example+jwt ", false},
		{"application/", false},
		{"", false},
	}
	for _, tc := range cases {
		t.Run(tc.typ, func(t *testing.T) {
			tok, err := Sign(s, map[string]any{"typ": tc.typ, "kid": s.kid}, []byte(`{}`))
			require.NoError(t, err)
			_, err = Verify(tok, opts(s))
			if tc.ok {
				assert.NoError(t, err)
			} else {
				assert.Equal(t, "wrong_typ", errs.CodeOf(err))
			}
		})
	}
}

func TestCritUnderstood(t *testing.T) {
	s := newES256(t)
	tok := forge(t, s, `{"alg":"ES256","typ":"example+jwt","kid":"`+s.kid+`","crit":["ext"],"ext":true}`, `{}`)
	o := opts(s)
	o.Crit = []string{"ext"}
	_, err := Verify(tok, o)
	require.NoError(t, err)
	o.Crit = nil
	_, err = Verify(tok, o)
	assert.Equal(t, "unsupported_crit", errs.CodeOf(err))
}

func TestSignRefusesOtherAlg(t *testing.T) {
	s := newES256(t)
	_, err := Sign(s, map[string]any{"alg": "none"}, []byte(`{}`))
	assert.Equal(t, "unsupported_alg", errs.CodeOf(err))
	_, err = Sign(s, nil, []byte(`{"a":1,"a":2}`))
	assert.Equal(t, "malformed_json", errs.CodeOf(err))
}

func TestProofHeaderJWK(t *testing.T) {
	s := newES256(t)
	j, _ := PublicJWK(s.Public())
	jwkJSON := `{"kty":"EC","crv":"P-256","x":"` + j.X + `","y":"` + j.Y + `"}`
	proof := VerifyOptions{Typ: []string{"openid4vci-proof+jwt"}, HeaderJWKIsHolderKey: true}
	other := newES256(t)
	oj, _ := PublicJWK(other.Public())
	cases := []struct {
		name   string
		header string
		code   string
	}{
		{"ok", `{"alg":"ES256","typ":"openid4vci-proof+jwt","jwk":` + jwkJSON + `}`, ""},
		{"D46_private_d", `{"alg":"ES256","typ":"openid4vci-proof+jwt","jwk":{"kty":"EC","crv":"P-256","x":"` + j.X + `","y":"` + j.Y + `","d":"AAAA"}}`, "private_jwk"},
		{"D46_kid_and_jwk", `{"alg":"ES256","typ":"openid4vci-proof+jwt","kid":"k","jwk":` + jwkJSON + `}`, "untrusted_key"},
		{"x5c_and_jwk", `{"alg":"ES256","typ":"openid4vci-proof+jwt","x5c":["MII"],"jwk":` + jwkJSON + `}`, "untrusted_key"},
		{"no_jwk", `{"alg":"ES256","typ":"openid4vci-proof+jwt"}`, "untrusted_key"},
		{"jwk_of_other_key", `{"alg":"ES256","typ":"openid4vci-proof+jwt","jwk":{"kty":"EC","crv":"P-256","x":"` + oj.X + `","y":"` + oj.Y + `"}}`, "invalid_signature"},
		{"jwk_off_curve", `{"alg":"ES256","typ":"openid4vci-proof+jwt","jwk":{"kty":"EC","crv":"P-256","x":"` + j.X + `","y":"` + oj.Y + `"}}`, "invalid_jwk"},
		{"jwk_alg_mismatch", `{"alg":"ES256","typ":"openid4vci-proof+jwt","jwk":{"kty":"EC","crv":"P-256","alg":"EdDSA","x":"` + j.X + `","y":"` + j.Y + `"}}`, "invalid_jwk"},
		{"wrong_typ", `{"alg":"ES256","typ":"kb+jwt","jwk":` + jwkJSON + `}`, "wrong_typ"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Verify(forge(t, s, tc.header, `{"nonce":"n"}`), proof)
			if tc.code == "" {
				require.NoError(t, err)
				assert.Equal(t, j, got.HeaderJWK)
				return
			}
			assert.Equal(t, tc.code, errs.CodeOf(err))
		})
	}
	t.Run("normal_mode_never_uses_header_jwk", func(t *testing.T) {
		_, err := Verify(forge(t, s, cases[0].header, `{}`), VerifyOptions{Typ: []string{"openid4vci-proof+jwt"}, Key: lookupFor(s)})
		assert.Equal(t, "untrusted_key", errs.CodeOf(err))
	})
}

// TestRawToDER checks the raw→DER conversion against encoding/asn1 for
// values with and without a high bit and with leading zeros.
func TestRawToDER(t *testing.T) {
	cases := map[string][2]string{
		"small":      {"01", "02"},
		"high_bit":   {"ff", "80"},
		"leading_00": {"0000000000000000000000000000000000000000000000000000000000000001", "7f"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			r, _ := hex.DecodeString(c[0])
			s, _ := hex.DecodeString(c[1])
			rp := append(make([]byte, 32-len(r)), r...)
			sp := append(make([]byte, 32-len(s)), s...)
			want, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(r), new(big.Int).SetBytes(s)})
			require.NoError(t, err)
			assert.Equal(t, want, rawToDER(nil, rp, sp))
			back, ok := derToRaw(want, 32)
			require.True(t, ok)
			assert.Equal(t, append(rp, sp...), back)
		})
	}
}
