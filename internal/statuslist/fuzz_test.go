package statuslist

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/keys"
)

// FuzzDecode feeds arbitrary bits and compressed bytes to DecodeBitstring
// (the W3C reader) and to Decode (as
// base64url, so the zlib layer is reached) and the raw bytes as a `lst`
// string (so the base64url layer is fuzzed too). Properties: nothing panics;
// every failure has one of the list codes; a decoded list is non-empty, no
// larger than the cap, and survives Encode/Decode unchanged.
func FuzzDecode(f *testing.F) {
	z := func(b []byte) []byte {
		var buf bytes.Buffer
		w := zlib.NewWriter(&buf)
		_, _ = w.Write(b)
		_ = w.Close()
		return buf.Bytes()
	}
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		_, _ = w.Write(b)
		_ = w.Close()
		return buf.Bytes()
	}
	f.Add(uint8(1), z([]byte{0xb9, 0xa3}))                      // the §4.1 1-bit example
	f.Add(uint8(2), z([]byte{0xc9, 0x44, 0xf9}))                // the §4.1 2-bit example
	f.Add(uint8(8), z(make([]byte, 4096)))                      // a run of zeros (good compression ratio)
	f.Add(uint8(4), z(make([]byte, 1<<17)))                     // inflates past the fuzz cap: a small bomb
	f.Add(uint8(3), z([]byte{1}))                               // bits not in {1,2,4,8}
	f.Add(uint8(1), z(nil))                                     // empty list
	f.Add(uint8(1), append(z([]byte{1}), 0))                    // a byte after the stream
	f.Add(uint8(1), []byte{0x78, 0xda})                         // zlib header only
	f.Add(uint8(1), []byte{0x78, 0x01, 0x01, 0x00})             // truncated stored block
	f.Add(uint8(1), []byte("eNrbuRgAAhcBXQ"))                   // already base64 text (hits the string path)
	f.Add(uint8(2), []byte{})                                   // nothing at all
	f.Add(uint8(1), gz(make([]byte, 64)))                       // a GZIP member (the W3C bitstring path)
	f.Add(uint8(3), append(gz([]byte{0xe4}), gz([]byte{1})...)) // two GZIP members: only one is allowed
	const fuzzCap = 1 << 16
	codes := map[string]bool{
		"invalid_status_list": true, "status_list_too_large": true, "invalid_status_bits": true,
	}
	f.Fuzz(func(t *testing.T, bits uint8, comp []byte) {
		b, err := DecodeBitstring("u"+base64.RawURLEncoding.EncodeToString(comp), int(bits), 1, fuzzCap)
		if err != nil {
			if !codes[errs.CodeOf(err)] {
				t.Fatalf("unexpected bitstring error code: %v", err)
			}
		} else if _, err := b.Get(b.Len()); errs.CodeOf(err) != "status_index_out_of_range" {
			t.Fatal("the bitstring index after the end must be out of range")
		}
		for _, lst := range []string{base64.RawURLEncoding.EncodeToString(comp), string(comp)} {
			l, err := Decode(int(bits), lst, fuzzCap)
			if err != nil {
				if !codes[errs.CodeOf(err)] {
					t.Fatalf("unexpected error code: %v", err)
				}
				continue
			}
			if l.Len() == 0 || len(l.Bytes()) > fuzzCap {
				t.Fatalf("decoded list of %d bytes", len(l.Bytes()))
			}
			enc, err := l.Encode()
			if err != nil {
				t.Fatal(err)
			}
			back, err := Decode(int(bits), enc, fuzzCap)
			if err != nil || !bytes.Equal(back.Bytes(), l.Bytes()) {
				t.Fatalf("round trip changed the list: %v", err)
			}
			if _, err := l.Get(l.Len()); errs.CodeOf(err) != "status_index_out_of_range" {
				t.Fatal("the index after the end must be out of range")
			}
		}
	})
}

// FuzzVerifyToken feeds arbitrary strings to Verify with a real issuer key.
// Properties: nothing panics; every failure is status_unverifiable; a token
// that verifies has the expected sub and a usable list. Seeds are signed
// tokens, so mutations reach the claims and list checks behind the
// signature only through the fuzzer's own bit flips (which must then fail).
func FuzzVerifyToken(f *testing.F) {
	iss := newIssuer(f, keys.ES256)
	l, err := New(1, 16)
	if err != nil {
		f.Fatal(err)
	}
	good, err := Sign(iss.signer, iss.kid, Token{Subject: listURI, IssuedAt: t0.Add(-time.Minute), TTL: time.Hour, List: l})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)                                                                                              // a valid token
	f.Add(good[:len(good)-2])                                                                                // truncated signature
	f.Add(strings.Replace(good, ".", "..", 1))                                                               // an extra dot
	f.Add(iss.sign(f, "JWT", `{"sub":"`+listURI+`","iat":1}`))                                               // wrong typ, no status_list
	f.Add(iss.sign(f, Typ, `{"sub":"`+listURI+`","iat":1,"status_list":{"bits":3,"lst":"eNrbuRgAAhcBXQ"}}`)) // bits 3
	f.Add("eyJhbGciOiJub25lIn0.e30.")                                                                        // alg none
	f.Add(strings.Repeat("~", 1024))                                                                         // no structure at all
	o := iss.opts()
	f.Fuzz(func(t *testing.T, token string) {
		got, err := Verify(token, o)
		if err != nil {
			if errs.CodeOf(err) != "status_unverifiable" {
				t.Fatalf("unexpected error code: %v", err)
			}
			return
		}
		if got.Subject != listURI || got.List == nil || got.List.Len() == 0 {
			t.Fatalf("verified token with bad content: %+v", got)
		}
	})
}
