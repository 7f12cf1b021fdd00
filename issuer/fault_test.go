package issuer

import (
	"context"
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/anchor"
	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/jose"
	"github.com/ssi-project/ssi/internal/keys"
	"github.com/ssi-project/ssi/internal/sdjwt"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/store/storetest"
)

// reconcile is the check SECURITY-CASES.md §F runs after each fault:
//  1. every delivered credential has exactly one record, issued;
//  2. no (list, index) pair is used twice;
//  3. every revocation (any non-zero status) is in the latest signed list;
//  4. every list version has exactly one anchor outbox entry.
//
// It publishes first, so that (3) checks what verifiers would be served.
func (e *env) reconcile(delivered []string) {
	e.t.Helper()
	ctx := context.Background()
	_, err := e.svc.Publish(ctx)
	require.NoError(e.t, err)

	for _, sd := range delivered {
		p, err := sdjwt.Split(sd, 0)
		require.NoError(e.t, err)
		var payload struct {
			Status struct {
				StatusList struct {
					Idx int64  `json:"idx"`
					URI string `json:"uri"`
				} `json:"status_list"`
			} `json:"status"`
		}
		require.NoError(e.t, json.Unmarshal(payloadOf(e.t, p.IssuerJWT), &payload))
		listID := strings.TrimPrefix(payload.Status.StatusList.URI, e.srv.URL+"/status/")
		var n int64
		var state string
		require.NoError(e.t, e.st.RawQueryRow(ctx, "SELECT COUNT(*), MIN(state) FROM credentials WHERE status_list = $1 AND status_idx = $2",
			[]any{listID, payload.Status.StatusList.Idx}, &n, &state))
		assert.Equal(e.t, int64(1), n, "(1) a delivered credential has exactly one record")
		assert.Equal(e.t, store.CredentialIssued, state, "(1) and it is marked issued")
	}

	var dups int64
	require.NoError(e.t, e.st.RawQueryRow(ctx,
		"SELECT COUNT(*) FROM (SELECT status_list, status_idx FROM credentials GROUP BY status_list, status_idx HAVING COUNT(*) > 1) d", nil, &dups))
	assert.Zero(e.t, dups, "(2) no duplicate (list, index)")

	listIDs := e.listIDs()
	versions := int64(0)
	for _, id := range listIDs {
		l, err := e.st.GetStatusList(ctx, id)
		require.NoError(e.t, err)
		if l.Version == 0 {
			continue
		}
		versions += int64(l.Version)
		v, err := e.st.GetStatusListVersion(ctx, id, 0)
		require.NoError(e.t, err)
		tok := e.verifyList(v.Token, l.URI)
		entries, err := e.st.StatusEntries(ctx, id)
		require.NoError(e.t, err)
		for _, en := range entries {
			got, err := tok.List.Get(int(en.Index))
			require.NoError(e.t, err)
			assert.Equal(e.t, uint8(en.Status), got, "(3) status of index %d is in the latest list", en.Index)
		}
		for ver := uint64(1); ver <= l.Version; ver++ {
			key := anchor.Entry{Kind: anchor.KindStatusList, Subject: l.URI, Version: ver}.Key()
			var n int64
			require.NoError(e.t, e.st.RawQueryRow(ctx, "SELECT COUNT(*) FROM outbox WHERE topic = $1 AND okey = $2", []any{anchor.Topic, key}, &n))
			if e.svc.cfg.Anchor != nil {
				assert.Equal(e.t, int64(1), n, "(4) one anchor for version %d", ver)
			}
		}
	}
	if e.svc.cfg.Anchor != nil {
		var n int64
		require.NoError(e.t, e.st.RawQueryRow(ctx, "SELECT COUNT(*) FROM outbox WHERE topic = $1 AND okey LIKE 'status-list|%'", []any{anchor.Topic}, &n))
		assert.Equal(e.t, versions, n, "(4) exactly one anchor per list version, no more")
	}
}

// listIDs returns every status list ID.
func (e *env) listIDs() []string {
	e.t.Helper()
	var ids []string
	for _, tn := range []string{"health", "benefits"} {
		for off := int64(0); ; off++ {
			var id string
			err := e.st.RawQueryRow(context.Background(),
				"SELECT id FROM status_lists WHERE tenant_id = $1 ORDER BY id LIMIT 1 OFFSET $2", []any{tn, off}, &id)
			if errors.Is(err, store.ErrNotFound) {
				break
			}
			require.NoError(e.t, err)
			ids = append(ids, id)
		}
	}
	return ids
}

