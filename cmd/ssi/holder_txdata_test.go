package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/oid4vp"
	"github.com/ssi-project/ssi/internal/sdjwt"
)

// withTransactionData makes h add transaction_data (the base64url
// strings tds) to every request object our verifier serves through it,
// re-signed with the venue's key (our verifier's own): a verifier asking
// a transaction of the wallet. nil stops.
func withTransactionData(t *testing.T, h *hostileIssuer, venue keys.Signer, tds []string) {
	t.Helper()
	if tds == nil {
		h.mutate.Store(nil)
		return
	}
	m := func(path string, b []byte) []byte {
		if !strings.HasPrefix(path, "/verifier/") || strings.Count(string(b), ".") != 2 {
			return b
		}
		j, err := jose.ParseUnverified(string(b), 0)
		if err != nil || j.Header.Typ != oid4vp.TypRequestObject {
			return b
		}
		claims, err := j.Claims()
		require.NoError(t, err)
		list := make([]any, len(tds))
		for i, td := range tds {
			list[i] = td
		}
		claims["transaction_data"] = list
		payload, err := json.Marshal(claims)
		require.NoError(t, err)
		signed, err := jose.Sign(venue, map[string]any{"typ": oid4vp.TypRequestObject, "kid": j.Header.Kid}, payload)
		require.NoError(t, err)
		return []byte(signed)
	}
	h.mutate.Store(&m)
}

// txObject is the base64url of a transaction data object.
func txObject(t *testing.T, obj map[string]any) string {
	b, err := json.Marshal(obj)
	require.NoError(t, err)
	return base64.RawURLEncoding.EncodeToString(b)
}

