package didregistry

import (
	"strings"
	"testing"

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
