package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/bundle"
	"github.com/ssi-project/ssi/internal/dcc/dcctest"
	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/oid4vp"
	"github.com/ssi-project/ssi/internal/passcheck"
	"github.com/ssi-project/ssi/internal/qr"
	"github.com/ssi-project/ssi/internal/sdjwt"
	"github.com/ssi-project/ssi/internal/shc/shctest"
)

// noNetwork is an HTTP transport that refuses every request: installed as
// the default while the offline check runs, it fails the test if anything
// in that code path reaches for the network.
type noNetwork struct{ t *testing.T }

func (n noNetwork) RoundTrip(r *http.Request) (*http.Response, error) {
	n.t.Errorf("the offline check made an HTTP request to %s", r.URL)
	return nil, errors.New("no network")
}

// TestTrustBundleOffline is issue 15's acceptance 4 on `ssi dev`: the demo
// venue's trust bundle (from GET /verifier/v1/trust-bundle: the health
// agency's DID document, accreditation and status list with their anchor
// receipts and latest-version proofs, the pinned validators, signed by the
// venue's key) verifies holder-shown QR codes with networking disabled:
// green for a valid pass, red for a replay, bundle_too_old past its
// maximum age, refused when its signature or a receipt was tampered with,
// and, once the pass is revoked and a new bundle fetched, red revoked. The
// offline part runs after ssi dev has stopped, with the default HTTP
// transport refusing every request.
func TestTrustBundleOffline(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ssi dev")
	}
	d := newDevWallet(t)
	ctx := context.Background()
	seed := readDevSeed(t, d.dir)
	venue := venueClient{base: d.c.Base, key: seed.APIKeys["venue"]}
	venueDID := seed.DIDs["venue"]
	res, err := did.KeyResolver{}.Resolve(ctx, venueDID, did.ResolveOptions{})
	require.NoError(t, err)
	vpub, valg, err := res.Document.PublicKey(venueDID+"#"+strings.TrimPrefix(venueDID, "did:key:"), did.AnyRelationship)
	require.NoError(t, err)
	venueKey := jose.PublicKey{Key: vpub, Alg: valg}

	subject := map[string]any{"given_name": "Ada", "family_name": "Lovelace", "birth_date": "1990-01-01",
		"vaccinations": []any{map[string]any{"date": time.Now().UTC().AddDate(0, -1, 0).Format(time.DateOnly), "vaccine": "XYZ-1"}}}
	o, err := d.c.CreateOffer(ctx, d.key, "vaccination-pass", "citizen-offline", subject)
	require.NoError(t, err)
	holder, err := keys.Generate(keys.ES256)
	require.NoError(t, err)
	cred := d.redeemFor(t, o.OfferURI, o.TxCode, holder)[0]
	waitAnchoredDID(t, d.c.Base, d.did)
	recs, err := d.c.Records(ctx, d.key, "citizen-offline")
	require.NoError(t, err)
	require.Len(t, recs, 1)
	d.waitListAnchored(t, recs[0]) // a venue cannot read an unanchored list
	// No presentation reached the verifier: the bundle finds the pass's
	// list through the issuer's status-list index (a venue offline from
	// its first day still sees revocations).
	code, body := get(t, d.c.Base+"/status?issuer="+d.did, "")
	require.Equal(t, http.StatusOK, code, string(body))
	var index struct {
		Lists []string `json:"status_lists"`
	}
	require.NoError(t, json.Unmarshal(body, &index))
	assert.NotEmpty(t, index.Lists, "the issuer's index names its published lists")
	code, body = get(t, d.c.Base+"/status", "")
	assert.Equal(t, http.StatusBadRequest, code, string(body))
	assert.Contains(t, string(body), "invalid_issuer_parameter")

	fetch := func() string {
		t.Helper()
		code, body := get(t, d.c.Base+"/verifier/v1/trust-bundle", venue.key)
		require.Equal(t, http.StatusOK, code, string(body))
		var m map[string]string
		require.NoError(t, json.Unmarshal(body, &m))
		return m["bundle"]
	}
	showQR := func(now time.Time) string {
		t.Helper()
		pres, err := sdjwt.Present(cred, []string{"/vaccinated_within_policy", "/given_name", "/family_name", "/birth_date"},
			&sdjwt.KeyBinding{Signer: holder, Nonce: oid4vp.NewNonce()[:32], Audience: bundle.OfflineAudiencePrefix + venueDID, IssuedAt: now})
		require.NoError(t, err)
		text, err := qr.EncodeEnvelope(pres)
		require.NoError(t, err)
		return text
	}
	signed := fetch()
	{
		payload, err := base64.RawURLEncoding.DecodeString(strings.Split(signed, ".")[1])
		require.NoError(t, err)
		var bb bundle.Bundle
		require.NoError(t, json.Unmarshal(payload, &bb))
		require.NotEmpty(t, bb.StatusLists, "the bundle carries the issuer's lists before any presentation")
		assert.Equal(t, bundle.FormatVersion, bb.Format)
		anchor, _ := json.Marshal(bb.StatusLists[0].Anchor)
		t.Logf("bundle %d bytes: %d issuers, %d accreditations, %d status lists; one anchor (receipt + latest-version proof) %d bytes; the status list token %d bytes",
			len(signed), len(bb.Issuers), len(bb.Accreditations), len(bb.StatusLists), len(anchor), len(bb.StatusLists[0].Token))
	}
	// The pass is revoked, and the venue fetches a newer bundle.
	d.revoke(t, recs[0])
	afterRevocation := fetch()
	kek, err := devKEK("", d.dir)
	require.NoError(t, err)
	signer, err := openSealedKey(filepath.Join(d.dir, "keys", "venue-verifier.key"), kek, "the venue's key")
	require.NoError(t, err)

	// From here on, no server and no network: ssi dev stops, and every
	// HTTP request through the default transport fails the test.
	d.stop()
	saved := http.DefaultTransport
	http.DefaultTransport = noNetwork{t}
	defer func() { http.DefaultTransport = saved }()

	vb, err := bundle.Open(signed, venueKey)
	require.NoError(t, err)
	now := time.Now()
	text := showQR(now)
	nonces := &bundle.MemoryNonces{}
	v := vb.Check(text, now, nonces)
	require.Equal(t, "green", v.Verdict, v.Reasons)
	assert.Equal(t, map[string]any{"given_name": "Ada", "family_name": "Lovelace", "birth_date": "1990-01-01"}, v.Claims)
	assert.Equal(t, d.did, v.Issuer)
	assert.Equal(t, "ssi", v.Format)
	assert.Equal(t, &passcheck.Holder{Name: "Ada Lovelace", BirthDate: "1990-01-01"}, v.Holder, "the verdict document's holder, as online")
	assert.Equal(t, []string{"nonce_replayed"}, vb.Check(text, now, nonces).Reasons, "a replay within the window")
	late := now.Add(25 * time.Hour)
	assert.Equal(t, []string{"bundle_too_old"}, vb.Check(showQR(late), late, nonces).Reasons)

	// The newer bundle has the revocation: red offline.
	vr, err := bundle.Open(afterRevocation, venueKey)
	require.NoError(t, err)
	assert.Equal(t, []string{"revoked"}, vr.Check(showQR(now), now, nonces).Reasons)

	// A bundle whose signature was tampered with.
	parts := strings.Split(signed, ".")
	sig := []byte(parts[2])
	sig[3] ^= 1
	_, err = bundle.Open(parts[0]+"."+parts[1]+"."+string(sig), venueKey)
	assert.Equal(t, "bundle_invalid", errs.CodeOf(err))
	// A bundle re-signed by the venue's key around a tampered piece: the
	// receipts are checked against the pinned validators, not the signer.
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	for name, tamper := range map[string]func(b *bundle.Bundle){
		"a document's receipt":    func(b *bundle.Bundle) { b.Issuers[0].Anchor.Receipt.LeafIndex++ },
		"a document":              func(b *bundle.Bundle) { b.Issuers[0].Document = append([]byte(" "), b.Issuers[0].Document...) },
		"a status list's receipt": func(b *bundle.Bundle) { b.StatusLists[0].Anchor.Receipt.Entry.Version++ },
		"a status list":           func(b *bundle.Bundle) { b.StatusLists[0].Token += "x" },
		"the pinned validators":   func(b *bundle.Bundle) { b.Trust.Validators = b.Trust.Validators[:0] },
	} {
		var bb bundle.Bundle
		require.NoError(t, json.Unmarshal(payload, &bb))
		require.NotEmpty(t, bb.StatusLists, "the bundle carries the pass's status list")
		tamper(&bb)
		resigned, err := bundle.Sign(signer, venueDID+"#"+strings.TrimPrefix(venueDID, "did:key:"), &bb)
		require.NoError(t, err)
		_, err = bundle.Open(resigned, venueKey)
		assert.Equal(t, "bundle_invalid", errs.CodeOf(err), name)
	}
}

