package jose

import (
	stdjson "encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jsonx"
	"github.com/ssi-project/ssi/internal/keys"
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
		if err == nil && (j == nil || j.Key.Alg != keys.ES256) {
			t.Fatalf("accepted without the ES256 key")
		}
		if _, err := ParseUnverified(tok, 0); err == nil {
			_, _ = ParseClaims([]byte(tok))
		}
	})
}

// FuzzDecodeMatchesStdlib is a differential test of the fast decoder: for
// every input that passes jsonx.Check it yields exactly what encoding/json
// (with UseNumber) yields, and it never panics on any input.
func FuzzDecodeMatchesStdlib(f *testing.F) {
	f.Add(`{"a":[1,2.5,-3e10,true,false,null,"x"],"b":{}}`) // every value kind
	f.Add(`"\u00e9\ud83d\ude00\"\\\/\b\f\n\r\t"`)           // every escape, a surrogate pair
	f.Add(`"\ud800\u0041"`)                                 // a lone high surrogate before another escape
	f.Add(`"\udc00"`)                                       // a lone low surrogate
	f.Add(` [ ] `)                                          // whitespace around an empty array
	f.Add(`{"a":1,"a":2}`)                                  // duplicate names (Check refuses)
	f.Add(`[1,]`)                                           // trailing comma (invalid)
	f.Add(`1e999999`)                                       // a number no float holds (Check refuses)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := decodeFast([]byte(s), s)
		if jsonx.Check([]byte(s), jsonx.MaxDepth) != nil {
			return
		}
		if err != nil {
			t.Fatalf("checked input refused: %v", err)
		}
		dec := stdjson.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		var want any
		if err := dec.Decode(&want); err != nil {
			t.Skip("encoding/json refuses it")
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("decoded %#v, encoding/json %#v", got, want)
		}
	})
}

// FuzzDecodeAgreesWithCheck holds the one-pass decoder to jsonx.Check: on
// every input both accept or both refuse, and ParseValue's refusal carries
// Check's code. The seeds are the edges where two validators are most
// likely to disagree.
func FuzzDecodeAgreesWithCheck(f *testing.F) {
	f.Add(`{"a":[1,2.5,-3e10,true,false,null,"x"],"b":{}}`)  // every value kind
	f.Add(`{"a":1,"\u0061":2}`)                              // a duplicate only after unescaping
	f.Add(`"\ud800"`)                                        // a lone high surrogate
	f.Add(`"\ud800\u0041"`)                                  // a high surrogate before a non-surrogate escape
	f.Add(`"\udc00"`)                                        // a lone low surrogate
	f.Add("\"\xff\"")                                        // invalid UTF-8 inside a string
	f.Add("\"\xe2\x82\"")                                    // a truncated UTF-8 sequence
	f.Add(`01`)                                              // a leading zero
	f.Add(`-`)                                               // a sign alone
	f.Add(`1.`)                                              // a fraction without digits
	f.Add(`1e+`)                                             // an exponent without digits
	f.Add(`-0.0E-0`)                                         // every part of the number grammar
	f.Add(`[1E700]`)                                         // a number beyond a double
	f.Add(`1e-400`)                                          // underflow to zero is in range
	f.Add(strings.Repeat("[", 32) + strings.Repeat("]", 32)) // exactly the depth limit
	f.Add(strings.Repeat("[", 33) + strings.Repeat("]", 33)) // one past it
	f.Add(`{"a":1}{"b":2}`)                                  // two values
	f.Add("\"\x1f\"")                                        // a raw control character
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseValue([]byte(s))
		cerr := jsonx.Check([]byte(s), jsonx.MaxDepth)
		switch {
		case err == nil && cerr != nil:
			t.Fatalf("decoded %#v, which jsonx.Check refuses: %v", v, cerr)
		case err != nil && cerr == nil:
			t.Fatalf("refused what jsonx.Check accepts: %v", err)
		case err != nil && errs.CodeOf(err) != errs.CodeOf(cerr):
			t.Fatalf("code %q, jsonx.Check says %q", errs.CodeOf(err), errs.CodeOf(cerr))
		}
	})
}

// FuzzReaderAgreesWithCheck holds Reader to jsonx.Check: skipping any
// input to its end accepts exactly what Check accepts (the seeds of
// FuzzDecodeAgreesWithCheck, and objects past the Reader's short name
// list).
func FuzzReaderAgreesWithCheck(f *testing.F) {
	f.Add(`{"a":[1,2.5,-3e10,true,false,null,"x"],"b":{}}`)  // every value kind
	f.Add(`{"a":1,"\u0061":2}`)                              // a duplicate only after unescaping
	f.Add(`{"a":{"b":1,"b":2}}`)                             // a duplicate in a nested object
	f.Add(`[{"a":1},{"a":1}]`)                               // the same name in two objects
	f.Add(`"\ud800"`)                                        // a lone high surrogate
	f.Add("\"\xff\"")                                        // invalid UTF-8 inside a string
	f.Add(`01`)                                              // a leading zero
	f.Add(`1e+`)                                             // an exponent without digits
	f.Add(`[1E700]`)                                         // a number beyond a double
	f.Add(strings.Repeat("[", 32) + strings.Repeat("]", 32)) // exactly the depth limit
	f.Add(strings.Repeat("[", 33) + strings.Repeat("]", 33)) // one past it
	f.Add(`{"a":1}{"b":2}`)                                  // two values
	f.Add(`{"a":1} `)                                        // trailing whitespace
	// Sixteen names fill the Reader's short list; more move to a set.
	sixteen := `"0":0,"1":0,"2":0,"3":0,"4":0,"5":0,"6":0,"7":0,"8":0,"9":0,"a":0,"b":0,"c":0,"d":0,"e":0,"f":0`
	f.Add(`{` + sixteen + `,"g":0,"h":0}`) // past the short list
	f.Add(`{` + sixteen + `,"0":0}`)       // the 17th name repeats the first
	f.Add(`{` + sixteen + `,"g":0,"5":0}`) // a repeat found in the set
	f.Fuzz(func(t *testing.T, s string) {
		r := NewReader([]byte(s))
		err := r.Skip()
		if err == nil {
			err = r.End()
		}
		cerr := jsonx.Check([]byte(s), jsonx.MaxDepth)
		switch {
		case err == nil && cerr != nil:
			t.Fatalf("read what jsonx.Check refuses: %v", cerr)
		case err != nil && cerr == nil:
			t.Fatalf("refused what jsonx.Check accepts: %v", err)
		}
	})
}
