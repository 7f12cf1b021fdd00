package issuer

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/anchor/anchortest"
	"github.com/ssi-project/ssi/internal/admin"
	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/httpx"
	"github.com/ssi-project/ssi/internal/httpx/httpxtest"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/sdjwt"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/store/storetest"
)

const (
	vaccVCT     = "urn:ssi:vct:vaccination-pass:1"
	benefitsVCT = "urn:ssi:vct:benefits-eligibility:1"
)

// backends runs fn on SQLite, and on PostgreSQL when SSI_TEST_POSTGRES is set.
func backends(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, storetest.SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, storetest.Postgres(t)) })
}

// newLedger starts a real single-validator ledger anchoring st's outbox.
func newLedger(t testing.TB, st *store.Store) *anchortest.Ledger { return anchortest.Start(t, st) }

// clock is an injected, settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// env is the issuer served over real HTTP on a real store, with a real
// ledger when asked for.
type env struct {
	t      *testing.T
	st     *store.Store
	ledger *anchortest.Ledger
	svc    *Service
	clock  *clock
	srv    *httptest.Server
	client *http.Client
	leaks  *httpxtest.LeakChecker
	keys   map[string]string // "tenant/scope-set" → API key
	dids   map[string]string // tenant → issuer DID
}

type envOpts struct {
	ledger bool
	fault  func(point string, ids []string) error
	now    func() time.Time // default: the env's settable clock
	wrap   func(Store) Store
	// log receives the server's and the service's logs (default: discarded).
	log io.Writer
	// signer wraps each tenant's signing key (to count signatures).
	signer func(keys.Signer) keys.Signer
	// config changes the service's configuration before New checks it.
	config func(*Config)
}

func newEnv(t *testing.T, st *store.Store, o envOpts) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, st: st, clock: &clock{t: time.Now().UTC().Truncate(time.Second)}, keys: map[string]string{}, dids: map[string]string{}}
	now := o.now
	if now == nil {
		now = e.clock.Now
	}
	adm := &admin.Service{Store: st, Now: time.Now}
	health, benefits := DevConfigs(vaccVCT, benefitsVCT)
	var tenants []Tenant
	for _, tn := range []struct {
		id      string
		configs []CredentialConfig
	}{{"health", health}, {"benefits", benefits}} {
		_, err := adm.CreateTenant(ctx, admin.Actor{ID: "test"}, store.Tenant{ID: tn.id, Name: tn.id, Kind: "agency"})
		require.NoError(t, err)
		for name, scopes := range map[string][]string{
			"all":    {admin.ScopeCredentialsIssue, admin.ScopeCredentialsRevoke, admin.ScopeAuditRead},
			"issue":  {admin.ScopeCredentialsIssue},
			"revoke": {admin.ScopeCredentialsRevoke},
		} {
			k, _, err := adm.CreateKey(ctx, admin.Actor{ID: "test"}, tn.id, scopes, nil)
			require.NoError(t, err)
			e.keys[tn.id+"/"+name] = k
		}
		sg, err := keys.Generate(keys.ES256)
		require.NoError(t, err)
		d, err := did.KeyDID(sg.Public())
		require.NoError(t, err)
		e.dids[tn.id] = d
		var use keys.Signer = sg
		if o.signer != nil {
			use = o.signer(sg)
		}
		tenants = append(tenants, Tenant{ID: tn.id, DID: d, KeyID: d + "#" + strings.TrimPrefix(d, "did:key:"), Signer: use, Configs: tn.configs})
	}
	var anc Anchor
	if o.ledger {
		e.ledger = newLedger(t, st)
		anc = e.ledger.Anchorer
	}
	var ist Store = st
	if o.wrap != nil {
		ist = o.wrap(st)
	}
	logw := o.log
	if logw == nil {
		logw = io.Discard
	}
	logger := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r := chi.NewRouter()
	r.Use(httpx.Observe(logger, nil))
	r.Use(httpx.LimitBody(64 << 10))
	e.srv = httptest.NewServer(r)
	t.Cleanup(e.srv.Close)
	cfg := Config{Store: ist, Anchor: anc, PublicURL: e.srv.URL, Tenants: tenants, Now: now, Fault: o.fault, Logger: logger}
	if o.config != nil {
		o.config(&cfg)
	}
	svc, err := New(cfg)
	require.NoError(t, err)
	e.svc = svc
	Routes(r, svc, st, 64<<10)
	e.client, e.leaks = httpxtest.NewClient(t)
	for _, k := range e.keys {
		e.leaks.Secret(k)
	}
	return e
}