func payloadOf(t *testing.T, jwt string) []byte {
	parts := strings.Split(jwt, ".")
	require.Len(t, parts, 3)
	b, err := b64dec(parts[1])
	require.NoError(t, err)
	return b
}

// issueDirect runs the whole pre-authorized flow through the service API
// (no HTTP), for load-style fault tests. It returns the delivered
// credentials, or the first error.
func (e *env) issueDirect(ctx context.Context, subjectRef string, n int) ([]string, error) {
	o, err := e.svc.CreateOffer(ctx, Actor{TenantID: "health", ID: "test"}, OfferRequest{ConfigID: "vaccination-pass",
		SubjectRef: subjectRef, SubjectData: mustJSON(vaccSubject)})
	if err != nil {
		return nil, err
	}
	code := o.URI[strings.LastIndex(o.URI, "%2F")+3:]
	tr, err := e.svc.Token(ctx, "health", TokenRequest{GrantType: PreAuthGrant, Code: code, TxCode: o.TxCode, Client: subjectRef})
	if err != nil {
		return nil, err
	}
	nonce, err := e.svc.Nonce(ctx, "health", subjectRef)
	if err != nil {
		return nil, err
	}
	w := &wallet{e: e, issuer: e.svc.IssuerURL("health")}
	var proofs []string
	for range n {
		h, err := keys.Generate(keys.ES256)
		if err != nil {
			return nil, err
		}
		proofs = append(proofs, w.proofNoT(h, nonce))
	}
	creds, err := e.svc.Credential(ctx, "health", CredentialRequest{AccessToken: tr.AccessToken, ConfigID: "vaccination-pass", Proofs: proofs})
	if err != nil {
		return nil, err
	}
	out := make([]string, len(creds))
	for i, c := range creds {
		out[i] = c.SDJWT
	}
	return out, nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// countingSigner counts signatures.
type countingSigner struct {
	keys.Signer
	n *atomic.Int64
}

func (c countingSigner) Sign(r io.Reader, digest []byte, o crypto.SignerOpts) ([]byte, error) {
	c.n.Add(1)
	return c.Signer.Sign(r, digest, o)
}

// TestFaultKills is F5: the issuer "dies" (the fault hook stops the flow)
// after allocating, after signing, and before responding, repeatedly. No
// signature exists without its record, and reconciliation holds.
func TestFaultKills(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		var signs atomic.Int64
		var calls atomic.Int64
		killed := map[string]*atomic.Int64{FaultAfterAllocate: {}, FaultAfterSign: {}, FaultBeforeRespond: {}}
		var mu sync.Mutex
		target := map[string]string{} // first credential ID → the point it dies at
		order := []string{FaultAfterAllocate, FaultAfterSign, FaultBeforeRespond}
		fault := func(point string, ids []string) error {
			mu.Lock()
			defer mu.Unlock()
			if point == FaultAfterAllocate {
				// Every third issuance dies, at each of the three points in turn.
				if c := calls.Add(1); c%3 == 0 {
					target[ids[0]] = order[(c/3)%3]
				}
			}
			if target[ids[0]] == point {
				killed[point].Add(1)
				return errors.New("killed")
			}
			return nil
		}
		e := newEnv(t, st, envOpts{fault: fault, signer: func(s keys.Signer) keys.Signer { return countingSigner{s, &signs} }})
		ctx := context.Background()
		var delivered []string
		failures := 0
		for i := range 30 {
			creds, err := e.issueDirect(ctx, fmt.Sprintf("citizen-%d", i), 1)
			if err != nil {
				assert.Equal(t, "issuance_interrupted", codeOf(err))
				failures++
				continue
			}
			delivered = append(delivered, creds...)
		}
		total := killed[FaultAfterAllocate].Load() + killed[FaultAfterSign].Load() + killed[FaultBeforeRespond].Load()
		require.Positive(t, killed[FaultAfterAllocate].Load())
		require.Positive(t, killed[FaultAfterSign].Load())
		require.Positive(t, killed[FaultBeforeRespond].Load())
		assert.Equal(t, int64(failures), total)

		var records, pending int64
		require.NoError(t, st.RawQueryRow(ctx, "SELECT COUNT(*) FROM credentials", nil, &records))
		require.NoError(t, st.RawQueryRow(ctx, "SELECT COUNT(*) FROM credentials WHERE state = $1", []any{store.CredentialPending}, &pending))
		assert.Equal(t, int64(30), records, "every attempt recorded before anything was signed")
		assert.Equal(t, signs.Load(), records-killed[FaultAfterAllocate].Load(), "no signature without its record")
		assert.Equal(t, killed[FaultAfterAllocate].Load()+killed[FaultAfterSign].Load(), pending, "killed issuances stay pending")
		e.reconcile(delivered)
	})
}

