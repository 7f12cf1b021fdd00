package oid4vp

import (
	"net/url"
	"testing"
	"time"

	"github.com/ssi-project/ssi/internal/keys"
)

// FuzzParseAuthorizationURI: the parser of what a wallet scans never
// panics, and what it accepts rebuilds to a URI it accepts the same.
func FuzzParseAuthorizationURI(f *testing.F) {
	f.Add("openid4vp://?client_id=decentralized_identifier%3Adid%3Akey%3Az&request_uri=https%3A%2F%2Fv%2Fr") // minimal
	f.Add("haip-vp://?client_id=decentralized_identifier%3Adid%3Akey%3Az&request_uri=https%3A%2F%2Fv%2Fr&request_uri_method=post")
	f.Add("openid4vp://?client_id=a&client_id=b")            // repeated
	f.Add("openid4vp://?request_uri_method=PUT&client_id=x") // bad method
	f.Add("openid4vp://?%zz")                                // bad escape
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAuthorizationURI(s)
		if err != nil {
			return
		}
		b, err := ParseAuthorizationURI(AuthorizationURI(a.Scheme, a.ClientID, a.RequestURI, a.Method))
		if err != nil || *a != *b {
			t.Fatalf("round trip of %q: %v %+v %+v", s, err, a, b)
		}
	})
}

// FuzzParseVPToken: any bytes are a VP Token or an error, never a panic,
// and an accepted one has only non-empty entries.
func FuzzParseVPToken(f *testing.F) {
	f.Add([]byte(`{"pass":["eyJ.x.y~"]}`))     // one presentation
	f.Add([]byte(`{"a":["x","y"],"b":["z"]}`)) // two queries
	f.Add([]byte(`{"a":[]}`))                  // empty entry
	f.Add([]byte(`{"a":"x"}`))                 // not an array
	f.Add([]byte(`[[[[[[[[[[[[`))              // depth
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, err := ParseVPToken(b)
		if err != nil {
			return
		}
		for _, ps := range tok {
			if len(ps) == 0 {
				t.Fatal("an empty entry was accepted")
			}
		}
	})
}

// FuzzParseResponseForm runs the form parser over any body.
func FuzzParseResponseForm(f *testing.F) {
	f.Add("vp_token=%7B%22a%22%3A%5B%22x%22%5D%7D&state=s") // a response
	f.Add("error=access_denied&state=s")                    // an error
	f.Add("response=eyJ")                                   // encrypted where plain expected
	f.Fuzz(func(t *testing.T, body string) {
		v, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		_, _ = ParseResponseForm(v)
	})
}

// FuzzDecryptResponse: no JWE-looking input makes the decryptor panic.
func FuzzDecryptResponse(f *testing.F) {
	priv, ek := encKey(f)
	good, err := EncryptResponse(&Response{VPToken: map[string][]string{"a": {"x"}}, State: "s"}, ek, EncA128GCM)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)                         // a valid response
	f.Add("a..b.c.d")                   // five parts of garbage
	f.Add("eyJhbGciOiJub25lIn0..a.b.c") // alg none
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = DecryptResponse(s, priv, ek.Kid, nil)
	})
}

// FuzzVerifyRequest: the wallet's request object check never panics.
func FuzzVerifyRequest(f *testing.F) {
	k := newVerifierKey(f)
	r := newRequest(f, k, DirectPost, keys.JWK{})
	tok, err := SignRequest(k.signer, k.kid, r)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok)     // a valid request object
	f.Add("a.b.c") // garbage
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = VerifyRequest(s, k.lookup, VerifyOptions{ClientID: r.ClientID, Now: t0.Add(time.Second)})
	})
}
