package holder

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"testing"

	"github.com/ssi-project/ssi/internal/dcql"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/oid4vp"
)

// FuzzConsent: whatever DCQL query a verifier signs, the wallet's reading
// of it (the claim names asked per vct, checked against the registration,
// and the consent document) never panics, and asks the registration about
// every claim any credential query names.
func FuzzConsent(f *testing.F) {
	for _, seed := range []string{
		`{"credentials":[{"id":"pass","format":"dc+sd-jwt","meta":{"vct_values":["urn:v"]},"claims":[{"path":["given_name"]}]}]}`,                                 // one claim
		`{"credentials":[{"id":"a","format":"dc+sd-jwt","meta":{"vct_values":["urn:v","urn:w"]},"claims":[{"id":"x","path":["a","b",0]}],"claim_sets":[["x"]]}]}`, // nested path, two vcts
		`{"credentials":[{"id":"m","format":"mso_mdoc","meta":{"doctype_value":"x"}}]}`,                                                                           // another format: no vct
		`{"credentials":[{"id":"p","format":"dc+sd-jwt","meta":{"vct_values":["urn:v"]}}],"credential_sets":[{"options":[["p"]],"required":false}]}`,              // optional set, no claims
	} {
		f.Add([]byte(seed))
	}
	cred := dcql.Credential{Format: oid4vp.FormatSDJWTVC, VCT: "urn:v", KeyBound: true,
		Claims: map[string]any{"given_name": "Ada", "a": map[string]any{"b": []any{"c"}}}}
	f.Fuzz(func(t *testing.T, b []byte) {
		q, err := dcql.Parse(b)
		if err != nil {
			return
		}
		asked := askedClaims(q)
		cqs := consentQueries(q, asked)
		if len(cqs) != len(q.Credentials) {
			t.Fatalf("%d consent queries for %d credential queries", len(cqs), len(q.Credentials))
		}
		for i, cq := range q.Credentials {
			vcts := cq.VCTValues
			if len(vcts) == 0 {
				vcts = []string{""}
			}
			for _, v := range vcts {
				for _, c := range cqs[i].Claims {
					if !slices.Contains(asked[v], c) {
						t.Fatalf("claim %q of vct %q is not checked against the registration", c, v)
					}
				}
			}
		}
		_ = q.Candidates([]dcql.Credential{cred})
	})
}

// FuzzTransactionData: whatever transaction_data a verifier signs (the
// request object's claim, as JSON), the wallet's check never panics, and
// what it accepts is only of a known type, names only queries of the
// request, and hashes into one transaction_data_hashes entry per object
// when its query is chosen.
func FuzzTransactionData(f *testing.F) {
	q, err := dcql.Parse([]byte(`{"credentials":[{"id":"pass","format":"dc+sd-jwt","meta":{"vct_values":["urn:v"]}}]}`))
	if err != nil {
		f.Fatal(err)
	}
	ok := `{"type":"urn:ssi:transaction-data:confirmation:1","credential_ids":["pass"],"reference":"r","summary":"s"}`
	for _, seed := range []string{
		`["` + base64.RawURLEncoding.EncodeToString([]byte(ok)) + `"]`,
		`["` + base64.RawURLEncoding.EncodeToString([]byte(`{"type":"payment","credential_ids":["pass"]}`)) + `"]`,
		`["` + base64.RawURLEncoding.EncodeToString([]byte(`{"type":"urn:ssi:transaction-data:confirmation:1","credential_ids":["pass"],"transaction_data_hashes_alg":["sha-256"],"reference":"r","summary":"s","amount":"1"}`)) + `"]`,
		`[]`, `"x"`, `[1]`, `["!!"]`, `["e30"]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v any
		if json.Unmarshal(b, &v) != nil {
			return
		}
		tds, err := parseTransactionData(jose.Claims{"transaction_data": v}, q, DefaultTransactionDataTypes)
		if err != nil {
			if errs.CodeOf(err) != "invalid_transaction_data" {
				t.Fatalf("refused with %q", errs.CodeOf(err))
			}
			return
		}
		for _, td := range tds {
			if td.view.Type != ConfirmationType.Type || slices.ContainsFunc(td.CredentialIDs, func(id string) bool { return id != "pass" }) {
				t.Fatalf("accepted %+v", td)
			}
		}
		if got := hashesFor(tds, map[string]string{"pass": "c"}, "pass"); len(got.Hashes) != len(tds) {
			t.Fatalf("%d hashes for %d transactions", len(got.Hashes), len(tds))
		}
	})
}
