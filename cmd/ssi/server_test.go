package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/didregistry"
	"github.com/ssi-project/ssi/internal/admin"
	"github.com/ssi-project/ssi/internal/config"
	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/httpx/httpxtest"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/store/storetest"
	"github.com/ssi-project/ssi/internal/trust"
	"github.com/ssi-project/ssi/issuer"
	"github.com/ssi-project/ssi/verifier"
)

func sqliteStore(t *testing.T) *store.Store   { return storetest.SQLite(t) }
func postgresStore(t *testing.T) *store.Store { return storetest.Postgres(t) }

// backends runs f on every store backend.
func backends(t *testing.T, f func(t *testing.T, st *store.Store)) {
	t.Run("sqlite", func(t *testing.T) { f(t, sqliteStore(t)) })
	t.Run("postgres", func(t *testing.T) { f(t, postgresStore(t)) })
}

func newTestApp(t *testing.T, st *store.Store) *app {
	t.Helper()
	return newTestAppWith(t, st, testAppOpts{})
}

// testAppOpts changes what newTestAppWith builds.
type testAppOpts struct {
	log       io.Writer // the server's and the services' log (default: discarded)
	publicURL string    // default http://127.0.0.1
	// agency gives the issuer the tenant "health" issuing the
	// vaccination pass with a fresh key (the tenant itself is not created
	// in the store).
	agency bool
}

// newTestAppWith is newTestApp with options.
func newTestAppWith(t *testing.T, st *store.Store, o testAppOpts) *app {
	t.Helper()
	cfg := config.DefaultServer()
	cfg.MaxBody = 4096
	cfg.PublicURL = "http://127.0.0.1"
	if o.publicURL != "" {
		cfg.PublicURL = o.publicURL
	}
	logw := o.log
	if logw == nil {
		logw = io.Discard
	}
	log := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var tenants []issuer.Tenant
	if o.agency {
		sg, err := keys.Generate(keys.ES256)
		require.NoError(t, err)
		d, err := did.KeyDID(sg.Public())
		require.NoError(t, err)
		health, _ := issuer.DevConfigs(VaccinationVCT, BenefitsVCT)
		tenants = append(tenants, issuer.Tenant{ID: "health", DID: d, KeyID: d + "#" + strings.TrimPrefix(d, "did:key:"), Signer: sg, Configs: health})
	}
	iss, err := issuer.New(issuer.Config{Store: st, PublicURL: cfg.PublicURL, Tenants: tenants, Logger: log})
	require.NoError(t, err)
	ver, err := verifier.New(context.Background(), verifier.Config{Store: st, PublicURL: cfg.PublicURL, Logger: log,
		Trust: verifier.TrustClient(trust.NewClient(cfg.PublicURL, trust.Options{}))})
	require.NoError(t, err)
	return newApp(cfg, st, log, services{registry: didregistry.New(didregistry.Config{Store: st, PublicURL: cfg.PublicURL, Logger: log}), issuer: iss,
		holder: newTestHolder(t, st, log), verifier: ver})
}

// testEnv is a real server on a real store with two tenants.
type testEnv struct {
	t      *testing.T
	st     *store.Store
	srv    *httptest.Server
	admin  *httptest.Server // the admin listener's router (metrics, pprof, health)
	client *http.Client
	leaks  *httpxtest.LeakChecker
	svc    *admin.Service
}

func newTestEnv(t *testing.T, st *store.Store) *testEnv {
	return newTestEnvWith(t, st, testAppOpts{})
}

// newTestEnvWith is newTestEnv on newTestAppWith(o).
func newTestEnvWith(t *testing.T, st *store.Store, o testAppOpts) *testEnv {
	// The listener comes first, so that the services know their URL.
	srv := httptest.NewUnstartedServer(nil)
	if o.publicURL == "" && o.agency {
		o.publicURL = "http://" + srv.Listener.Addr().String()
	}
	a := newTestAppWith(t, st, o)
	srv.Config.Handler = a.router
	srv.Start()
	t.Cleanup(srv.Close)
	adm := httptest.NewServer(a.admin)
	t.Cleanup(adm.Close)
	client, lc := httpxtest.NewClient(t)
	e := &testEnv{t: t, st: st, srv: srv, admin: adm, client: client, leaks: lc, svc: &admin.Service{Store: st, Now: time.Now}}
	for _, id := range []string{"health", "benefits"} {
		_, err := e.svc.CreateTenant(context.Background(), admin.Actor{ID: "cli"}, store.Tenant{ID: id, Name: id + " agency", Kind: "agency"})
		require.NoError(t, err)
	}
	return e
}

