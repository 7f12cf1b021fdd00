package issuer

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/httpx"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/store/storetest"
)

// shared runs fn with two stores on one database: two handles on one
// SQLite file, and two pools on one PostgreSQL schema when
// SSI_TEST_POSTGRES is set (skipped without it, failed in CI).
func shared(t *testing.T, fn func(t *testing.T, a, b *store.Store)) {
	t.Run("sqlite", func(t *testing.T) { s := storetest.SharedSQLite(t, 2); fn(t, s[0], s[1]) })
	t.Run("postgres", func(t *testing.T) { s := storetest.SharedPostgres(t, 2); fn(t, s[0], s[1]) })
}

// instance starts another instance of e's issuer on st (a store on e's
// database), as a second process behind a load balancer would be: the same
// tenants, clock, public URL and configuration, its own HTTP server and
// its own memory. The env it returns sends requests to that instance only.
func (e *env) instance(st *store.Store) *env {
	e.t.Helper()
	r := chi.NewRouter()
	r.Use(httpx.LimitBody(64 << 10))
	srv := httptest.NewServer(r)
	e.t.Cleanup(srv.Close)
	cfg := e.svc.cfg
	cfg.Store = st
	svc, err := New(cfg)
	require.NoError(e.t, err)
	Routes(r, svc, st, 64<<10)
	c := *e
	c.st, c.svc, c.srv = st, svc, srv
	return &c
}

// from returns a client whose connections leave from the local address ip:
// any address of 127.0.0.0/8 reaches the test servers, each as another
// client address.
func from(t *testing.T, ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// reply is a response as post reads it.
type reply struct {
	code int
	body []byte
	hdr  http.Header
}

// post sends form (a token request; "" for none) to path on the instance
// e through c, with X-Forwarded-For xff unless it is "".
func (e *env) post(c *http.Client, path, form, xff string) reply {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(form))
	require.NoError(e.t, err)
	if form != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if xff != "" {
		req.Header.Set(httpx.ForwardedFor, xff)
	}
	resp, err := c.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return reply{resp.StatusCode, b, resp.Header}
}

func tokenForm(code, txCode string) string {
	return url.Values{"grant_type": {PreAuthGrant}, "pre-authorized_code": {code}, "tx_code": {txCode}}.Encode()
}

// wrongTx is a tx_code that is not w's.
func wrongTx(w *wallet) string {
	if w.txCode == "000000" {
		return "111111"
	}
	return "000000"
}

// refused asserts a 429 rate_limited with a Retry-After of 1 to 61 s.
func refused(t *testing.T, r reply) {
	t.Helper()
	assert.Equal(t, http.StatusTooManyRequests, r.code, string(r.body))
	assert.Equal(t, "rate_limited", errCode(r.body))
	retryAfter(t, r.hdr)
}

