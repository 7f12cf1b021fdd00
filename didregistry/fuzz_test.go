package didregistry

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/keys"
)

// FuzzOperation feeds arbitrary operation tokens to Create and to Apply on
// a valid DID: no input may panic, and nothing but a properly signed
// operation may be accepted.
func FuzzOperation(f *testing.F) {
	ctl, err := keys.Generate(keys.ES256)
	if err != nil {
		f.Fatal(err)
	}
	create, _, err := SignCreate(ctl, "ctl-1", nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	cur, _, err := Create(create)
	if err != nil {
		f.Fatal(err)
	}
	update, err := SignOp(ctl, "ctl-1", Operation{Op: "update", DID: cur.DID, Version: 2, Service: &[]ServiceInput{}})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		create,                                // a valid create operation
		update,                                // a valid update of cur
		"",                                    // empty
		"a.b.c",                               // three garbage parts
		"eyJhbGciOiJub25lIn0.e30.",            // alg none, empty payload
		create[:len(create)-2],                // truncated signature
		strings.Replace(create, ".", "..", 1), // an extra part
		update + "." + update,                 // two tokens glued
		strings.Repeat(".", 1000),             // many dots
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		if st, _, err := Create(tok); err == nil && (st == nil || !ValidDID(st.DID)) {
			t.Fatalf("Create accepted a token but returned no valid DID")
		}
		next, err := Apply(cur, tok)
		if err == nil && (next == nil || next.Version != cur.Version+1) {
			t.Fatalf("Apply accepted a token without producing the next version")
		}
	})
}

// FuzzRPControl feeds arbitrary tokens to verifyControl, the parser of
// relying-party control proofs, for a did:key verifier: no input may
// panic, and nothing but a proof signed by the DID's key, naming its
// method, for this verifier and audience, may be accepted.
func FuzzRPControl(f *testing.F) {
	k, err := keys.Generate(keys.ES256)
	if err != nil {
		f.Fatal(err)
	}
	verifier, err := did.KeyDID(k.Public())
	if err != nil {
		f.Fatal(err)
	}
	kid := verifier + "#" + strings.TrimPrefix(verifier, "did:key:")
	const aud = "https://registry.example"
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ch := RPChallenge{Challenge: "c2VlZC1jaGFsbGVuZ2U", Verifier: verifier, Audience: aud}
	valid, err := SignRPControl(k, kid, ch, now)
	if err != nil {
		f.Fatal(err)
	}
	other, err := SignRPControl(k, kid, RPChallenge{Challenge: "x", Verifier: "did:key:z6Mkother", Audience: aud}, now)
	if err != nil {
		f.Fatal(err)
	}
	h, p, _ := strings.Cut(valid, ".")
	p, _, _ = strings.Cut(p, ".")
	for _, seed := range []string{
		valid,                           // a valid proof
		other,                           // signed by the key, for another iss
		"",                              // no proof
		"a.b.c",                         // three garbage parts
		"eyJhbGciOiJub25lIn0.e30.",      // alg none, empty payload
		valid[:len(valid)-2],            // truncated signature
		h + "." + p + ".",               // signature stripped
		h + "." + p + "." + h,           // the header as the signature
		valid + "." + valid,             // two tokens glued
		strings.Repeat(".", 1000),       // many dots
		`{"protected":"","payload":""}`, // JSON serialization
	} {
		f.Add(seed)
	}
	doc := func(_ context.Context, d string) (*did.Document, error) {
		res, err := did.KeyResolver{}.Resolve(context.Background(), d, did.ResolveOptions{})
		if err != nil {
			return nil, err
		}
		return res.Document, nil
	}
	// The target must be able to accept: the valid seed passes.
	if _, err := verifyControl(context.Background(), valid, verifier, aud, now, doc); err != nil {
		f.Fatalf("the valid seed is refused: %v", err)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		p, err := verifyControl(context.Background(), tok, verifier, aud, now, doc)
		if err != nil {
			if errs.CodeOf(err) == "" {
				t.Fatalf("a refusal without a code: %v", err)
			}
			return
		}
		if p.kid != kid || p.nonce == "" || p.token != tok {
			t.Fatalf("accepted a proof for kid %q nonce %q", p.kid, p.nonce)
		}
	})
}
