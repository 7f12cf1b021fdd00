package verifier

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/jose/josetest"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/oid4vp"
	"github.com/ssi-project/ssi/internal/sdjwt"
	"github.com/ssi-project/ssi/internal/statuslist"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/store/storetest"
)

const (
	vctPass    = "urn:ssi:vaccination-pass"
	entryQuery = `{"credentials":[{"id":"pass","format":"dc+sd-jwt","meta":{"vct_values":["urn:ssi:vaccination-pass"]},
		"claims":[{"path":["vaccinated_within_policy"]},{"path":["given_name"]},{"path":["family_name"]},{"path":["birth_date"]}]}]}`
	statusURI = "https://issuer.example/status/list-1"
)

// trustDouble stands in for the trust layer in this package's unit
// tests: it answers from tables the test sets, and it checks no anchor.
// The real trust client (internal/trust) is exercised by the cross-service
// tests in cmd/ssi. Each table entry is what a test provokes.
type trustDouble struct {
	mu         sync.Mutex
	docs       map[string]*did.Document // DID → document in force at any iat
	accredited map[string]Accreditation // iss|vct
	status     map[int]StatusResult     // idx → status
	resolveErr error                    // ResolveAt's answer for a known DID (did.ErrDeactivated)
	statusErr  error
	rp         RPDecision
	calls      []string
	quiet      bool // record no calls (benchmarks)
}

func (d *trustDouble) call(name string) {
	if !d.quiet {
		d.calls = append(d.calls, name)
	}
}

func (d *trustDouble) ResolveAt(_ context.Context, id string, _ time.Time) (*did.Resolution, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.call("resolve")
	doc, ok := d.docs[id]
	if !ok {
		return nil, did.ErrNotFound
	}
	if d.resolveErr != nil {
		return &did.Resolution{Document: doc}, d.resolveErr
	}
	return &did.Resolution{Document: doc}, nil
}

func (d *trustDouble) IsAccredited(_ context.Context, iss, vct string, _ time.Time) (Accreditation, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.call("accredited")
	return d.accredited[iss+"|"+vct], nil
}

func (d *trustDouble) CheckRP(context.Context, string, string, []string) (RPDecision, error) {
	return d.rp, nil
}

func (d *trustDouble) Status(_ context.Context, _, uri string, idx int) (StatusResult, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.call("status")
	if d.statusErr != nil {
		return StatusResult{}, d.statusErr
	}
	if uri != statusURI {
		return StatusResult{}, statuslist.ErrUnverifiable
	}
	return d.status[idx], nil
}

// world is a verifier with one venue, an issuer (did:key) and a holder.
type world struct {
	t      testing.TB
	now    time.Time
	svc    *Service
	st     *store.Store
	trust  *trustDouble
	issuer *josetest.Signer
	issDID string
	issKID string
	holder *josetest.Signer
	venue  Venue
	cfg    Config // svc's
}

func keyDID(t testing.TB, s keys.Signer) (string, string, *did.Document) {
	t.Helper()
	d, err := did.KeyDID(s.Public())
	require.NoError(t, err)
	res, err := did.KeyResolver{}.Resolve(context.Background(), d, did.ResolveOptions{})
	require.NoError(t, err)
	return d, d + "#" + strings.TrimPrefix(d, "did:key:"), res.Document
}

func newWorld(t testing.TB, edit ...func(*Config)) *world {
	t.Helper()
	return newWorldOn(t, storetest.OpenSQLite(t), edit...)
}

// newWorldOn is newWorld on the store st (migrated, empty).
func newWorldOn(t testing.TB, st *store.Store, edit ...func(*Config)) *world {
	t.Helper()
	w := &world{t: t, now: time.Unix(1_800_000_000, 0).UTC()}
	w.st = st
	require.NoError(t, w.st.CreateTenant(context.Background(), store.Tenant{ID: "venue", Name: "Stadium", Kind: "venue-operator"}))
	w.issuer = josetest.New(t, keys.ES256)
	w.holder = josetest.New(t, keys.ES256)
	var doc *did.Document
	w.issDID, w.issKID, doc = keyDID(t, w.issuer)
	w.trust = &trustDouble{
		docs:       map[string]*did.Document{w.issDID: doc},
		accredited: map[string]Accreditation{w.issDID + "|" + vctPass: {Accredited: true}},
		status:     map[int]StatusResult{},
		rp:         RPDecision{Within: true},
	}
	vs := josetest.New(t, keys.ES256)
	vDID, vKID, _ := keyDID(t, vs)
	w.venue = Venue{TenantID: "venue", DID: vDID, Signer: vs, KeyID: vKID, Policies: []Policy{{
		Name: "entry", Description: "Admission with a vaccination pass", DCQL: json.RawMessage(entryQuery), VCTs: []string{vctPass},
		Rule: "vaccinated_within_policy == true", Show: []string{"given_name", "family_name", "birth_date"},
	}}}
	cfg := Config{Store: w.st, Trust: w.trust, PublicURL: "https://verifier.example", Venues: []Venue{w.venue},
		Now: func() time.Time { return w.now }}
	for _, e := range edit {
		e(&cfg)
	}
	svc, err := New(context.Background(), cfg)
	require.NoError(t, err)
	w.svc, w.cfg = svc, cfg
	return w
}