// TestFaultAuditDown is F8: when the audit write fails, revocation and
// issuance fail with 503 and change nothing, while the served status list
// (what verification needs) keeps working.
func TestFaultAuditDown(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{})
		ctx := context.Background()
		rec := e.issuedRecord("c1")
		_, err := e.svc.Publish(ctx)
		require.NoError(t, err)
		w := e.redeemed("c2")

		breakAudit(t, st)
		code, b := e.setStatus("health/all", rec.ID, ActionRevoke, "lost")
		assert.Equal(t, http.StatusServiceUnavailable, code, string(b))
		assert.Equal(t, "audit_unavailable", errCode(b))
		got, err := st.GetCredential(ctx, "health", rec.ID)
		require.NoError(t, err)
		assert.Equal(t, StatusValid, got.Status, "the change rolled back")

		h, err := keys.Generate(keys.ES256)
		require.NoError(t, err)
		code, b = w.credential(map[string]any{"credential_configuration_id": "vaccination-pass",
			"proofs": map[string]any{"jwt": []string{w.proof(h, w.nonce(), nil)}}})
		assert.Equal(t, http.StatusServiceUnavailable, code, string(b))
		recs, err := st.ListCredentials(ctx, "health", "c2", 0)
		require.NoError(t, err)
		assert.Empty(t, recs, "no record without its audit")

		code, _, _ = e.do("GET", "/status/"+rec.ListID, "", nil, "")
		assert.Equal(t, http.StatusOK, code, "verification keeps working")

		fixAudit(t, st)
		code, b = e.setStatus("health/all", rec.ID, ActionRevoke, "lost")
		assert.Equal(t, http.StatusOK, code, string(b))
		code, b = w.credential(map[string]any{"credential_configuration_id": "vaccination-pass",
			"proofs": map[string]any{"jwt": []string{w.proof(h, w.nonce(), nil)}}})
		assert.Equal(t, http.StatusOK, code, "the token survived the failed attempt: %s", b)
		e.reconcile(nil)
	})
}

func breakAudit(t *testing.T, st *store.Store) {
	ctx := context.Background()
	var err error
	if st.Backend() == "sqlite" {
		_, err = st.ExecRaw(ctx, "CREATE TRIGGER audit_down BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'audit down'); END")
	} else {
		_, err = st.ExecRaw(ctx, "CREATE FUNCTION audit_down() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit down'; END $$ LANGUAGE plpgsql")
		require.NoError(t, err)
		_, err = st.ExecRaw(ctx, "CREATE TRIGGER audit_down BEFORE INSERT ON audit FOR EACH ROW EXECUTE FUNCTION audit_down()")
	}
	require.NoError(t, err)
}

func fixAudit(t *testing.T, st *store.Store) {
	ctx := context.Background()
	var err error
	if st.Backend() == "sqlite" {
		_, err = st.ExecRaw(ctx, "DROP TRIGGER audit_down")
	} else {
		_, err = st.ExecRaw(ctx, "DROP TRIGGER audit_down ON audit")
	}
	require.NoError(t, err)
}

// TestFaultIdempotentPOSTs is F6 on the admin API: the same body twice
// gets the same response, a different body 422, and 50 in parallel are
// processed once.
func TestFaultIdempotentPOSTs(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{})
		post := func(key string, subjectRef string) (int, []byte) {
			body := mustJSON(map[string]any{"credential_configuration_id": "vaccination-pass", "subject_ref": subjectRef, "subject_data": vaccSubject})
			req, err := http.NewRequest("POST", e.srv.URL+"/issuer/v1/offers", strings.NewReader(string(body)))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+e.keys["health/all"])
			req.Header.Set("Idempotency-Key", key)
			resp, err := e.client.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			return resp.StatusCode, b
		}
		c1, b1 := post("k1", "c1")
		require.Equal(t, http.StatusCreated, c1)
		c2, b2 := post("k1", "c1")
		assert.Equal(t, c1, c2)
		assert.Equal(t, string(b1), string(b2), "the same response")
		c3, b3 := post("k1", "c-other")
		assert.Equal(t, http.StatusUnprocessableEntity, c3)
		assert.Equal(t, "idempotency_key_reused", errCode(b3))

		var wg sync.WaitGroup
		var created atomic.Int64
		storetest.Within(t, 60*time.Second, func() {
			for range 50 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c, _ := post("k50", "c50")
					if c == http.StatusCreated {
						created.Add(1)
					} else if c != http.StatusConflict {
						t.Errorf("unexpected status %d", c)
					}
				}()
			}
			wg.Wait()
		})
		assert.Positive(t, created.Load())
		var offers int64
		require.NoError(t, st.RawQueryRow(context.Background(), "SELECT COUNT(*) FROM credential_offers WHERE subject_ref = 'c50'", nil, &offers))
		assert.Equal(t, int64(1), offers, "processed once")
	})
}

