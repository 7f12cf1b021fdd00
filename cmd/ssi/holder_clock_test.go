package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
)

// TestHolderAllowsIssuerClockAhead: the issuer's clock runs ahead of the
// wallet's (its credentials come with an iat in the wallet's future). 10 s
// ahead is within the skew the wallet allows (receiveSkew) and the
// credential is stored; 45 s ahead is not_yet_valid and nothing is stored.
// The hostile-issuer proxy re-signs each credential of the issuer's answer
// with the agency's real issuing key, its iat moved.
func TestHolderAllowsIssuerClockAhead(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ssi dev")
	}
	h := newHostileIssuer(t)
	d := newDevHolderBehind(t, h)
	ada := d.citizen("ada")
	signer := sealedKey(t, d.dir, "health-issuing")
	for _, c := range []struct {
		name   string
		ahead  time.Duration
		stored bool
	}{
		{"10 s ahead", 10 * time.Second, true},
		{"45 s ahead", 45 * time.Second, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			mutate := func(path string, b []byte) []byte {
				if !strings.HasSuffix(path, "/credential") {
					return b
				}
				return withIatAhead(t, b, signer, c.ahead)
			}
			h.mutate.Store(&mutate)
			defer h.mutate.Store(nil)
			var before struct{ Credentials []walletCredential }
			code, _ := d.call(http.MethodGet, "/wallet/v1/credentials", ada, nil, &before)
			require.Equal(t, http.StatusOK, code)
			o := d.offer("citizen-ada-" + strings.ReplaceAll(c.name, " ", "-"))
			code, b := d.call(http.MethodPost, "/wallet/v1/offers", ada, map[string]any{"offer_uri": o.OfferURI, "tx_code": o.TxCode, "copies": 2}, nil)
			var after struct{ Credentials []walletCredential }
			listed, _ := d.call(http.MethodGet, "/wallet/v1/credentials", ada, nil, &after)
			require.Equal(t, http.StatusOK, listed)
			if c.stored {
				assert.Equal(t, http.StatusCreated, code, string(b))
				assert.Len(t, after.Credentials, len(before.Credentials)+1)
				return
			}
			assert.Equal(t, http.StatusUnprocessableEntity, code, string(b))
			assert.Contains(t, string(b), "not_yet_valid")
			assert.Len(t, after.Credentials, len(before.Credentials), "nothing stored")
		})
	}
}

// withIatAhead re-signs every credential of an OpenID4VCI credential
// response with signer, its iat moved ahead by d.
func withIatAhead(t *testing.T, body []byte, signer keys.Signer, d time.Duration) []byte {
	var r map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if dec.Decode(&r) != nil {
		return body
	}
	creds, _ := r["credentials"].([]any)
	for _, ci := range creds {
		c, _ := ci.(map[string]any)
		sd, _ := c["credential"].(string)
		jwt, rest, _ := strings.Cut(sd, "~")
		parts := strings.Split(jwt, ".")
		require.Len(t, parts, 3)
		hb, err := base64.RawURLEncoding.DecodeString(parts[0])
		require.NoError(t, err)
		pb, err := base64.RawURLEncoding.DecodeString(parts[1])
		require.NoError(t, err)
		var p map[string]any
		pd := json.NewDecoder(bytes.NewReader(pb))
		pd.UseNumber()
		require.NoError(t, pd.Decode(&p))
		iat, err := p["iat"].(json.Number).Int64()
		require.NoError(t, err)
		p["iat"] = iat + int64(d/time.Second)
		npb, err := json.Marshal(p)
		require.NoError(t, err)
		tok, err := jose.SignEncoded(signer, hb, npb)
		require.NoError(t, err)
		c["credential"] = tok + "~" + rest
	}
	out, err := json.Marshal(r)
	require.NoError(t, err)
	return out
}
