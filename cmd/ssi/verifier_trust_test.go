package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/didregistry"
	"github.com/ssi-project/ssi/internal/admin"
	"github.com/ssi-project/ssi/internal/config"
	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/oid4vp"
	"github.com/ssi-project/ssi/internal/sdjwt"
	"github.com/ssi-project/ssi/internal/sdjwt/sdjwttest"
	"github.com/ssi-project/ssi/internal/statuslist"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/store/storetest"
	"github.com/ssi-project/ssi/internal/trust"
	"github.com/ssi-project/ssi/issuer/issuertest"
	"github.com/ssi-project/ssi/verifier"
)

// The lies the status-list proxy can tell (lyingProxy.mode).
const (
	lieNone         = ""
	lieForeignKey   = "foreign-key"   // the list re-signed by a key that is not the issuer's
	lieUnanchored   = "unanchored"    // a list signed by the issuer's key, but not the anchored version
	lieStaleExpired = "stale-expired" // a list signed by the issuer's key whose exp has passed
)

// lyingProxy is the HTTP proxy every request of the test verifier's trust
// client goes through (to the registry and to the issuers' status lists):
// a real HTTP server that forwards honestly, or, told to, answers the
// issuer's proven status list endpoint (list + "/latest") with a lie built
// from the real answer. The anchor it serves with the lie is the real one.
type lyingProxy struct {
	mode  atomic.Value // one of the lie* constants
	list  string       // the status list uri it lies about
	real  keys.Signer  // the issuer's real list-signing key (a compromised or replaying server)
	kid   string
	other keys.Signer // a key that is not the issuer's
	hide  int         // lieUnanchored: the entry it shows as valid
	srv   *httptest.Server
}

