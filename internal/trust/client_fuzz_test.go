package trust

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/psr"
)

// fuzzClient pins one random validator: nothing a fuzzer makes can carry
// its signature, so every input must be refused, with a code.
func fuzzClient(f *testing.F) *Client {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return NewClient("http://127.0.0.1:1", Options{
		Trust: Trust{ChainID: "fuzz", Validators: []TrustedValidator{{PubKey: pub, Power: 10}}},
		Now:   func() time.Time { return now },
		HTTP:  nil,
	})
}

const fuzzDID = "did:psr:7Xa5Gk1mQe3yFzT9pWcN2hR8vJbL4sD6uKqH1oYiM3n"

// FuzzVerifyResolution feeds arbitrary registry answers to the client's
// resolution check: it never panics, and refuses everything with a code.
func FuzzVerifyResolution(f *testing.F) {
	c := fuzzClient(f)
	for _, seed := range []string{
		``,     // empty body
		`null`, // JSON null
		`{"didDocument":{},"didDocumentMetadata":{}}`,                                                                    // no version
		`{"didDocument":{},"didDocumentMetadata":{"versionId":"0"}}`,                                                     // version 0
		`{"didDocument":{},"didDocumentMetadata":{"versionId":"99999999999999999999"}}`,                                  // version overflow
		`{"didDocument":{"id":"` + fuzzDID + `"},"didDocumentMetadata":{"versionId":"1","anchor":{"status":"pending"}}}`, // not anchored
		`{"didDocument":{"id":"` + fuzzDID + `"},"didDocumentMetadata":{"versionId":"1","anchor":{"status":"anchored","receipt":{"entry":{"kind":"did-document","subject":"` + fuzzDID + `","version":1,"sha256":"00"}}}}}`, // receipt for other content
		`{"didDocument":{"id":"` + fuzzDID + `"},"didDocumentMetadata":{"versionId":"2","anchor":{"status":"anchored","receipt":{},"latest":{"state":{}},"next":{}}}}`,                                                      // empty proofs
		`{"didDocument":[1,2,3],"didDocumentMetadata":{"versionId":"1","anchor":{"status":"anchored","receipt":{"signed_header":"AAAA"}}}}`,                                                                                 // garbage header
	} {
		f.Add([]byte(seed), false, int64(0))
	}
	f.Fuzz(func(t *testing.T, body []byte, gone bool, at int64) {
		var when time.Time
		if at != 0 {
			when = time.Unix(at%(1<<40), 0).UTC()
		}
		res, _, err := c.verifyResolution(fuzzDID, when, gone, body, nil)
		if err == nil || errs.CodeOf(err) == "" {
			t.Fatalf("accepted or refused without a code: %v %v", res, err)
		}
	})
}

// FuzzDecisionEvidence feeds arbitrary decision answers to the client's
// evidence checks: they never panic and refuse every record they cannot
// verify (a record served as pending counts for nothing, so a decision
// from only those is negative).
func FuzzDecisionEvidence(f *testing.F) {
	c := fuzzClient(f)
	for _, seed := range []string{
		`{}`,                // no evidence
		`{"evidence":null}`, // null evidence
		`{"evidence":[{"record":"e30=","anchor":{"status":"pending"}}]}`,                                                                                          // one pending record ({})
		`{"evidence":[{"record":"e30=","anchor":{"status":"anchored"}}]}`,                                                                                         // anchored without a receipt
		`{"evidence":[{"record":"eyJpZCI6ImFjY18xIiwidmVyc2lvbiI6MX0=","anchor":{"status":"anchored","receipt":{},"latest":{},"next":{}},"next_record":"e30="}]}`, // a record with empty proofs
		`{"evidence":[{"record":"!!","anchor":{}}]}`,                                                                                                              // not base64
	} {
		f.Add([]byte(seed))
	}
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := parseEvidence(body)
		if err != nil {
			if errs.CodeOf(err) == "" {
				t.Fatalf("refused without a code: %v", err)
			}
			return
		}
		d, err := c.decideAccreditation(ev, fuzzDID, "https://vct.example", at, nil)
		if err == nil && d.Accredited {
			t.Fatalf("accredited from unverifiable records: %+v", d)
		}
		if err != nil && errs.CodeOf(err) == "" {
			t.Fatalf("refused without a code: %v", err)
		}
		rp, err := c.decideRP(context.Background(), ev, fuzzDID, "https://vct.example", []string{"a"}, nil)
		if err == nil && rp.Within {
			t.Fatalf("allowed from unverifiable records: %+v", rp)
		}
		if err != nil && errs.CodeOf(err) == "" {
			t.Fatalf("refused without a code: %v", err)
		}
	})
}

// FuzzVerifyStatusList feeds arbitrary issuer answers to the client's
// status-list check: it never panics, and refuses everything with a code.
func FuzzVerifyStatusList(f *testing.F) {
	c := fuzzClient(f)
	for _, seed := range []string{
		`{}`, // nothing
		`{"version":1,"token":"a.b.c","anchor":{"status":"anchored"}}`,                        // not a JWS
		`{"version":1,"token":"eyJhbGciOiJFUzI1NiJ9.e30.AAAA","anchor":{"status":"pending"}}`, // a JWS-shaped token, pending
		`{"version":0,"token":"","anchor":{}}`,                                                // empty
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, err := c.verifyStatusList(context.Background(), "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
			"https://issuer.example/status/1", body)
		if err == nil || errs.CodeOf(err) == "" {
			t.Fatalf("accepted or refused without a code: %v", err)
		}
	})
}

// FuzzReplay feeds arbitrary chains of operations (one compact JWS a line)
// to replay: it never panics, refuses with a code, and accepts only a
// chain that starts with the DID's own create operation, signed as the
// method requires; the seeds include a genuine two-version chain.
func FuzzReplay(f *testing.F) {
	ctl, err := keys.Generate(keys.ES256)
	if err != nil {
		f.Fatal(err)
	}
	create, d, err := psr.SignCreate(ctl, "ctl-1", nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	other, err := keys.Generate(keys.ES256)
	if err != nil {
		f.Fatal(err)
	}
	vm, err := psr.VMFor("sign-1", other, psr.PurposeAssertionMethod)
	if err != nil {
		f.Fatal(err)
	}
	update, err := psr.SignOp(ctl, "ctl-1", psr.Operation{Op: "update", DID: d, Version: 2, AddVerificationMethod: []psr.VMInput{vm}})
	if err != nil {
		f.Fatal(err)
	}
	forged, err := psr.SignOp(other, "sign-1", psr.Operation{Op: "update", DID: d, Version: 2, AddVerificationMethod: []psr.VMInput{vm}})
	if err != nil {
		f.Fatal(err)
	}
	sums, err := replay(d, []string{create, update})
	if err != nil || len(sums) != 2 {
		f.Fatalf("the genuine chain does not replay: %v", err)
	}
	f.Add(create + "\n" + update) // genuine: create, then an update by the controller
	f.Add(create)                 // genuine: create only
	f.Add(create + "\n" + forged) // an update signed by a key that is not a controller
	f.Add(update)                 // no create operation
	f.Add(create + "\n" + create) // create twice
	f.Add("")                     // nothing
	f.Fuzz(func(t *testing.T, chain string) {
		ops := strings.Split(chain, "\n")
		got, err := replay(d, ops)
		if err != nil {
			if errs.CodeOf(err) == "" {
				t.Fatalf("refused without a code: %v", err)
			}
			return
		}
		if len(got) != len(ops) || got[0] != sums[0] {
			t.Fatalf("accepted a chain that does not start with the DID's create: %d sums", len(got))
		}
	})
}
