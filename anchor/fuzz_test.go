package anchor

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"

	"github.com/ssi-project/ssi/internal/errs"
)

// FuzzDecodeTx feeds arbitrary bytes to the transaction decoder. It must
// never panic, must reject with a typed error carrying one of our ABCI
// codes, and whatever it accepts must pass validation again.
func FuzzDecodeTx(f *testing.F) {
	seed := ed25519.NewKeyFromSeed(make([]byte, 32))
	s, err := NewTxSigner(seed)
	if err != nil {
		f.Fatal(err)
	}
	valid, err := s.Sign(Body{ChainID: "c", Type: TxAnchor, Seq: 1, Entries: []Entry{didEntry(1, 1)}})
	if err != nil {
		f.Fatal(err)
	}
	k := s.Key()
	gov, err := s.Sign(Body{ChainID: "c", Type: TxAddWriter, Seq: 2, Key: &k, Role: RoleWriter})
	if err != nil {
		f.Fatal(err)
	}
	body := `{"chain_id":"c","type":"anchor","writer":"` + s.ID() + `","seq":1,"entries":[{"kind":"status-list","subject":"https://x/1","version":1,"sha256":"` + digest("x") + `"}]}`
	for _, seed := range []string{
		string(valid),                        // a valid signed anchor transaction
		string(gov),                          // a valid governance transaction
		`{"body":` + body + `,"sig":"AAAA"}`, // well formed, signature short
		`{"body":` + body + `,"sig":"AAAA","sig":"AAAA"}`,                                              // duplicate member
		`{"body":` + body + `,"sig":"AAAA","extra":1}`,                                                 // unknown member
		`{"body":"` + body + `","sig":"AAAA"}`,                                                         // body as a string
		`{"body":[],"sig":"AAAA"}`,                                                                     // body as an array
		`{"body":{},"sig":"AAAA"}`,                                                                     // empty body
		`{"body":` + strings.Replace(body, `"seq":1`, `"seq":-1`, 1) + `,"sig":"AAAA"}`,                // negative sequence
		`{"body":` + strings.Replace(body, `"seq":1`, `"seq":1e300`, 1) + `,"sig":"AAAA"}`,             // huge float sequence
		`{"body":` + strings.Replace(body, `"version":1`, `"version":0`, 1) + `,"sig":"AAAA"}`,         // version zero
		`{"body":` + strings.Replace(body, "https://x/1", "https://x/\u00e9", 1) + `,"sig":"AAAA"}`,    // non-ASCII subject
		`{"body":` + strings.Replace(body, `"type":"anchor"`, `"TYPE":"anchor"`, 1) + `,"sig":"AAAA"}`, // case-variant member
		`{"body":{"chain_id":"c","type":"add_writer","writer":"` + s.ID() + `","seq":1,"key":{"alg":"ES256","key":"BAAA"},"role":"writer"},"sig":"AAAA"}`, // off-curve P-256 key
		`{"body":{"chain_id":"c","type":"remove_writer","writer":"` + s.ID() + `","seq":1,"target":"x"},"sig":"AAAA"}`,                                    // bad target ID
		strings.Repeat("[", 100) + strings.Repeat("]", 100),                                                                                               // deep nesting
		"\xff\xfe", // invalid UTF-8
		"",         // empty input
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tx, err := DecodeTx(b)
		if err != nil {
			var e *errs.Error
			if !errors.As(err, &e) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			if code, name := abciCode(err); code == 14 || name != e.Code {
				t.Fatalf("error without an ABCI code: %v", err)
			}
			return
		}
		if err := tx.Body.validate(); err != nil {
			t.Fatalf("accepted a body that does not validate: %v", err)
		}
	})
}

// FuzzParseVerifyReceipt feeds arbitrary bytes to the receipt parser and
// verifier: no panic, only typed errors.
func FuzzParseVerifyReceipt(f *testing.F) {
	f.Add([]byte(`{"entry":{"kind":"did-document","subject":"did:a:b","version":1,"sha256":"` + digest("x") + `","writer":"` + strings.Repeat("A", 43) + `"},"leaf_index":0,"tree_size":1,"inclusion_proof":[],"height":1,"signed_header":"CgA=","validators_hash":""}`)) // header with an empty inner message
	f.Add([]byte(`{"entry":{},"signed_header":"////"}`))                                                                                                                                                                                                                  // garbage protobuf
	f.Add([]byte(`null`))                                                                                                                                                                                                                                                 // not an object
	trust := Trust{ChainID: "c", Validators: []TrustedValidator{{PubKey: make([]byte, 32), Power: 1}}}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseReceipt(b)
		if err != nil {
			return
		}
		if err := VerifyReceipt(r, trust); err == nil {
			t.Fatal("a random receipt verified")
		} else if !errors.Is(err, ErrReceiptUnverified) && !errors.Is(err, ErrInvalidReceipt) {
			t.Fatalf("unexpected error: %v", err)
		}
	})
}