func newLyingProxy(t *testing.T, list string, real keys.Signer, kid string, hide int) *lyingProxy {
	t.Helper()
	other, err := keys.Generate(keys.ES256)
	require.NoError(t, err)
	p := &lyingProxy{list: list, real: real, kid: kid, other: other, hide: hide}
	p.mode.Store(lieNone)
	p.srv = httptest.NewServer(p)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *lyingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !r.URL.IsAbs() {
		http.Error(w, "a proxy request names its absolute URL", http.StatusBadRequest)
		return
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, r.URL.String(), r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	out.Header = r.Header.Clone()
	out.Header.Del("Proxy-Connection")
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if mode := p.mode.Load().(string); mode != lieNone && resp.StatusCode == http.StatusOK && r.URL.String() == p.list+"/latest" {
		b = p.lie(mode, b)
	}
	for k, vs := range resp.Header {
		if k != "Content-Length" {
			w.Header()[k] = vs
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(b)
}

// lie rewrites the issuer's answer b (a trust.StatusListVersion): only its
// token changes; the version and the anchor (receipt and latest-version
// proof of the real token) are served as they came.
func (p *lyingProxy) lie(mode string, b []byte) []byte {
	var v trust.StatusListVersion
	if err := json.Unmarshal(b, &v); err != nil {
		return b
	}
	key := func(*jose.Header, []byte) (jose.PublicKey, error) {
		return jose.PublicKey{Key: p.real.Public(), Alg: keys.ES256}, nil
	}
	tok, err := statuslist.Verify(v.Token, statuslist.VerifyOptions{URI: p.list, Key: key, RequireExp: true})
	if err != nil {
		return b
	}
	signer := p.real
	switch mode {
	case lieForeignKey:
		signer = p.other
	case lieUnanchored:
		if tok.List.Set(p.hide, 0) != nil {
			return b
		}
	case lieStaleExpired:
		tok.IssuedAt = time.Now().Add(-2 * time.Hour)
		tok.ExpiresAt = time.Now().Add(-time.Hour)
	}
	forged, err := statuslist.Sign(signer, p.kid, *tok)
	if err != nil {
		return b
	}
	return bytes.Replace(b, []byte(v.Token), []byte(forged), 1)
}

// issuerID is a DID's signing key as an issuer uses it.
type issuerID struct {
	signer   keys.Signer
	did, kid string
}

// sealedKey opens the key `ssi dev` sealed at dir/keys/name.key.
func sealedKey(t *testing.T, dir, name string) keys.Signer {
	t.Helper()
	kb, err := os.ReadFile(filepath.Join(dir, "kek"))
	require.NoError(t, err)
	kek, err := keys.ParseKEK(string(kb))
	require.NoError(t, err)
	s, err := openSealedKey(filepath.Join(dir, "keys", name+".key"), kek, name)
	require.NoError(t, err)
	return s
}

// trustWorld is the stage of issue 15's acceptance 2: `ssi dev` (the
// registry, the health agency's issuer, the ledger), and, per case, a
// verifier of the demo venue built here on its own store and served by the
// real router, whose real trust.Client believes only the ledger's genesis
// validators and reaches the registry and the status lists through a
// lyingProxy.
type trustWorld struct {
	t        *testing.T
	dev      *devWallet
	seed     devSeed
	pinned   trust.Trust
	proxy    *lyingProxy
	health   issuerID
	benefits issuerID
	holder   keys.Signer
	// valid, revoked and suspended are status entries the health issuer
	// allocated for real passes, in those states.
	valid, revoked, suspended issuertest.Record
}

func newTrustWorld(t *testing.T) *trustWorld {
	t.Helper()
	d := newDevWallet(t)
	w := &trustWorld{t: t, dev: d, seed: readDevSeed(t, d.dir)}
	var err error
	w.pinned, err = trust.TrustFromGenesis(filepath.Join(d.dir, "ledger", "node0", "config", "genesis.json"))
	require.NoError(t, err)
	w.health = issuerID{sealedKey(t, d.dir, "health-issuing"), w.seed.DIDs["health"], w.seed.DIDs["health"] + "#issuing-1"}
	w.benefits = issuerID{sealedKey(t, d.dir, "benefits-issuing"), w.seed.DIDs["benefits"], w.seed.DIDs["benefits"] + "#issuing-1"}
	w.holder, err = keys.Generate(keys.ES256)
	require.NoError(t, err)
	w.valid = d.issue(t, "citizen-valid")
	w.revoked = d.issue(t, "citizen-revoked")
	w.suspended = d.issue(t, "citizen-suspended")
	require.Equal(t, w.valid.StatusList, w.revoked.StatusList, "one list")
	require.Equal(t, w.valid.StatusList, w.suspended.StatusList, "one list")
	d.revoke(t, w.revoked)
	d.setStatus(t, w.suspended, "suspend", 2)
	waitAnchoredDID(t, d.c.Base, w.health.did)
	waitAnchoredDID(t, d.c.Base, w.benefits.did)
	w.proxy = newLyingProxy(t, w.valid.StatusList, w.health.signer, w.health.kid, int(w.revoked.Index))
	return w
}

// trustClient is a fresh trust client of the dev registry through the
// proxy, with nothing cached.
func (w *trustWorld) trustClient() *trust.Client {
	proxy, _ := url.Parse(w.proxy.srv.URL)
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(proxy), DisableKeepAlives: true}}
	return trust.NewClient(w.dev.c.Base, trust.Options{Trust: w.pinned, HTTP: hc, TTL: time.Second})
}

// registry calls the dev registry's API as tenant's seeded API key.
func (w *trustWorld) registry(tenant, path string, body any) map[string]any {
	t := w.t
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, w.dev.c.Base+path, bytes.NewReader(b))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+w.seed.APIKeys[tenant])
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var m map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
	require.Less(t, resp.StatusCode, 300, "%s: %v", path, m)
	return m
}

// accredit accredits issuer for the vaccination pass from `from` to
// `until` through the registry's API, and waits until the trust client
// decides on it (it is anchored): status is the decision's at now.
func (w *trustWorld) accredit(issuer string, from, until time.Time, status string) {
	t := w.t
	t.Helper()
	w.registry("registry", "/registry/v1/accreditations", map[string]any{"issuer": issuer, "vct": []string{VaccinationVCT},
		"valid_from": from, "valid_until": until})
	deadline := time.Now().Add(30 * time.Second)
	for {
		d, err := w.trustClient().IsAccredited(context.Background(), issuer, VaccinationVCT, time.Now())
		if err == nil && d.Status == status {
			return
		}
		require.True(t, time.Now().Before(deadline), "the accreditation was not decided on: %+v %v", d, err)
		time.Sleep(50 * time.Millisecond) // polling with a deadline
	}
}

