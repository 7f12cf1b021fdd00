package shc_test

import (
	"testing"
	"time"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/shc"
	"github.com/ssi-project/ssi/internal/shc/shctest"
)

// FuzzVerifySHC: Verify never panics on any text, every refusal is an
// *errs.Error with a code, and an accepted numeric text re-encodes to
// itself.
//
//	go test -run '^$' -fuzz FuzzVerifySHC -fuzztime 60s ./internal/shc
func FuzzVerifySHC(f *testing.F) {
	is := shctest.NewIssuer(f, "https://issuer.example/shc")
	is.CRLVersion = 1
	var trust shc.Trust
	if err := trust.AddJWKS(is.ISS, is.JWKS(f)); err != nil {
		f.Fatal(err)
	}
	if err := trust.AddCRL(is.ISS, is.CRL(f, 1, "gone", "ts.1700000000")); err != nil {
		f.Fatal(err)
	}
	f.Add(is.Make(f, shctest.Card{}))                // a good card
	f.Add(is.Make(f, shctest.Card{RID: "gone"}))     // revoked
	f.Add(is.Make(f, shctest.Card{NoPatient: true})) // no Patient
	f.Add(is.Make(f, shctest.Card{Tamper: true}))    // a bad signature
	f.Add("shc:/")                                   // empty
	f.Add("shc:/1/2/0000")                           // chunked
	f.Add("shc:/78")                                 // a pair over range
	f.Add("shc:/567")                                // odd
	f.Fuzz(func(t *testing.T, text string) {
		if jws, err := shc.DecodeNumeric(text); err == nil && shc.EncodeNumeric(jws) != text {
			t.Fatal("an accepted numeric text does not re-encode to itself")
		}
		c, err := shc.Verify(text, &trust, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			if errs.CodeOf(err) == "" {
				t.Fatalf("a refusal without a code: %v", err)
			}
			if c != nil {
				t.Fatal("a card with an error")
			}
		}
	})
}

// FuzzParseJWS: the JWS, DEFLATE and payload layers never panic on any
// compact text.
//
//	go test -run '^$' -fuzz FuzzParseJWS -fuzztime 60s ./internal/shc
func FuzzParseJWS(f *testing.F) {
	is := shctest.NewIssuer(f, "https://issuer.example/shc")
	var trust shc.Trust
	if err := trust.AddJWKS(is.ISS, is.JWKS(f)); err != nil {
		f.Fatal(err)
	}
	f.Add(is.JWS(f, shctest.Card{}))                                       // a good JWS
	f.Add(is.JWS(f, shctest.Card{Payload: []byte(`{"iss":"x","nbf":1}`)})) // no vc
	f.Add("eyJ6aXAiOiJERUYiLCJhbGciOiJFUzI1NiIsImtpZCI6ImsifQ.AAAA.AAAA")  // short signature
	f.Add("a.b.c.d")                                                       // four parts
	f.Fuzz(func(t *testing.T, jws string) {
		p, err := shc.ParseJWS(jws)
		if err != nil {
			if errs.CodeOf(err) == "" {
				t.Fatalf("a refusal without a code: %v", err)
			}
			return
		}
		if _, err := p.Verify(&trust, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)); err != nil && errs.CodeOf(err) == "" {
			t.Fatalf("a refusal without a code: %v", err)
		}
	})
}

// FuzzTrustFiles: AddDirectory, AddJWKS and AddCRL never panic on any
// file, and a refused file adds nothing.
//
//	go test -run '^$' -fuzz FuzzTrustFiles -fuzztime 60s ./internal/shc
func FuzzTrustFiles(f *testing.F) {
	is := shctest.NewIssuer(f, "https://issuer.example/shc")
	f.Add(shctest.Directory(f, []*shctest.Issuer{is}, [][]byte{is.CRL(f, 1, "a", "b.1700000000")}))     // a directory with a CRL
	f.Add(is.JWKS(f))                                                                                   // a JWKS
	f.Add(is.CRL(f, 2, "x.y"))                                                                          // a CRL with a bad timestamp
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA","kid":"k","crlVersion":1.5}]}`)) // a bad key
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, add := range []func(*shc.Trust) error{
			func(tr *shc.Trust) error { return tr.AddDirectory(data) },
			func(tr *shc.Trust) error { return tr.AddJWKS("https://issuer.example/shc", data) },
			func(tr *shc.Trust) error { return tr.AddCRL("https://issuer.example/shc", data) },
		} {
			var tr shc.Trust
			if err := add(&tr); err != nil {
				if errs.CodeOf(err) == "" {
					t.Fatalf("a refusal without a code: %v", err)
				}
				if tr.Issuers() != 0 {
					t.Fatal("a refused file added an issuer")
				}
			}
		}
	})
}
