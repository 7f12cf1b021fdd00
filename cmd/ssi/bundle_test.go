package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/anchor"
	"github.com/ssi-project/ssi/internal/bundle"
	"github.com/ssi-project/ssi/internal/config"
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
	"github.com/ssi-project/ssi/internal/trust"
	"github.com/ssi-project/ssi/issuer/issuertest"
	"github.com/ssi-project/ssi/verifier"
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
	showQR := func(now time.Time) string { return offlineQR(t, cred, holder, venueDID, now) }
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

// misbehavingIndex is an issuer service's status-list index gone wrong,
// a real HTTP server: while down, /status answers 500 for issuer and that
// any other issuer has no list; otherwise it names, for issuer, lists
// under its own origin whose /latest each misbehave (their names say how),
// and answers 500 for any other issuer. real is the latest version of a list of the real issuer,
// as it serves it (its /latest JSON).
type misbehavingIndex struct {
	srv    *httptest.Server
	issuer string
	real   []byte
	down   atomic.Bool
}

func newMisbehavingIndex(t *testing.T, issuer string, real []byte) *misbehavingIndex {
	m := &misbehavingIndex{issuer: issuer, real: real}
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		base := "http://" + r.Host + "/status/"
		switch r.URL.Path {
		case "/status":
			ours := r.URL.Query().Get("issuer") == m.issuer
			switch {
			case m.down.Load() && !ours: // down for issuer alone: the others have no list here
				_ = json.NewEncoder(w).Encode(map[string]any{"status_lists": []string{}})
				return
			case m.down.Load(), !ours:
				http.Error(w, "down", http.StatusInternalServerError)
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"status_lists": []string{
				base + "garbled", base + "failing", base + "pending", base + "forged", base + "unanchored"}})
		case "/status/garbled/latest":
			_, _ = io.WriteString(w, `{"version": "one"`)
		case "/status/failing/latest":
			http.Error(w, "failing", http.StatusBadGateway)
		case "/status/pending/latest": // the real list, its anchor pending
			var v map[string]any
			_ = json.Unmarshal(m.real, &v)
			v["anchor"] = map[string]any{"status": "pending"}
			_ = json.NewEncoder(w).Encode(v)
		case "/status/forged/latest": // the real list and its anchor, at another URI
			_, _ = w.Write(m.real)
		default: // unanchored: 404, as an issuer answers for a list with nothing anchored
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(m.srv.Close)
	return m
}

