package issuer

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"math"
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

// groupRequest is one prepared credential request of the isolation test.
type groupRequest struct {
	name, token, nonce string
	dpop               string // the DPoP proof, for a DPoP-bound token
}

// TestGroupedRequestsFailAlone puts good and bad credential requests in
// one record group: a replayed access token, a c_nonce used by two
// requests, a c_nonce of another issuer. Each bad one fails with its own
// error and gets no record; the good ones are issued; a request that
// failed on its nonce keeps its access token for a retry.
func TestGroupedRequestsFailAlone(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st, envOpts{})
		e.svc.cfg.RatePerClient = 1 << 30
		prep := func(name string) groupRequest { return e.prepRequest(name) }
		send := func(r groupRequest) error { _, err := e.sendRequest(r); return err }

		blocker := prep("blocker")
		good := []groupRequest{prep("good-1"), prep("good-2"), prep("good-3")}
		replay := prep("replay")
		replay2 := replay
		replay2.nonce = prep("replay-nonce").nonce // same token, another nonce
		shareA, shareB := prep("share-a"), prep("share-b")
		shareB.nonce = shareA.nonce // two tokens, one nonce
		foreign := prep("foreign")
		var err error
		foreign.nonce, err = e.svc.Nonce(context.Background(), "benefits", "foreign")
		require.NoError(t, err)
		rest := append(append([]groupRequest{}, good...), replay, replay2, shareA, shareB, foreign)

		var sizes []int
		results := e.inOneGroup(blocker, rest, func(jobs []*recordJob) { sizes = append(sizes, len(jobs)) })
		require.Equal(t, []int{len(rest)}, sizes, "one group of all the requests")

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
		require.NoError(t, store.Raw(st).QueryRow(ctx, "SELECT COUNT(*) FROM credentials", nil, &records))
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
		require.NoError(t, store.Raw(st).QueryRow(ctx, "SELECT COUNT(*) FROM credentials", nil, &records))
		assert.Equal(t, int64(8), records, "the retry and the losing share request are issued")
	})
}

// prepRequest creates, redeems and fetches a nonce for a health offer,
// through the service API.
func (e *env) prepRequest(name string) groupRequest {
	e.t.Helper()
	return e.prepRequestWith(name, nil)
}

// prepRequestWith is prepRequest with a DPoP key (nil: a bearer token):
// a DPoP-bound token and a proof of the key for the credential request.
func (e *env) prepRequestWith(name string, dpopKey keys.Signer) groupRequest {
	e.t.Helper()
	ctx := context.Background()
	o, err := e.svc.CreateOffer(ctx, Actor{TenantID: "health", ID: "test"}, OfferRequest{ConfigID: "vaccination-pass",
		SubjectRef: name, SubjectData: mustJSON(vaccSubject)})
	require.NoError(e.t, err)
	code := o.URI[strings.LastIndex(o.URI, "%2F")+3:]
	issuerURL := e.svc.IssuerURL("health")
	treq := TokenRequest{GrantType: PreAuthGrant, Code: code, TxCode: o.TxCode, Client: name}
	if dpopKey != nil {
		treq.DPoP = []string{e.dpopProof(dpopKey, issuerURL+"/token", "", nil)}
	}
	tr, err := e.svc.Token(ctx, "health", treq)
	require.NoError(e.t, err)
	n, err := e.svc.Nonce(ctx, "health", name)
	require.NoError(e.t, err)
	r := groupRequest{name: name, token: tr.AccessToken, nonce: n}
	if dpopKey != nil {
		require.Equal(e.t, "DPoP", tr.TokenType)
		r.dpop = e.dpopProof(dpopKey, issuerURL+"/credential", tr.AccessToken, nil)
	}
	return r
}

// sendRequest asks for one credential with a fresh holder key.
func (e *env) sendRequest(r groupRequest) ([]Credential, error) {
	h, err := keys.Generate(keys.ES256)
	if err != nil {
		return nil, err
	}
	w := &wallet{e: e, issuer: e.svc.IssuerURL("health")}
	req := CredentialRequest{AccessToken: r.token, ConfigID: "vaccination-pass", Proofs: []string{w.proofNoT(h, r.nonce)}}
	if r.dpop != "" {
		req.Scheme, req.DPoP = SchemeDPoP, []string{r.dpop}
	}
	return e.svc.Credential(context.Background(), "health", req)
}