// TestTrustBundlePassesOffline is issue 18's "trust carried in the offline
// trust bundle" on `ssi dev --venue-passes`: the demo venue's bundle from
// GET /verifier/v1/trust-bundle carries its EU DCC and SMART Health Card
// trust and vaccination rule, and, with ssi dev stopped and every HTTP
// request through the default transport failing the test, internal/bundle
// answers: an EU DCC (PS256) and a card green with name and birth date; a
// card whose rid the issuer's CRL in the bundle lists red shc_revoked; an
// EU DCC of a DSC not in the bundle red dcc_unknown_kid and a card of a key
// not in it red shc_unknown_key; a bundle whose pass trust was changed
// under its signature refused (bundle_invalid).
func TestTrustBundlePassesOffline(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ssi dev")
	}
	now := time.Now().UTC()
	dsc, is, passes := venuePassesFile(t, now)
	dir := t.TempDir()
	base, stopDev := startDev(t, dir, "--venue-passes", passes)
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			stopDev()
		}
	}
	defer stop()
	seed := readDevSeed(t, dir)
	waitAnchoredDID(t, base, seed.DIDs["health"]) // the bundle carries only what is anchored
	code, body := get(t, base+"/verifier/v1/trust-bundle", seed.APIKeys["venue"])
	require.Equal(t, http.StatusOK, code, string(body))
	var m map[string]string
	require.NoError(t, json.Unmarshal(body, &m))
	signed := m["bundle"]
	_, venueDID, _ := venueKey(t, dir)
	stop()

	saved := http.DefaultTransport
	http.DefaultTransport = noNetwork{t}
	defer func() { http.DefaultTransport = saved }()
	res, err := did.KeyResolver{}.Resolve(context.Background(), venueDID, did.ResolveOptions{})
	require.NoError(t, err)
	vpub, valg, err := res.Document.PublicKey(venueDID+"#"+strings.TrimPrefix(venueDID, "did:key:"), did.AnyRelationship)
	require.NoError(t, err)
	venuePub := jose.PublicKey{Key: vpub, Alg: valg}
	vb, err := bundle.Open(signed, venuePub)
	require.NoError(t, err)

	issued, dose := now.Add(-time.Hour), now.AddDate(0, 0, -30).Format(time.DateOnly)
	cvx := "http://hl7.org/fhir/sid/cvx"
	card := func(is *shctest.Issuer, rid string) string {
		return is.Make(t, shctest.Card{NBF: issued, RID: rid, Immunizations: []map[string]any{shctest.Immunization(cvx, "208", dose)}})
	}
	stranger := dcctest.NewDSC(t, dcctest.DSCOptions{NotBefore: now.AddDate(0, -1, 0)})
	for _, c := range []struct {
		name, text, verdict, format, reason string
		holder                              *passcheck.Holder
	}{
		{"an EU DCC", dsc.Make(t, dcctest.Pass{IssuedAt: issued, Date: dose}), "green", "eu-dcc", "", &passcheck.Holder{Name: "Erika Mustermann", BirthDate: "1964-08-12"}},
		{"a SMART Health Card", card(is, "fine-card"), "green", "shc", "", &passcheck.Holder{Name: "Jane Q. Public", BirthDate: "1970-05-06"}},
		{"a card revoked by rid", card(is, "stolen-card"), "red", "shc", "shc_revoked", nil},
		{"an EU DCC of an unknown DSC", stranger.Make(t, dcctest.Pass{IssuedAt: issued, Date: dose}), "red", "eu-dcc", "dcc_unknown_kid", nil},
		{"a card of an unknown key", card(shctest.NewIssuer(t, is.ISS), ""), "red", "shc", "shc_unknown_key", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := vb.Check(c.text, now, &bundle.MemoryNonces{})
			assert.Equal(t, c.verdict, v.Verdict, v.Reasons)
			assert.Equal(t, c.format, v.Format)
			if c.reason != "" {
				assert.Equal(t, []string{c.reason}, v.Reasons)
			}
			assert.Equal(t, c.holder, v.Holder)
		})
	}

	// The stranger's DSC slipped into the bundle: its signature fails.
	parts := strings.Split(signed, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var bb bundle.Bundle
	require.NoError(t, json.Unmarshal(payload, &bb))
	require.NotNil(t, bb.Passes)
	bb.Passes.DCC = append(bb.Passes.DCC, stranger.DER)
	tampered, err := json.Marshal(&bb)
	require.NoError(t, err)
	_, err = bundle.Open(parts[0]+"."+base64.RawURLEncoding.EncodeToString(tampered)+"."+parts[2], venuePub)
	assert.Equal(t, "bundle_invalid", errs.CodeOf(err))
}