func (e *testEnv) key(tenant string, scopes ...string) (string, store.APIKey) {
	e.t.Helper()
	k, rec, err := e.svc.CreateKey(context.Background(), admin.Actor{ID: "cli"}, tenant, scopes, nil)
	require.NoError(e.t, err)
	e.leaks.Secret(k)
	return k, rec
}

func (e *testEnv) do(method, path, key, body string, hdr ...string) *http.Response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	require.NoError(e.t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.client.Do(req)
	require.NoError(e.t, err)
	return resp
}

func (e *testEnv) audit(tenant string) []store.AuditRecord {
	e.t.Helper()
	recs, err := e.st.ListAudit(context.Background(), store.AuditFilter{TenantID: tenant, Limit: 500})
	require.NoError(e.t, err)
	return recs
}

func actions(recs []store.AuditRecord) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.Action+":"+r.Outcome)
	}
	return out
}

func TestHealthAndReadiness(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newTestEnv(t, st)
		for _, path := range []string{"/healthz", "/readyz", "/openapi.yaml"} {
			resp := e.do(http.MethodGet, path, "", "")
			resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode, path)
		}
		// Metrics are served on the admin listener only (issue 13 fix 6).
		resp := e.do(http.MethodGet, "/metrics", "", "")
		assert.Equal(t, "route_not_found", httpxtest.ReadProblem(t, resp, http.StatusNotFound).Code)
		resp, err := http.Get(e.admin.URL + "/metrics")
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Contains(t, string(body), `ssi_http_requests_total{method="GET",route="/healthz",status="200"} 1`)
		assert.Contains(t, string(body), "ssi_store_open_connections")

		// A closed store makes the service unready, without saying why.
		require.NoError(t, st.Close())
		resp = e.do(http.MethodGet, "/readyz", "", "")
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
		assert.JSONEq(t, `{"ready":false,"checks":{"store":"unavailable"}}`, string(body))
	})
}

func TestAdminAuthentication(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newTestEnv(t, st)
		good, rec := e.key("health", admin.ScopeKeysManage, admin.ScopeAuditRead)
		revoked, rrec := e.key("health", admin.ScopeKeysManage)
		require.NoError(t, e.svc.RevokeKey(context.Background(), admin.Actor{ID: "cli"}, "health", rrec.ID))
		wrongSecret := good[:len(good)-4] + "AAAA"
		if wrongSecret == good {
			wrongSecret = good[:len(good)-4] + "BBBB"
		}
		for name, key := range map[string]string{
			"no key":       "",
			"malformed":    "not-a-key",
			"unknown id":   "ssi_0123456789abcdef_" + strings.Repeat("A", 43),
			"wrong secret": wrongSecret,
			"revoked":      revoked,
			"sql in id":    "ssi_' OR 1=1 --xxxxx_" + strings.Repeat("A", 43),
		} {
			t.Run(name, func(t *testing.T) {
				resp := e.do(http.MethodGet, "/admin/v1/keys/"+rec.ID, key, "")
				p := httpxtest.ReadProblem(t, resp, http.StatusUnauthorized)
				assert.Equal(t, "unauthenticated", p.Code)
				assert.NotEmpty(t, resp.Header.Get("WWW-Authenticate"))
			})
		}
		resp := e.do(http.MethodGet, "/admin/v1/keys/"+rec.ID, good, "")
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var v admin.KeyView
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
		assert.Equal(t, rec.ID, v.ID)
		assert.Empty(t, v.Key, "the secret is never shown again")

		// X-API-Key works as well as Bearer.
		r2 := e.do(http.MethodGet, "/admin/v1/keys/"+rec.ID, "", "", "X-API-Key", good)
		r2.Body.Close()
		assert.Equal(t, http.StatusOK, r2.StatusCode)
	})
}

