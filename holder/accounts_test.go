package holder

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/store/storetest"
)

func TestAccountsAndSessions(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{})
		tok := e.signUp("Ada@Example.org ", "correct horse battery")
		r := e.do(http.MethodGet, "/wallet/v1/account", tok, nil)
		require.Equal(t, http.StatusOK, r.code, string(r.body))
		var a struct{ ID, Username string }
		r.json(t, &a)
		assert.Equal(t, "ada@example.org", a.Username, "usernames are normalized")

		// A second device, then logout on the first: the second lives.
		tok2 := e.login("ada@example.org", "correct horse battery")
		assert.NotEqual(t, tok, tok2)
		assert.Equal(t, http.StatusNoContent, e.do(http.MethodDelete, "/wallet/v1/sessions/current", tok, nil).code)
		r = e.do(http.MethodGet, "/wallet/v1/account", tok, nil)
		assert.Equal(t, http.StatusUnauthorized, r.code)
		assert.Equal(t, "invalid_session", r.errCode())
		assert.Equal(t, http.StatusOK, e.do(http.MethodGet, "/wallet/v1/account", tok2, nil).code)

		// Logout everywhere ends every session.
		tok3 := e.login("ada@example.org", "correct horse battery")
		assert.Equal(t, http.StatusNoContent, e.do(http.MethodDelete, "/wallet/v1/sessions", tok3, nil).code)
		for _, k := range []string{tok2, tok3} {
			assert.Equal(t, http.StatusUnauthorized, e.do(http.MethodGet, "/wallet/v1/account", k, nil).code)
		}

		// Sessions expire.
		tok4 := e.login("ada@example.org", "correct horse battery")
		e.clock.Add(DefaultSessionTTL)
		assert.Equal(t, http.StatusUnauthorized, e.do(http.MethodGet, "/wallet/v1/account", tok4, nil).code, "expired at its TTL")

		for name, tc := range map[string]struct {
			path, tok string
			body      any
			status    int
			code      string
		}{
			"taken":          {"/wallet/v1/accounts", "", map[string]string{"username": "ADA@example.org", "password": "another password"}, 409, "username_taken"},
			"short password": {"/wallet/v1/accounts", "", map[string]string{"username": "bob", "password": "short"}, 400, "weak_password"},
			"bad username":   {"/wallet/v1/accounts", "", map[string]string{"username": "b o b", "password": "long enough password"}, 400, "invalid_username"},
			"not JSON":       {"/wallet/v1/accounts", "", "{", 400, "malformed_json"},
			"unknown field":  {"/wallet/v1/accounts", "", map[string]string{"username": "bob", "password": "long enough password", "admin": "yes"}, 400, "unknown_field"},
			"wrong password": {"/wallet/v1/sessions", "", map[string]string{"username": "ada@example.org", "password": "wrong password!"}, 401, "invalid_login"},
			"unknown user":   {"/wallet/v1/sessions", "", map[string]string{"username": "nobody", "password": "wrong password!"}, 401, "invalid_login"},
			"forged token":   {"/wallet/v1/account", "ssiw_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", nil, 401, "invalid_session"},
			"not a token":    {"/wallet/v1/account", "x", nil, 401, "invalid_session"},
		} {
			t.Run(name, func(t *testing.T) {
				method := http.MethodPost
				if tc.body == nil {
					method = http.MethodGet
				}
				r := e.do(method, tc.path, tc.tok, tc.body)
				assert.Equal(t, tc.status, r.code, string(r.body))
				assert.Equal(t, "application/problem+json", r.hdr.Get("Content-Type"))
				assert.Equal(t, tc.code, r.errCode())
			})
		}

		// At rest: neither the password nor any token.
		raw := rawTables(t, st)
		assert.Contains(t, raw, "$argon2id$", "the walk sees the rows")
		assertNotAtRest(t, raw, "correct horse battery", "the password")
		for _, k := range []string{tok, tok2, tok3, tok4} {
			assertNotAtRest(t, raw, k, "a session token")
		}
	})
}