// TestTrustBundleMisbehavingIndex is the trust bundle of a verifier whose
// policy names the health agency and the benefits agency of `ssi dev`
// (its real registry, ledger and issuer) and which reads dev's status
// index and one that misbehaves (a real HTTP server). One bad index or
// list costs only what it concerns: the bundle is made, carries the health
// agency's real list (a pass of it is green offline), and records each
// gap (missing: the index that did not answer for the benefits agency;
// the lists that could not be fetched, were pending or do not verify; not
// the list with nothing anchored, which no venue could check); each gap is
// logged, without personal data. With only the bad index, down for the
// health agency, that agency's lists are unknown: its pass is red
// status_unavailable offline, not status_list_not_in_bundle. With no
// index answering at all, the bundle is unavailable (the venue keeps its
// last one). A registry that does not answer for one issuer costs that
// issuer (registry_unavailable offline); for all, the bundle.
func TestTrustBundleMisbehavingIndex(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ssi dev")
	}
	d := newDevWallet(t)
	ctx := context.Background()
	seed := readDevSeed(t, d.dir)
	waitAnchoredDID(t, d.c.Base, d.did)
	cred, holder, rec := offlinePass(t, d, "citizen-misbehaving")
	recs := []issuertest.Record{rec}
	code, real := get(t, recs[0].StatusList+"/latest", "")
	require.Equal(t, http.StatusOK, code, string(real))
	bad := newMisbehavingIndex(t, d.did, real)

	signer, venueDID, kid := venueKey(t, d.dir)
	pinned, err := trust.TrustFromGenesis(filepath.Join(d.dir, "ledger", "node0", "config", "genesis.json"))
	require.NoError(t, err)
	st, err := openStore(ctx, config.Server{Store: "sqlite:" + filepath.Join(t.TempDir(), "verifier.db")}, true)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	var logs safeBuffer
	policy := entryPolicy().policy()
	policy.Issuers = []string{d.did, seed.DIDs["benefits"]}
	var hc *http.Client         // the bundle's, nil: the default
	var gaps map[string]float64 // the last bundle's gaps metric, by reason
	bundleOf := func(indexes ...string) (string, *bundle.Bundle, error) {
		t.Helper()
		tc := trust.NewClient(d.c.Base, trust.Options{Trust: pinned})
		svc, err := verifier.New(ctx, verifier.Config{Store: st, Trust: verifier.TrustClient(tc), PublicURL: "http://venue.test",
			Venues:                 []verifier.Venue{{TenantID: "venue", DID: venueDID, KeyID: kid, Signer: signer, Policies: []verifier.Policy{policy}}},
			DeferRegistrationCheck: true, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
			Bundle: &verifier.BundleConfig{RegistryURL: d.c.Base, Pinned: pinned, StatusIndexes: indexes, HTTP: hc}})
		require.NoError(t, err)
		signed, err := svc.TrustBundle(ctx, "venue")
		gaps = map[string]float64{}
		reg := prometheus.NewRegistry()
		reg.MustRegister(svc.Collectors()...)
		mfs, gerr := reg.Gather()
		require.NoError(t, gerr)
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				gaps[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
			}
		}
		if err != nil {
			return "", nil, err
		}
		payload, err := base64.RawURLEncoding.DecodeString(strings.Split(signed, ".")[1])
		require.NoError(t, err)
		var bb bundle.Bundle
		require.NoError(t, json.Unmarshal(payload, &bb))
		return signed, &bb, nil
	}
	venuePub := jose.PublicKey{Key: signer.Public(), Alg: signer.Algorithm()}
	check := func(signed string) *bundle.Verdict { return checkOffline(t, signed, venuePub, cred, holder, venueDID) }

	signed, bb, err := bundleOf(d.c.Base+"/status", bad.srv.URL+"/status")
	require.NoError(t, err, "a misbehaving index does not fail the bundle")
	var uris []string
	for _, sl := range bb.StatusLists {
		uris = append(uris, sl.URI)
		assert.True(t, strings.HasPrefix(sl.URI, d.c.Base+"/"), "only the real issuer's lists: %s", sl.URI)
	}
	assert.Contains(t, uris, recs[0].StatusList)
	u := bad.srv.URL + "/status/"
	assert.ElementsMatch(t, []bundle.Missing{
		{Issuer: seed.DIDs["benefits"], Reason: bundle.MissingIndex},
		{Issuer: d.did, URI: u + "garbled", Reason: bundle.MissingList},
		{Issuer: d.did, URI: u + "failing", Reason: bundle.MissingList},
		{Issuer: d.did, URI: u + "pending", Reason: bundle.MissingPending},
		{Issuer: d.did, URI: u + "forged", Reason: bundle.MissingUnverified},
	}, bb.Missing)
	v := check(signed)
	assert.Equal(t, "green", v.Verdict, v.Reasons)
	out := logs.String()
	for _, reason := range []string{bundle.MissingIndex, bundle.MissingList, bundle.MissingPending, bundle.MissingUnverified} {
		assert.Contains(t, out, "reason="+reason)
	}
	assert.Equal(t, map[string]float64{bundle.MissingIndex: 1, bundle.MissingList: 2, bundle.MissingPending: 1, bundle.MissingUnverified: 1}, gaps,
		"the gaps metric, by reason")
	for _, secret := range []string{"Lovelace", "1990-01-01", cred[:40]} {
		assert.NotContains(t, out, secret, "no personal data in the log")
	}

	bad.down.Store(true)
	signed, bb, err = bundleOf(bad.srv.URL + "/status")
	require.NoError(t, err)
	assert.Empty(t, bb.StatusLists)
	assert.Equal(t, []bundle.Missing{{Issuer: d.did, Reason: bundle.MissingIndex}}, bb.Missing)
	assert.Equal(t, []string{"status_unavailable"}, check(signed).Reasons, "the bundle knows it lacks the issuer's lists")
	_, _, err = bundleOf(bad.srv.URL+"/status", bad.srv.URL+"/status/down-too")
	require.NoError(t, err, "one index answering for one issuer is enough")
	dead := httptest.NewServer(http.NotFoundHandler())
	defer dead.Close()
	_, _, err = bundleOf(dead.URL + "/status")
	assert.Equal(t, "bundle_unavailable", errs.CodeOf(err), "no index answers")

	// A registry (a proxy in the network path of dev's: the records are
	// anchored under its URL) that does not answer for the health agency: the bundle carries the benefits agency alone,
	// records the health agency, and its pass is red
	// registry_unavailable offline. Answering for neither, the bundle
	// is unavailable (the venue keeps its last one).
	target, err := url.Parse(d.c.Base)
	require.NoError(t, err)
	var failing sync.Map
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := failing.Load(strings.TrimPrefix(r.URL.Path, "/1.0/identifiers/")); ok {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	addr := front.Listener.Addr().String()
	hc = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	failing.Store(d.did, true)
	signed, bb, err = bundleOf(d.c.Base + "/status")
	require.NoError(t, err, "one issuer the registry does not answer for does not fail the bundle")
	require.Len(t, bb.Issuers, 1)
	assert.Equal(t, seed.DIDs["benefits"], bb.Issuers[0].DID)
	for _, sl := range bb.StatusLists {
		assert.Equal(t, seed.DIDs["benefits"], sl.Issuer, "no list of an issuer left out")
	}
	assert.Equal(t, []bundle.Missing{{Issuer: d.did, Reason: bundle.MissingIssuer}}, bb.Missing)
	assert.Equal(t, []string{"registry_unavailable"}, check(signed).Reasons, "the bundle knows it lacks the issuer")
	assert.Contains(t, logs.String(), "reason="+bundle.MissingIssuer)
	failing.Store(seed.DIDs["benefits"], true)
	_, _, err = bundleOf(d.c.Base + "/status")
	assert.Equal(t, "bundle_unavailable", errs.CodeOf(err))
}