func TestAdminScopesAndTenantIsolation(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newTestEnv(t, st)
		healthAdmin, _ := e.key("health", admin.ScopeKeysManage, admin.ScopeAuditRead)
		healthKeysOnly, _ := e.key("health", admin.ScopeKeysManage)
		benefitsAdmin, benefitsRec := e.key("benefits", admin.ScopeKeysManage)

		// Missing scope: 403, and the refusal is audited.
		resp := e.do(http.MethodGet, "/admin/v1/audit", healthKeysOnly, "")
		assert.Equal(t, "insufficient_scope", httpxtest.ReadProblem(t, resp, http.StatusForbidden).Code)
		assert.Contains(t, actions(e.audit("health")), "authz.denied:denied")

		// Another tenant's key: 404 to read and to revoke, and it keeps working.
		resp = e.do(http.MethodGet, "/admin/v1/keys/"+benefitsRec.ID, healthAdmin, "")
		assert.Equal(t, "key_not_found", httpxtest.ReadProblem(t, resp, http.StatusNotFound).Code)
		resp = e.do(http.MethodDelete, "/admin/v1/keys/"+benefitsRec.ID, healthAdmin, "")
		assert.Equal(t, "key_not_found", httpxtest.ReadProblem(t, resp, http.StatusNotFound).Code)
		resp = e.do(http.MethodGet, "/admin/v1/keys/"+benefitsRec.ID, benefitsAdmin, "")
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.NotContains(t, actions(e.audit("benefits")), "apikey.revoke:ok")

		// A key cannot grant what its creator lacks, nor unknown scopes.
		resp = e.do(http.MethodPost, "/admin/v1/keys", healthKeysOnly, `{"scopes":["audit:read"]}`)
		assert.Equal(t, "scope_escalation", httpxtest.ReadProblem(t, resp, http.StatusForbidden).Code)
		resp = e.do(http.MethodPost, "/admin/v1/keys", healthAdmin, `{"scopes":["root"]}`)
		assert.Equal(t, "invalid_scope", httpxtest.ReadProblem(t, resp, http.StatusBadRequest).Code)

		// Create, use and revoke a key over HTTP: every step audited.
		resp = e.do(http.MethodPost, "/admin/v1/keys", healthAdmin, `{"scopes":["keys:manage"]}`)
		require.Equal(t, http.StatusCreated, resp.StatusCode)
		var created admin.KeyView
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&created))
		resp.Body.Close()
		require.NotEmpty(t, created.Key)
		e.leaks.Secret(created.Key)
		resp = e.do(http.MethodGet, "/admin/v1/keys/"+created.ID, created.Key, "")
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		resp = e.do(http.MethodDelete, "/admin/v1/keys/"+created.ID, healthAdmin, "")
		resp.Body.Close()
		assert.Equal(t, http.StatusNoContent, resp.StatusCode)
		resp = e.do(http.MethodGet, "/admin/v1/keys/"+created.ID, created.Key, "")
		assert.Equal(t, "unauthenticated", httpxtest.ReadProblem(t, resp, http.StatusUnauthorized).Code)

		resp = e.do(http.MethodGet, "/admin/v1/audit", healthAdmin, "")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var list struct {
			Records []admin.AuditView `json:"records"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&list))
		resp.Body.Close()
		var got []string
		for _, r := range list.Records {
			got = append(got, r.Action+":"+r.Outcome)
			assert.NotContains(t, r.Target, created.Key)
		}
		for _, want := range []string{"tenant.create:ok", "apikey.create:ok", "apikey.revoke:ok", "authz.denied:denied"} {
			assert.Contains(t, got, want)
		}
		for _, r := range e.audit("benefits") {
			assert.Equal(t, "benefits", r.TenantID, "a tenant's audit log holds only its own records")
		}
	})
}

func TestAdminRejectsBadJSON(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newTestEnv(t, st)
		k, _ := e.key("health", admin.ScopeKeysManage)
		before := len(e.audit("health"))
		cases := []struct {
			name, body string
			status     int
			code       string
		}{
			{"oversized", `{"scopes":["` + strings.Repeat("a", 5000) + `"]}`, 413, "body_too_large"},
			{"duplicate keys", `{"scopes":["keys:manage"],"scopes":["audit:read"]}`, 400, "malformed_json"},
			{"too deep", strings.Repeat("[", 40) + strings.Repeat("]", 40), 400, "json_too_deep"},
			{"unknown field", `{"scopes":["keys:manage"],"tenant":"benefits"}`, 400, "unknown_field"},
			{"invalid utf-8", "{\"scopes\":[\"\xc3\x28\"]}", 400, "invalid_utf8"},
			{"wrong type", `{"scopes":"keys:manage"}`, 400, "invalid_type"},
			{"no scopes", `{"scopes":[]}`, 400, "invalid_scope"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				resp := e.do(http.MethodPost, "/admin/v1/keys", k, tc.body)
				assert.Equal(t, tc.code, httpxtest.ReadProblem(t, resp, tc.status).Code)
			})
		}
		resp := e.do(http.MethodGet, "/admin/v1/audit?limit=abc", k, "")
		httpxtest.ReadProblem(t, resp, http.StatusForbidden) // keys-only key: scope checked first
		assert.Equal(t, before, len(e.audit("health"))-1, "only the scope refusal was recorded; nothing else stored")
		assert.Equal(t, len(cases)+1, e.leaks.Checked)
	})
}

func TestIdempotencyKey(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newTestEnv(t, st)
		k, _ := e.key("health", admin.ScopeKeysManage)
		body := `{"scopes":["keys:manage"]}`

		first := e.do(http.MethodPost, "/admin/v1/keys", k, body, "Idempotency-Key", "op-1")
		b1, _ := io.ReadAll(first.Body)
		first.Body.Close()
		require.Equal(t, http.StatusCreated, first.StatusCode)
		second := e.do(http.MethodPost, "/admin/v1/keys", k, body, "Idempotency-Key", "op-1")
		b2, _ := io.ReadAll(second.Body)
		second.Body.Close()
		assert.Equal(t, http.StatusCreated, second.StatusCode)
		assert.Equal(t, string(b1), string(b2), "the same request gets the same response")
		assert.Equal(t, "true", second.Header.Get("Idempotent-Replayed"))

		// The stored response carries a secret shown once (the new API key):
		// the database holds it sealed, under a name that is not the client's
		// Idempotency-Key, so the row alone reveals nothing.
		var created admin.KeyView
		require.NoError(t, json.Unmarshal(b1, &created))
		require.NotEmpty(t, created.Key)
		stored, err := store.Raw(st).QueryBytes(context.Background(), "SELECT body FROM idempotency WHERE tenant_id = $1", "health")
		require.NoError(t, err)
		assert.NotContains(t, string(stored), created.Key)
		assert.NotContains(t, string(stored), created.ID)
		name, err := store.Raw(st).QueryBytes(context.Background(), "SELECT idem_key FROM idempotency WHERE tenant_id = $1", "health")
		require.NoError(t, err)
		assert.NotEqual(t, "op-1", string(name))

		resp := e.do(http.MethodPost, "/admin/v1/keys", k, `{"scopes":["keys:manage","keys:manage"]}`, "Idempotency-Key", "op-1")
		assert.Equal(t, "idempotency_key_reused", httpxtest.ReadProblem(t, resp, http.StatusUnprocessableEntity).Code)
		resp = e.do(http.MethodPost, "/admin/v1/keys", k, body, "Idempotency-Key", "bad key with spaces")
		assert.Equal(t, "invalid_idempotency_key", httpxtest.ReadProblem(t, resp, http.StatusBadRequest).Code)

		// 50 at once with one key: processed once.
		countCreates := func() int {
			n := 0
			for _, a := range actions(e.audit("health")) {
				if a == "apikey.create:ok" {
					n++
				}
			}
			return n
		}
		before := countCreates()
		var wg sync.WaitGroup
		statuses := make(chan int, 50)
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := e.do(http.MethodPost, "/admin/v1/keys", k, body, "Idempotency-Key", "op-parallel")
				io.Copy(io.Discard, r.Body)
				r.Body.Close()
				statuses <- r.StatusCode
			}()
		}
		wg.Wait()
		close(statuses)
		for s := range statuses {
			assert.Contains(t, []int{http.StatusCreated, http.StatusConflict}, s)
		}
		assert.Equal(t, before+1, countCreates(), "50 parallel requests with one key create one key")
	})
}

// TestAPIKeysAreStoredHashed reads the raw row: the store holds the SHA-256
// of the secret and nothing from which the key could be rebuilt.
func TestAPIKeysAreStoredHashed(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newTestEnv(t, st)
		key, rec := e.key("health", admin.ScopeKeysManage)
		secret := strings.SplitN(key, "_", 3)[2]
		ctx := context.Background()

		hash, err := store.Raw(st).QueryBytes(ctx, "SELECT hash FROM api_keys WHERE id = $1", rec.ID)
		require.NoError(t, err)
		sum := sha256.Sum256([]byte(secret))
		assert.Equal(t, sum[:], hash, "the hash column holds SHA-256(secret)")
		for _, col := range []string{"id", "tenant_id", "scopes"} {
			v, err := store.Raw(st).QueryBytes(ctx, "SELECT "+col+" FROM api_keys WHERE id = $1", rec.ID)
			require.NoError(t, err)
			assert.NotContains(t, string(v), secret, "column %s must not hold the secret", col)
		}
		assert.NotContains(t, string(hash), secret)
	})
}