// TestFaultConcurrentRevocations is F7: admins revoke the same credentials
// concurrently while lists are being published: each bit is set once, the
// version only increases, and there is one audit event per action.
func TestFaultConcurrentRevocations(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{ledger: true})
		ctx := context.Background()
		var recs []store.IssuedCredential
		for i := range 4 {
			recs = append(recs, e.issuedRecord(fmt.Sprintf("c%d", i)))
		}
		_, err := e.svc.Publish(ctx)
		require.NoError(t, err)

		pctx, stop := context.WithCancel(ctx)
		var pubWG sync.WaitGroup
		for range 2 { // two publishers, as two replicas would run
			pubWG.Add(1)
			go func() {
				defer pubWG.Done()
				for pctx.Err() == nil {
					_, _ = e.svc.Publish(pctx)
				}
			}()
		}
		var changed atomic.Int64
		var calls atomic.Int64
		var wg sync.WaitGroup
		storetest.Within(t, 120*time.Second, func() {
			for _, r := range recs {
				for range 3 { // three admins per credential
					wg.Add(1)
					go func() {
						defer wg.Done()
						ch, err := e.svc.SetStatus(ctx, Actor{TenantID: "health", ID: "admin"}, r.ID, ActionRevoke, "concurrent")
						if err != nil {
							t.Errorf("revoking: %v", err)
							return
						}
						calls.Add(1)
						if ch.Changed {
							changed.Add(1)
						}
					}()
				}
			}
			wg.Wait()
		})
		stop()
		pubWG.Wait()
		assert.Equal(t, int64(len(recs)), changed.Load(), "each bit set once")

		audits, err := st.ListAudit(ctx, store.AuditFilter{TenantID: "health", Limit: 1000})
		require.NoError(t, err)
		n := 0
		for _, a := range audits {
			if a.Action == "credential.revoke" {
				n++
			}
		}
		assert.Equal(t, int(calls.Load()), n, "one audit event per action")

		// Versions are 1..V without gaps or repeats.
		l, err := st.GetStatusList(ctx, recs[0].ListID)
		require.NoError(t, err)
		for v := uint64(1); v <= l.Version; v++ {
			_, err := st.GetStatusListVersion(ctx, l.ID, v)
			require.NoError(t, err, "version %d exists", v)
		}
		e.reconcile(nil)
		_, err = e.svc.Publish(ctx)
		require.NoError(t, err)
		l, err = st.GetStatusList(ctx, recs[0].ListID)
		require.NoError(t, err)
		e.waitReceipt(l.ID, l.Version)
	})
}