// offlinePass issues a vaccination pass for subjectRef to a new holder
// key and waits until its status list is anchored (a venue cannot read an
// unanchored list): the credential, the holder key and its record.
func offlinePass(t *testing.T, d *devWallet, subjectRef string) (string, keys.Signer, issuertest.Record) {
	t.Helper()
	ctx := context.Background()
	subject := map[string]any{"given_name": "Ada", "family_name": "Lovelace", "birth_date": "1990-01-01",
		"vaccinations": []any{map[string]any{"date": time.Now().UTC().AddDate(0, -1, 0).Format(time.DateOnly), "vaccine": "XYZ-1"}}}
	o, err := d.c.CreateOffer(ctx, d.key, "vaccination-pass", subjectRef, subject)
	require.NoError(t, err)
	holder, err := keys.Generate(keys.ES256)
	require.NoError(t, err)
	cred := d.redeemFor(t, o.OfferURI, o.TxCode, holder)[0]
	recs, err := d.c.Records(ctx, d.key, subjectRef)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	d.waitListAnchored(t, recs[0])
	return cred, holder, recs[0]
}

// checkOffline opens signed with the venue's key venuePub and checks, at
// the current time, the QR code of cred shown by holder to venueDID.
func checkOffline(t *testing.T, signed string, venuePub jose.PublicKey, cred string, holder keys.Signer, venueDID string) *bundle.Verdict {
	t.Helper()
	vb, err := bundle.Open(signed, venuePub)
	require.NoError(t, err)
	now := time.Now()
	return vb.Check(offlineQR(t, cred, holder, venueDID, now), now, &bundle.MemoryNonces{})
}

// fetchBundle is GET /verifier/v1/trust-bundle of the server at base with
// the venue's API key: the signed bundle and its content.
func fetchBundle(t *testing.T, base, key string) (string, *bundle.Bundle) {
	t.Helper()
	code, body := get(t, base+"/verifier/v1/trust-bundle", key)
	require.Equal(t, http.StatusOK, code, string(body))
	var m map[string]string
	require.NoError(t, json.Unmarshal(body, &m))
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(m["bundle"], ".")[1])
	require.NoError(t, err)
	var bb bundle.Bundle
	require.NoError(t, json.Unmarshal(payload, &bb))
	return m["bundle"], &bb
}

// offlineQR is the QR code text a wallet shows the venue venueDID offline
// at now: cred with the entry policy's claims and a KB-JWT by holder.
func offlineQR(t *testing.T, cred string, holder keys.Signer, venueDID string, now time.Time) string {
	t.Helper()
	pres, err := sdjwt.Present(cred, []string{"/vaccinated_within_policy", "/given_name", "/family_name", "/birth_date"},
		&sdjwt.KeyBinding{Signer: holder, Nonce: oid4vp.NewNonce()[:32], Audience: bundle.OfflineAudiencePrefix + venueDID, IssuedAt: now})
	require.NoError(t, err)
	text, err := qr.EncodeEnvelope(pres)
	require.NoError(t, err)
	return text
}

