package didregistry

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/anchor"
	"github.com/ssi-project/ssi/anchor/anchortest"
	"github.com/ssi-project/ssi/internal/admin"
	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/httpx"
	"github.com/ssi-project/ssi/internal/httpx/httpxtest"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/store/storetest"
	"github.com/ssi-project/ssi/internal/trust"
)

// newLedger starts a real single-validator ledger anchoring st's outbox.
func newLedger(t testing.TB, st *store.Store) *anchortest.Ledger { return anchortest.Start(t, st) }

// clock is an injected, settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)     { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// env is the registry served over real HTTP on a real store and ledger.
type env struct {
	t      *testing.T
	st     *store.Store
	ledger *anchortest.Ledger
	svc    *Service
	clock  *clock
	srv    *httptest.Server
	client *http.Client
	leaks  *httpxtest.LeakChecker
	keys   map[string]string // tenant → API key
}

func newEnv(t *testing.T, st *store.Store) *env { return newEnvWith(t, st, did.WebOptions{}) }

// newEnvWith is newEnv with the registry's did:web resolver (for the
// resolver endpoint and for relying-party control proofs) made with web.
func newEnvWith(t *testing.T, st *store.Store, web did.WebOptions) *env {
	t.Helper()
	e := &env{t: t, st: st, clock: &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}, keys: map[string]string{}}
	e.ledger = newLedger(t, st)
	others := did.NewRouter().Handle("key", did.KeyResolver{}).Handle("jwk", did.JWKResolver{})
	webRes, err := did.NewWebResolver(web)
	require.NoError(t, err)
	others.Handle("web", webRes)
	e.svc = New(Config{Store: st, Anchor: e.ledger.Anchorer, PublicURL: "https://registry.example", Resolver: others, Now: e.clock.Now})
	r := chi.NewRouter()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r.Use(httpx.Observe(log, nil))
	r.Use(httpx.LimitBody(64 << 10))
	Routes(r, e.svc, others, st, 64<<10)
	e.srv = httptest.NewServer(r)
	t.Cleanup(e.srv.Close)
	e.client, e.leaks = httpxtest.NewClient(t)

	adm := &admin.Service{Store: st, Now: time.Now}
	for _, tn := range []struct{ id, kind, scope string }{
		{"health", "agency", admin.ScopeDIDsManage},
		{"benefits", "agency", admin.ScopeDIDsManage},
		{"operator", "registry-operator", admin.ScopeRegistryAdmin},
		{"venues", "venue-operator", admin.ScopeRPManage},
		{"venues2", "venue-operator", admin.ScopeRPManage},
	} {
		_, err := adm.CreateTenant(context.Background(), admin.Actor{ID: "test"}, store.Tenant{ID: tn.id, Name: tn.id, Kind: tn.kind})
		require.NoError(t, err)
		k, _, err := adm.CreateKey(context.Background(), admin.Actor{ID: "test"}, tn.id, []string{tn.scope}, nil)
		require.NoError(t, err)
		e.keys[tn.id] = k
		e.leaks.Secret(k)
	}
	return e
}

func (e *env) do(method, path, tenant string, body any) (int, []byte, http.Header) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, ok := body.([]byte)
		if !ok {
			var err error
			b, err = json.Marshal(body)
			require.NoError(e.t, err)
		}
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	require.NoError(e.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tenant != "" {
		req.Header.Set("Authorization", "Bearer "+e.keys[tenant])
	}
	resp, err := e.client.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// problemCode returns the code of a problem document, or "".
func problemCode(b []byte) string {
	var p struct{ Code string }
	_ = json.Unmarshal(b, &p)
	return p.Code
}

// createDID creates a DID whose only key is the controller ctl ("ctl-1")
// for the health tenant, and returns it.
func (e *env) createDID(ctl keys.Signer) string {
	e.t.Helper()
	tok, didStr, err := SignCreate(ctl, "ctl-1", nil, nil)
	require.NoError(e.t, err)
	code, body, _ := e.do(http.MethodPost, "/registry/v1/dids", "health", map[string]string{"operation": tok})
	require.Equal(e.t, http.StatusCreated, code, string(body))
	return didStr
}

func newSigner(t testing.TB) keys.Signer {
	t.Helper()
	s, err := keys.Generate(keys.ES256)
	require.NoError(t, err)
	return s
}

// waitAnchored polls until the version's anchor receipt is on the ledger.
func (e *env) waitAnchored(kind, subject string, version uint64) *trust.Receipt {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		rc, err := e.ledger.Anchorer.Get(context.Background(), kind, subject, version)
		if err == nil {
			return rc
		}
		if !errors.Is(err, anchor.ErrNotFound) && !errors.Is(err, anchor.ErrNotYet) {
			require.NoError(e.t, err)
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s %s v%d was not anchored in time: %v", kind, subject, version, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func backends(t *testing.T, f func(t *testing.T, st *store.Store)) {
	t.Run("sqlite", func(t *testing.T) { f(t, storetest.SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { f(t, storetest.Postgres(t)) })
}

func storetestSQLite(t *testing.T) *store.Store { return storetest.SQLite(t) }