// TestGroupedDPoPReplay: two requests of one record group presenting the
// same DPoP proof (with the same token, and each its own c_nonce) get one
// credential; the other is refused as a replayed proof, and a DPoP request
// beside them is unaffected.
func TestGroupedDPoPReplay(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{})
		e.svc.cfg.RatePerClient = 1 << 30
		blocker := e.prepRequest("blocker")
		ka, err := keys.Generate(keys.ES256)
		require.NoError(t, err)
		ko, err := keys.Generate(keys.ES256)
		require.NoError(t, err)
		a, other := e.prepRequestWith("a", ka), e.prepRequestWith("other", ko)
		again := a
		again.nonce = e.prepRequest("again-nonce").nonce
		res := e.inOneGroup(blocker, []groupRequest{a, again, other}, func([]*recordJob) {})
		if (res[0] == nil) == (res[1] == nil) {
			t.Fatalf("exactly one of the two requests with one proof must succeed, got %v and %v", res[0], res[1])
		}
		failed := res[0]
		if failed == nil {
			failed = res[1]
		}
		assert.Equal(t, "invalid_dpop_proof", errs.CodeOf(failed), "the second use of the proof")
		assert.Equal(t, errs.Unauthorized, errs.KindOf(failed), "401 at the credential endpoint")
		assert.NoError(t, res[2], "the other DPoP request")
		var records int64
		require.NoError(t, store.Raw(st).QueryRow(context.Background(), "SELECT COUNT(*) FROM credentials", nil, &records))
		assert.Equal(t, int64(3), records, "the blocker, one of the pair, the other")
	})
}

// conflictOnce fails the transaction in which it is armed with
// ErrConflict after fn ran, as a lost race would.
type conflictOnce struct {
	Store
	armed atomic.Bool
}

func (c *conflictOnce) InTx(ctx context.Context, fn func(tx *store.Store) error) error {
	return c.Store.InTx(ctx, func(tx *store.Store) error {
		if err := fn(tx); err != nil {
			return err
		}
		if c.armed.CompareAndSwap(true, false) {
			return store.ErrConflict.With("forced", nil)
		}
		return nil
	})
}

// TestRetriedGroupStaysConsistent: a record group rolled back by a lost
// race and run again records exactly what is then signed: each record's
// claims hash, list and index match the credential delivered, and the
// reconciliation check holds.
func TestRetriedGroupStaysConsistent(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		var w *conflictOnce
		e := newEnv(t, st, envOpts{ledger: true, wrap: func(s Store) Store { w = &conflictOnce{Store: s}; return w }})
		e.svc.cfg.RatePerClient = 1 << 30
		orig := e.svc.records.Run
		var mu sync.Mutex
		var seen []recorded // what the record groups returned
		e.svc.records.Run = func(ctx context.Context, jobs []*recordJob) []recordOutcome {
			w.armed.Store(true) // the first try of every group loses
			res := orig(ctx, jobs)
			mu.Lock()
			for _, o := range res {
				seen = append(seen, o.Val...)
			}
			mu.Unlock()
			return res
		}
		reqs := []groupRequest{e.prepRequest("a"), e.prepRequest("b"), e.prepRequest("c")}
		reqs = append(reqs, reqs[0]) // a replayed token
		var wg sync.WaitGroup
		creds := make([][]Credential, len(reqs))
		errsOf := make([]error, len(reqs))
		for i, r := range reqs {
			wg.Add(1)
			go func() { defer wg.Done(); creds[i], errsOf[i] = e.sendRequest(r) }()
		}
		wg.Wait()
		var delivered []string
		for i, err := range errsOf {
			if err == nil {
				delivered = append(delivered, creds[i][0].SDJWT)
			}
		}
		require.Len(t, delivered, 3, "%v", errsOf)
		e.revokeDelivered(delivered, 1) // so that reconcile finds a revocation in the list
		e.reconcile(delivered)
		byID := map[string]recorded{}
		for _, r := range seen {
			byID[r.rec.ID] = r
		}
		for i, err := range errsOf {
			if err != nil {
				continue
			}
			p, ok := byID[creds[i][0].ID]
			require.True(t, ok)
			rec, err := st.GetCredential(ctx, "health", p.rec.ID)
			require.NoError(t, err)
			sum := sha256.Sum256(p.claims)
			assert.Equal(t, sum[:], rec.ClaimsHash, "the record holds the hash of the claims signed")
			assert.Equal(t, p.rec.Index, rec.Index)
			assert.Equal(t, p.rec.ListID, rec.ListID)
			var payload struct {
				Status struct {
					StatusList struct {
						Idx int64 `json:"idx"`
					} `json:"status_list"`
				} `json:"status"`
			}
			parts := strings.Split(strings.SplitN(creds[i][0].SDJWT, "~", 2)[0], ".")
			raw, err := b64dec(parts[1])
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(raw, &payload))
			assert.Equal(t, rec.Index, payload.Status.StatusList.Idx, "the credential carries the recorded index")
		}
	})
}

