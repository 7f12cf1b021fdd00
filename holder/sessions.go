package holder

import (
	"context"
	"sync"
	"time"

	"github.com/ssi-project/ssi/internal/errs"
)

// DefaultSessionCacheTTL is Config.SessionCacheTTL's default.
const DefaultSessionCacheTTL = time.Second

// maxCachedSessions bounds the cache; past it, it starts again empty.
const maxCachedSessions = 1 << 16

// sessionCache keeps the sessions Authenticate read, for at most its ttl
// (and never past a session's expiry), so that a citizen's requests in a
// burst read the store once. It is on only while the store's
// notifications of ended sessions reach it (WatchHolderSessions): a
// logout on any instance then drops the account's entries at once, and
// the ttl bounds what a lost notification can leave. Every change of
// state bumps gen, and a read that began before a change is not kept: a
// logout committed while a session was being read cannot be undone by
// the read's result.
type sessionCache struct {
	ttl time.Duration
	mu  sync.Mutex
	on  bool
	gen uint64
	m   map[[32]byte]cachedSession
}

type cachedSession struct {
	acct  Account
	until time.Time
}

// get returns a copy of the account of session h, cached and still live
// at now.
func (c *sessionCache) get(h [32]byte, now time.Time) (*Account, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[h]
	if !ok || !c.on {
		return nil, false
	}
	if !now.Before(e.until) {
		delete(c.m, h)
		return nil, false
	}
	a := e.acct
	return &a, true
}

// begin is called before a session is read from the store; put keeps
// the read only if nothing changed since.
func (c *sessionCache) begin() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put keeps a's session h until the earlier of now + ttl and expires.
func (c *sessionCache) put(gen uint64, h [32]byte, a *Account, now, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.on || gen != c.gen {
		return
	}
	if len(c.m) >= maxCachedSessions {
		c.m = map[[32]byte]cachedSession{}
	}
	until := now.Add(c.ttl)
	if expires.Before(until) {
		until = expires
	}
	c.m[h] = cachedSession{acct: *a, until: until}
}

// drop forgets every session of account.
func (c *sessionCache) drop(account string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for h, e := range c.m {
		if e.acct.ID == account {
			delete(c.m, h)
		}
	}
}

// enable turns the cache on or off, empty either way.
func (c *sessionCache) enable(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.on = on && c.ttl > 0
	c.m = map[[32]byte]cachedSession{}
}

// watchSessions keeps the session cache on while the store's
// notifications of ended sessions reach it, until ctx ends; after a lost
// connection it is off (every request reads the store) until listening
// again.
func (s *Service) watchSessions(ctx context.Context) {
	for {
		err := s.cfg.Store.WatchHolderSessions(ctx, func() { s.sessions.enable(true) }, s.sessions.drop)
		s.sessions.enable(false)
		if err == nil || ctx.Err() != nil {
			return // nothing to listen to (SQLite), or stopped
		}
		s.log.WarnContext(ctx, "holder session notifications lost; reading every session from the store until they are back", "error", errs.CodeOf(err))
		t := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
