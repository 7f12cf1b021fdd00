package verifier

import (
	"context"
	"errors"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/oid4vp"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/store/storetest"
)

// TestTwoInstances: two verifier instances on one database, each with its
// own pool (SQLite and PostgreSQL). A transaction created on one is
// answered on the other, which has it in no memory (read from the store,
// its encryption key opened): green, with the events of both instances.
// A second response to the first instance, whose memory still holds the
// transaction as pending, is refused (nonce_used) by the store, and so is
// a third to the second instance.
func TestTwoInstances(t *testing.T) {
	for _, backend := range []struct {
		name string
		open func(testing.TB, int) []*store.Store
	}{{"sqlite", storetest.SharedSQLite}, {"postgres", storetest.SharedPostgres}} {
		t.Run(backend.name, func(t *testing.T) {
			sts := backend.open(t, 2)
			w := newWorldOn(t, sts[0])
			cfg := w.cfg
			cfg.Store = sts[1]
			other, err := New(context.Background(), cfg)
			require.NoError(t, err)
			for _, mode := range []string{oid4vp.DirectPost, oid4vp.DirectPostJWT} {
				tx := w.start(mode) // created and fetched on w.svc
				f := w.form(tx, w.present(w.issue(nil), tx, nil))
				_, err := other.Respond(context.Background(), tx.reqID, f)
				require.NoError(t, err, mode)
				v, err := w.svc.Get(context.Background(), "venue", tx.id, 0, "")
				require.NoError(t, err)
				assert.Equal(t, "green", v.Verdict, mode)
				var types []string
				for _, e := range v.Events {
					types = append(types, e.Type)
				}
				assert.Equal(t, []string{"created", "request_fetched", "response_received", store.PresentationVerified}, types, mode)

				_, err = w.svc.Respond(context.Background(), tx.reqID, f)
				assert.ErrorIs(t, err, ErrNonceUsed, "%s: the first instance's memory is stale; the store refuses", mode)
				_, err = other.Respond(context.Background(), tx.reqID, f)
				assert.ErrorIs(t, err, ErrNonceUsed, mode)
			}
		})
	}
}

// countingStore counts the verdict groups written; the first one waits,
// once armed, until hold (given its number of verdicts) says so; fail, when set, fails the writes it
// says to (of a group of n verdicts), provoking a fault.
type countingStore struct {
	*store.Store
	calls, verdicts atomic.Int64
	hold            func(held int)
	once            sync.Once
	fail            atomic.Pointer[func(n int) error]
}

func (c *countingStore) FinishPresentations(ctx context.Context, vs []store.Verdict, now time.Time) ([]bool, error) {
	c.calls.Add(1)
	c.verdicts.Add(int64(len(vs)))
	if c.hold != nil {
		c.once.Do(func() { c.hold(len(vs)) })
	}
	if fail := c.fail.Load(); fail != nil {
		if err := (*fail)(len(vs)); err != nil {
			return nil, err
		}
	}
	return c.Store.FinishPresentations(ctx, vs, now)
}

// newCountingWorld is a world whose verdicts are written by one worker
// through a countingStore.
func newCountingWorld(t *testing.T) (*world, *countingStore) {
	cs := &countingStore{}
	w := newWorld(t, func(c *Config) {
		cs.Store = c.Store.(*store.Store)
		c.Store = cs
		c.CommitWorkers = 1
	})
	return w, cs
}

// waitQueued holds a verdict write (it runs in the group's worker) until
// n responses wait in the queue behind it (the held group may hold more
// than one: the worker takes what queued before it ran), for at most two minutes; past
// that the test fails, and the write goes on, so that no response waits
// forever (t.FailNow here would end the worker, and every response with
// it).
func waitQueued(t *testing.T, s *Service, n int) {
	deadline := time.Now().Add(2 * time.Minute)
	for s.verdicts.Queued() < n {
		if time.Now().After(deadline) {
			t.Errorf("%d responses queued behind the held write, not %d", s.verdicts.Queued(), n)
			return
		}
		time.Sleep(time.Millisecond) // polling with a deadline
	}
}

