package didregistry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/trust"
)

// stallingRegistry is a real HTTP server in front of the registry that,
// while stalled, holds every request until released, and, while failing,
// answers 503.
type stallingRegistry struct {
	*httptest.Server
	stalled atomic.Int32 // requests being held
	mu      sync.Mutex
	release chan struct{} // nil: not stalling
	failing atomic.Bool
}

func (e *env) stallingRegistry() *stallingRegistry {
	s := &stallingRegistry{}
	proxy := httputil.NewSingleHostReverseProxy(mustURL(e.t, e.srv.URL))
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		release := s.release
		s.mu.Unlock()
		if release != nil {
			s.stalled.Add(1)
			select {
			case <-release:
			case <-r.Context().Done():
			}
			s.stalled.Add(-1)
		}
		if s.failing.Load() {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	e.t.Cleanup(s.Close)
	e.t.Cleanup(s.unstall)
	return s
}

func (s *stallingRegistry) stall() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.release = make(chan struct{})
}

func (s *stallingRegistry) unstall() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.release != nil {
		close(s.release)
		s.release = nil
	}
}

// TestClientServesStaleWhileRefreshing: when a cached trust answer's TTL
// has run out, the client serves it while one refresh runs, so callers do
// not wait on a registry that stalls (they all did, on the one shared
// refresh); a refresh that fails keeps the answer, but only up to the
// bound the client promises for a cached answer (its proof's time +
// MaxAge + TTL): past it, nothing stale is served, and the caller gets the
// registry's failure. The client's clock is moved; the registry, its
// ledger and the proofs are real.
func TestClientServesStaleWhileRefreshing(t *testing.T) {
	e := newEnv(t, storetestSQLite(t))
	ctx := context.Background()
	d := e.createDID(newSigner(t))
	e.waitAnchored(trust.KindDIDDocument, d, 1)
	reg := e.stallingRegistry()
	var ahead atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	c := trust.NewClient(reg.URL, trust.Options{Trust: e.ledger.Trust, TTL: time.Second, MaxAge: 30 * time.Second, Now: now})
	eventuallyOK(t, func() error { _, err := c.Resolve(ctx, d, did.ResolveOptions{}); return err })

	reg.stall()
	ahead.Store(int64(2 * time.Second)) // past the TTL, well within the proof's bound
	var wg sync.WaitGroup
	errc := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := c.Resolve(ctx, d, did.ResolveOptions{})
			if err == nil && res.DocumentMetadata.VersionID != "1" {
				err = assert.AnError
			}
			errc <- err
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second): // a deadlock guard, not a timing assertion
		t.Fatal("the callers waited on the stalled refresh")
	}
	close(errc)
	for err := range errc {
		assert.NoError(t, err, "the cached answer, stale")
	}
	deadline := time.Now().Add(10 * time.Second)
	for reg.stalled.Load() != 1 {
		require.True(t, time.Now().Before(deadline), "one refresh reaches the registry")
		time.Sleep(5 * time.Millisecond) // polling with a deadline
	}

	// The refresh fails: the answer is kept, and served, within its bound.
	reg.failing.Store(true)
	reg.unstall()
	for reg.stalled.Load() != 0 {
		require.True(t, time.Now().Before(deadline), "the refresh is answered")
		time.Sleep(5 * time.Millisecond) // polling with a deadline
	}
	ahead.Store(int64(4 * time.Second))
	res, err := c.Resolve(ctx, d, did.ResolveOptions{})
	require.NoError(t, err, "a failed refresh keeps the answer")
	assert.Equal(t, "1", res.DocumentMetadata.VersionID)

	// Past the bound, the stale answer is not used.
	ahead.Store(int64(40 * time.Second))
	_, err = c.Resolve(ctx, d, did.ResolveOptions{})
	assert.Equal(t, "registry_unavailable", errs.CodeOf(err))
}