// venueSide is one verifier of the demo venue, served over HTTP.
type venueSide struct {
	venueClient
	wallet *issuertest.Client
	holder keys.Signer
	now    func() time.Time
	log    *safeBuffer // the verifier's log
}

// verifierOpts change what (*trustWorld).verifier builds.
type verifierOpts struct {
	// ahead moves the verifier's clock (not the trust client's) forward.
	ahead time.Duration
	// skew is the verifier's allowed clock skew (verifier.Config.Skew);
	// 0 means what ssi verifier and ssi dev allow (verifierSkew), negative
	// none at all.
	skew time.Duration
	// policies are the venue's policies besides entry.
	policies []verifier.Policy
	// store opens the verifier's store (default storetest.SQLite).
	store func(*testing.T) *store.Store
}

// verifier builds and serves a verifier of the dev venue (its seeded,
// registered did:key and key) with the entry policy, on a fresh store,
// with a fresh trust client.
func (w *trustWorld) verifier(t *testing.T, o verifierOpts) *venueSide {
	t.Helper()
	ctx := context.Background()
	if o.store == nil {
		o.store = storetest.SQLite
	}
	st := o.store(t)
	adm := &admin.Service{Store: st, Now: time.Now}
	_, err := adm.CreateTenant(ctx, admin.Actor{ID: "test"}, store.Tenant{ID: "venue", Name: "City Stadium", Kind: "venue-operator"})
	require.NoError(t, err)
	apiKey, _, err := adm.CreateKey(ctx, admin.Actor{ID: "test"}, "venue", []string{admin.ScopePresentationsCreate, admin.ScopePresentationsRead}, nil)
	require.NoError(t, err)
	vs, vdid, vkid := venueKey(t, w.dev.dir)
	kek, err := keys.ParseKEK(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	require.NoError(t, err)
	now := func() time.Time { return time.Now().Add(o.ahead) }
	switch {
	case o.skew == 0:
		o.skew = verifierSkew
	case o.skew < 0:
		o.skew = 0
	}

	srv := httptest.NewUnstartedServer(nil)
	public := "http://" + srv.Listener.Addr().String()
	logs := &safeBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	svc, err := verifier.New(ctx, verifier.Config{Store: st, Trust: verifier.TrustClient(w.trustClient()), KEK: kek,
		PublicURL: public, Now: now, Logger: log, DeferRegistrationCheck: true, Skew: o.skew,
		Venues: []verifier.Venue{{TenantID: "venue", DID: vdid, KeyID: vkid, Signer: vs,
			Policies: append([]verifier.Policy{entryPolicy().policy()}, o.policies...)}}})
	require.NoError(t, err)
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	require.NoError(t, svc.WaitRegistrations(wctx, 100*time.Millisecond), "the venue's registration")
	cfg := config.DefaultServer()
	cfg.PublicURL = public
	srv.Config.Handler = newApp(cfg, st, log, services{verifier: svc}).router
	srv.Start()
	t.Cleanup(srv.Close)
	return &venueSide{venueClient: venueClient{base: public, key: apiKey}, wallet: &issuertest.Client{HTTP: http.DefaultClient, Base: public},
		holder: w.holder, now: now, log: logs}
}

// pass is what the test issuer signs: a vaccination pass of the holder on
// the status entry rec, signed by iss; edit changes it.
type pass struct {
	iss    issuerID
	signer keys.Signer // the key that signs (default iss.signer)
	claims sdjwt.VCClaims
}

func (w *trustWorld) pass(t *testing.T, iss issuerID, rec issuertest.Record, edit func(p *pass)) string {
	t.Helper()
	hk, err := keys.JWKFromPublic(w.holder.Public())
	require.NoError(t, err)
	now := time.Now().UTC()
	p := pass{iss: iss, signer: iss.signer, claims: sdjwt.VCClaims{Issuer: iss.did, Type: VaccinationVCT, IssuedAt: now,
		Expiry: now.Add(24 * time.Hour), HolderKey: &hk, Status: &sdjwt.StatusRef{Index: uint64(rec.Index), URI: rec.StatusList},
		Subject: map[string]any{"given_name": "Ada", "family_name": "Lovelace", "birth_date": "1990-01-01", "vaccinated_within_policy": true}}}
	if edit != nil {
		edit(&p)
	}
	claims, err := p.claims.JSON()
	require.NoError(t, err)
	issued, err := (&sdjwt.Issuer{Signer: p.signer, Header: map[string]any{"kid": p.iss.kid}}).Issue(sdjwt.Request{Claims: claims,
		Disclose: []string{"/given_name", "/family_name", "/birth_date", "/vaccinated_within_policy"}})
	require.NoError(t, err)
	return issued.String()
}

// presentation is how the test wallet answers one transaction.
type presentation struct {
	reveal []string                               // default: the entry policy's four claims
	kb     func(kb *sdjwt.KeyBinding)             // edits the KB-JWT
	mangle func(t *testing.T, pres string) string // edits the SD-JWT+KB after binding
}

var entryClaims = []string{"/vaccinated_within_policy", "/given_name", "/family_name", "/birth_date"}

// answer starts a transaction of policy, answers it with sd as p says over
// HTTP, and returns the verifier's answer to the response and the request.
func (v *venueSide) answer(t *testing.T, policy, mode, sd string, p presentation) (int, []byte, *oid4vp.Request, string) {
	t.Helper()
	ctx := context.Background()
	v.policy = policy
	id, auth := v.create(t, mode)
	req, err := v.wallet.FetchRequest(ctx, auth, v.now())
	require.NoError(t, err)
	reveal := p.reveal
	if reveal == nil {
		reveal = entryClaims
	}
	kb := &sdjwt.KeyBinding{Signer: v.holder, Nonce: req.Nonce, Audience: req.ClientID, IssuedAt: v.now()}
	if p.kb != nil {
		p.kb(kb)
	}
	pres, err := sdjwt.Present(sd, reveal, kb)
	require.NoError(t, err)
	if p.mangle != nil {
		pres = p.mangle(t, pres)
	}
	status, body, err := v.wallet.Respond(ctx, req, map[string][]string{"pass": {pres}})
	require.NoError(t, err)
	return status, body, req, id
}

// verdict answers as answer does and returns the verdict document the
// venue reads over HTTP.
func (v *venueSide) verdict(t *testing.T, policy, sd string, p presentation) map[string]any {
	t.Helper()
	status, body, _, id := v.answer(t, policy, "direct_post.jwt", sd, p)
	require.Equal(t, http.StatusOK, status, "every response that can be judged gets a verdict: %s", body)
	return v.result(t, id)
}

// assertRed: the verdict is red with exactly code, and shows nothing.
func assertRed(t *testing.T, v map[string]any, code string) {
	t.Helper()
	assert.Equal(t, "red", v["verdict"], v)
	assert.Equal(t, "rejected", v["status"])
	assert.Equal(t, []any{code}, v["reasons"])
	assert.Nil(t, v["claims"])
}

// TestVerifierTrustFailuresEndToEnd is issue 15's acceptance 2 on real
// parts: every trust-check failure of DESIGN §4 is produced by the real
// trust.Client against `ssi dev`'s registry, ledger anchors and status
// lists (or a real HTTP server lying in front of them), through the real
// verifier's HTTP routes, and the verdict document the venue reads over
// HTTP is red with the failure's own code (SECURITY-CASES C34–C44, E55,
// E57), with the verifier on SQLite and on PostgreSQL. A green
// presentation of the same harness comes first: each case differs from it
// in the one fault it provokes.
func TestVerifierTrustFailuresEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ssi dev")
	}
	w := newTrustWorld(t)
	other, err := keys.Generate(keys.ES256)
	require.NoError(t, err)

	// A did:psr DID that was never registered.
	ctl, err := keys.Generate(keys.ES256)
	require.NoError(t, err)
	vm, err := didregistry.VMFor("issuing-1", ctl, didregistry.PurposeAssertionMethod)
	require.NoError(t, err)
	_, unknownDID, err := didregistry.SignCreate(ctl, "controller-1", []didregistry.VMInput{vm}, nil)
	require.NoError(t, err)
	unknown := issuerID{ctl, unknownDID, unknownDID + "#issuing-1"}

	// The benefits agency is accredited by the registry for the
	// vaccination pass too, but only for a window that ended an hour ago.
	w.accredit(w.benefits.did, time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour), trust.StatusOutsideValidity)

	// The sets policy requires a second credential the entry answer lacks.
	sets := verifier.Policy{Name: "sets", VCTs: []string{VaccinationVCT}, Rule: "vaccinated_within_policy == true",
		DCQL: json.RawMessage(`{"credentials":[` +
			`{"id":"pass","format":"dc+sd-jwt","meta":{"vct_values":["` + VaccinationVCT + `"]},"claims":[{"path":["vaccinated_within_policy"]}]},` +
			`{"id":"id","format":"dc+sd-jwt","meta":{"vct_values":["` + VaccinationVCT + `"]},"claims":[{"path":["given_name"]}]}],` +
			`"credential_sets":[{"options":[["pass"]]},{"options":[["id"]],"required":true}]}`)}

	cases := []struct {
		name   string
		iss    func() issuerID
		rec    func() issuertest.Record
		edit   func(p *pass)
		p      presentation
		lie    string
		ahead  time.Duration
		policy string
		code   string
	}{
		{name: "unknown issuer", iss: func() issuerID { return unknown }, code: "issuer_unknown"},
		{name: "not accredited for the vct (C44)", edit: func(p *pass) { p.claims.Type = BenefitsVCT }, code: "untrusted_issuer"},
		{name: "accreditation expired", iss: func() issuerID { return w.benefits }, code: "accreditation_expired"},
		{name: "kid of another DID (C44)", edit: func(p *pass) { p.iss.kid = w.benefits.kid }, code: "issuer_key_not_valid_at_iat"},
		{name: "bad signature", edit: func(p *pass) { p.signer = other }, code: "invalid_signature"},
		{name: "tampered disclosure", p: presentation{mangle: func(t *testing.T, s string) string { return sdjwttest.TamperFirstDisclosure(t, s) }}, code: "unreferenced_disclosure"},
		{name: "duplicated disclosure", p: presentation{mangle: func(t *testing.T, s string) string {
			parts := strings.Split(s, "~")
			return strings.Join(append(parts[:2:2], parts[1:]...), "~")
		}}, code: "duplicate_disclosure"},
		{name: "unreferenced disclosure", p: presentation{mangle: func(t *testing.T, s string) string {
			foreign := strings.Split(w.pass(t, w.health, w.valid, nil), "~")[1] // a disclosure of another credential
			parts := strings.Split(s, "~")
			return strings.Join(append([]string{parts[0], foreign}, parts[1:]...), "~")
		}}, code: "unreferenced_disclosure"},
		{name: "expired", ahead: 25 * time.Hour, code: "expired"},
		{name: "not yet valid", edit: func(p *pass) { p.claims.NotBefore = p.claims.IssuedAt.Add(2 * time.Hour) }, code: "not_yet_valid"},
		{name: "missing KB (C34)", p: presentation{mangle: func(t *testing.T, s string) string { return s[:strings.LastIndex(s, "~")+1] }}, code: "kb_required"},
		{name: "wrong nonce (C35)", p: presentation{kb: func(kb *sdjwt.KeyBinding) { kb.Nonce = oid4vp.NewNonce() }}, code: "invalid_nonce"},
		{name: "aud without the client_id prefix (C36)", p: presentation{kb: func(kb *sdjwt.KeyBinding) {
			kb.Audience = strings.TrimPrefix(kb.Audience, oid4vp.ClientIDPrefixDID)
		}}, code: "invalid_audience"},
		{name: "aud of another venue (C41)", p: presentation{kb: func(kb *sdjwt.KeyBinding) {
			kb.Audience = oid4vp.ClientIDPrefixDID + w.health.did
		}}, code: "invalid_audience"},
		{name: "stale iat (C37)", p: presentation{kb: func(kb *sdjwt.KeyBinding) { kb.IssuedAt = kb.IssuedAt.Add(-301 * time.Second) }}, code: "stale_key_binding"},
		// iat is written in whole seconds and read a moment later: 65 s ahead
		// is still over 60 s ahead when checked.
		{name: "iat from the future (C37)", p: presentation{kb: func(kb *sdjwt.KeyBinding) { kb.IssuedAt = kb.IssuedAt.Add(65 * time.Second) }}, code: "stale_key_binding"},
		{name: "bad sd_hash (C38)", p: presentation{mangle: func(t *testing.T, s string) string {
			parts := strings.Split(s, "~")
			return strings.Join(append(parts[:1:1], parts[2:]...), "~") // a disclosure dropped after binding
		}}, code: "invalid_sd_hash"},
		{name: "KB signed by another key (C39)", p: presentation{kb: func(kb *sdjwt.KeyBinding) { kb.Signer = other }}, code: "invalid_signature"},
		{name: "list signature bad", lie: lieForeignKey, code: "status_unverifiable"},
		{name: "list hash not the anchored one (E55)", lie: lieUnanchored, rec: func() issuertest.Record { return w.revoked }, code: "hash_not_anchored"},
		{name: "list stale beyond its exp", lie: lieStaleExpired, code: "status_list_expired"},
		{name: "revoked", rec: func() issuertest.Record { return w.revoked }, code: "revoked"},
		{name: "suspended", rec: func() issuertest.Record { return w.suspended }, code: "suspended"},
		{name: "policy not met", edit: func(p *pass) { p.claims.Subject["vaccinated_within_policy"] = false }, code: "policy_not_met"},
		{name: "required claim missing (C43)", p: presentation{reveal: entryClaims[:3]}, code: "dcql_claims_unsatisfied"},
		{name: "required credential set missing", policy: "sets", p: presentation{reveal: entryClaims[:1]}, code: "dcql_credential_set_unsatisfied"},
	}
	for _, backend := range []struct {
		name string
		open func(*testing.T) *store.Store
	}{{"sqlite", storetest.SQLite}, {"postgres", storetest.Postgres}} {
		t.Run(backend.name, func(t *testing.T) {
			v := w.verifier(t, verifierOpts{policies: []verifier.Policy{sets}, store: backend.open})
			green := v.verdict(t, "entry", w.pass(t, w.health, w.valid, nil), presentation{})
			require.Equal(t, "green", green["verdict"], green)
			require.Equal(t, map[string]any{"given_name": "Ada", "family_name": "Lovelace", "birth_date": "1990-01-01"}, green["claims"])
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					w.proxy.mode.Store(c.lie)
					defer w.proxy.mode.Store(lieNone)
					iss, rec, policy := w.health, w.valid, "entry"
					if c.iss != nil {
						iss = c.iss()
					}
					if c.rec != nil {
						rec = c.rec()
					}
					if c.policy != "" {
						policy = c.policy
					}
					v := v
					if c.lie != lieNone || c.ahead != 0 {
						// nothing cached from an honest answer
						v = w.verifier(t, verifierOpts{ahead: c.ahead, store: backend.open})
					}
					assertRed(t, v.verdict(t, policy, w.pass(t, iss, rec, c.edit), c.p), c.code)
					if c.lie == lieUnanchored {
						assert.Contains(t, v.log.String(), "alert: a status list was served other than its anchored version", "E55: with an alert")
					}
				})
			}
		})
	}
}

