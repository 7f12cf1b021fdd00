package anchor

import (
	"context"
	"sync"
	"time"

	"github.com/ssi-project/ssi/internal/trust"
)

// ProofCache keeps the latest-version proof of each subject a service
// serves, so that answering a resolution does not cost two ledger queries
// each time. A proof is the state after one block, signed by the header of
// the next; a newer one exists only once the chain has made another block.
// So a cached proof is reused while it is younger than Reuse (by default
// one second, about one block) and as long as it covers the block the
// caller needs (minHeight: the height of the receipt served with it, so a
// version anchored after the cached proof is never served with a proof
// that predates it). Concurrent misses of one subject share one ledger
// query.
type ProofCache struct {
	ledger *Ledger
	reuse  time.Duration
	now    func() time.Time

	mu      sync.Mutex
	entries map[string]*proofEntry
}

type proofEntry struct {
	done    chan struct{} // closed once proof and err are set
	proof   *trust.LatestProof
	err     error
	fetched time.Time
}

const maxCachedProofs = 1 << 16

// NewProofCache returns a cache over l. reuse <= 0 means one second; now
// nil means time.Now.
func NewProofCache(l *Ledger, reuse time.Duration, now func() time.Time) *ProofCache {
	if reuse <= 0 {
		reuse = time.Second
	}
	if now == nil {
		now = time.Now
	}
	return &ProofCache{ledger: l, reuse: reuse, now: now, entries: map[string]*proofEntry{}}
}

// Get returns a latest-version proof of (kind, subject) that proves the
// state after a block at or above minHeight, from the cache when it holds
// one younger than the reuse window, else fresh from the ledger
// (Ledger.LatestProof, whose errors it returns: ErrNotYet,
// ErrUnavailable). Errors are not cached. The proof is shared: callers
// must not modify it.
func (c *ProofCache) Get(ctx context.Context, kind, subject string, minHeight int64) (*trust.LatestProof, error) {
	key := string(trust.MapKey(kind, subject))
	for {
		c.mu.Lock()
		e := c.entries[key]
		if e != nil {
			select {
			case <-e.done:
				if e.err == nil && e.proof.Height >= minHeight && c.now().Sub(e.fetched) < c.reuse {
					c.mu.Unlock()
					return e.proof, nil
				}
				e = nil // stale or failed: fetch again
			default: // a fetch is in flight: wait for it below
			}
		}
		if e == nil {
			e = &proofEntry{done: make(chan struct{})}
			if len(c.entries) >= maxCachedProofs {
				clear(c.entries)
			}
			c.entries[key] = e
			c.mu.Unlock()
			e.proof, e.err = c.ledger.LatestProof(ctx, kind, subject)
			e.fetched = c.now()
			close(e.done)
			if e.err != nil {
				c.mu.Lock()
				if c.entries[key] == e {
					delete(c.entries, key)
				}
				c.mu.Unlock()
				return nil, e.err
			}
			if e.proof.Height < minHeight { // the node lags behind the receipt's
				return nil, ErrNotYet
			}
			return e.proof, nil
		}
		c.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			return nil, ErrUnavailable.With("", ctx.Err())
		}
		// Loop: use what the other fetch got if it fits, else fetch.
		if e.err == nil && e.proof.Height >= minHeight {
			return e.proof, nil
		}
		if e.err != nil {
			return nil, e.err
		}
	}
}