// in returns a view of e that reports to t: a subtest calls the env's
// helpers (and wallets it creates) through e.in(t), so that a failing
// require stops the subtest, from its own goroutine, not the parent test.
// The view shares everything else (store, service, clock, server) with e.
func (e *env) in(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

// do sends a request; body is JSON-encoded unless it is a string (sent as
// is, with contentType).
func (e *env) do(method, path, auth string, body any, contentType string) (int, []byte, http.Header) {
	e.t.Helper()
	hdr := http.Header{}
	if auth != "" {
		hdr.Set("Authorization", "Bearer "+auth)
	}
	return e.doWith(method, path, hdr, body, contentType)
}

// doWith is do with the request headers hdr (Authorization, DPoP, …).
func (e *env) doWith(method, path string, hdr http.Header, body any, contentType string) (int, []byte, http.Header) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		require.NoError(e.t, err)
		rd = strings.NewReader(string(j))
		if contentType == "" {
			contentType = "application/json"
		}
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	require.NoError(e.t, err)
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := e.client.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return resp.StatusCode, b, resp.Header
}

// errCode returns the OAuth error or problem code of an error body.
func errCode(b []byte) string {
	var p struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}
	_ = json.Unmarshal(b, &p)
	if p.Error != "" {
		return p.Error
	}
	return p.Code
}

var vaccSubject = map[string]any{
	"given_name": "Ada", "family_name": "Lovelace", "birth_date": "1950-12-10",
	"vaccinations": []any{map[string]any{"date": time.Now().UTC().AddDate(0, -2, 0).Format(time.DateOnly), "vaccine": "XYZ-1", "place": "Albany"}},
}

// createOffer creates an offer as tenant's admin and returns the view.
func (e *env) createOffer(tenant, configID, subjectRef string, subject any) OfferView {
	e.t.Helper()
	code, b, _ := e.do("POST", "/issuer/v1/offers", e.keys[tenant+"/all"], map[string]any{
		"credential_configuration_id": configID, "subject_ref": subjectRef, "subject_data": subject}, "")
	require.Equal(e.t, http.StatusCreated, code, string(b))
	var v OfferView
	require.NoError(e.t, json.Unmarshal(b, &v))
	e.leaks.Secret(v.TxCode)
	return v
}

// wallet is a test wallet acting over HTTP.
type wallet struct {
	e        *env
	issuer   string // credential issuer URL
	tenant   string
	code     string
	txCode   string
	token    string
	holders  []keys.Signer
	configID string
}

// fetchOffer resolves the offer URI as a wallet would.
func (e *env) fetchOffer(v OfferView) *wallet {
	e.t.Helper()
	u, err := url.Parse(v.OfferURI)
	require.NoError(e.t, err)
	require.Equal(e.t, strings.TrimSuffix(e.svc.cfg.OfferScheme, "://"), u.Scheme, "the configured offer scheme")
	ref := u.Query().Get("credential_offer_uri")
	require.True(e.t, strings.HasPrefix(ref, e.srv.URL))
	code, b, _ := e.do("GET", strings.TrimPrefix(ref, e.srv.URL), "", nil, "")
	require.Equal(e.t, http.StatusOK, code, string(b))
	return e.walletFor(v, b)
}

// walletFor is a wallet holding the offer JSON doc of v, fetched by
// reference or carried by value.
func (e *env) walletFor(v OfferView, b []byte) *wallet {
	e.t.Helper()
	var doc OfferDocument
	require.NoError(e.t, json.Unmarshal(b, &doc))
	g := doc.Grants[PreAuthGrant].(map[string]any)
	w := &wallet{e: e, issuer: doc.CredentialIssuer, code: g["pre-authorized_code"].(string), txCode: v.TxCode, configID: doc.ConfigIDs[0]}
	w.tenant = w.issuer[strings.LastIndex(w.issuer, "/")+1:]
	e.leaks.Secret(w.code)
	return w
}

func (w *wallet) path(p string) string { return strings.TrimPrefix(w.issuer, w.e.srv.URL) + p }