// nextSecond returns once the wall clock is in a later whole second than
// t: credentials count iat in whole seconds, so an instant before an
// operation is told apart from one after it only a second later.
func nextSecond(tb testing.TB, t time.Time) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Unix() <= t.Unix() {
		require.True(tb, time.Now().Before(deadline), "the clock does not move")
		time.Sleep(10 * time.Millisecond) // polling with a deadline
	}
}

// newDID registers a did:psr DID with a controller key (controller-1)
// and the assertion key issuing-1 through the registry's API, as the
// health agency, and waits until it is anchored.
func (w *trustWorld) newDID(issuing keys.Signer) (d string, controller keys.Signer) {
	t := w.t
	t.Helper()
	controller, err := keys.Generate(keys.ES256)
	require.NoError(t, err)
	vm, err := didregistry.VMFor("issuing-1", issuing, didregistry.PurposeAssertionMethod)
	require.NoError(t, err)
	tok, d, err := didregistry.SignCreate(controller, "controller-1", []didregistry.VMInput{vm}, nil)
	require.NoError(t, err)
	w.registry("health", "/registry/v1/dids", map[string]string{"operation": tok})
	waitAnchoredDID(t, w.dev.c.Base, d)
	return d, controller
}

// block has the ledger commit a block after now. A ledger entry's time is
// its block's (BFT) time, which is that of the commit before it: it can
// precede the operation by up to the empty-block interval. Committing a
// block after an instant makes the next operation's entry time later than
// that instant.
func (w *trustWorld) block() {
	k, err := keys.Generate(keys.ES256)
	require.NoError(w.t, err)
	w.newDID(k)
}

