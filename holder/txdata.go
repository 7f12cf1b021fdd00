package holder

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/ssi-project/ssi/internal/dcql"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/jsonx"
)

// Transaction data (OpenID4VP 1.0 §5.1 transaction_data, §8.4 and the
// SD-JWT VC profile of Appendix B.3.3). A request may carry transaction
// data objects, each a base64url JSON object with a type, the credential
// queries that may authorize it (credential_ids) and, optionally, the hash
// algorithms the verifier accepts (transaction_data_hashes_alg). The wallet
// takes only the types it understands (Config.TransactionDataTypes) with
// exactly their fields, shows them in the consent, and binds each one it
// authorizes into the KB-JWT of the presentation that authorizes it:
// transaction_data_hashes, the base64url SHA-256 of the string as received
// (not decoded), with transaction_data_hashes_alg "sha-256" when the
// request named algorithms. Anything else is refused with
// invalid_transaction_data, to the app and to the verifier (§8.5).

// TransactionDataType is a transaction data type the wallet understands:
// the fields its objects carry beyond type, credential_ids and
// transaction_data_hashes_alg, each with its JSON type (string, number or
// boolean), and which of them are required. An object with another field,
// a field of another type or without a required one is refused.
type TransactionDataType struct {
	Type     string
	Fields   map[string]string
	Required []string
}

// ConfirmationType is ssi's transaction data type: the citizen confirms
// what summary says (a benefits application, a payment, …) under the
// verifier's reference, with the credential that identifies them; amount
// and currency, when given, are shown with it.
var ConfirmationType = TransactionDataType{
	Type:     "urn:ssi:transaction-data:confirmation:1",
	Fields:   map[string]string{"reference": "string", "summary": "string", "amount": "string", "currency": "string"},
	Required: []string{"reference", "summary"},
}

// DefaultTransactionDataTypes are the types of a Config that names none.
var DefaultTransactionDataTypes = []TransactionDataType{ConfirmationType}

// Limits of transaction data.
const (
	maxTransactionData = 16
	txHashAlg          = "sha-256" // the one the wallet computes (§B.3.3: every wallet supports it)
)

// ConsentTransaction is a transaction the request asks the citizen to
// authorize, as the consent shows it.
type ConsentTransaction struct {
	Type          string         `json:"type"`
	CredentialIDs []string       `json:"credential_ids"`
	Fields        map[string]any `json:"fields"`
}

// txData is one transaction data object of a request, checked.
type txData struct {
	Raw           string   `json:"raw"` // as received: what is hashed
	CredentialIDs []string `json:"credential_ids"`
	NamedAlgs     bool     `json:"named_algs"` // the request carried transaction_data_hashes_alg
	view          ConsentTransaction
}

// parseTransactionData checks the transaction_data of the request object
// claims c against q and the known types: none (nil), or a non-empty
// array of at most 16 base64url JSON objects, each of a known type with
// exactly its fields, credential_ids naming queries of q that require
// holder binding, and, when it names hash algorithms, sha-256 among them.
// Errors: ErrTransactionData with what is wrong.
func parseTransactionData(c jose.Claims, q *dcql.Query, types []TransactionDataType) ([]txData, error) {
	raw, ok := c["transaction_data"]
	if !ok {
		return nil, nil
	}
	list, ok := raw.([]any)
	if !ok || len(list) == 0 || len(list) > maxTransactionData {
		return nil, ErrTransactionData.With(fmt.Sprintf("transaction_data must be an array of 1 to %d strings", maxTransactionData), nil)
	}
	queries := map[string]dcql.CredentialQuery{}
	for _, cq := range q.Credentials {
		queries[cq.ID] = cq
	}
	out := make([]txData, 0, len(list))
	for i, v := range list {
		s, ok := v.(string)
		if !ok {
			return nil, ErrTransactionData.With(fmt.Sprintf("transaction_data[%d] is not a string", i), nil)
		}
		td, err := parseTxObject(s, queries, types)
		if err != nil {
			return nil, ErrTransactionData.With(fmt.Sprintf("transaction_data[%d] %s", i, err), nil)
		}
		out = append(out, td)
	}
	return out, nil
}