// TestTrustBundlePendingList is the pending-anchor case on `ssi dev` with
// its real ledger slowed to a block every 3 s (its node settings), so that
// a status list version stays pending long enough to fetch a bundle: a
// list whose newest version (a suspension) is pending enters the bundle at
// its previous anchored version, with that version's receipt (the pass is
// still green offline), never unanchored, and is no gap (nothing missing);
// once the suspension is anchored the next bundle carries it (red
// suspended). "Pending" is checked after the bundle was fetched (the
// version still has no receipt); when the ledger was faster than the
// fetch, the round is tried again. (A list with nothing anchored at all is
// left out: TestTrustBundleMisbehavingIndex's "unanchored".)
func TestTrustBundlePendingList(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ssi dev")
	}
	dir := t.TempDir()
	// The first run seeds the data directory, and anchors the seeded DID
	// and accreditation on a fast ledger. Both runs listen on one address:
	// the registry's records are anchored under its public URL.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	base, stopDev := startDev(t, dir, "--addr", addr)
	health := readDevSeed(t, dir).DIDs["health"]
	waitAnchoredDID(t, base, health)
	waitAccreditationAnchored(t, base, health, VaccinationVCT)
	stopDev()
	home := filepath.Join(dir, "ledger", "node0")
	s, err := anchor.ReadSettings(home)
	require.NoError(t, err)
	s.TimeoutCommitMS, s.EmptyBlockIntervalMS = 3000, 3000
	require.NoError(t, anchor.WriteSettings(home, s))
	base, stopDev = startDev(t, dir, "--addr", addr)
	var once sync.Once
	t.Cleanup(func() { once.Do(stopDev) })
	seed := readDevSeed(t, dir)
	d := &devWallet{dir: dir, c: &issuertest.Client{HTTP: http.DefaultClient, Base: base}, key: seed.APIKeys["health"], did: seed.DIDs["health"]}
	apiKey := seed.APIKeys["venue"]
	signer, venueDID, _ := venueKey(t, dir)
	venuePub := jose.PublicKey{Key: signer.Public(), Alg: signer.Algorithm()}
	ctx := context.Background()
	waitAnchoredDID(t, base, d.did)
	cred, holder, rec := offlinePass(t, d, "citizen-pending")
	check := func(signed string) *bundle.Verdict { return checkOffline(t, signed, venuePub, cred, holder, venueDID) }
	listIn := func(bb *bundle.Bundle) *bundle.StatusList {
		for i := range bb.StatusLists {
			if bb.StatusLists[i].URI == rec.StatusList {
				return &bb.StatusLists[i]
			}
		}
		return nil
	}
	for round := 0; ; round++ {
		require.Less(t, round, 3, "the ledger anchored every suspension before the bundle was fetched")
		_, before, err := d.c.StatusList(ctx, rec.StatusList)
		require.NoError(t, err)
		require.NoError(t, d.c.SetStatus(ctx, d.key, rec.ID, "suspend", "lost phone"))
		var (
			served  string
			version uint64
		)
		deadline := time.Now().Add(10 * time.Second)
		for {
			tok, v, err := d.c.StatusList(ctx, rec.StatusList)
			if err == nil && listEntry(t, tok, rec.Index) == 2 {
				served, version = tok, v
				break
			}
			require.True(t, time.Now().Before(deadline), "the suspension was not served")
			time.Sleep(2 * time.Millisecond) // polling with a deadline
		}
		signed, bb := fetchBundle(t, base, apiKey)
		if h, err := d.c.ReceiptHash(ctx, rec.StatusList, version); err != nil || h != "" {
			require.NoError(t, err)
			d.setStatus(t, rec, "reinstate", 0) // anchored before the fetch ended: again
			continue
		}
		sl := listIn(bb)
		require.NotNil(t, sl, "the list is in the bundle")
		assert.Equal(t, before, sl.Version, "at its previous anchored version")
		assert.Less(t, sl.Version, version)
		assert.Equal(t, sl.Version, sl.Anchor.Receipt.Entry.Version, "with that version's receipt")
		assert.Empty(t, bb.Missing, "a pending newest version is no gap")
		v := check(signed)
		assert.Equal(t, "green", v.Verdict, "the suspension is not anchored yet: %v", v.Reasons)

		d.waitAnchored(t, rec.StatusList, served, version, time.Now().Add(20*time.Second))
		signed, bb = fetchBundle(t, base, apiKey)
		sl = listIn(bb)
		require.NotNil(t, sl)
		assert.Equal(t, version, sl.Version, "once anchored, the suspension")
		assert.Equal(t, []string{"suspended"}, check(signed).Reasons)
		return
	}
}

// waitAccreditationAnchored polls the registry until the accreditation of
// iss for vct it serves is anchored.
func waitAccreditationAnchored(t *testing.T, base, iss, vct string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := get(t, base+"/registry/v1/trust/issuers?"+url.Values{"issuer": {iss}, "vct": {vct}}.Encode(), "")
		require.Equal(t, http.StatusOK, code, string(body))
		var r struct {
			Evidence []trust.Evidence `json:"evidence"`
		}
		require.NoError(t, json.Unmarshal(body, &r))
		if len(r.Evidence) > 0 && r.Evidence[0].Anchor.Receipt != nil {
			return
		}
		require.True(t, time.Now().Before(deadline), "the accreditation was not anchored: %s", body)
		time.Sleep(10 * time.Millisecond) // polling with a deadline
	}
}
