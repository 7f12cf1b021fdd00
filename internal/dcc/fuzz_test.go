package dcc

import (
	"testing"
	"time"

	"github.com/ssi-project/ssi/internal/dcc/dcctest"
	"github.com/ssi-project/ssi/internal/errs"
)

// FuzzVerifyHC1: Verify never panics on any text, and every refusal is an
// *errs.Error with a code.
//
//	go test -run '^$' -fuzz FuzzVerifyHC1 -fuzztime 60s ./internal/dcc
func FuzzVerifyHC1(f *testing.F) {
	s := dcctest.NewDSC(f, dcctest.DSCOptions{})
	var trust Trust
	if _, err := trust.AddDER(s.DER, ""); err != nil {
		f.Fatal(err)
	}
	f.Add(s.Make(f, dcctest.Pass{}))                     // a good pass
	f.Add(s.Make(f, dcctest.Pass{KIDUnprotected: true})) // kid in the unprotected header
	f.Add(s.Make(f, dcctest.Pass{Tamper: true}))         // a bad signature
	f.Add("HC1:")                                        // empty
	f.Add("HC1:GGW")                                     // a triplet over range
	f.Fuzz(func(t *testing.T, text string) {
		c, err := Verify(text, &trust, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			if errs.CodeOf(err) == "" {
				t.Fatalf("a refusal without a code: %v", err)
			}
			if c != nil {
				t.Fatal("a certificate with an error")
			}
		}
	})
}

// FuzzCOSE: the CBOR/COSE layer and the claims never panic on any inflated
// bytes, and refusals carry a code.
//
//	go test -run '^$' -fuzz FuzzCOSE -fuzztime 60s ./internal/dcc
func FuzzCOSE(f *testing.F) {
	s := dcctest.NewDSC(f, dcctest.DSCOptions{})
	f.Add(s.COSE(f, dcctest.Pass{}))                                                      // a good tagged message
	f.Add(append([]byte{0xd8, 0x3d}, s.COSE(f, dcctest.Pass{})...))                       // tag 61 before it
	f.Add(s.COSE(f, dcctest.Pass{Payload: []byte{0xa1, 0x01, 0x62, 0x58, 0x58}}))         // a CWT with only iss
	f.Add([]byte{0x84, 0x40, 0xa0, 0x40, 0x40})                                           // untagged, empty
	f.Add([]byte{0xd2, 0x84, 0x43, 0xa1, 0x01, 0x26, 0xa1, 0x04, 0x41, 0x01, 0x40, 0x40}) // alg and a kid
	f.Add([]byte{0xbf, 0xff})                                                             // an indefinite map
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := parseCOSE(raw)
		if err != nil {
			if errs.CodeOf(err) == "" {
				t.Fatalf("a refusal without a code: %v", err)
			}
			return
		}
		if _, err := parseClaims(p.Msg.Payload); err != nil && errs.CodeOf(err) == "" {
			t.Fatalf("a claims refusal without a code: %v", err)
		}
	})
}

// FuzzTrustFile: AddFile never panics on any file, and a refused file adds
// nothing.
//
//	go test -run '^$' -fuzz FuzzTrustFile -fuzztime 60s ./internal/dcc
func FuzzTrustFile(f *testing.F) {
	s := dcctest.NewDSC(f, dcctest.DSCOptions{})
	f.Add(s.DER)                                                                               // DER
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))            // PEM with a truncated body
	f.Add([]byte(`{"certificates":[{"kid":"AAAAAAAAAAA=","rawData":"MIIB","country":"XX"}]}`)) // the JSON list, bad DER
	f.Add([]byte(`{"certificates":[{"kid":1}]}`))                                              // a wrong type
	f.Fuzz(func(t *testing.T, data []byte) {
		var tr Trust
		if err := tr.AddFile(data); err != nil {
			if errs.CodeOf(err) == "" {
				t.Fatalf("a refusal without a code: %v", err)
			}
			if tr.Len() != 0 {
				t.Fatal("a refused file added certificates")
			}
		}
	})
}