// TestGroupFallbackIsolatesAFault: when one request's part of a group
// fails the transaction with an error that is not the database being
// down (here: claims that cannot be encoded), the group is recorded again
// request by request, and only that request fails.
func TestGroupFallbackIsolatesAFault(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newEnv(t, st, envOpts{})
		e.svc.cfg.RatePerClient = 1 << 30
		var poisoned string
		blocker := e.prepRequest("blocker")
		reqs := []groupRequest{e.prepRequest("a"), e.prepRequest("b"), e.prepRequest("c")}
		res := e.inOneGroup(blocker, reqs, func(jobs []*recordJob) {
			if len(jobs) == 3 {
				p := jobs[1].plans[0]
				p.subj = map[string]any{"bad": math.Inf(1)} // JSON has no infinity
				poisoned = p.rec.ID
			}
		})
		require.NotEmpty(t, poisoned, "the three requests shared a group")
		failed := 0
		for _, err := range res {
			if err != nil {
				failed++
				assert.Equal(t, errs.Internal, errs.KindOf(err))
			}
		}
		assert.Equal(t, 1, failed, "only the poisoned request fails: %v", res)
		var records int64
		require.NoError(t, store.Raw(st).QueryRow(ctx, "SELECT COUNT(*) FROM credentials", nil, &records))
		assert.Equal(t, int64(3), records, "the blocker and the two good requests")
		_, err := st.GetCredential(ctx, "health", poisoned)
		assert.ErrorIs(t, err, store.ErrNotFound, "no record for the failed request")
	})
}