// TestRateLimitsHoldAcrossInstances: two instances of the issuer on one
// database (behind a load balancer) share every budget: requests
// alternating between them are refused at N in total, not 2N, and an
// instance started later (a restart, a scale-out) does not bring a fresh
// budget. The second instance's requests come from another address
// (127.0.0.2), as a load balancer hashing on the source address would
// send them: the code's budget does not depend on it.
func TestRateLimitsHoldAcrossInstances(t *testing.T) {
	t.Run("per client", func(t *testing.T) {
		shared(t, func(t *testing.T, sa, sb *store.Store) {
			a := newEnv(t, sa, envOpts{config: func(c *Config) { c.RatePerClient = 6 }})
			b := a.instance(sb)
			c := from(t, "127.0.0.1")
			for i := range 6 { // each guess a new code: the per-code limit is not hit
				inst := []*env{a, b}[i%2]
				r := inst.post(c, "/issuers/health/token", tokenForm("guess-"+strconv.Itoa(i), ""), "")
				require.Equal(t, http.StatusBadRequest, r.code, "request %d: %s", i, r.body)
			}
			for _, inst := range []*env{a, b} {
				refused(t, inst.post(c, "/issuers/health/token", tokenForm("guess-x", ""), ""))
			}
			later := a.instance(sb) // a restarted or added instance
			refused(t, later.post(c, "/issuers/health/token", tokenForm("guess-y", ""), ""))
		})
	})
	t.Run("per code", func(t *testing.T) {
		shared(t, func(t *testing.T, sa, sb *store.Store) {
			// Three a minute: the code is still alive (under its five
			// tx_code attempts) when refused.
			a := newEnv(t, sa, envOpts{config: func(c *Config) { c.RatePerCode = 3 }})
			b := a.instance(sb)
			v := a.createOffer("health", "vaccination-pass", "c1", vaccSubject)
			w := a.fetchOffer(v)
			clients := []*http.Client{from(t, "127.0.0.1"), from(t, "127.0.0.2")}
			for i := range 3 {
				r := []*env{a, b}[i%2].post(clients[i%2], "/issuers/health/token", tokenForm(w.code, wrongTx(w)), "")
				require.Equal(t, http.StatusBadRequest, r.code, "request %d: %s", i, r.body)
			}
			// Over the code's budget on both instances, from both
			// addresses, even with the right tx_code.
			refused(t, b.post(clients[1], "/issuers/health/token", tokenForm(w.code, w.txCode), ""))
			refused(t, a.post(clients[0], "/issuers/health/token", tokenForm(w.code, w.txCode), ""))
			o, err := sa.GetOffer(context.Background(), v.ID)
			require.NoError(t, err)
			assert.Equal(t, 3, o.Attempts, "a refused request counts no attempt")
			assert.Nil(t, o.TokenHash)
			a.clock.Add(a.svc.cfg.RateWindow) // both instances read this clock
			r := b.post(clients[1], "/issuers/health/token", tokenForm(w.code, w.txCode), "")
			assert.Equal(t, http.StatusOK, r.code, "a window later the holder is served: %s", r.body)
		})
	})
	t.Run("nonces per client", func(t *testing.T) {
		shared(t, func(t *testing.T, sa, sb *store.Store) {
			a := newEnv(t, sa, envOpts{config: func(c *Config) { c.RatePerClient = 6 }})
			b := a.instance(sb)
			c := from(t, "127.0.0.1")
			for i := range 6 {
				r := []*env{a, b}[i%2].post(c, "/issuers/health/nonce", "", "")
				require.Equal(t, http.StatusOK, r.code, "request %d: %s", i, r.body)
			}
			refused(t, a.post(c, "/issuers/health/nonce", "", ""))
			refused(t, b.post(c, "/issuers/health/nonce", "", ""))
			assert.Equal(t, int64(6), countWhere(t, sa, "single_use", "kind = 'c_nonce'"), "no nonce stored for a refused request")
		})
	})
}