// TestVerifierKeyRotationEndToEnd is SECURITY-CASES E57 on real parts: a
// did:psr issuer registered, accredited, rotated and deactivated through
// `ssi dev`'s registry API (controller-signed operations, anchored on its
// ledger), judged by the real verifier over HTTP with its real trust
// client. A pass signed by the key rotated out is red with
// issuer_key_not_valid_at_iat when its iat is after the rotation; the new
// key is not valid before it; after the DID's deactivation a pass issued
// later is red. The controls, a key valid at its pass's iat, pass the
// issuer-key check and every check after it up to the status step, where
// they stop with status_missing: this test issuer runs no status list
// (the dev issuer's lists are the seeded agencies').
func TestVerifierKeyRotationEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ssi dev")
	}
	w := newTrustWorld(t)
	ctx := context.Background()
	old, renewed, ctl, op := w.rotatingIssuer()
	d := old.did

	beforeRotation := time.Now().UTC().Truncate(time.Second)
	nextSecond(t, beforeRotation)
	w.block()
	w.registry("health", "/registry/v1/dids/"+d+"/operations", map[string]string{"operation": op})
	waitAnchoredDID(t, w.dev.c.Base, d)
	afterRotation := time.Now().UTC().Truncate(time.Second)
	nextSecond(t, afterRotation)

	issued := func(iat time.Time) func(p *pass) {
		return func(p *pass) { p.claims.IssuedAt, p.claims.Status = iat, nil }
	}
	v := w.verifier(t, verifierOpts{})
	for _, c := range []struct {
		name string
		iss  issuerID
		iat  time.Time
		code string
	}{
		{"old key, iat after the rotation (E57)", old, time.Now().UTC(), "issuer_key_not_valid_at_iat"},
		{"old key, iat before the rotation", old, beforeRotation, "status_missing"},
		{"new key, iat after the rotation", renewed, time.Now().UTC(), "status_missing"},
		{"new key, iat before the rotation", renewed, beforeRotation, "issuer_key_not_valid_at_iat"},
	} {
		t.Run(c.name, func(t *testing.T) {
			assertRed(t, v.verdict(t, "entry", w.pass(t, c.iss, w.valid, issued(c.iat)), presentation{}), c.code)
		})
	}

	w.block()
	op, err := didregistry.SignOp(ctl, "controller-1", didregistry.Operation{Op: "deactivate", DID: d, Version: 3})
	require.NoError(t, err)
	w.registry("health", "/registry/v1/dids/"+d+"/operations", map[string]string{"operation": op})
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := w.trustClient().Resolve(ctx, d, didResolveOptions())
		if errors.Is(err, did.ErrDeactivated) {
			break
		}
		require.True(t, time.Now().Before(deadline), "the deactivation was not anchored: %v", err)
		time.Sleep(50 * time.Millisecond) // polling with a deadline
	}
	nextSecond(t, time.Now())
	v = w.verifier(t, verifierOpts{})
	t.Run("deactivated before iat (E57)", func(t *testing.T) {
		assertRed(t, v.verdict(t, "entry", w.pass(t, renewed, w.valid, issued(time.Now().UTC())), presentation{}), "issuer_key_not_valid_at_iat")
	})
	t.Run("issued before the deactivation", func(t *testing.T) {
		assertRed(t, v.verdict(t, "entry", w.pass(t, renewed, w.valid, issued(afterRotation)), presentation{}), "status_missing")
	})
}