// tokenWith sends a token request with txCode and returns status and body.
func (w *wallet) tokenWith(txCode string) (int, []byte) {
	form := url.Values{"grant_type": {PreAuthGrant}, "pre-authorized_code": {w.code}, "tx_code": {txCode}}.Encode()
	code, b, _ := w.e.do("POST", w.path("/token"), "", form, "application/x-www-form-urlencoded")
	if code == http.StatusOK {
		var tr TokenResponse
		require.NoError(w.e.t, json.Unmarshal(b, &tr))
		w.token = tr.AccessToken
		w.e.leaks.Secret(tr.AccessToken)
	}
	return code, b
}

func (w *wallet) nonce() string {
	code, b, _ := w.e.do("POST", w.path("/nonce"), "", nil, "")
	require.Equal(w.e.t, http.StatusOK, code, string(b))
	var n struct {
		CNonce string `json:"c_nonce"`
	}
	require.NoError(w.e.t, json.Unmarshal(b, &n))
	return n.CNonce
}

// proof builds a key proof JWT for holder; mutate may change the header
// and claims before signing.
func (w *wallet) proof(holder keys.Signer, nonce string, mutate func(h, c map[string]any)) string {
	w.e.t.Helper()
	jwk, err := jose.PublicJWK(holder.Public())
	require.NoError(w.e.t, err)
	h := map[string]any{"typ": ProofTyp, "jwk": jwk.Map()}
	c := map[string]any{"aud": w.issuer, "iat": w.e.svc.now().Unix()}
	if nonce != "" {
		c["nonce"] = nonce
	}
	if mutate != nil {
		mutate(h, c)
	}
	payload, err := json.Marshal(c)
	require.NoError(w.e.t, err)
	tok, err := jose.Sign(holder, h, payload)
	require.NoError(w.e.t, err)
	return tok
}

// credential sends a credential request with body (a map) and returns the
// status and body.
func (w *wallet) credential(body any) (int, []byte) {
	code, b, _ := w.e.do("POST", w.path("/credential"), w.token, body, "")
	return code, b
}

// batch requests n credentials with fresh holder keys and a shared nonce.
func (w *wallet) batch(n int) []string {
	w.e.t.Helper()
	nonce := w.nonce()
	var proofs []string
	for range n {
		h, err := keys.Generate(keys.ES256)
		require.NoError(w.e.t, err)
		w.holders = append(w.holders, h)
		proofs = append(proofs, w.proof(h, nonce, nil))
	}
	code, b := w.credential(map[string]any{"credential_configuration_id": w.configID, "proofs": map[string]any{"jwt": proofs}})
	require.Equal(w.e.t, http.StatusOK, code, string(b))
	return credentialsOf(w.e.t, b)
}

// credentialsOf returns the credentials of a credential response body.
func credentialsOf(t *testing.T, b []byte) []string {
	t.Helper()
	var out struct {
		Credentials []struct {
			Credential string `json:"credential"`
		} `json:"credentials"`
	}
	require.NoError(t, json.Unmarshal(b, &out))
	var creds []string
	for _, c := range out.Credentials {
		creds = append(creds, c.Credential)
	}
	return creds
}

// issue takes an offer all the way to n credentials.
func (e *env) issue(tenant, configID, subjectRef string, subject any, n int) []string {
	e.t.Helper()
	w := e.fetchOffer(e.createOffer(tenant, configID, subjectRef, subject))
	code, b := w.tokenWith(w.txCode)
	require.Equal(e.t, http.StatusOK, code, string(b))
	return w.batch(n)
}

// coreVerify verifies an issued credential with the core verifier,
// resolving the issuer's did:key through the core DID resolver.
func (e *env) coreVerify(sd string, profile sdjwt.Profile) *sdjwt.Result {
	e.t.Helper()
	res := did.NewRouter().Handle("key", did.KeyResolver{})
	v := &sdjwt.Verifier{Profile: profile, Now: e.svc.now, IssuerKey: func(iss string, h *jose.Header) (jose.PublicKey, error) {
		return did.JOSEKeyLookup(context.Background(), res, iss)(h, nil)
	}}
	r, err := v.Verify(sd, sdjwt.Options{FromIssuer: true})
	require.NoError(e.t, err)
	return r
}
