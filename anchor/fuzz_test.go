package anchor

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/trust"
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
	valid, err := s.Sign(Body{ChainID: "c", Type: TxAnchor, Seq: 1, Entries: []trust.Entry{didEntry(1, 1)}})
	if err != nil {
		f.Fatal(err)
	}
	k := s.Key()
	gov, err := s.Sign(Body{ChainID: "c", Type: TxAddWriter, Seq: 2, Key: &k, Role: RoleWriter})
	if err != nil {
		f.Fatal(err)
	}
	ns, err := s.Sign(Body{ChainID: "c", Type: TxAddWriter, Seq: 3, Key: &k, Role: RoleWriter, Namespaces: []string{"https://x.example/status/", "did:psr:"}})
	if err != nil {
		f.Fatal(err)
	}
	owner, err := s.Sign(Body{ChainID: "c", Type: TxSetOwner, Seq: 4, Kind: trust.KindStatusList, Subject: "https://x.example/status/1", Target: s.ID()})
	if err != nil {
		f.Fatal(err)
	}
	body := `{"chain_id":"c","type":"anchor","writer":"` + s.ID() + `","seq":1,"entries":[{"kind":"status-list","subject":"https://x/1","version":1,"sha256":"` + digest("x") + `"}]}`
	for _, seed := range []string{
		string(valid),                        // a valid signed anchor transaction
		string(gov),                          // a valid governance transaction
		string(ns),                           // add_writer with namespaces
		string(owner),                        // set_owner
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
		`{"body":{"chain_id":"c","type":"add_writer","writer":"` + s.ID() + `","seq":1,"key":{"alg":"ES256","key":"BAAA"},"role":"writer"},"sig":"AAAA"}`,                                                                           // off-curve P-256 key
		`{"body":{"chain_id":"c","type":"remove_writer","writer":"` + s.ID() + `","seq":1,"target":"x"},"sig":"AAAA"}`,                                                                                                              // bad target ID
		`{"body":{"chain_id":"c","type":"set_owner","writer":"` + s.ID() + `","seq":1,"kind":"did-document","subject":"https://x/","target":"` + s.ID() + `"},"sig":"AAAA"}`,                                                        // set_owner of a did-document that is not a DID
		`{"body":{"chain_id":"c","type":"set_owner","writer":"` + s.ID() + `","seq":1,"kind":"status-list","subject":"https://x/1","target":"` + s.ID() + `","entries":[]},"sig":"AAAA"}`,                                           // set_owner with an empty entries member
		`{"body":{"chain_id":"c","type":"add_writer","writer":"` + s.ID() + `","seq":1,"key":{"alg":"EdDSA","key":"` + base64.StdEncoding.EncodeToString(k.Key) + `"},"role":"operator","namespaces":["https://x/"]},"sig":"AAAA"}`, // operator with namespaces
		`{"body":{"chain_id":"c","type":"add_writer","writer":"` + s.ID() + `","seq":1,"key":{"alg":"EdDSA","key":"` + base64.StdEncoding.EncodeToString(k.Key) + `"},"role":"writer","namespaces":["https://x"]},"sig":"AAAA"}`,    // namespace not at a boundary
		`{"body":{"chain_id":"c","type":"anchor","writer":"` + s.ID() + `","seq":1,"entries":[{"kind":"status-list","subject":"https://x/1","version":1,"sha256":"` + digest("x") + `","owner":"` + s.ID() + `"}]},"sig":"AAAA"}`,   // writer-set owner
		strings.Repeat("[", 100) + strings.Repeat("]", 100), // deep nesting
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

// fuzzChain is the chain the proof fuzzers mutate genuine proofs of: a
// 4-validator chain with one block of a few entries. Its keys are
// deterministic, so every fuzz worker rebuilds the same chain and mutated
// genuine proofs reach the signature and proof checks.
func fuzzChain(f *testing.F) (*offlineChain, []trust.Entry) {
	op, err := NewTxSigner(ed25519.NewKeyFromSeed(make([]byte, 32)))
	if err != nil {
		f.Fatal(err)
	}
	oc := newOfflineChain(f, op, 1)
	batch := []trust.Entry{didEntry(1, 1), didEntry(2, 1), didEntry(3, 1), didEntry(1, 2), statusEntry(1, 1)}
	if res := oc.ta.block(oc.ta.anchor(op, batch...)); res[0].Code != 0 {
		f.Fatal(res[0].Log)
	}
	return oc, batch
}

// FuzzParseVerifyReceipt feeds arbitrary bytes, and mutations of genuine
// receipts of a 4-validator chain, to the receipt parser and verifier. It
// must never panic, fail only with receipt codes, and whatever verifies
// must be true: that exact entry is in the log at that leaf.
func FuzzParseVerifyReceipt(f *testing.F) {
	oc, batch := fuzzChain(f)
	for _, e := range batch {
		f.Add(mustJSON(f, oc.receipt(f, e, all))) // a genuine receipt, all four signatures
	}
	f.Add(mustJSON(f, oc.receipt(f, batch[2], func(i int) bool { return i < 2 })))                                                                                                                                                                                        // signed by half the power
	f.Add([]byte(`{"entry":{"kind":"did-document","subject":"did:a:b","version":1,"sha256":"` + digest("x") + `","writer":"` + strings.Repeat("A", 43) + `"},"leaf_index":0,"tree_size":1,"inclusion_proof":[],"height":1,"signed_header":"CgA=","validators_hash":""}`)) // header with an empty inner message
	f.Add([]byte(`{"entry":{},"signed_header":"////"}`))                                                                                                                                                                                                                  // garbage protobuf
	f.Add([]byte(`null`))                                                                                                                                                                                                                                                 // not an object
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := trust.ParseReceipt(b)
		if err != nil {
			if !errors.Is(err, trust.ErrInvalidReceipt) {
				t.Fatalf("unexpected parse error: %v", err)
			}
			return
		}
		err = trust.VerifyReceipt(r, oc.trust)
		if err != nil {
			if !errors.Is(err, trust.ErrReceiptUnverified) && !errors.Is(err, trust.ErrInvalidReceipt) {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		loc, lerr := oc.ta.app.locate(EntryRef{Kind: r.Entry.Kind, Subject: r.Entry.Subject, Version: r.Entry.Version})
		if lerr != nil || !loc.Found || loc.LeafIndex != r.LeafIndex || !loc.Entry.Time.Equal(r.Entry.Time) ||
			loc.Entry.SHA256 != r.Entry.SHA256 || loc.Entry.Writer != r.Entry.Writer || loc.Entry.Owner != r.Entry.Owner {
			t.Fatalf("a receipt verified for an entry the log does not hold: %+v", r.Entry)
		}
	})
}

// FuzzParseVerifyLatest feeds arbitrary bytes, and mutations of genuine
// latest-version proofs of a 4-validator chain (inclusion and exclusion),
// to the proof parser and verifier. It must never panic, fail only with
// proof codes, and whatever verifies must be true: the app holds exactly
// that state for that subject at that height (or none).
func FuzzParseVerifyLatest(f *testing.F) {
	oc, batch := fuzzChain(f)
	for _, e := range batch {
		f.Add(mustJSON(f, oc.latest(f, e.Kind, e.Subject, all))) // a genuine inclusion proof
	}
	f.Add(mustJSON(f, oc.latest(f, trust.KindDIDDocument, "did:ssi:nobody", all)))                                                                                                            // a genuine exclusion proof
	f.Add(mustJSON(f, oc.latest(f, trust.KindStatusList, "did:ssi:issuer-1", all)))                                                                                                           // the same subject under another kind
	f.Add(mustJSON(f, oc.latest(f, trust.KindDIDDocument, "did:ssi:issuer-2", func(i int) bool { return i < 2 })))                                                                            // signed by half the power
	f.Add([]byte(`{"kind":"did-document","subject":"did:a:b","height":1,"log_root":"","map_root":"","map_proof":{"side_nodes":[],"bit_mask":"","num_side_nodes":0},"signed_header":"CgA="}`)) // empty roots
	f.Add([]byte(`{"kind":"did-document","subject":"did:a:b","map_proof":{"bit_mask":"/w==","num_side_nodes":3,"side_nodes":[]}}`))                                                           // mask bits past the nodes
	f.Add([]byte(`null`))                                                                                                                                                                     // not an object
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := trust.ParseLatestProof(b)
		if err != nil {
			if !errors.Is(err, trust.ErrInvalidLatestProof) {
				t.Fatalf("unexpected parse error: %v", err)
			}
			return
		}
		l, err := trust.VerifyLatest(p, oc.trust)
		if err != nil {
			if !errors.Is(err, trust.ErrProofUnverified) && !errors.Is(err, trust.ErrInvalidLatestProof) {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		want, err := oc.ta.app.proveLatest(l.Kind, l.Subject, l.Height)
		if err != nil {
			t.Fatalf("a proof verified for a height the app cannot prove: %v", err)
		}
		if (want.State == nil) != (l.State == nil) || (l.State != nil && !bytes.Equal(trust.EncodeState(*l.State), trust.EncodeState(*want.State))) {
			t.Fatalf("a proof verified for a state the app does not hold: %+v", l.State)
		}
	})
}

// FuzzQuery feeds arbitrary paths and data to the app's Query, which any
// RPC client can reach: no panic, and every failure carries one of our
// codes.
func FuzzQuery(f *testing.F) {
	for _, seed := range []struct{ path, data string }{
		{QueryEntries, `{"items":[{"kind":"did-document","subject":"did:ssi:issuer-1","version":0}]}`},  // latest version
		{QueryEntries, `{"items":[{"kind":"did-document","subject":"did:ssi:issuer-1","version":99}]}`}, // absent version
		{QueryEntries, `{"items":[{"kind":"","subject":"","version":18446744073709551615}]}`},           // max uint64
		{QueryProof, `{"leaf_index":0,"height":2}`},                                                     // a real proof
		{QueryProof, `{"leaf_index":18446744073709551615,"height":9223372036854775807}`},                // out of range
		{QueryProof, `{"leaf_index":-1,"height":-1}`},                                                   // negative numbers
		{QueryWriter, `{"id":"` + strings.Repeat("A", 43) + `"}`},                                       // unknown writer
		{QueryWriter, `{"id":"../../etc"}`},                                                             // not an ID
		{QueryLatest, `{"kind":"did-document","subject":"did:ssi:issuer-1","height":0}`},                // a latest-version proof
		{QueryLatest, `{"kind":"did-document","subject":"did:ssi:nobody","height":1}`},                  // an exclusion proof at an old height
		{QueryLatest, `{"kind":"did-document","subject":"did:ssi:issuer-1","height":-5}`},               // a negative height
		{"/unknown", `{}`}, // unknown path
		{QueryEntries, `{"items":[` + strings.Repeat(`{},`, 100) + `{}]}`}, // many empty refs
	} {
		f.Add(seed.path, []byte(seed.data))
	}
	op := newEdSigner(f)
	ta := newTestApp(f, op)
	ta.block(ta.anchor(op, didEntry(1, 1), didEntry(1, 2), didEntry(2, 1)))
	f.Fuzz(func(t *testing.T, path string, data []byte) {
		res, err := ta.app.Query(context.Background(), &abci.RequestQuery{Path: path, Data: data})
		if err != nil {
			t.Fatalf("query error: %v", err)
		}
		if res.Code != 0 && (res.Codespace != Codespace || res.Log == "" || res.Log == ErrInternal.Code) {
			t.Fatalf("query failed without a code: %+v", res)
		}
	})
}
