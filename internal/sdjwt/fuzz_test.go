package sdjwt

import (
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary input to the compact splitter and to the JSON
// serialization reader: no panic, and a split always re-joins to the input.
func FuzzParse(f *testing.F) {
	f.Add(readVector(f, "sec5_sdjwt.txt"))                                                                        // a real SD-JWT with 10 disclosures
	f.Add(readVector(f, "sec5_presentation.txt"))                                                                 // a real SD-JWT+KB
	f.Add(readVector(f, "sec8_3_general_kb.json"))                                                                // the General JSON serialization
	f.Add("~")                                                                                                    // only a separator
	f.Add("a.b.c~~")                                                                                              // an empty disclosure
	f.Add("a.b.c~d.e.f~g~")                                                                                       // a JWT in a disclosure position
	f.Add(strings.Repeat("~", 300))                                                                               // more separators than disclosures allowed
	f.Add(`{"payload":"e30","signatures":[{"protected":"e30","signature":"AA","header":{"disclosures":["x"]}}]}`) // general form
	f.Fuzz(func(t *testing.T, s string) {
		if p, err := Split(s, 0); err == nil && p.String() != s {
			t.Fatalf("split does not round-trip")
		}
		if p, err := FromJSON([]byte(s), 0); err == nil {
			if _, err := p.ToJSON(); err != nil {
				t.Fatalf("accepted JSON does not re-encode: %v", err)
			}
		}
	})
}

// FuzzVerify feeds arbitrary presentations to the full verifier with the
// RFC 9901 issuer key and clock: no panic, and nothing is accepted that
// does not carry the issuer's signature.
func FuzzVerify(f *testing.F) {
	f.Add(readVector(f, "sec5_presentation.txt")) // valid SD-JWT+KB: reaches the KB checks
	f.Add(readVector(f, "sec5_sdjwt.txt"))        // valid SD-JWT with every disclosure
	f.Add(readVector(f, "a1_presentation.txt"))   // structured object and decoys
	f.Add(readVector(f, "a2_presentation.txt"))   // nested arrays and objects
	f.Add(readVector(f, "a3_presentation.txt"))   // recursive disclosures, typ dc+sd-jwt
	f.Add("eyJhbGciOiJub25lIn0.e30.~")            // alg none
	f.Add("a.b.c.d.e~")                           // JWE shape
	key := rfcIssuerKey(f)
	v := &Verifier{IssuerKey: fixedKey(key), Profile: ProfilePlain, Typ: []string{"example+sd-jwt", "dc+sd-jwt"}, Now: at(rfcKBTime)}
	f.Fuzz(func(t *testing.T, s string) {
		res, err := v.Verify(s, Options{})
		if err == nil && (res == nil || res.IssuerKey.Alg != "ES256") {
			t.Fatalf("accepted without the issuer key")
		}
	})
}

// FuzzKBVerify keeps the RFC 9901 §5.2 SD-JWT and fuzzes the KB-JWT that
// follows it, with key binding required.
func FuzzKBVerify(f *testing.F) {
	pres := readVector(f, "sec5_presentation.txt")
	cut := strings.LastIndexByte(pres, '~') + 1
	sdPart, kb := pres[:cut], pres[cut:]
	f.Add(kb)                                                  // the valid KB-JWT
	f.Add(kb[:len(kb)-1])                                      // truncated signature
	f.Add("eyJhbGciOiJub25lIiwidHlwIjoia2Irand0In0.e30.")      // alg none, typ kb+jwt
	f.Add("eyJhbGciOiJIUzI1NiIsInR5cCI6ImtiK2p3dCJ9.e30.AAAA") // HS256
	f.Add("")                                                  // no KB-JWT at all
	key := rfcIssuerKey(f)
	v := &Verifier{IssuerKey: fixedKey(key), Profile: ProfilePlain, Typ: []string{"example+sd-jwt"}, Now: at(rfcKBTime)}
	opts := Options{RequireKeyBinding: true, Nonce: rfcNonce, Audience: rfcAud}
	f.Fuzz(func(t *testing.T, s string) {
		res, err := v.Verify(sdPart+s, opts)
		// Only the holder's signature over the original KB header and
		// payload can pass (ECDSA lets (r, n-s) stand for (r, s)).
		if err == nil && (!res.KeyBound || s[:strings.LastIndexByte(s, '.')] != kb[:strings.LastIndexByte(kb, '.')]) {
			t.Fatalf("accepted a KB-JWT that is not the original")
		}
	})
}