// TestHolderTransactionData, both key modes, over real HTTP with our
// issuer and our verifier: a request of our verifier carrying a
// transaction of the type the wallet understands (ssi's confirmation) is
// shown in the consent with its fields; the accepted presentation's KB-JWT
// binds it (transaction_data_hashes: the SHA-256 of the string as sent,
// and transaction_data_hashes_alg sha-256 as the request named it, OpenID4VP
// 1.0 Appendix B.3.3), and our verifier says green. A request whose
// transaction data the wallet cannot honour (an unknown type or field, a
// field of the wrong type, a required one missing, credential_ids naming
// no query, no supported hash algorithm, no credential in the wallet to
// authorize it) is refused with invalid_transaction_data, and the verifier
// receives that error and no presentation.
func TestHolderTransactionData(t *testing.T) {
	h := newHostileIssuer(t) // an honest proxy that adds the transaction data
	d := newDevHolderBehind(t, h)
	vv := venueClient{base: d.url, key: d.venue}
	venue, _, _ := venueKey(t, d.dir)
	confirm := map[string]any{"type": "urn:ssi:transaction-data:confirmation:1", "credential_ids": []string{"pass"},
		"transaction_data_hashes_alg": []string{"sha-256"}, "reference": "TX-42", "summary": "Entry to the match, seat 12F", "amount": "35.00", "currency": "EUR"}
	for _, mode := range []string{"cloud", "device"} {
		t.Run(mode, func(t *testing.T) {
			tok := d.citizen("ada-" + mode)
			var ph *phone
			if mode == "device" {
				ph = newPhone(t, 3)
			}
			c := d.receive(t, tok, "citizen-ada-"+mode, ph)
			td := txObject(t, confirm)
			withTransactionData(t, h, venue, []string{td})
			defer withTransactionData(t, h, venue, nil)

			id, uri := vv.create(t, "direct_post")
			var cd struct {
				ID              string
				TransactionData []struct {
					Type          string
					CredentialIDs []string `json:"credential_ids"`
					Fields        map[string]any
				} `json:"transaction_data"`
			}
			code, b := d.call(http.MethodPost, "/wallet/v1/presentations", tok, map[string]any{"authorization_request_uri": uri}, &cd)
			require.Equal(t, http.StatusCreated, code, string(b))
			require.Len(t, cd.TransactionData, 1, "the consent shows the transaction")
			assert.Equal(t, "urn:ssi:transaction-data:confirmation:1", cd.TransactionData[0].Type)
			assert.Equal(t, []string{"pass"}, cd.TransactionData[0].CredentialIDs)
			assert.Equal(t, map[string]any{"reference": "TX-42", "summary": "Entry to the match, seat 12F", "amount": "35.00", "currency": "EUR"}, cd.TransactionData[0].Fields)

			before := len(h.bodies("/verifier/v1/responses/"))
			var sent struct {
				Status string
				ToSign []toSign `json:"to_sign"`
			}
			code, b = d.call(http.MethodPost, "/wallet/v1/presentations/"+cd.ID+"/accept", tok, map[string]any{"choices": map[string]string{"pass": c.ID}}, &sent)
			if ph != nil {
				require.Equal(t, http.StatusAccepted, code, string(b))
				code, b = d.call(http.MethodPost, "/wallet/v1/presentations/"+cd.ID+"/submit", tok, map[string]any{"signatures": ph.sign(t, sent.ToSign)}, &sent)
			}
			require.Equal(t, http.StatusOK, code, string(b))
			require.Equal(t, "sent", sent.Status)
			v := vv.result(t, id)
			require.Equal(t, "green", v["verdict"], v)
			bs := h.bodies("/verifier/v1/responses/")
			require.Len(t, bs, before+1)
			_, kb := passPresentation(t, bs[len(bs)-1], func(p sdjwt.Parts) string { return p.KBJWT })
			sum := sha256.Sum256([]byte(td))
			assert.Equal(t, []any{base64.RawURLEncoding.EncodeToString(sum[:])}, kb["transaction_data_hashes"], "the hash of the string as sent")
			assert.Equal(t, "sha-256", kb["transaction_data_hashes_alg"])
		})
	}

	tok := d.citizen("bob")
	d.receive(t, tok, "citizen-bob", nil)
	empty := d.citizen("carol") // no credential at all
	with := func(edit func(m map[string]any)) string {
		m := map[string]any{}
		for k, v := range confirm {
			m[k] = v
		}
		edit(m)
		return txObject(t, m)
	}
	for _, tc := range []struct {
		name, account string
		td            string
	}{
		{"an unknown type", tok, with(func(m map[string]any) { m["type"] = "payment" })},
		{"a field the type does not define", tok, with(func(m map[string]any) { m["payee"] = "someone" })},
		{"a field of the wrong type", tok, with(func(m map[string]any) { m["amount"] = 35 })},
		{"a required field missing", tok, with(func(m map[string]any) { delete(m, "summary") })},
		{"credential_ids naming no query", tok, with(func(m map[string]any) { m["credential_ids"] = []string{"passport"} })},
		{"no supported hash algorithm", tok, with(func(m map[string]any) { m["transaction_data_hashes_alg"] = []string{"sha-512"} })},
		{"not base64url JSON", tok, "not*base64"},
		{"no credential to authorize it", empty, with(func(m map[string]any) {})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			withTransactionData(t, h, venue, []string{tc.td})
			defer withTransactionData(t, h, venue, nil)
			_, uri := vv.create(t, "direct_post")
			before := len(h.bodies("/verifier/v1/responses/"))
			code, b := d.call(http.MethodPost, "/wallet/v1/presentations", tc.account, map[string]any{"authorization_request_uri": uri}, nil)
			assert.Equal(t, http.StatusBadRequest, code, string(b))
			assert.Contains(t, string(b), `"code":"invalid_transaction_data"`)
			bs := h.bodies("/verifier/v1/responses/")
			require.Len(t, bs, before+1, "the verifier is told")
			f, err := url.ParseQuery(bs[len(bs)-1])
			require.NoError(t, err)
			assert.Equal(t, "invalid_transaction_data", f.Get("error"))
			assert.Empty(t, f.Get("vp_token"), "and receives no presentation")
		})
	}
}
