package did

import (
	"context"
	"testing"

	"github.com/ssi-project/ssi/internal/errs"
)

// FuzzParse feeds arbitrary strings to Parse, ParseURL and the local
// resolvers (did:key, did:jwk). Properties: nothing panics; every failure
// is a typed error with a code; a string that parses prints back
// byte-for-byte; a DID that parses also parses as a DID URL; a resolved
// document is the document of that DID.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"did:example:123456789abcdefghi",                                                  // the DID Core example
		"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",                        // Ed25519 vector (seed 00…00)
		"did:key:zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv",                       // P-256 vector
		"did:key:z82Lm1MpAkeJcix9K8TMiLd5NMAhnwkjjCBeWHXyu3U4oT2MVJJKXkcVBgjGhnLBn2Kaau9", // P-384 vector
		"did:key:z6Mk", // truncated multikey
		"did:key:z",    // empty multibase payload
		"did:jwk:eyJrdHkiOiJPS1AiLCJjcnYiOiJFZDI1NTE5IiwieCI6IjExcVlBWUt4Q3JmVlNfN1R5V1FIT2c3aGN2UGFwaU1scndJYWFQY0hVUm8ifQ", // did:jwk Ed25519
		"did:jwk:eyJrdHkiOiJPS1AiLCJkIjoiQUEifQ", // did:jwk with a private d
		"did:web:example.com%3A8443:user:alice",  // did:web with port and path
		"did:example:1/path?query=1#frag",        // full DID URL
		"did:example:1#",                         // empty fragment
		"did:a:b::c",                             // empty segment inside the id
		"did:example:abc:",                       // id ending with a colon
		"did:example:ab%2",                       // truncated percent-encoding
		"did::x",                                 // empty method
		"DID:example:1",                          // upper-case scheme
		"did:example:\x00",                       // NUL byte
		"did:example:é",                          // non-ASCII
		"",                                       // empty input
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Parse(s)
		if err != nil {
			if errs.CodeOf(err) != "invalid_did" {
				t.Fatalf("Parse error without invalid_did code: %v", err)
			}
		} else {
			if d.String() != s {
				t.Fatalf("round trip: %q -> %q", s, d.String())
			}
			if _, err := ParseURL(s); err != nil {
				t.Fatalf("a DID must parse as a DID URL: %v", err)
			}
		}
		u, err := ParseURL(s)
		if err == nil && u.String() != s {
			t.Fatalf("URL round trip: %q -> %q", s, u.String())
		}
		if err != nil && errs.CodeOf(err) != "invalid_did" {
			t.Fatalf("ParseURL error without invalid_did code: %v", err)
		}
		if err != nil || (d.Method != "key" && d.Method != "jwk") {
			return
		}
		r := NewRouter().Handle("key", KeyResolver{}).Handle("jwk", JWKResolver{})
		res, err := r.Resolve(context.Background(), s, ResolveOptions{})
		if err != nil {
			if errs.CodeOf(err) == "" || res == nil || res.ResolutionMetadata.Error == "" {
				t.Fatalf("resolution failure without code or metadata: %v", err)
			}
			return
		}
		if res.Document == nil || res.Document.ID != s || len(res.Document.VerificationMethod) != 1 {
			t.Fatalf("bad document for %q", s)
		}
		if _, _, err := MethodKey(&res.Document.VerificationMethod[0]); err != nil {
			t.Fatalf("a resolved key must be usable: %v", err)
		}
	})
}

// FuzzParseDocument feeds arbitrary bytes to ParseDocument (the did:web and
// registry document parser) and looks up every method of a document that
// parses. Properties: nothing panics; failures carry a code; a lookup either
// returns a key with its one alg or a typed error.
func FuzzParseDocument(f *testing.F) {
	f.Add([]byte(vmDoc))                                                                                   // methods by reference, embedded, multibase, duplicates
	f.Add([]byte(`{"id":"did:x:1"}`))                                                                      // the smallest valid document
	f.Add([]byte(`{"id":"did:x:1","id":"did:x:2"}`))                                                       // duplicate member
	f.Add([]byte(`{"id":"did:x:1","assertionMethod":[42]}`))                                               // relationship entry of the wrong type
	f.Add([]byte(`{"id":"did:x:1","controller":["did:x:1","did:x:2"]}`))                                   // controller as a set
	f.Add([]byte(`{"id":"did:x:1","service":[{"id":"#s","type":["A","B"],"serviceEndpoint":{"a":[1]}}]}`)) // map endpoint
	f.Add([]byte(`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`))      // too deep
	f.Add([]byte{0xff, 0xfe})                                                                              // not UTF-8
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := ParseDocument(data)
		if err != nil {
			if errs.CodeOf(err) == "" {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		for _, vm := range doc.VerificationMethod {
			for _, rel := range []Relationship{AnyRelationship, AssertionMethod} {
				pub, alg, err := doc.PublicKey(vm.ID, rel)
				if err != nil {
					if errs.CodeOf(err) == "" {
						t.Fatalf("untyped lookup error: %v", err)
					}
					continue
				}
				if pub == nil || alg == "" {
					t.Fatal("a key without alg")
				}
			}
		}
	})
}