// inOneGroup sends blocker and holds its record group open while reqs are
// sent concurrently, until all of them are queued; then they run as one
// group (one worker). hook sees that group before it runs. It returns the
// outcome of each of reqs, after checking that the blocker got through.
func (e *env) inOneGroup(blocker groupRequest, reqs []groupRequest, hook func(jobs []*recordJob)) []error {
	e.t.Helper()
	g := e.svc.records
	g.Workers = 1
	orig := g.Run
	gate, inFirst := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	g.Run = func(ctx context.Context, jobs []*recordJob) []recordOutcome {
		if first.CompareAndSwap(false, true) {
			close(inFirst)
			<-gate
		} else {
			hook(jobs)
		}
		return orig(ctx, jobs)
	}
	var openGate sync.Once
	release := func() { openGate.Do(func() { close(gate) }) }
	defer func() { release(); g.Run = orig }()
	blockerDone := make(chan error, 1)
	go func() { _, err := e.sendRequest(blocker); blockerDone <- err }()
	select { // fail, not hang, when the blocker is refused before recording
	case <-inFirst:
	case err := <-blockerDone:
		e.t.Fatalf("the blocker finished before reaching its record group: %v", err)
	case <-time.After(30 * time.Second):
		e.t.Fatal("the blocker did not reach its record group in 30 s")
	}
	res := make([]error, len(reqs))
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Add(1)
		go func() { defer wg.Done(); _, res[i] = e.sendRequest(r) }()
	}
	storetest.Within(e.t, 30*time.Second, func() {
		for {
			n := g.Queued()
			if n == len(reqs) {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
	release()
	wg.Wait()
	require.NoError(e.t, <-blockerDone)
	return res
}

// TestDPoPReplayAfterPurge: a proof whose first use was refused is sent
// again just inside its freshness window, and its request then waits in
// the record queue while the clock passes the window and the single-use
// values are purged: it is refused as not fresh, not recorded anew (found
// in review).
func TestDPoPReplayAfterPurge(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{})
		e.svc.cfg.RatePerClient = 1 << 30
		k, err := keys.Generate(keys.ES256)
		require.NoError(t, err)
		r := e.prepRequestWith("victim", k)
		first := r
		first.nonce = "no-such-nonce"
		_, err = e.sendRequest(first)
		require.ErrorIs(t, err, ErrInvalidNonce)

		e.clock.Add(dpopMaxAge)
		blocker := e.prepRequest("blocker")
		replay := r
		replay.nonce = e.prepRequest("n1").nonce
		res := e.inOneGroup(blocker, []groupRequest{replay}, func([]*recordJob) {
			e.clock.Add(dpopJTIKeep - dpopMaxAge + time.Second)
			_, err := st.PurgeSingleUse(context.Background(), e.clock.Now())
			require.NoError(t, err)
		})
		require.ErrorIs(t, res[0], ErrInvalidDPoPProof, "the replayed proof yields no credential")
		var records int64
		require.NoError(t, store.Raw(st).QueryRow(context.Background(), "SELECT COUNT(*) FROM credentials", nil, &records))
		assert.Equal(t, int64(1), records, "the blocker's only")
	})
}

// holdInTx holds a transaction open, once armed, until its context ends,
// and counts the token look-ups.
type holdInTx struct {
	Store
	armed   atomic.Bool
	entered chan struct{}
	lookups atomic.Int64
}

func (h *holdInTx) InTx(ctx context.Context, fn func(tx *store.Store) error) error {
	if !h.armed.Load() {
		return h.Store.InTx(ctx, fn)
	}
	return h.Store.InTx(ctx, func(tx *store.Store) error {
		close(h.entered)
		<-ctx.Done()
		return fn(tx)
	})
}

func (h *holdInTx) OffersByTokens(ctx context.Context, hashes [][]byte, now time.Time) (map[string]store.CredentialOffer, error) {
	h.lookups.Add(1)
	return h.Store.OffersByTokens(ctx, hashes, now)
}

// TestCloseCancelsGroups: Close cancels a record group in flight (its
// request fails with ErrShuttingDown at once instead of waiting for the
// group's timeout, and nothing is recorded), and a credential request
// after Close fails the same way without reaching the store.
func TestCloseCancelsGroups(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		h := &holdInTx{entered: make(chan struct{})}
		e := newEnv(t, st, envOpts{wrap: func(s Store) Store { h.Store = s; return h }})
		inFlight, later := e.prepRequest("in-flight"), e.prepRequest("later")
		h.armed.Store(true)
		done := make(chan error, 1)
		go func() { _, err := e.sendRequest(inFlight); done <- err }()
		select {
		case <-h.entered:
		case err := <-done:
			t.Fatalf("the request finished before its record transaction: %v", err)
		case <-time.After(30 * time.Second):
			t.Fatal("the request did not reach its record transaction in 30 s")
		}
		e.svc.Close()
		select {
		case err := <-done:
			assert.ErrorIs(t, err, ErrShuttingDown)
			assert.ErrorIs(t, err, context.Canceled)
		case <-time.After(10 * time.Second): // the group's own timeout is 30 s
			t.Fatal("the group in flight was not cancelled by Close")
		}
		var records int64
		require.NoError(t, store.Raw(st).QueryRow(ctx, "SELECT COUNT(*) FROM credentials", nil, &records))
		assert.Zero(t, records, "the cancelled transaction rolled back")

		before := h.lookups.Load()
		_, err := e.sendRequest(later)
		assert.ErrorIs(t, err, ErrShuttingDown)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, before, h.lookups.Load(), "no look-up after Close")
		e.svc.Close() // again: nothing happens
	})
}
