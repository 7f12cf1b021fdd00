package verifier

import (
	"context"
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
// once armed, until hold says so.
type countingStore struct {
	*store.Store
	calls, verdicts atomic.Int64
	hold            func()
	once            sync.Once
}

func (c *countingStore) FinishPresentations(ctx context.Context, vs []store.Verdict, now time.Time) ([]bool, error) {
	c.calls.Add(1)
	c.verdicts.Add(int64(len(vs)))
	if c.hold != nil {
		c.once.Do(c.hold)
	}
	return c.Store.FinishPresentations(ctx, vs, now)
}

// TestGroupedVerdicts: concurrent responses share verdict writes. With one
// writer and the first write held until every other response waits in
// the queue, 20 transactions each answered twice at once take two writes;
// each transaction has exactly one response recorded (green), the other
// is nonce_used.
func TestGroupedVerdicts(t *testing.T) {
	cs := &countingStore{}
	w := newWorld(t, func(c *Config) {
		cs.Store = c.Store.(*store.Store)
		c.Store = cs
		c.CommitWorkers = 1
	})
	const n = 20
	txs := make([]txn, n)
	forms := make([]map[string][]string, n)
	for i := range txs {
		txs[i] = w.start(oid4vp.DirectPost)
		forms[i] = w.form(txs[i], w.present(w.issue(nil), txs[i], nil))
	}
	cs.hold = func() {
		storetest.Within(t, 30*time.Second, func() {
			for w.svc.verdicts.Queued() < 2*n-1 {
				time.Sleep(time.Millisecond)
			}
		})
	}
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
