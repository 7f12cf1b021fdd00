package qr

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzDecodeEnvelope: DecodeEnvelope never panics, and what it accepts is
// canonical: the frame of its output is exactly the inflated frame, and
// the output goes through EncodeEnvelope and DecodeEnvelope again
// unchanged.
//
//	go test -run '^$' -fuzz FuzzDecodeEnvelope -fuzztime 60s ./internal/qr
func FuzzDecodeEnvelope(f *testing.F) {
	hdr, pay, sig := []byte(`{"alg":"ES256","typ":"dc+sd-jwt"}`), []byte(`{"iss":"x","_sd":["a"]}`), []byte{0, 1, 2}
	disc := []byte(`["salt","given_name","Anna"]`)
	kbh, kbp := []byte(`{"alg":"ES256","typ":"kb+jwt"}`), []byte(`{"nonce":"n","aud":"offline:did:psr:x","iat":1,"sd_hash":"h"}`)
	for _, seed := range []string{
		envelopeOf(frameOf(0, 0, hdr, pay, sig)),                                // an SD-JWT with no disclosure and no KB-JWT
		envelopeOf(frameOf(0, 1, hdr, pay, sig, disc)),                          // one disclosure
		envelopeOf(frameOf(flagKB, 1, hdr, pay, sig, disc, kbh, kbp, sig)),      // one disclosure and a KB-JWT
		envelopeOf(frameOf(flagKB, 0, hdr, pay, sig, kbh, kbp, sig)),            // a KB-JWT and no disclosure
		envelopeOf(frameOf(0, 3, hdr, pay, sig, disc, disc, []byte{0xff})),      // the same disclosure twice, a binary one
		envelopeOf(frameOf(0, 256, hdr, pay, sig)),                              // the most disclosures, all missing
		envelopeOf(frameOf(0, 257)),                                             // one disclosure too many
		envelopeOf(frameOf(0x02, 0, hdr, pay, sig)),                             // a reserved flag
		envelopeOf([]byte{0, 0x80, 0x00}),                                       // a count not in shortest form
		envelopeOf(append(frameOf(0, 0, hdr, pay), 0x81, 0x80, 0x80, 0x00)),     // a four-byte length
		envelopeOf(append(frameOf(0, 0, hdr, pay, sig), 0)),                     // a byte after the last part
		envelopeOf(make([]byte, MaxFramedSize+1)),                               // inflates one byte past the cap
		Prefix + base45Encode([]byte{0xff, 0xff}),                               // not DEFLATE
		Prefix + base45Encode(append(deflate(frameOf(0, 0, hdr, pay, sig)), 0)), // a byte after the stream
		Prefix + "GGW",                     // a triplet over 65535
		Prefix + "V5",                      // a pair over 255
		Prefix + "A",                       // a dangling character
		Prefix + "bb8",                     // lower case
		Prefix,                             // nothing after the prefix
		"SSI2:BB8",                         // another version
		"HC1:NCFOXN%TS3DH",                 // an EU DCC
		"",                                 // empty
		Prefix + strings.Repeat("0", 4300), // longer than a QR code
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		out, err := DecodeEnvelope(text)
		if err != nil {
			if out != "" {
				t.Fatal("a refusal returned output")
			}
			return
		}
		body, _ := base45Decode(strings.TrimPrefix(text, Prefix))
		inflated, err := inflate(body)
		if err != nil {
			t.Fatalf("accepted text does not inflate again: %v", err)
		}
		framed, err := frame(out)
		if err != nil {
			t.Fatalf("the output of an accepted envelope does not frame: %v", err)
		}
		if !bytes.Equal(framed, inflated) {
			t.Fatal("two frames decode to the same SD-JWT")
		}
		again, err := EncodeEnvelope(out)
		if err != nil {
			t.Fatalf("the output of an accepted envelope does not encode: %v", err)
		}
		if back, err := DecodeEnvelope(again); err != nil || back != out {
			t.Fatalf("re-encoding changed the SD-JWT: %v", err)
		}
	})
}

// FuzzBase45Decode: base45Decode never panics, accepts exactly the texts
// base45Encode can produce (it re-encodes to the same text), and refuses
// the rest.
//
//	go test -run '^$' -fuzz FuzzBase45Decode -fuzztime 60s ./internal/qr
func FuzzBase45Decode(f *testing.F) {
	for _, seed := range []string{
		"",            // empty
		"BB8",         // RFC 9285 "AB"
		"%69 VD92EX0", // RFC 9285 "Hello!!", ending in a pair
		"QED8WEX0",    // RFC 9285 "ietf!"
		"FGW",         // 65535, the largest triplet
		"GGW",         // 65536, one over
		"U5",          // 255, the largest pair
		"V5",          // 256, one over
		":::",         // the largest triplet value
		"A",           // a dangling character
		"BB8A",        // a dangling character after a triplet
		"bb8",         // lower case
		"BB8\n",       // a line feed
		"BB\x00",      // a NUL
		"BB\xc3\xa9",  // UTF-8
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := base45Decode(s)
		if err != nil {
			return
		}
		if len(b) != len(s)/3*2+len(s)%3/2 {
			t.Fatalf("decoded %d bytes from %d characters", len(b), len(s))
		}
		if base45Encode(b) != s {
			t.Fatal("an accepted text does not re-encode to itself")
		}
	})
}

// FuzzEnvelopeRoundTrip: whatever EncodeEnvelope accepts, DecodeEnvelope
// gives back byte-exact.
//
//	go test -run '^$' -fuzz FuzzEnvelopeRoundTrip -fuzztime 60s ./internal/qr
func FuzzEnvelopeRoundTrip(f *testing.F) {
	for _, seed := range []string{
		"eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln~",                                              // no disclosure, no KB-JWT
		"eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln~WyJzIiwibiIsInYiXQ~",                           // one disclosure
		"eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln~WyJzIiwibiIsInYiXQ~eyJhIjoxfQ.eyJiIjoyfQ.c2ln", // with a KB-JWT
		"eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln~eyJhIjoxfQ.eyJiIjoyfQ.c2ln",                    // a KB-JWT, no disclosure
		"eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln~QUJD\n~",                                       // a hidden line break
		"eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln~AB~",                                           // non-zero trailing bits
		"a.b.c~", // one-character parts
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		text, err := EncodeEnvelope(s)
		if err != nil {
			return
		}
		out, err := DecodeEnvelope(text)
		if err != nil {
			t.Fatalf("an envelope of EncodeEnvelope is refused: %v", err)
		}
		if out != s {
			t.Fatal("the round trip changed the SD-JWT")
		}
	})
}
