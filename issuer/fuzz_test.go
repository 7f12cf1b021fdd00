package issuer

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/store/storetest"
)

// mustTyped fails unless err is nil or a typed *errs.Error with a code.
func mustTyped(t *testing.T, err error) {
	if err != nil && errs.CodeOf(err) == "" {
		t.Fatalf("untyped error: %v", err)
	}
}

// FuzzCredentialRequest: the credential request parser never panics and
// rejects with a typed error.
func FuzzCredentialRequest(f *testing.F) {
	f.Add([]byte(`{"credential_configuration_id":"vaccination-pass","proofs":{"jwt":["a.b.c"]}}`)) // well formed
	f.Add([]byte(`{"credential_configuration_id":"x","proof":{"jwt":"a.b.c"}}`))                   // the draft's single proof
	f.Add([]byte(`{"credential_configuration_id":"x","proofs":{"jwt":[],"ldp_vp":[]}}`))           // two proof types
	f.Add([]byte(`{"credential_configuration_id":"x","proofs":{"jwt":[1,{},null]}}`))              // proofs that are not strings
	f.Add([]byte(`{"credential_identifier":"abc"}`))                                               // unsupported identifier form
	f.Add([]byte(`{"credential_configuration_id":"x","credential_identifier":"abc"}`))             // both identifiers
	f.Add([]byte(`{"credential_configuration_id":"x","credential_response_encryption":{}}`))       // encryption asked for
	f.Add([]byte(`{"credential_configuration_id":"x","credential_configuration_id":"y"}`))         // duplicate member
	f.Add([]byte(`{"status":{"status_list":{"idx":0}},"iss":"evil"}`))                             // client-supplied status
	f.Add([]byte("\xff\xfe"))                                                                      // not UTF-8
	f.Add([]byte(`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`))      // too deep
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := ParseCredentialRequest(b, "tok")
		mustTyped(t, err)
	})
}

// FuzzValidateSubject: subject data is checked against the schema without
// panics; every rejection is invalid_subject_data, and nothing accepted
// holds a control character.
func FuzzValidateSubject(f *testing.F) {
	health, benefits := DevConfigs(vaccVCT, benefitsVCT)
	f.Add([]byte(`{"given_name":"Ada","family_name":"L","birth_date":"1950-12-10","vaccinations":[{"date":"2026-01-01","vaccine":"x"}]}`), false)       // valid pass
	f.Add([]byte(`{"given_name":"A","family_name":"B","birth_date":"1950-12-10","benefit":"housing","eligible_for_benefit":true}`), true)               // valid card
	f.Add([]byte(`{"birth_date":"9999-99-99"}`), false)                                                                                                 // impossible date
	f.Add([]byte(`{"vaccinations":[{"date":null}]}`), false)                                                                                            // null date
	f.Add([]byte(`{"given_name":1e400}`), false)                                                                                                        // huge number
	f.Add([]byte(`{"age_over_18":true}`), false)                                                                                                        // a derived claim set by the caller
	f.Add([]byte(`"text"`), true)                                                                                                                       // not an object
	f.Add([]byte(`{"given_name":"Ada\u0000","family_name":"L","birth_date":"1950-12-10","vaccinations":[{"date":"2026-01-01","vaccine":"x"}]}`), false) // a NUL in a name
	f.Fuzz(func(t *testing.T, b []byte, card bool) {
		cfg := &health[0]
		if card {
			cfg = &benefits[0]
		}
		v, err := cfg.ValidateSubject(b)
		if err != nil {
			if errs.CodeOf(err) != "invalid_subject_data" {
				t.Fatalf("code %q", errs.CodeOf(err))
			}
			return
		}
		if err := noControls(v); err != nil {
			t.Fatalf("accepted subject data holds a control character: %q", b)
		}
		cfg.derive(v, time.Now())
		_ = cfg.disclose(v)
	})
}

// FuzzTokenForm: the token request form parser never panics.
func FuzzTokenForm(f *testing.F) {
	f.Add("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code=x&tx_code=123456") // well formed
	f.Add("grant_type=a&grant_type=b")                                                                                      // repeated parameter
	f.Add("%zz=1")                                                                                                          // bad escape
	f.Add("&&&=&")                                                                                                          // empty pairs
	f.Fuzz(func(t *testing.T, s string) {
		_, err := parseForm(s)
		mustTyped(t, err)
	})
}

// FuzzProof: the key proof checker never panics and rejects with
// invalid_proof (never consuming anything: checkProof has no side effects).
func FuzzProof(f *testing.F) {
	st := storetest.OpenSQLite(f)
	sg, err := keys.Generate(keys.ES256)
	if err != nil {
		f.Fatal(err)
	}
	svc, err := New(Config{Store: st, PublicURL: "https://issuer.example", Tenants: []Tenant{{ID: "health", DID: "did:example:h", KeyID: "did:example:h#1", Signer: sg}}})
	if err != nil {
		f.Fatal(err)
	}
	h, _ := keys.Generate(keys.ES256)
	w := &wallet{issuer: svc.IssuerURL("health"), e: &env{svc: svc}}
	f.Add(w.proofNoT(h, "n"))                                                     // a valid proof
	f.Add("eyJhbGciOiJub25lIn0.e30.")                                             // alg none
	f.Add("eyJhbGciOiJFUzI1NiIsInR5cCI6Im9wZW5pZDR2Y2ktcHJvb2Yrand0In0.e30.AAAA") // no key in the header
	f.Add("a.b.c.d.e")                                                            // JWE shape
	f.Add("")                                                                     // empty
	t := svc.tenants["health"]
	f.Fuzz(func(tt *testing.T, p string) {
		_, _, err := svc.checkProof(context.Background(), t, p, time.Now())
		if err != nil && errs.CodeOf(err) != "invalid_proof" {
			tt.Fatalf("code %q", errs.CodeOf(err))
		}
	})
}