// credential is what the test issuer signs; edit changes the claims.
type credential struct {
	subject   map[string]any
	iat, exp  time.Time
	nbf       time.Time
	idx       int
	noStatus  bool
	noCnf     bool
	signer    keys.Signer
	issuerDID string
	kid       string
}

func (w *world) issue(edit func(*credential)) string {
	t := w.t
	c := credential{
		subject: map[string]any{"given_name": "Erika", "family_name": "Mustermann", "birth_date": "1963-08-12",
			"vaccinated_within_policy": true, "email": "erika@example.org"},
		iat: w.now.Add(-time.Hour), exp: w.now.Add(24 * time.Hour), idx: 7, signer: w.issuer, issuerDID: w.issDID, kid: w.issKID,
	}
	if edit != nil {
		edit(&c)
	}
	hk := w.holder.JWK()
	vc := sdjwt.VCClaims{Issuer: c.issuerDID, Type: vctPass, IssuedAt: c.iat, Expiry: c.exp, NotBefore: c.nbf, HolderKey: &hk,
		Status: &sdjwt.StatusRef{Index: uint64(c.idx), URI: statusURI}, Subject: c.subject}
	if c.noStatus {
		vc.Status = nil
	}
	if c.noCnf {
		vc.HolderKey = nil
	}
	claims, err := vc.JSON()
	require.NoError(t, err)
	issued, err := (&sdjwt.Issuer{Signer: c.signer, Header: map[string]any{"kid": c.kid}}).Issue(sdjwt.Request{Claims: claims,
		Disclose: []string{"/given_name", "/family_name", "/birth_date", "/vaccinated_within_policy", "/email"}})
	require.NoError(t, err)
	return issued.String()
}

// txn is a started transaction, as the wallet sees it.
type txn struct {
	id      string
	reqID   string
	request *oid4vp.Request
}

func (w *world) start(mode string) txn {
	t := w.t
	c, err := w.svc.Create(context.Background(), "venue", CreateRequest{Policy: "entry", ResponseMode: mode})
	require.NoError(t, err)
	a, err := oid4vp.ParseAuthorizationURI(c.AuthorizationRequestURI)
	require.NoError(t, err)
	reqID := a.RequestURI[strings.LastIndex(a.RequestURI, "/")+1:]
	tok, err := w.svc.RequestObject(context.Background(), reqID, "")
	require.NoError(t, err)
	r, err := oid4vp.VerifyRequest(tok, func(d, kid string) (jose.PublicKey, error) {
		return jose.PublicKey{Key: w.venue.Signer.Public(), Alg: keys.ES256}, nil
	}, oid4vp.VerifyOptions{ClientID: a.ClientID, Now: w.now})
	require.NoError(t, err)
	return txn{id: c.TransactionID, reqID: reqID, request: r}
}

// present is the holder's presentation of sdjwt for tx's request.
func (w *world) present(sd string, tx txn, edit func(*sdjwt.KeyBinding)) string {
	kb := &sdjwt.KeyBinding{Signer: w.holder, Nonce: tx.request.Nonce, Audience: tx.request.ClientID, IssuedAt: w.now}
	if edit != nil {
		edit(kb)
	}
	p, err := sdjwt.Present(sd, []string{"/vaccinated_within_policy", "/given_name", "/family_name", "/birth_date"}, kb)
	require.NoError(w.t, err)
	return p
}

// form is the wallet's response body for tx.
func (w *world) form(tx txn, pres ...string) url.Values {
	t := w.t
	resp := &oid4vp.Response{VPToken: map[string][]string{"pass": pres}, State: tx.request.State}
	if tx.request.ResponseMode == oid4vp.DirectPost {
		f, err := oid4vp.ResponseForm(resp)
		require.NoError(t, err)
		return f
	}
	k, err := tx.request.Metadata.EncryptionKey()
	require.NoError(t, err)
	enc, err := tx.request.Metadata.Enc()
	require.NoError(t, err)
	s, err := oid4vp.EncryptResponse(resp, k, enc)
	require.NoError(t, err)
	return url.Values{"response": {s}}
}

// result answers tx with pres and returns the venue's view.
func (w *world) result(tx txn, pres ...string) *View {
	t := w.t
	_, err := w.svc.Respond(context.Background(), tx.reqID, w.form(tx, pres...))
	require.NoError(t, err)
	v, err := w.svc.Get(context.Background(), "venue", tx.id, 0, "")
	require.NoError(t, err)
	return v
}

type joseKey = jose.PublicKey

func (w *world) venueKey() jose.PublicKey {
	return jose.PublicKey{Key: w.venue.Signer.Public(), Alg: keys.ES256}
}

func withState(r *oid4vp.Request, state string) *oid4vp.Request {
	c := *r
	c.State = state
	return &c
}

func encKeyPair(t *testing.T) (*ecdsa.PrivateKey, *ecdsa.PublicKey) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return priv, &priv.PublicKey
}
