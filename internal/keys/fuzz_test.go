package keys

import (
	"testing"

	"github.com/ssi-project/ssi/internal/errs"
)

// FuzzParseJWK feeds arbitrary bytes to ParseJWK, PublicKey and Thumbprint
// (the path of every foreign JWK: did:jwk, DID documents). Properties:
// nothing panics; failures carry a code; a key that converts round-trips
// through JWKFromPublic to the same thumbprint.
func FuzzParseJWK(f *testing.F) {
	f.Add(`{"kty":"OKP","crv":"Ed25519","x":"` + rfc8037X + `"}`)                                                                           // RFC 8037 key
	f.Add(`{"kty":"OKP","crv":"Ed25519","x":"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`)                                                // small order (identity)
	f.Add(`{"kty":"EC","crv":"P-256","x":"igrFmi0whuihKnj9R3Om1SoMph72wUGeFaBbzG2vzns","y":"efsX5b10x8yjyrj4ny3pGfLcY7Xby1KzgqOdqnsrJIM"}`) // did:key vector
	f.Add(`{"kty":"EC","crv":"P-256","x":"AQ","y":"AQ"}`)                                                                                   // short coordinates
	f.Add(`{"kty":"OKP","crv":"Ed25519","x":"` + rfc8037X + `","d":"` + rfc8037D + `"}`)                                                    // private part
	f.Add(`{"kty":"OKP","crv":"Ed25519","x":"` + rfc8037X + `","d":null}`)                                                                  // private member, null
	f.Add(`{"kty":"oct","k":"c2VjcmV0"}`)                                                                                                   // symmetric key
	f.Add(`{"kty":"OKP","crv":"Ed25519","x":"` + rfc8037X + `","D":"x"}`)                                                                   // case variant: unknown member
	f.Add(`{"kty":"RSA","n":"AQAB","e":"AQAB"}`)                                                                                            // RSA: thumbprint only
	f.Add(`{"kty":"OKP","kty":"EC"}`)                                                                                                       // duplicate member
	f.Add(`{}`)                                                                                                                             // nothing
	f.Fuzz(func(t *testing.T, in string) {
		j, err := ParseJWK([]byte(in))
		if err != nil {
			if errs.CodeOf(err) == "" {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if _, err := j.Thumbprint(); err != nil && errs.CodeOf(err) == "" {
			t.Fatalf("untyped thumbprint error: %v", err)
		}
		pub, err := j.PublicKey()
		if err != nil {
			if errs.CodeOf(err) == "" {
				t.Fatalf("untyped key error: %v", err)
			}
			return
		}
		back, err := JWKFromPublic(pub)
		if err != nil {
			t.Fatalf("a valid key must convert back: %v", err)
		}
		a, errA := j.Thumbprint()
		b, errB := back.Thumbprint()
		if errA != nil || errB != nil || a != b {
			t.Fatalf("thumbprint changed across a round trip: %q %q", a, b)
		}
	})
}