// TestGroupedVerdicts: concurrent responses share verdict writes. With one
// writer and the first write held until every other response waits in
// the queue, 20 transactions each answered twice at once take two writes;
// each transaction has exactly one response recorded (green), the other
// is nonce_used.
func TestGroupedVerdicts(t *testing.T) {
	w, cs := newCountingWorld(t)
	const n = 20
	txs := make([]txn, n)
	forms := make([]map[string][]string, n)
	for i := range txs {
		txs[i] = w.start(oid4vp.DirectPost)
		forms[i] = w.form(txs[i], w.present(w.issue(nil), txs[i], nil))
	}
	cs.hold = func(held int) { waitQueued(t, w.svc, 2*n-held) }
	var ok, used atomic.Int64
	var wg sync.WaitGroup
	for i := range 2 * n {
		wg.Go(func() {
			_, err := w.svc.Respond(context.Background(), txs[i%n].reqID, forms[i%n])
			switch {
			case err == nil:
				ok.Add(1)
			case assert.ErrorIs(t, err, ErrNonceUsed):
				used.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int64(n), ok.Load())
	assert.Equal(t, int64(n), used.Load())
	assert.Equal(t, int64(2), cs.calls.Load(), "one write held, every other response in the next")
	assert.Equal(t, int64(2*n), cs.verdicts.Load())
	for _, tx := range txs {
		v, err := w.svc.Get(context.Background(), "venue", tx.id, 0, "")
		require.NoError(t, err)
		assert.Equal(t, "green", v.Verdict)
	}
}

// TestGroupWriteFails: a verdict write that fails never leaves a waiting
// response answered. When a group's write fails but each verdict alone
// would not, the verdicts are written one by one and every response gets
// its own (green). When every write fails, every response gets the error
// (not green, not nonce_used), the transactions stay pending, and the
// wallet's same response sent again is green once the store works.
func TestGroupWriteFails(t *testing.T) {
	fault := errors.New("provoked write fault")
	w, fs := newCountingWorld(t)
	const n = 8
	prepare := func() ([]txn, []url.Values) {
		txs := make([]txn, n)
		forms := make([]url.Values, n)
		for i := range txs {
			txs[i] = w.start(oid4vp.DirectPost)
			forms[i] = w.form(txs[i], w.present(w.issue(nil), txs[i], nil))
		}
		return txs, forms
	}
	respondAll := func(txs []txn, forms []url.Values) []error {
		out := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { _, out[i] = w.svc.Respond(context.Background(), txs[i].reqID, forms[i]) })
		}
		wg.Wait()
		return out
	}

	t.Run("group fails, each alone is written", func(t *testing.T) {
		var failed atomic.Int64
		groupFault := func(k int) error {
			if k > 1 {
				failed.Add(1)
				return fault
			}
			return nil
		}
		fs.fail.Store(&groupFault)
		txs, forms := prepare()
		fs.hold = func(held int) { waitQueued(t, w.svc, n-held) }
		for i, err := range respondAll(txs, forms) {
			assert.NoError(t, err, "response %d", i)
		}
		// The held group, or the one of the responses queued behind it,
		// holds several verdicts.
		assert.Positive(t, failed.Load(), "a group's write failed")
		for _, tx := range txs {
			v, err := w.svc.Get(context.Background(), "venue", tx.id, 0, "")
			require.NoError(t, err)
			assert.Equal(t, "green", v.Verdict)
		}
	})

	t.Run("every write fails", func(t *testing.T) {
		always := func(int) error { return fault }
		fs.fail.Store(&always)
		txs, forms := prepare()
		for i, err := range respondAll(txs, forms) {
			require.Error(t, err, "response %d answered while its verdict was not written", i)
			assert.NotErrorIs(t, err, ErrNonceUsed)
		}
		for _, tx := range txs {
			v, err := w.svc.Get(context.Background(), "venue", tx.id, 0, "")
			require.NoError(t, err)
			assert.Equal(t, store.PresentationPending, v.Status)
			assert.Empty(t, v.Verdict)
		}
		fs.fail.Store(nil)
		for i, err := range respondAll(txs, forms) {
			assert.NoError(t, err, "response %d sent again", i)
		}
		for _, tx := range txs {
			v, err := w.svc.Get(context.Background(), "venue", tx.id, 0, "")
			require.NoError(t, err)
			assert.Equal(t, "green", v.Verdict)
		}
	})
}