// FuzzDPoP: the DPoP proof checker never panics, rejects with
// invalid_dpop_proof only, and accepts only what holds up on its own: a
// proof jose verifies as dpop+jwt under ES256, with a thumbprint, a jti,
// and an iat inside the window. It also fuzzes the htu normalisation,
// which must be idempotent.
func FuzzDPoP(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	const htu = "https://issuer.example/issuers/health/credential"
	key, err := keys.Generate(keys.ES256)
	if err != nil {
		f.Fatal(err)
	}
	ed, err := keys.Generate(keys.EdDSA)
	if err != nil {
		f.Fatal(err)
	}
	jwk, _ := jose.PublicJWK(key.Public())
	sign := func(s keys.Signer, h, c map[string]any) string {
		payload, _ := json.Marshal(c)
		p, err := jose.Sign(s, h, payload)
		if err != nil {
			f.Fatal(err)
		}
		return p
	}
	claims := func(more map[string]any) map[string]any {
		c := map[string]any{"jti": "j1", "htm": "POST", "htu": htu, "iat": now.Unix(), "ath": tokenHashB64("tok")}
		for k, v := range more {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	hdr := map[string]any{"typ": DPoPTyp, "jwk": jwk.Map()}
	priv := map[string]any{"typ": DPoPTyp, "jwk": map[string]any{"kty": jwk.Kty, "crv": jwk.Crv, "x": jwk.X, "y": jwk.Y, "d": "AAAA"}}
	f.Add(sign(key, hdr, claims(nil)), htu, "tok")                                                                            // a valid proof over tok
	f.Add(sign(key, hdr, claims(map[string]any{"ath": nil})), "HTTPS://ISSUER.EXAMPLE:443/issuers/health/credential?q#f", "") // valid at a token endpoint, htu spelt otherwise
	f.Add(sign(key, hdr, claims(map[string]any{"iat": now.Unix() - 61})), htu, "tok")                                         // stale
	f.Add(sign(key, hdr, claims(map[string]any{"iat": "1800000000"})), htu, "tok")                                            // iat a string
	f.Add(sign(key, hdr, claims(map[string]any{"jti": strings.Repeat("j", 257)})), htu, "tok")                                // jti too long
	f.Add(sign(key, hdr, claims(map[string]any{"htm": "GET"})), htu, "tok")                                                   // wrong method
	f.Add(sign(key, priv, claims(nil)), htu, "tok")                                                                           // private jwk
	f.Add(sign(ed, map[string]any{"typ": DPoPTyp, "jwk": mustJWK(f, ed).Map()}, claims(nil)), htu, "tok")                     // EdDSA
	f.Add(b64(map[string]any{"alg": "none", "typ": DPoPTyp, "jwk": jwk.Map()})+"."+b64(claims(nil))+".", htu, "tok")          // alg none
	f.Add("a.b.c.d.e", htu, "tok")                                                                                            // JWE shape
	f.Add("", "", "")                                                                                                         // empty
	f.Add(sign(key, hdr, claims(nil)), "https://[::1]:443/%zz", "tok")                                                        // odd htu
	f.Fuzz(func(t *testing.T, proof, want, tok string) {
		if n, ok := normalizeHTU(want); ok {
			if n2, ok2 := normalizeHTU(n); !ok2 || n2 != n {
				t.Fatalf("normalizeHTU is not idempotent: %q -> %q -> %q", want, n, n2)
			}
		}
		p, err := checkDPoP([]string{proof}, dpopRequest{htm: "POST", htu: want, token: tok}, now)
		if err != nil {
			if errs.CodeOf(err) != "invalid_dpop_proof" {
				t.Fatalf("code %q", errs.CodeOf(err))
			}
			return
		}
		if _, err := jose.Verify(proof, jose.VerifyOptions{Typ: []string{DPoPTyp}, Algs: []string{keys.ES256}, HeaderJWKIsHolderKey: true}); err != nil {
			t.Fatalf("accepted a proof jose refuses: %v", err)
		}
		if len(p.jkt) != 43 || p.jti == "" || len(p.jti) > dpopMaxJTI || now.Sub(p.iat) > dpopMaxAge || p.iat.Sub(now) > dpopMaxFuture {
			t.Fatalf("accepted %+v", p)
		}
		if _, err := checkDPoP([]string{proof, proof}, dpopRequest{htm: "POST", htu: want, token: tok}, now); err == nil {
			t.Fatal("accepted two DPoP headers")
		}
	})
}

func mustJWK(f *testing.F, s keys.Signer) keys.JWK {
	j, err := jose.PublicJWK(s.Public())
	if err != nil {
		f.Fatal(err)
	}
	return j
}
