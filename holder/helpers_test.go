package holder

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
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

	"github.com/ssi-project/ssi/internal/httpx"
	"github.com/ssi-project/ssi/internal/httpx/httpxtest"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/store/storetest"
)

// backends runs fn on SQLite, and on PostgreSQL when SSI_TEST_POSTGRES is set.
func backends(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, storetest.SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, storetest.Postgres(t)) })
}

// clock is an injected, settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// testKDF keeps argon2id real but cheap enough for many logins.
var testKDF = KDF{Time: 1, MemoryKiB: 1 << 10, Threads: 1}

// env is one holder instance served over real HTTP on a real store.
type env struct {
	t      *testing.T
	st     *store.Store
	svc    *Service
	clock  *clock
	srv    *httptest.Server
	client *http.Client
	leaks  *httpxtest.LeakChecker
	kek    keys.KEK
}

type envOpts struct {
	clock  *clock    // shared by instances; nil: a new one
	kek    *keys.KEK // shared by instances; nil: a new one
	config func(*Config)
}

func newEnv(t *testing.T, st *store.Store, o envOpts) *env {
	t.Helper()
	e := &env{t: t, st: st, clock: o.clock}
	if e.clock == nil {
		e.clock = &clock{t: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}
	}
	if o.kek != nil {
		e.kek = *o.kek
	} else {
		k, err := keys.NewDataKey()
		require.NoError(t, err)
		e.kek = k
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := Config{Store: st, KEK: e.kek, Now: e.clock.Now, Logger: logger, KDF: testKDF,
		Wallet: walletTestOptions()}
	if o.config != nil {
		o.config(&cfg)
	}
	svc, err := New(cfg)
	require.NoError(t, err)
	e.svc = svc
	r := chi.NewRouter()
	r.Use(httpx.Observe(logger, nil))
	r.Use(httpx.LimitBody(MaxBody))
	Routes(r, svc)
	e.srv = httptest.NewServer(r)
	t.Cleanup(e.srv.Close)
	e.client, e.leaks = httpxtest.NewClient(t)
	return e
}

// resp is a response read whole.
type resp struct {
	code int
	hdr  http.Header
	body []byte
}

// errCode is the problem document's code.
func (r resp) errCode() string {
	var p struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(r.body, &p)
	return p.Code
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.body, v), string(r.body))
}

// do sends a request with the session token tok ("" for none); a body
// that is not a string is JSON-encoded.
func (e *env) do(method, path, tok string, body any) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		require.NoError(e.t, err)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, e.srv.URL+path, rd)
	require.NoError(e.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	res, err := e.client.Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	return resp{code: res.StatusCode, hdr: res.Header, body: b}
}

// signUp creates an account and logs it in, returning the session token.
func (e *env) signUp(username, password string) string {
	e.t.Helper()
	r := e.do(http.MethodPost, "/wallet/v1/accounts", "", map[string]string{"username": username, "password": password})
	require.Equal(e.t, http.StatusCreated, r.code, string(r.body))
	return e.login(username, password)
}

func (e *env) login(username, password string) string {
	e.t.Helper()
	r := e.do(http.MethodPost, "/wallet/v1/sessions", "", map[string]string{"username": username, "password": password})
	require.Equal(e.t, http.StatusCreated, r.code, string(r.body))
	var s struct{ Token string }
	r.json(e.t, &s)
	e.leaks.Secret(s.Token)
	return s.Token
}

// rawTables returns every row of the holder's tables as the database
// holds them, rendered as text (PostgreSQL: row_to_json; SQLite: quote()
// of every column), for the at-rest tests.
func rawTables(t *testing.T, st *store.Store) string {
	t.Helper()
	ctx := context.Background()
	var out strings.Builder
	for _, table := range []string{"holder_accounts", "holder_sessions", "holder_keys", "holder_credentials", "holder_copies", "holder_transactions", "holder_history", "rate_limits"} {
		var q string
		if st.Backend() == "postgres" {
			q = "SELECT convert_to(COALESCE(string_agg(row_to_json(t)::text, '|'), ''), 'UTF8') FROM " + table + " t"
		} else {
			cols, err := store.Raw(st).QueryBytes(ctx, "SELECT CAST(group_concat('quote(' || name || ')', ' || '','' || ') AS BLOB) FROM pragma_table_info('"+table+"')")
			require.NoError(t, err)
			q = "SELECT CAST(COALESCE(group_concat(" + string(cols) + ", '|'), '') AS BLOB) FROM " + table
		}
		b, err := store.Raw(st).QueryBytes(ctx, q)
		require.NoError(t, err, table)
		out.WriteString(table + ": ")
		out.Write(b)
		out.WriteString("\n")
	}
	return out.String()
}

// assertNotAtRest fails when secret appears in the raw rows, as text or
// hex (a BYTEA or BLOB column holding it in clear).
func assertNotAtRest(t *testing.T, raw, secret, what string) {
	t.Helper()
	require.NotEmpty(t, secret)
	for _, form := range []string{secret, hex.EncodeToString([]byte(secret)), strings.ToUpper(hex.EncodeToString([]byte(secret)))} {
		if strings.Contains(raw, form) {
			t.Errorf("%s is stored in clear", what)
		}
	}
}