// TestVerifierReplayEndToEnd is SECURITY-CASES C40 and C42 on the real
// stack: a green presentation posted again to its finished transaction is
// refused (409) with nonce_used and leaves the verdict as it was; replayed to a
// new transaction of the venue it is red with invalid_nonce; a response
// carrying another transaction's state is refused with invalid_state and
// leaves that transaction pending.
func TestVerifierReplayEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ssi dev")
	}
	w := newTrustWorld(t)
	v := w.verifier(t, verifierOpts{})
	ctx := context.Background()
	errorCode := func(body []byte) string {
		var m map[string]any
		require.NoError(t, json.Unmarshal(body, &m), string(body))
		s, _ := m["error"].(string)
		return s
	}
	start := func() (string, *oid4vp.Request) {
		id, auth := v.create(t, "direct_post")
		req, err := v.wallet.FetchRequest(ctx, auth, time.Now())
		require.NoError(t, err)
		return id, req
	}

	id1, req1 := start()
	pres, err := sdjwt.Present(w.pass(t, w.health, w.valid, nil), entryClaims,
		&sdjwt.KeyBinding{Signer: w.holder, Nonce: req1.Nonce, Audience: req1.ClientID, IssuedAt: time.Now()})
	require.NoError(t, err)
	status, body, err := v.wallet.Respond(ctx, req1, map[string][]string{"pass": {pres}})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status, string(body))
	require.Equal(t, "green", v.result(t, id1)["verdict"])

	t.Run("the same response again (C40)", func(t *testing.T) {
		status, body, err := v.wallet.Respond(ctx, req1, map[string][]string{"pass": {pres}})
		require.NoError(t, err)
		assert.Equal(t, http.StatusConflict, status)
		assert.Equal(t, "nonce_used", errorCode(body))
		assert.Equal(t, "green", v.result(t, id1)["verdict"], "the verdict stays")
	})
	t.Run("replayed to another transaction (C40)", func(t *testing.T) {
		id2, req2 := start()
		status, body, err := v.wallet.Respond(ctx, req2, map[string][]string{"pass": {pres}})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status, string(body))
		assertRed(t, v.result(t, id2), "invalid_nonce")
	})
	t.Run("the state of another transaction (C42)", func(t *testing.T) {
		id3, req3 := start()
		_, req4 := start()
		p, err := sdjwt.Present(w.pass(t, w.health, w.valid, nil), entryClaims,
			&sdjwt.KeyBinding{Signer: w.holder, Nonce: req3.Nonce, Audience: req3.ClientID, IssuedAt: time.Now()})
		require.NoError(t, err)
		forged := *req3
		forged.State = req4.State // posted to req3's response_uri
		status, body, err := v.wallet.Respond(ctx, &forged, map[string][]string{"pass": {p}})
		require.NoError(t, err)
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "invalid_state", errorCode(body))
		code, got := get(t, v.base+"/verifier/v1/presentations/"+id3, v.key)
		require.Equal(t, http.StatusOK, code)
		assert.Contains(t, string(got), `"status":"pending"`, "nothing recorded")
	})
}

// TestVerifierAllowsIssuerClockAhead: the venue's clock 10 s behind the
// issuer's. With the skew ssi verifier and ssi dev allow (verifierSkew),
// a fresh pass is green; with none, its iat is in the future
// (not_yet_valid), which is what every venue whose clock ran a little
// slow answered before verifierSkew was wired.
func TestVerifierAllowsIssuerClockAhead(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ssi dev")
	}
	w := newTrustWorld(t)
	slow := w.verifier(t, verifierOpts{ahead: -10 * time.Second})
	got := slow.verdict(t, "entry", w.pass(t, w.health, w.valid, nil), presentation{})
	require.Equal(t, "green", got["verdict"], got)

	strict := w.verifier(t, verifierOpts{ahead: -10 * time.Second, skew: -1})
	assertRed(t, strict.verdict(t, "entry", w.pass(t, w.health, w.valid, nil), presentation{}), "not_yet_valid")
}