// TestLoginLockoutAcrossInstances is acceptance 5: two holder instances
// on one database share the failure count and the lock; the lock answers
// 429 with Retry-After, even to the right password, until it ends.
func TestLoginLockoutAcrossInstances(t *testing.T) {
	for name, open := range map[string]func(testing.TB, int) []*store.Store{
		"sqlite": storetest.SharedSQLite, "postgres": storetest.SharedPostgres,
	} {
		t.Run(name, func(t *testing.T) {
			sts := open(t, 2)
			c := &clock{t: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}
			a := newEnv(t, sts[0], envOpts{clock: c})
			b := newEnv(t, sts[1], envOpts{clock: c, kek: &a.kek})
			a.signUp("ada", "correct horse battery")
			wrong := map[string]string{"username": "ada", "password": "wrong password!"}
			right := map[string]string{"username": "ada", "password": "correct horse battery"}
			for i := range DefaultMaxFailures - 1 {
				inst := []*env{a, b}[i%2]
				r := inst.do(http.MethodPost, "/wallet/v1/sessions", "", wrong)
				require.Equal(t, http.StatusUnauthorized, r.code, "failure %d", i+1)
			}
			r := b.do(http.MethodPost, "/wallet/v1/sessions", "", wrong)
			require.Equal(t, http.StatusTooManyRequests, r.code, "the 5th failure, counted across both instances, locks")
			assert.Equal(t, "login_locked", r.errCode())
			for _, inst := range []*env{a, b} {
				r := inst.do(http.MethodPost, "/wallet/v1/sessions", "", right)
				require.Equal(t, http.StatusTooManyRequests, r.code, "locked on every instance, even for the right password")
				assert.Equal(t, "login_locked", r.errCode())
				secs, err := strconv.Atoi(r.hdr.Get("Retry-After"))
				require.NoError(t, err)
				assert.InDelta(t, DefaultLockout.Seconds(), secs, 1)
			}
			c.Add(DefaultLockout / 2)
			r = a.do(http.MethodPost, "/wallet/v1/sessions", "", right)
			require.Equal(t, http.StatusTooManyRequests, r.code)
			secs, _ := strconv.Atoi(r.hdr.Get("Retry-After"))
			assert.InDelta(t, (DefaultLockout / 2).Seconds(), secs, 1, "Retry-After counts down")
			c.Add(DefaultLockout / 2)
			b.login("ada", "correct horse battery")

			// A success clears the failures: four more are allowed again.
			for range DefaultMaxFailures - 1 {
				require.Equal(t, http.StatusUnauthorized, a.do(http.MethodPost, "/wallet/v1/sessions", "", wrong).code)
			}
			a.login("ada", "correct horse battery")
		})
	}
}

// TestLoginPerClientLimit: one client guessing many accounts is limited
// per client address, across instances.
func TestLoginPerClientLimit(t *testing.T) {
	sts := storetest.SharedSQLite(t, 2)
	c := &clock{t: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}
	cfg := func(c *Config) { c.LoginsPerClient = 6 }
	a := newEnv(t, sts[0], envOpts{clock: c, config: cfg})
	b := newEnv(t, sts[1], envOpts{clock: c, kek: &a.kek, config: cfg})
	for i := range 6 {
		inst := []*env{a, b}[i%2]
		r := inst.do(http.MethodPost, "/wallet/v1/sessions", "", map[string]string{"username": "user" + strconv.Itoa(i), "password": "guess guess guess"})
		require.Equal(t, http.StatusUnauthorized, r.code)
	}
	r := a.do(http.MethodPost, "/wallet/v1/sessions", "", map[string]string{"username": "user9", "password": "guess guess guess"})
	require.Equal(t, http.StatusTooManyRequests, r.code)
	assert.Equal(t, "login_rate_limited", r.errCode())
	assert.NotEmpty(t, r.hdr.Get("Retry-After"))
	c.Add(DefaultClientWindow)
	r = b.do(http.MethodPost, "/wallet/v1/sessions", "", map[string]string{"username": "user9", "password": "guess guess guess"})
	assert.Equal(t, http.StatusUnauthorized, r.code, "a new window")
}

// TestPurge: expired sessions, flows and ended rate-limit windows go;
// live ones stay.
func TestPurge(t *testing.T) {
	st := storetest.SQLite(t)
	e := newEnv(t, st, envOpts{})
	tok := e.signUp("ada", "correct horse battery")
	r := e.do(http.MethodPost, "/wallet/v1/sessions", "", map[string]string{"username": "ada", "password": "wrong password!"})
	require.Equal(t, http.StatusUnauthorized, r.code)
	a, err := e.svc.Authenticate(context.Background(), tok)
	require.NoError(t, err)
	require.NoError(t, e.svc.putFlow(context.Background(), a, "f1", "present", "pending", e.clock.Now().Add(PresentTTL), presentState{}))
	count := func(table string) int {
		var n int
		require.NoError(t, store.Raw(st).QueryRow(context.Background(), "SELECT COUNT(*) FROM "+table, nil, &n))
		return n
	}
	require.NoError(t, e.svc.Purge(context.Background()))
	assert.Equal(t, 1, count("holder_sessions"))
	assert.Equal(t, 1, count("holder_transactions"))
	assert.Equal(t, 2, count("rate_limits"), "the client's window and the account's failures")
	e.clock.Add(DefaultSessionTTL)
	require.NoError(t, e.svc.Purge(context.Background()))
	for _, table := range []string{"holder_sessions", "holder_transactions", "rate_limits"} {
		assert.Zero(t, count(table), table)
	}
}
