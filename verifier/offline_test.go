package verifier

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/oid4vp"
	"github.com/ssi-project/ssi/internal/qr"
	"github.com/ssi-project/ssi/internal/sdjwt"
)

// offlineQR is the wallet's QR text for the venue: the reference
// disclosures (3 claims) and a KB-JWT by the offline rules.
func (w *world) offlineQR(edit func(kb *sdjwt.KeyBinding)) string {
	t := w.t
	kb := &sdjwt.KeyBinding{Signer: w.holder, Nonce: oid4vp.NewNonce()[:22], Audience: OfflineAudiencePrefix + w.venue.DID, IssuedAt: w.now}
	if edit != nil {
		edit(kb)
	}
	pres, err := sdjwt.Present(w.issue(nil), []string{"/vaccinated_within_policy", "/given_name", "/family_name", "/birth_date"}, kb)
	require.NoError(t, err)
	text, err := qr.EncodeEnvelope(pres)
	require.NoError(t, err)
	return text
}

// TestOffline: a holder-shown QR is green once; a replay within the
// window, an iat outside it, a QR made for another venue or for an online
// request are red with their codes (issue 15, acceptance 3).
func TestOffline(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	text := w.offlineQR(nil)
	v, err := w.svc.Offline(ctx, "venue", OfflineRequest{QR: text + "\r\n"})
	require.NoError(t, err)
	assert.Equal(t, "green", v.Verdict, v.Reasons)
	assert.Equal(t, map[string]any{"given_name": "Erika", "family_name": "Mustermann", "birth_date": "1963-08-12"}, v.Claims)

	v, err = w.svc.Offline(ctx, "venue", OfflineRequest{QR: text})
	require.NoError(t, err)
	assert.Equal(t, []string{"nonce_replayed"}, v.Reasons, "a replay within the window")

	red := map[string]func(kb *sdjwt.KeyBinding){
		"stale_key_binding": func(kb *sdjwt.KeyBinding) { kb.IssuedAt = w.now.Add(-61 * time.Second) },
		"invalid_audience":  func(kb *sdjwt.KeyBinding) { kb.Audience = OfflineAudiencePrefix + "did:key:zAnotherVenue" },
		"invalid_nonce":     func(kb *sdjwt.KeyBinding) { kb.Nonce = "short" },
	}
	for code, edit := range red {
		v, err := w.svc.Offline(ctx, "venue", OfflineRequest{QR: w.offlineQR(edit)})
		require.NoError(t, err)
		assert.Equal(t, []string{code}, v.Reasons, code)
		assert.Nil(t, v.Claims)
	}
	for name, edit := range map[string]func(kb *sdjwt.KeyBinding){
		"the online client_id":   func(kb *sdjwt.KeyBinding) { kb.Audience = w.venue.ClientID() },
		"the DID without prefix": func(kb *sdjwt.KeyBinding) { kb.Audience = w.venue.DID },
	} {
		v, err := w.svc.Offline(ctx, "venue", OfflineRequest{QR: w.offlineQR(edit)})
		require.NoError(t, err)
		assert.Equal(t, []string{"invalid_audience"}, v.Reasons, name)
	}
	v, err = w.svc.Offline(ctx, "venue", OfflineRequest{QR: w.offlineQR(func(kb *sdjwt.KeyBinding) { kb.IssuedAt = w.now.Add(11 * time.Second) })})
	require.NoError(t, err)
	assert.Equal(t, []string{"stale_key_binding"}, v.Reasons, "iat beyond the 10 s skew")

	// A credential without key binding is never accepted offline.
	noKB, err := qr.EncodeEnvelope(w.issue(nil))
	require.NoError(t, err)
	v, err = w.svc.Offline(ctx, "venue", OfflineRequest{QR: noKB})
	require.NoError(t, err)
	assert.Equal(t, []string{"kb_required"}, v.Reasons)

	// Revoked in the list: red.
	w.trust.status[7] = StatusResult{Value: 1}
	v, err = w.svc.Offline(ctx, "venue", OfflineRequest{QR: w.offlineQR(nil)})
	require.NoError(t, err)
	assert.Equal(t, []string{"revoked"}, v.Reasons)
}

// TestOfflineHostile: malformed QR texts are 4xx with the envelope's
// codes, over HTTP, never a 500 (acceptance 5).
func TestOfflineHostile(t *testing.T) {
	s := newServer(t)
	good := s.offlineQR(nil)
	for text, code := range map[string]string{
		"":                                  "qr_unknown_prefix",
		"HELLO":                             "qr_unknown_prefix",
		"SSI9:ABC":                          "qr_unsupported_version",
		"SSI1:" + "a":                       "qr_invalid_base45",
		"SSI1:aaa":                          "qr_base45_character",
		"SSI1:" + good[5:len(good)-1]:       "",
		"SSI1:" + strings.Repeat("A", 5000): "qr_text_too_long",
		"HC1:6BFOXN":                        "unsupported_pass_format",
		"shc:/5676":                         "unsupported_pass_format",
	} {
		body, _ := json.Marshal(OfflineRequest{QR: text})
		status, ctype, m := s.do(t, "POST", "/verifier/v1/offline", s.key, "application/json", body)
		assert.Less(t, status, 500, text)
		assert.GreaterOrEqual(t, status, 400, text)
		assert.Equal(t, "application/problem+json", ctype)
		if code != "" {
			assert.Equal(t, code, m["code"], text)
		} else {
			assert.True(t, strings.HasPrefix(m["code"].(string), "qr_"), m)
		}
	}
	status, _, _ := s.do(t, "POST", "/verifier/v1/offline", "", "application/json", []byte(`{"qr":"x"}`))
	assert.Equal(t, 401, status)
	body, _ := json.Marshal(OfflineRequest{QR: good})
	status, _, m := s.do(t, "POST", "/verifier/v1/offline", s.key, "application/json", body)
	require.Equal(t, 200, status, m)
	assert.Equal(t, "green", m["verdict"])
	_ = errs.CodeOf
}
