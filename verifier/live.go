package verifier

import (
	"context"
	"crypto/ecdh"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/groupcommit"
	"github.com/ssi-project/ssi/internal/oid4vp"
	"github.com/ssi-project/ssi/internal/store"
)

// A response costs the verifier, besides the check, the transaction's
// look-up and the verdict's write. This instance keeps the transactions
// it created, or read, in memory (liveTx) with their request decoded and
// their encryption key opened, so that a response to one of them reads
// nothing; it falls back to the store on a miss (another instance created
// it, or this one restarted). What the memory cannot know, that another
// instance recorded a verdict meanwhile, the store decides: the verdict
// is written by a conditional update (pending and not expired), so a
// second response is refused on every instance. The verdicts of
// concurrent responses are written in groups (internal/groupcommit), one
// statement for many, each response waiting for its own durable result.

// maxLive bounds the transactions kept in memory; past it, a new one is
// read from the store when answered.
const maxLive = 1 << 15

// liveTx is a pending transaction as this instance knows it. Its status
// and events may be stale (another instance may have answered or fetched
// it); nothing decides on them without the store.
type liveTx struct {
	tx     store.Presentation
	venue  *Venue
	policy *Policy
	req    txRequest
	key    *ecdh.PrivateKey // direct_post.jwt's ephemeral key, opened
}

// liveTxs is the in-memory transactions, by request ID.
type liveTxs struct {
	mu sync.Mutex
	m  map[string]*liveTx
}

func (l *liveTxs) get(requestID string) *liveTx {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m[requestID]
}

func (l *liveTxs) put(t *liveTx) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]*liveTx{}
	}
	if len(l.m) < maxLive {
		l.m[t.tx.RequestID] = t
	}
}

func (l *liveTxs) drop(requestID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, requestID)
}

// sweep drops the transactions expired at now.
func (l *liveTxs) sweep(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, t := range l.m {
		if !now.Before(t.tx.ExpiresAt) {
			delete(l.m, id)
		}
	}
}

// live prepares a stored transaction for its wallet: its venue and
// policy, its request decoded, its encryption key opened.
func (s *Service) live(tx store.Presentation) (*liveTx, error) {
	t := &liveTx{tx: tx}
	var err error
	if t.venue, err = s.venue(tx.TenantID); err != nil {
		return nil, errs.Wrap(errs.Internal, "internal", "", err)
	}
	if err := json.Unmarshal(tx.Request, &t.req); err != nil {
		return nil, errs.Wrap(errs.Internal, "internal", "", err)
	}
	if tx.Policy == adhocPolicyName {
		t.policy, err = adhocPolicy(t.req.DCQL) // checked against the registration when created
	} else {
		t.policy, err = t.venue.policy(tx.Policy)
	}
	if err != nil {
		return nil, errs.Wrap(errs.Internal, "internal", "", err)
	}
	if tx.ResponseMode == oid4vp.DirectPostJWT {
		k, err := s.encKey(tx)
		if err != nil {
			return nil, err
		}
		if t.key, err = k.ECDH(); err != nil {
			return nil, errs.Wrap(errs.Internal, "internal", "", err)
		}
	}
	return t, nil
}

// walletTx finds the pending transaction of a request ID: in memory when
// cached is set and this instance has it, else in the store (and then
// keeps it).
func (s *Service) walletTx(ctx context.Context, requestID string, cached bool) (*liveTx, error) {
	if !oid4vp.ValidState(requestID) {
		return nil, ErrNoPresentation
	}
	if t := s.txs.get(requestID); cached && t != nil {
		if !s.now().Before(t.tx.ExpiresAt) {
			s.txs.drop(requestID)
			return nil, ErrRequestExpired
		}
		return t, nil
	}
	tx, err := s.cfg.Store.GetPresentationByRequest(ctx, requestID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoPresentation
	}
	if err != nil {
		return nil, err
	}
	switch {
	case tx.Status != store.PresentationPending:
		s.txs.drop(requestID)
		return nil, ErrNonceUsed
	case !s.now().Before(tx.ExpiresAt):
		s.txs.drop(requestID)
		return nil, ErrRequestExpired
	}
	t, err := s.live(tx)
	if err != nil {
		return nil, err
	}
	s.txs.put(t)
	return t, nil
}

// finishGroup records a group of verdicts in one call. When that call
// fails (a fault that one verdict may cause), it records them one by one,
// so that the fault fails its own response alone.
func (s *Service) finishGroup(ctx context.Context, vs []store.Verdict) []groupcommit.Outcome[bool] {
	res := make([]groupcommit.Outcome[bool], len(vs))
	now := s.now()
	ok, err := s.cfg.Store.FinishPresentations(ctx, vs, now)
	if err == nil {
		for i := range res {
			res[i].Val = ok[i]
		}
		return res
	}
	if len(vs) == 1 || ctx.Err() != nil {
		for i := range res {
			res[i].Err = err
		}
		return res
	}
	for i := range vs {
		one, err := s.cfg.Store.FinishPresentations(ctx, vs[i:i+1], now)
		if err != nil {
			res[i].Err = err
			continue
		}
		res[i].Val = one[0]
	}
	return res
}