// TestFaultPostgresConnectionLoss is F4: 500 concurrent issuances while the
// test repeatedly terminates every PostgreSQL backend of the issuer's pool
// (pg_terminate_backend on connections tagged with this test's
// application_name; the shared server itself is not restarted). Every
// delivered credential has its record and a unique index.
func TestFaultPostgresConnectionLoss(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	ctx := context.Background()
	var rb [6]byte
	_, _ = rand.Read(rb[:])
	app := "ssi_issuer_f4_" + hex.EncodeToString(rb[:])
	schema := "ssitest_" + hex.EncodeToString(rb[:])
	adm, err := store.Open(ctx, dsn, store.Options{MaxConns: 2})
	require.NoError(t, err)
	_, err = adm.ExecRaw(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = adm.ExecRaw(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		_ = adm.Close()
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	st, err := store.Open(ctx, dsn+sep+"application_name="+app, store.Options{Schema: schema, MaxConns: 8})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	require.NoError(t, st.Migrate(ctx))

	e := newEnv(t, st, envOpts{})
	e.svc.cfg.RatePerClient = 1 << 30
	n := 500
	if testing.Short() || os.Getenv("SSI_F4_N") != "" {
		n = 100
	}
	var killed atomic.Int64
	delivered, failed, _ := e.issueUnderFault(n, func(stop <-chan struct{}, _ *atomic.Int64) {
		tick := time.NewTicker(400 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				var k int64
				if err := adm.RawQueryRow(ctx, "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1", []any{app}, &k); err == nil {
					killed.Add(k)
				}
			}
		}
	})
	// The pool may still hold connections cut by the last round: using one
	// fails once and discards it. Flush them before reconciling.
	for range 32 {
		_ = st.Ping(ctx)
	}
	t.Logf("F4: %d issuances, %d delivered, %d failed, %d backends terminated", n, len(delivered), failed, killed.Load())
	require.Positive(t, killed.Load(), "connections were cut during the run")
	require.NotEmpty(t, delivered)
	e.reconcile(delivered)
}

// TestFaultPostgresRestart is F4 as written: 500 concurrent issuances
// while the PostgreSQL server itself is stopped as a crash would stop it
// (immediate mode, no checkpoint) and started again, twice. It runs on a
// private server (storetest.StartPGServer), since the shared one serves
// other tests at the same time. Every delivered credential has its record
// and a unique index, and the clients that retry get through.
func TestFaultPostgresRestart(t *testing.T) {
	srv := storetest.StartPGServer(t)
	ctx := context.Background()
	st, err := store.Open(ctx, srv.DSN, store.Options{MaxConns: 8})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	require.NoError(t, st.Migrate(ctx))

	e := newEnv(t, st, envOpts{})
	e.svc.cfg.RatePerClient = 1 << 30
	n := 500
	if testing.Short() || os.Getenv("SSI_F4_N") != "" {
		n = 100
	}
	var restarts int
	delivered, failed, retries := e.issueUnderFault(n, func(stop <-chan struct{}, got *atomic.Int64) {
		for _, at := range []int64{int64(n) / 5, int64(n) / 2} {
			for got.Load() < at {
				select {
				case <-stop:
					return
				case <-time.After(10 * time.Millisecond):
				}
			}
			srv.Restart(t, 500*time.Millisecond)
			restarts++
		}
	})
	for range 32 {
		_ = st.Ping(ctx)
	}
	t.Logf("F4: %d issuances, %d delivered, %d failed, %d retried tries, %d server restarts", n, len(delivered), failed, retries, restarts)
	require.Equal(t, 2, restarts, "the server was restarted twice during the run")
	require.Positive(t, retries, "the restarts cut issuances short")
	require.NotEmpty(t, delivered)
	e.reconcile(delivered)
}

// issueUnderFault runs n concurrent issuances through the service API while
// fault runs in its own goroutine; fault gets a channel closed when the
// issuances are done and the count of credentials delivered so far. A
// client retries a failed issuance up to 5 more times, backing off 0.25 s,
// 0.5 s, … between tries, each time with a new offer (its token may be
// used up). It returns the delivered
// credentials and the number of clients that never got one.
func (e *env) issueUnderFault(n int, fault func(stop <-chan struct{}, delivered *atomic.Int64)) (delivered []string, failed, retries int64) {
	e.t.Helper()
	ctx := context.Background()
	var mu sync.Mutex
	var count, gaveUp, retried atomic.Int64
	stop, faultDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(faultDone)
		fault(stop, &count)
	}()
	var wg sync.WaitGroup
	storetest.Within(e.t, 300*time.Second, func() {
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var creds []string
				var err error
				for try := range 6 {
					if creds, err = e.issueDirect(ctx, fmt.Sprintf("citizen-%d", i), 1); err == nil {
						break
					}
					retried.Add(1)
					time.Sleep(time.Duration(try+1) * 250 * time.Millisecond) // back off, as a wallet would
				}
				if err != nil {
					gaveUp.Add(1)
					return
				}
				mu.Lock()
				delivered = append(delivered, creds...)
				mu.Unlock()
				count.Add(int64(len(creds)))
			}()
		}
		wg.Wait()
	})
	close(stop)
	<-faultDone
	return delivered, gaveUp.Load(), retried.Load()
}

func codeOf(err error) string { return errs.CodeOf(err) }

func b64dec(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

// proofNoT builds a key proof without touching t (safe in goroutines); a
// failure yields an empty proof, which the issuer rejects.
func (w *wallet) proofNoT(holder keys.Signer, nonce string) string {
	jwk, err := jose.PublicJWK(holder.Public())
	if err != nil {
		return ""
	}
	payload, err := json.Marshal(map[string]any{"aud": w.issuer, "iat": w.e.svc.now().Unix(), "nonce": nonce})
	if err != nil {
		return ""
	}
	tok, _ := jose.Sign(holder, map[string]any{"typ": ProofTyp, "jwk": jwk.Map()}, payload)
	return tok
}
