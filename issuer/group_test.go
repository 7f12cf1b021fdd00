package issuer

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/store/storetest"
)

// TestGroupCommitBounds: every job gets its own outcome; no group is
// larger than size, and no more than workers groups run at once.
func TestGroupCommitBounds(t *testing.T) {
	var running, maxRunning, groups atomic.Int64
	g := &groupCommit[int]{size: 5, workers: 2, run: func(jobs []int) []error {
		n := running.Add(1)
		for {
			m := maxRunning.Load()
			if n <= m || maxRunning.CompareAndSwap(m, n) {
				break
			}
		}
		groups.Add(1)
		time.Sleep(time.Millisecond) // let a queue form
		running.Add(-1)
		if len(jobs) > 5 {
			panic("group too large")
		}
		res := make([]error, len(jobs))
		for i, j := range jobs {
			if j%3 == 0 {
				res[i] = fmt.Errorf("job %d", j)
			}
		}
		return res
	}}
	var wg sync.WaitGroup
	errsByJob := make([]error, 200)
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errsByJob[i] = g.do(i)
		}()
	}
	wg.Wait()
	for i, err := range errsByJob {
		if i%3 == 0 {
			assert.EqualError(t, err, fmt.Sprintf("job %d", i))
		} else {
			assert.NoError(t, err, i)
		}
	}
	assert.LessOrEqual(t, maxRunning.Load(), int64(2), "at most workers groups at once")
	assert.Less(t, groups.Load(), int64(200), "jobs shared groups")
	g.mu.Lock()
	defer g.mu.Unlock()
	assert.Zero(t, g.active, "no worker outlives the queue")
	assert.Empty(t, g.queue)
}

// TestGroupCommitBug: a panicking or miscounting run gives every job of
// its group an internal error instead of a hang, and the next group runs.
func TestGroupCommitBug(t *testing.T) {
	mode := "panic"
	g := &groupCommit[int]{size: 4, workers: 1, run: func(jobs []int) []error {
		switch mode {
		case "panic":
			panic("boom")
		case "short":
			return nil
		}
		return make([]error, len(jobs))
	}}
	err := g.do(1)
	assert.Equal(t, errs.Internal, errs.KindOf(err))
	mode = "short"
	assert.Equal(t, errs.Internal, errs.KindOf(g.do(2)))
	mode = "ok"
	assert.NoError(t, g.do(3))
}

// groupRequest is one prepared credential request of the isolation test.
type groupRequest struct {
	name, token, nonce string
}

// TestGroupedRequestsFailAlone puts good and bad credential requests in
// one record group: a replayed access token, a c_nonce used by two
// requests, a c_nonce of another issuer. Each bad one fails with its own
// error and writes nothing; the good ones are issued; a request that
// failed on its nonce keeps its access token for a retry.
func TestGroupedRequestsFailAlone(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st, envOpts{})
		e.svc.cfg.RatePerClient = 1 << 30
		e.svc.records.workers = 1
		orig := e.svc.records.run
		gate, inFirst := make(chan struct{}), make(chan struct{})
		var first atomic.Bool
		var sizes []int
		e.svc.records.run = func(jobs []*recordJob) []error {
			if first.CompareAndSwap(false, true) {
				close(inFirst)
				<-gate
			}
			sizes = append(sizes, len(jobs))
			return orig(jobs)
		}

		prep := func(name string) groupRequest {
			o, err := e.svc.CreateOffer(ctx, Actor{TenantID: "health", ID: "test"}, OfferRequest{ConfigID: "vaccination-pass",
				SubjectRef: name, SubjectData: mustJSON(vaccSubject)})
			require.NoError(t, err)
			code := o.URI[strings.LastIndex(o.URI, "%2F")+3:]
			tr, err := e.svc.Token(ctx, "health", TokenRequest{GrantType: PreAuthGrant, Code: code, TxCode: o.TxCode, Client: name})
			require.NoError(t, err)
			n, err := e.svc.Nonce(ctx, "health", name)
			require.NoError(t, err)
			return groupRequest{name: name, token: tr.AccessToken, nonce: n}
		}
		send := func(r groupRequest) error {
			h, err := keys.Generate(keys.ES256)
			require.NoError(t, err)
			w := &wallet{e: e, issuer: e.svc.IssuerURL("health")}
			_, err = e.svc.Credential(ctx, "health", CredentialRequest{AccessToken: r.token, ConfigID: "vaccination-pass",
				Proofs: []string{w.proofNoT(h, r.nonce)}})
			return err
		}

		blocker := prep("blocker")
		good := []groupRequest{prep("good-1"), prep("good-2"), prep("good-3")}
		replay := prep("replay")
		replay2 := replay
		replay2.nonce = prep("replay-nonce").nonce // same token, another nonce
		shareA, shareB := prep("share-a"), prep("share-b")
		shareB.nonce = shareA.nonce // two tokens, one nonce
		foreign := prep("foreign")
		var err error
		foreign.nonce, err = e.svc.Nonce(ctx, "benefits", "foreign")
		require.NoError(t, err)
		rest := append(append([]groupRequest{}, good...), replay, replay2, shareA, shareB, foreign)

		blockerDone := make(chan error, 1)
		go func() { blockerDone <- send(blocker) }()
		<-inFirst
		results := make([]error, len(rest))
		var wg sync.WaitGroup
		for i, r := range rest {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = send(r)
			}()
		}
		storetest.Within(t, 30*time.Second, func() {
			for {
				e.svc.records.mu.Lock()
				n := len(e.svc.records.queue)
				e.svc.records.mu.Unlock()
				if n == len(rest) {
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
		close(gate)
		wg.Wait()
		require.NoError(t, <-blockerDone)
		require.Equal(t, []int{1, len(rest)}, sizes, "the blocked group, then one group of all the others")

		for i := range good {
			assert.NoError(t, results[i], good[i].name)
		}
		one := func(a, b error, code string, what string) {
			t.Helper()
			if (a == nil) == (b == nil) {
				t.Errorf("%s: exactly one must succeed, got %v and %v", what, a, b)
				return
			}
			failed := a
			if a == nil {
				failed = b
			}
			assert.Equal(t, code, errs.CodeOf(failed), what)
		}
		one(results[3], results[4], "invalid_token", "a replayed access token")
		one(results[5], results[6], "invalid_nonce", "a shared c_nonce")
		assert.Equal(t, "invalid_nonce", errs.CodeOf(results[7]), "another issuer's c_nonce")

		var records int64
		require.NoError(t, st.RawQueryRow(ctx, "SELECT COUNT(*) FROM credentials", nil, &records))
		assert.Equal(t, int64(1+3+1+1), records, "a record only for each request that succeeded")

		// A request that failed on its nonce kept its token.
		retry := foreign
		retry.nonce, err = e.svc.Nonce(ctx, "health", "foreign")
		require.NoError(t, err)
		assert.NoError(t, send(retry), "the token survives a failed nonce")
		for _, r := range []groupRequest{shareA, shareB} {
			r.nonce, err = e.svc.Nonce(ctx, "health", r.name)
			require.NoError(t, err)
			err := send(r)
			if err != nil {
				assert.Equal(t, "invalid_token", errs.CodeOf(err), "only the winner's token is used up")
			}
		}
		require.NoError(t, st.RawQueryRow(ctx, "SELECT COUNT(*) FROM credentials", nil, &records))
		assert.Equal(t, int64(8), records, "the retry and the losing share request are issued")
	})
}
