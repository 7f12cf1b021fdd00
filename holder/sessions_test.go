package holder

import (
	"context"
	"crypto/sha256"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/store/storetest"
)

// running starts e's Run (purges and the session cache's notifications)
// until the test ends, and waits until the cache is on.
func (e *env) running() {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = e.svc.Run(ctx); close(done) }()
	e.t.Cleanup(func() { cancel(); <-done })
	storetest.Within(e.t, 10*time.Second, func() {
		for !e.cacheOn() {
			time.Sleep(time.Millisecond)
		}
	})
}

func (e *env) cacheOn() bool {
	c := e.svc.sessions
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.on
}

// cached reports whether e's session cache holds tok.
func (e *env) cached(tok string) bool {
	_, ok := e.svc.sessions.get(sha256.Sum256([]byte(tok)), e.clock.Now())
	return ok
}

// refusedSoon waits until e refuses tok (the notification of another
// instance's logout arrives asynchronously), without moving the clock:
// the session cache's TTL plays no part.
func (e *env) refusedSoon(tok, why string) {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := e.do(http.MethodGet, "/wallet/v1/credentials", tok, nil)
		if r.code == http.StatusUnauthorized {
			return
		}
		require.Equal(e.t, http.StatusOK, r.code)
		require.True(e.t, time.Now().Before(deadline), "%s: the token is still accepted", why)
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSessionCacheAcrossInstances: two instances on one PostgreSQL cache
// sessions; a logout (or logout everywhere) on one is refused on the
// other at once, by the store's notification, and a session ended
// without one (a lost notification) is refused after the cache's TTL.
func TestSessionCacheAcrossInstances(t *testing.T) {
	sts := storetest.SharedPostgres(t, 2)
	c := &clock{t: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}
	a := newEnv(t, sts[0], envOpts{clock: c})
	b := newEnv(t, sts[1], envOpts{clock: c, kek: &a.kek})
	a.running()
	b.running()
	ok := func(e *env, tok string) {
		t.Helper()
		require.Equal(t, http.StatusOK, e.do(http.MethodGet, "/wallet/v1/credentials", tok, nil).code)
	}

	tok := a.signUp("ada", "correct horse battery")
	ok(b, tok)
	require.True(t, b.cached(tok), "b keeps the session it read")
	ok(b, tok)
	require.Equal(t, http.StatusNoContent, a.do(http.MethodDelete, "/wallet/v1/sessions/current", tok, nil).code)
	b.refusedSoon(tok, "a logout on a")
	assert.Equal(t, http.StatusUnauthorized, a.do(http.MethodGet, "/wallet/v1/credentials", tok, nil).code)

	// Logout everywhere, on b, of sessions both instances hold.
	t1, t2 := a.login("ada", "correct horse battery"), b.login("ada", "correct horse battery")
	for _, e := range []*env{a, b} {
		ok(e, t1)
		ok(e, t2)
	}
	require.True(t, a.cached(t2))
	require.Equal(t, http.StatusNoContent, b.do(http.MethodDelete, "/wallet/v1/sessions", t1, nil).code)
	a.refusedSoon(t1, "logout everywhere on b")
	a.refusedSoon(t2, "logout everywhere on b")

	// A session ended with no notification (as one lost would leave it):
	// served from the cache until its TTL, then refused.
	t3 := a.login("ada", "correct horse battery")
	ok(b, t3)
	_, err := store.Raw(sts[0]).Exec(context.Background(), "DELETE FROM holder_sessions")
	require.NoError(t, err)
	ok(b, t3)
	c.Add(DefaultSessionCacheTTL)
	assert.Equal(t, http.StatusUnauthorized, b.do(http.MethodGet, "/wallet/v1/credentials", t3, nil).code, "the TTL bounds a lost notification")
}
