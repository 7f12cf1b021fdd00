package main

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// credentialView is what the status and re-issuance tests read of a credential.
type credentialView struct {
	ID        string
	Status    string
	Copies    int
	Unused    int    `json:"unused_copies"`
	LowCopies bool   `json:"low_copies"`
	KeyMode   string `json:"key_mode"`
}

// listed returns a's credentials by id.
func (d *devHolder) listed(t *testing.T, tok string) map[string]credentialView {
	t.Helper()
	var list struct{ Credentials []credentialView }
	code, b := d.call(http.MethodGet, "/wallet/v1/credentials", tok, nil, &list)
	require.Equal(t, http.StatusOK, code, string(b))
	out := map[string]credentialView{}
	for _, c := range list.Credentials {
		out[c.ID] = c
	}
	return out
}

// TestHolderReissuesLowCopies, both key modes, over real HTTP with our
// issuer and verifier: a credential of two copies shown once says so in
// the consent (low_copies on its candidate), in the accept's answer and in
// the list; the agency's new offer, redeemed with replaces (OpenID4VCI 1.0
// "Refreshing Issued Credentials": our issuer spends an access token on
// one request and gives no refresh token, so re-issuance is a new offer),
// stores a new batch with fresh keys (the phone's, through prepare and
// submit), the old credential becomes refreshed and is no longer offered
// to a verifier, and the new one answers instead. Replacing another
// account's credential is 404 and spends nothing; replacing a refreshed
// one is invalid_replaces.
func TestHolderReissuesLowCopies(t *testing.T) {
	d := newDevHolder(t)
	venue := venueClient{base: d.url, key: d.venue}
	for _, mode := range []string{"cloud", "device"} {
		t.Run(mode, func(t *testing.T) {
			tok := d.citizen("ada-" + mode)
			subject := "citizen-ada-" + mode
			var ph *phone
			var c walletCredential
			if mode == "device" {
				ph = newPhone(t, 2)
				c = d.receive(t, tok, subject, ph)
			} else {
				c = d.redeemCopies(t, tok, subject, 2)
			}
			require.Equal(t, 2, c.Copies)
			assert.False(t, d.listed(t, tok)[c.ID].LowCopies, "two fresh copies")

			_, uri := venue.create(t, "direct_post")
			var cd struct {
				ID      string
				Queries []struct {
					Candidates []struct {
						CredentialID string `json:"credential_id"`
						FreshCopies  int    `json:"fresh_copies"`
						LowCopies    bool   `json:"low_copies"`
					}
				}
			}
			code, b := d.call(http.MethodPost, "/wallet/v1/presentations", tok, map[string]any{"authorization_request_uri": uri}, &cd)
			require.Equal(t, http.StatusCreated, code, string(b))
			require.Len(t, cd.Queries, 1)
			require.Len(t, cd.Queries[0].Candidates, 1)
			assert.Equal(t, 2, cd.Queries[0].Candidates[0].FreshCopies)
			assert.True(t, cd.Queries[0].Candidates[0].LowCopies, "showing it leaves one fresh copy: the consent says so")
			var sent struct {
				Status    string
				LowCopies []string `json:"low_copies"`
				ToSign    []toSign `json:"to_sign"`
			}
			code, b = d.call(http.MethodPost, "/wallet/v1/presentations/"+cd.ID+"/accept", tok, map[string]any{"choices": map[string]string{"pass": c.ID}}, &sent)
			if ph != nil {
				require.Equal(t, http.StatusAccepted, code, string(b))
				assert.Equal(t, []string{c.ID}, sent.LowCopies)
				code, b = d.call(http.MethodPost, "/wallet/v1/presentations/"+cd.ID+"/submit", tok, map[string]any{"signatures": ph.sign(t, sent.ToSign)}, &sent)
				require.Equal(t, http.StatusOK, code, string(b))
			} else {
				require.Equal(t, http.StatusOK, code, string(b))
				assert.Equal(t, []string{c.ID}, sent.LowCopies)
			}
			require.Equal(t, "sent", sent.Status)
			low := d.listed(t, tok)[c.ID]
			assert.True(t, low.LowCopies)
			assert.Equal(t, 1, low.Unused)

			// The agency's new offer. Another account cannot replace ada's
			// credential with it, and the refusal does not spend it.
			o := d.offer(subject)
			other := d.citizen("eve-" + mode)
			code, b = d.call(http.MethodPost, "/wallet/v1/offers", other, map[string]any{"offer_uri": o.OfferURI, "tx_code": o.TxCode, "replaces": c.ID}, nil)
			assert.Equal(t, http.StatusNotFound, code, string(b))

			var fresh walletCredential
			ph2 := newPhone(t, 3)
			if ph == nil {
				code, b = d.call(http.MethodPost, "/wallet/v1/offers", tok, map[string]any{"offer_uri": o.OfferURI, "tx_code": o.TxCode, "copies": 3, "replaces": c.ID}, &fresh)
				require.Equal(t, http.StatusCreated, code, string(b))
			} else {
				var p struct {
					ID     string
					ToSign []toSign `json:"to_sign"`
				}
				code, b = d.call(http.MethodPost, "/wallet/v1/offers", tok, map[string]any{"offer_uri": o.OfferURI, "tx_code": o.TxCode,
					"key_mode": "device", "device_keys": ph2.jwks(t), "replaces": c.ID}, &p)
				require.Equal(t, http.StatusAccepted, code, string(b))
				require.Len(t, p.ToSign, 3)
				assert.Equal(t, "valid", d.listed(t, tok)[c.ID].Status, "replaced only once the new batch is stored")
				code, b = d.call(http.MethodPost, "/wallet/v1/offers/"+p.ID+"/submit", tok, map[string]any{"signatures": ph2.sign(t, p.ToSign)}, &fresh)
				require.Equal(t, http.StatusCreated, code, string(b))
			}
			assert.NotEqual(t, c.ID, fresh.ID)
			assert.Equal(t, 3, fresh.Copies)
			assert.Equal(t, mode, fresh.KeyMode)
			d.waitValid(t, tok, fresh.ID)
			all := d.listed(t, tok)
			assert.Equal(t, "refreshed", all[c.ID].Status, "replaced by the newer batch")
			assert.Equal(t, "valid", all[fresh.ID].Status)
			assert.False(t, all[fresh.ID].LowCopies)
			var detail walletCredential
			code, _ = d.call(http.MethodGet, "/wallet/v1/credentials/"+c.ID, tok, nil, &detail)
			require.Equal(t, http.StatusOK, code)
			assert.Equal(t, "refreshed", detail.Status, "the detail too, without a status list read overriding it")

			// A refreshed credential cannot be replaced again.
			o2 := d.offer(subject)
			code, b = d.call(http.MethodPost, "/wallet/v1/offers", tok, map[string]any{"offer_uri": o2.OfferURI, "tx_code": o2.TxCode, "replaces": c.ID}, nil)
			assert.Equal(t, http.StatusBadRequest, code, string(b))
			assert.Contains(t, string(b), `"code":"invalid_replaces"`)

			// The next verifier is offered the new batch, not the refreshed one.
			_, uri = venue.create(t, "direct_post")
			code, b = d.call(http.MethodPost, "/wallet/v1/presentations", tok, map[string]any{"authorization_request_uri": uri}, &cd)
			require.Equal(t, http.StatusCreated, code, string(b))
			require.Len(t, cd.Queries[0].Candidates, 1, string(b))
			assert.Equal(t, fresh.ID, cd.Queries[0].Candidates[0].CredentialID)
			assert.Equal(t, 3, cd.Queries[0].Candidates[0].FreshCopies)
			assert.False(t, cd.Queries[0].Candidates[0].LowCopies)
		})
	}
}
