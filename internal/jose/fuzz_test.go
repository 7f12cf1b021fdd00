package jose

import (
	"testing"
)

// FuzzVerify feeds arbitrary strings to Verify: it must never panic, and
// whatever it accepts must have been signed by the one known key.
func FuzzVerify(f *testing.F) {
	s := newES256(f)
	good, err := Sign(s, map[string]any{"typ": testTyp, "kid": s.kid}, []byte(`{"iss":"x","exp":1883000000}`))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)                                        // a valid token: the mutator starts from the accepted path
	f.Add(good[:len(good)-2])                          // truncated signature
	f.Add("..")                                        // three empty parts
	f.Add("eyJhbGciOiJub25lIn0.e30.")                  // alg none, empty signature
	f.Add("{\"payload\":\"e30\"}")                     // JWS JSON serialization
	f.Add("a.b.c.d.e")                                 // JWE shape
	f.Add("eyJhbGciOiJFUzI1NiIsImFsZyI6MX0.e30.AA")    // duplicate alg member
	f.Add("eyJjcml0IjpbXSwiYWxnIjoiRVMyNTYifQ.e30.AA") // empty crit
	f.Fuzz(func(t *testing.T, tok string) {
		j, err := Verify(tok, opts(s))
		if err == nil && (j == nil || j.Key.Alg != ES256) {
			t.Fatalf("accepted without the ES256 key")
		}
		if _, err := ParseUnverified(tok, 0); err == nil {
			_, _ = ParseClaims([]byte(tok))
		}
	})
}