func parseTxObject(s string, queries map[string]dcql.CredentialQuery, types []TransactionDataType) (txData, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return txData{}, fmt.Errorf("is not base64url")
	}
	// One reading only: encoding/json takes the last of duplicate members
	// and text after the value, which a verifier may read otherwise.
	if err := jsonx.Check(b, jsonx.MaxDepth); err != nil {
		return txData{}, fmt.Errorf("is not one JSON object without duplicate members")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return txData{}, fmt.Errorf("is not a JSON object")
	}
	typ, _ := obj["type"].(string)
	i := slices.IndexFunc(types, func(t TransactionDataType) bool { return t.Type == typ })
	if i < 0 {
		return txData{}, fmt.Errorf("has a type this wallet does not support")
	}
	tt := types[i]
	td := txData{Raw: s, view: ConsentTransaction{Type: typ, Fields: map[string]any{}}}
	ids, ok := stringArray(obj["credential_ids"])
	if !ok {
		return txData{}, fmt.Errorf("needs credential_ids, a non-empty array of strings")
	}
	for _, id := range ids {
		cq, ok := queries[id]
		switch {
		case !ok:
			return txData{}, fmt.Errorf("names a credential query the request does not have")
		case !cq.RequireHolderBinding:
			return txData{}, fmt.Errorf("names a credential query without cryptographic holder binding")
		}
	}
	td.CredentialIDs, td.view.CredentialIDs = ids, ids
	if a, present := obj["transaction_data_hashes_alg"]; present {
		algs, ok := stringArray(a)
		if !ok || !slices.Contains(algs, txHashAlg) {
			return txData{}, fmt.Errorf("names no hash algorithm this wallet supports (sha-256)")
		}
		td.NamedAlgs = true
	}
	for name, v := range obj {
		switch name {
		case "type", "credential_ids", "transaction_data_hashes_alg":
			continue
		}
		want, known := tt.Fields[name]
		if !known {
			return txData{}, fmt.Errorf("has a field its type does not define")
		}
		if !jsonTypeIs(v, want) {
			return txData{}, fmt.Errorf("has a field of the wrong type")
		}
		td.view.Fields[name] = v
	}
	for _, name := range tt.Required {
		if _, ok := obj[name]; !ok {
			return txData{}, fmt.Errorf("lacks a field its type requires")
		}
	}
	return td, nil
}

func stringArray(v any) ([]string, bool) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return nil, false
	}
	out := make([]string, len(list))
	for i, e := range list {
		if out[i], ok = e.(string); !ok || out[i] == "" {
			return nil, false
		}
	}
	return out, true
}

func jsonTypeIs(v any, want string) bool {
	switch v.(type) {
	case string:
		return want == "string"
	case json.Number:
		return want == "number"
	case bool:
		return want == "boolean"
	}
	return false
}

// authorizer is the query whose presentation authorizes td given the
// citizen's choices: the first of its credential_ids chosen (§5.1: only
// one of them), "" when none is.
func (td txData) authorizer(choices map[string]string) string {
	for _, id := range td.CredentialIDs {
		if _, ok := choices[id]; ok {
			return id
		}
	}
	return ""
}

// txHashes is what a KB-JWT carries of the transactions it authorizes.
type txHashes struct {
	Hashes []string
	Alg    string // "" unless a request object named algorithms
}

// hashesFor are the transaction_data_hashes of the presentation for query
// qid: each transaction qid authorizes, in the request's order.
func hashesFor(tds []txData, choices map[string]string, qid string) txHashes {
	var out txHashes
	for _, td := range tds {
		if td.authorizer(choices) != qid {
			continue
		}
		h := sha256.Sum256([]byte(td.Raw))
		out.Hashes = append(out.Hashes, base64.RawURLEncoding.EncodeToString(h[:]))
		if td.NamedAlgs {
			out.Alg = txHashAlg
		}
	}
	return out
}

// unavailableTx reports whether a transaction has no credential query
// with a candidate in the wallet (offered: query id → has one) (§8.5: "the referenced Credential(s) are
// not available in the Wallet").
func unavailableTx(tds []txData, offered map[string]bool) bool {
	for _, td := range tds {
		if !slices.ContainsFunc(td.CredentialIDs, func(id string) bool { return offered[id] }) {
			return true
		}
	}
	return false
}

// consentTransactions are the transactions as the consent shows them.
func consentTransactions(tds []txData) []ConsentTransaction {
	out := make([]ConsentTransaction, len(tds))
	for i, td := range tds {
		out[i] = td.view
	}
	return out
}
