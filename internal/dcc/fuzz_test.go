package dcc

import (
	"reflect"
	"testing"
	"time"

	"github.com/ssi-project/ssi/internal/dcc/dcctest"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/veraison/go-cose"
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

// FuzzCOSEMatchesGoCOSE holds decodeSign1 to go-cose: on any bytes, tagged
// or not, it accepts exactly what Sign1Message.UnmarshalCBOR (or
// UntaggedSign1Message's) accepts and yields the same message, whether
// the header cache misses (the first decoding) or hits (the second).
//
//	go test -run '^$' -fuzz FuzzCOSEMatchesGoCOSE -fuzztime 60s ./internal/dcc
func FuzzCOSEMatchesGoCOSE(f *testing.F) {
	s := dcctest.NewDSC(f, dcctest.DSCOptions{})
	f.Add(s.COSE(f, dcctest.Pass{}))                                                            // a good tagged message
	f.Add(s.COSE(f, dcctest.Pass{KIDUnprotected: true}))                                        // the kid unprotected
	f.Add(s.COSE(f, dcctest.Pass{AlgUnprotected: true}))                                        // an empty protected bucket
	f.Add([]byte{0x84, 0x40, 0xa0, 0x40, 0x40})                                                 // untagged, empty signature
	f.Add([]byte{0x84, 0x40, 0xa0, 0xf6, 0x41, 0x01})                                           // a nil payload
	f.Add([]byte{0x84, 0x40, 0xa0, 0x40, 0xf7})                                                 // undefined as the signature
	f.Add([]byte{0xd2, 0x84, 0x43, 0xa1, 0x01, 0x26, 0xa1, 0x04, 0x41, 0x01, 0x40, 0x41, 0x01}) // alg and a kid
	f.Add([]byte{0x84, 0x43, 0xa1, 0x05, 0x40, 0xa1, 0x06, 0x40, 0x40, 0x41, 0x01})             // IV protected, Partial IV unprotected
	f.Add([]byte{0x84, 0x43, 0xa1, 0x01, 0x01, 0xa1, 0x01, 0x01, 0x40, 0x41, 0x01})             // alg in both buckets
	f.Add([]byte{0x84, 0x42, 0xa0, 0x00, 0xa0, 0x40, 0x41, 0x01})                               // bytes after the protected map
	f.Add([]byte{0x84, 0xc1, 0x40, 0xa0, 0x40, 0x41, 0x01})                                     // a tag inside
	f.Add([]byte{0x84, 0x5f, 0x40, 0xff, 0xa0, 0x40, 0x41, 0x01})                               // an indefinite bstr
	f.Fuzz(func(t *testing.T, raw []byte) {
		tagged := len(raw) > 0 && raw[0] == 0xd2
		var want cose.Sign1Message
		var werr error
		if tagged {
			werr = want.UnmarshalCBOR(raw)
		} else {
			var u cose.UntaggedSign1Message
			werr = u.UnmarshalCBOR(raw)
			want = cose.Sign1Message(u)
		}
		for _, pass := range []string{"first", "second"} {
			got, err := decodeSign1(raw, tagged)
			switch {
			case err == nil && werr != nil:
				t.Fatalf("%s decoding: accepted what go-cose refuses: %v", pass, werr)
			case err != nil && werr == nil:
				t.Fatalf("%s decoding: refused what go-cose accepts: %v", pass, err)
			case err == nil && !reflect.DeepEqual(*got, want):
				t.Fatalf("%s decoding: %#v, go-cose %#v", pass, *got, want)
			}
		}
	})
}