// TestAnotherAddressGetsNoFreshCodeBudget: switching client addresses
// (another loopback address as the TCP peer, a spoofed X-Forwarded-For
// from an untrusted peer, or a trusted proxy naming a new client each
// time) gets around neither the code's rate budget nor its five tx_code
// attempts: those are the limits that stop a tx_code brute force.
func TestAnotherAddressGetsNoFreshCodeBudget(t *testing.T) {
	type hop struct{ ip, xff string }
	for name, c := range map[string]struct {
		trusted string // the proxy the issuer trusts, or ""
		hops    []hop
	}{
		"another peer address": {"", []hop{{"127.0.0.1", ""}, {"127.0.0.2", ""}, {"127.0.0.3", ""}, {"127.0.0.4", ""}, {"127.0.0.5", ""}, {"127.0.0.6", ""}}},
		"spoofed X-Forwarded-For": {"", []hop{{"127.0.0.1", "198.51.100.1"}, {"127.0.0.1", "198.51.100.2"}, {"127.0.0.1", "198.51.100.3"},
			{"127.0.0.1", "198.51.100.4"}, {"127.0.0.1", "198.51.100.5"}, {"127.0.0.1", "198.51.100.6"}}},
		"clients of a trusted proxy": {"127.0.0.1/32", []hop{{"127.0.0.1", "198.51.100.1"}, {"127.0.0.1", "198.51.100.2"}, {"127.0.0.1", "2001:db8::1"},
			{"127.0.0.1", "2001:db8:1::1"}, {"127.0.0.1", "198.51.100.5"}, {"127.0.0.1", "198.51.100.6"}}},
	} {
		t.Run(name, func(t *testing.T) {
			backends(t, func(t *testing.T, st *store.Store) {
				trust := func(cfg *Config) {
					if c.trusted != "" {
						cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix(c.trusted)}
					}
				}
				// The code's rate budget: three a minute, whatever the address.
				e := newEnv(t, st, envOpts{config: func(cfg *Config) { cfg.RatePerCode = 3; trust(cfg) }})
				w := e.fetchOffer(e.createOffer("health", "vaccination-pass", "c1", vaccSubject))
				for i, h := range c.hops[:3] {
					r := e.post(from(t, h.ip), "/issuers/health/token", tokenForm(w.code, wrongTx(w)), h.xff)
					require.Equal(t, http.StatusBadRequest, r.code, "request %d: %s", i, r.body)
				}
				for _, h := range c.hops[3:] {
					refused(t, e.post(from(t, h.ip), "/issuers/health/token", tokenForm(w.code, w.txCode), h.xff))
				}

				// The code's attempts: five wrong tx_codes from five
				// addresses, and the right one from a sixth is too late.
				e = newEnv(t, storetest.SQLite(t), envOpts{config: func(cfg *Config) { cfg.RatePerCode = 100; trust(cfg) }})
				w = e.fetchOffer(e.createOffer("health", "vaccination-pass", "c2", vaccSubject))
				for i, h := range c.hops[:5] {
					r := e.post(from(t, h.ip), "/issuers/health/token", tokenForm(w.code, wrongTx(w)), h.xff)
					require.Equal(t, http.StatusBadRequest, r.code, "request %d: %s", i, r.body)
				}
				r := e.post(from(t, c.hops[5].ip), "/issuers/health/token", tokenForm(w.code, w.txCode), c.hops[5].xff)
				assert.Equal(t, http.StatusBadRequest, r.code)
				assert.Equal(t, "invalid_grant", errCode(r.body), "the code died after five attempts")
			})
		})
	}
}

// TestClientBudgetFollowsTheTrustedClientAddress: the per-client budget
// is the client's: X-Forwarded-For from an untrusted peer (the default:
// no proxy trusted) does not renew the peer's budget, and behind a trusted
// proxy each client it names has its own budget, and the proxy no single
// budget for them all.
func TestClientBudgetFollowsTheTrustedClientAddress(t *testing.T) {
	guess := func(i int) string { return tokenForm("guess-"+strconv.Itoa(i), "") }
	t.Run("spoofed by an untrusted peer", func(t *testing.T) {
		for name, trusted := range map[string][]netip.Prefix{"none trusted": nil, "another proxy trusted": {netip.MustParsePrefix("127.0.0.9/32")}} {
			t.Run(name, func(t *testing.T) {
				e := newEnv(t, storetest.SQLite(t), envOpts{config: func(c *Config) { c.RatePerClient = 3; c.TrustedProxies = trusted }})
				c := from(t, "127.0.0.1")
				for i := range 3 {
					r := e.post(c, "/issuers/health/token", guess(i), "198.51.100."+strconv.Itoa(i+1))
					require.Equal(t, http.StatusBadRequest, r.code, string(r.body))
				}
				refused(t, e.post(c, "/issuers/health/token", guess(9), "198.51.100.9"))
				// The nonce budget is another, and the same peer's too.
				for i := range 3 {
					r := e.post(c, "/issuers/health/nonce", "", "198.51.100."+strconv.Itoa(i+1)+", 203.0.113.1")
					require.Equal(t, http.StatusOK, r.code, string(r.body))
				}
				refused(t, e.post(c, "/issuers/health/nonce", "", "198.51.100.9, 203.0.113.9"))
				r := e.post(from(t, "127.0.0.2"), "/issuers/health/token", guess(10), "")
				assert.Equal(t, http.StatusBadRequest, r.code, "another peer has its own budget: %s", r.body)
			})
		}
	})
	t.Run("clients of a trusted proxy", func(t *testing.T) {
		e := newEnv(t, storetest.SQLite(t), envOpts{config: func(c *Config) {
			c.RatePerClient = 3
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		}})
		proxy := from(t, "127.0.0.1")
		for i := range 3 {
			r := e.post(proxy, "/issuers/health/token", guess(i), "203.0.113.7, 198.51.100.1") // the client spoofed the left entry
			require.Equal(t, http.StatusBadRequest, r.code, string(r.body))
		}
		refused(t, e.post(proxy, "/issuers/health/token", guess(3), "203.0.113.8, 198.51.100.1"))
		r := e.post(proxy, "/issuers/health/token", guess(4), "198.51.100.2")
		assert.Equal(t, http.StatusBadRequest, r.code, "the proxy's next client has its own budget: %s", r.body)
		// One IPv6 client, many addresses of its /64: one budget.
		for i := range 3 {
			r := e.post(proxy, "/issuers/health/token", guess(10+i), "2001:db8:5:6::"+strconv.Itoa(i+1))
			require.Equal(t, http.StatusBadRequest, r.code, string(r.body))
		}
		refused(t, e.post(proxy, "/issuers/health/token", guess(13), "2001:db8:5:6:ffff::1"))
		r = e.post(proxy, "/issuers/health/token", guess(14), "2001:db8:5:7::1")
		assert.Equal(t, http.StatusBadRequest, r.code, "the next /64 is another client: %s", r.body)
		// Garbage from the proxy's side is the proxy's own address.
		r = e.post(proxy, "/issuers/health/token", guess(15), "not-an-address")
		assert.Equal(t, http.StatusBadRequest, r.code, string(r.body))
	})
}

// TestRateConfig: the documented defaults, the per-client limit turned
// off (nothing counted for the client), and the settings New refuses.
func TestRateConfig(t *testing.T) {
	st := storetest.SQLite(t)
	e := newEnv(t, st, envOpts{})
	assert.Equal(t, DefaultRatePerClient, e.svc.cfg.RatePerClient)
	assert.Equal(t, 1200, DefaultRatePerClient, "the documented default")
	assert.Equal(t, DefaultRatePerCode, e.svc.cfg.RatePerCode)
	assert.Equal(t, time.Minute, e.svc.cfg.RateWindow)

	off := newEnv(t, storetest.SQLite(t), envOpts{config: func(c *Config) { c.RatePerClient = RateOff }})
	c := from(t, "127.0.0.1")
	r := off.post(c, "/issuers/health/token", tokenForm("guess", ""), "")
	require.Equal(t, http.StatusBadRequest, r.code, string(r.body))
	r = off.post(c, "/issuers/health/nonce", "", "")
	require.Equal(t, http.StatusOK, r.code, string(r.body))
	assert.Equal(t, int64(1), countWhere(t, off.st, "rate_limits", "1 = 1"), "only the code's budget is counted")

	for name, change := range map[string]func(*Config){
		"per-code off":     func(c *Config) { c.RatePerCode = -1 },
		"window too short": func(c *Config) { c.RateWindow = 500 * time.Millisecond },
		"window too long":  func(c *Config) { c.RateWindow = 2 * time.Hour },
	} {
		cfg := e.svc.cfg
		change(&cfg)
		_, err := New(cfg)
		assert.Error(t, err, name)
	}
}

// TestRunPurgesRateLimitWindows: the background worker deletes the
// windows that ended, so the client addresses in them are not kept.
func TestRunPurgesRateLimitWindows(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), envOpts{})
	r := e.post(from(t, "127.0.0.1"), "/issuers/health/nonce", "", "")
	require.Equal(t, http.StatusOK, r.code, string(r.body))
	require.Equal(t, int64(1), countWhere(t, e.st, "rate_limits", "1 = 1"))
	e.clock.Add(e.svc.cfg.RateWindow)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = e.svc.Run(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for countWhere(t, e.st, "rate_limits", "1 = 1") != 0 {
		require.True(t, time.Now().Before(deadline), "the ended window was not purged")
		time.Sleep(10 * time.Millisecond) // polling with a deadline
	}
}
