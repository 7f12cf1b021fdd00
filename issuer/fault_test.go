package issuer

import (
	"bytes"
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
	"github.com/ssi-project/ssi/internal/trust"
)

// reconcile is the check SECURITY-CASES.md §F runs after each fault:
//  1. every delivered credential has exactly one record, issued;
//  2. no (list, index) pair is used twice;
//  3. the latest signed list, which is the one served, holds every index's
//     stored status: each revocation (any non-zero status) at its index,
//     and 0 at every other index of the list;
//  4. every list version has exactly one anchor: one outbox entry, and on
//     the ledger one entry whose hash is the version's, with a receipt
//     that verifies against the validator set.
//
// It publishes first, so that (3) checks what verifiers would be served.
// It needs the env's ledger (envOpts.ledger), so that (4) is checked, and
// at least one revocation (revokeDelivered), so that (3) has a non-zero
// status to find.
func (e *env) reconcile(delivered []string) {
	e.t.Helper()
	ctx := context.Background()
	require.NotNil(e.t, e.ledger, "reconcile checks the anchors: the env needs a ledger")
	require.Positive(e.t, countWhere(e.t, e.st, "credentials", "status <> 0"),
		"reconcile checks the revocations in the lists: revoke a credential first")
	_, err := e.svc.Publish(ctx)
	require.NoError(e.t, err)

	for _, sd := range delivered {
		listID, idx := e.statusRefOf(sd)
		var n int64
		var state string
		require.NoError(e.t, store.Raw(e.st).QueryRow(ctx, "SELECT COUNT(*), MIN(state) FROM credentials WHERE status_list = $1 AND status_idx = $2",
			[]any{listID, idx}, &n, &state))
		assert.Equal(e.t, int64(1), n, "(1) a delivered credential has exactly one record")
		assert.Equal(e.t, store.CredentialIssued, state, "(1) and it is marked issued")
	}

	var dups int64
	require.NoError(e.t, store.Raw(e.st).QueryRow(ctx,
		"SELECT COUNT(*) FROM (SELECT status_list, status_idx FROM credentials GROUP BY status_list, status_idx HAVING COUNT(*) > 1) d", nil, &dups))
	assert.Zero(e.t, dups, "(2) no duplicate (list, index)")

	listIDs := e.listIDs()
	versions := int64(0)
	for _, id := range listIDs {
		l, err := e.st.GetStatusList(ctx, id)
		require.NoError(e.t, err)
		require.Positive(e.t, l.Version, "(3) list %s is published", id)
		versions += int64(l.Version)
		v, err := e.st.GetStatusListVersion(ctx, id, 0)
		require.NoError(e.t, err)
		assert.Equal(e.t, l.ChangeSeq, v.Seq, "(3) the latest version covers every change")
		code, served, h := e.do("GET", "/status/"+id, "", nil, "")
		require.Equal(e.t, http.StatusOK, code)
		assert.Equal(e.t, v.Token, string(served), "(3) the latest version is the one served")
		assert.Equal(e.t, itoa(l.Version), h.Get(VersionHeader), "(3) and it says which version it is")
		tok := e.verifyList(v.Token, l.URI)
		entries, err := e.st.StatusEntries(ctx, id)
		require.NoError(e.t, err)
		// The expected status of every index: the stored one, 0 when none is.
		want := make([]uint8, tok.List.Len())
		for _, en := range entries {
			require.True(e.t, en.Index >= 0 && en.Index < int64(len(want)), "(3) index %d of a stored status is in the list", en.Index)
			want[en.Index] = uint8(en.Status)
		}
		var wrong []string // "index: got, want" of each differing index
		for i, w := range want {
			got, err := tok.List.Get(i)
			require.NoError(e.t, err)
			if got != w {
				wrong = append(wrong, fmt.Sprintf("%d: %d, want %d", i, got, w))
			}
		}
		if len(wrong) > 10 {
			wrong = append(wrong[:10], fmt.Sprintf("and %d more", len(wrong)-10))
		}
		assert.Empty(e.t, wrong, "(3) every index of list %s (%d entries, %d non-zero stored) has its stored status in the latest list",
			id, len(want), len(entries))
		for ver := uint64(1); ver <= l.Version; ver++ {
			key := trust.Entry{Kind: trust.KindStatusList, Subject: l.URI, Version: ver}.Key()
			var n int64
			require.NoError(e.t, store.Raw(e.st).QueryRow(ctx, "SELECT COUNT(*) FROM outbox WHERE topic = $1 AND okey = $2", []any{anchor.Topic, key}, &n))
			if !assert.Equal(e.t, int64(1), n, "(4) one anchor for version %d", ver) {
				continue // nothing to wait for on the ledger
			}
			sv, err := e.st.GetStatusListVersion(ctx, id, ver)
			require.NoError(e.t, err)
			rc := e.anchored(id, ver)
			assert.Equal(e.t, sv.SHA256, rc.Entry.SHA256, "(4) the ledger anchors version %d's own hash", ver)
			assert.NoError(e.t, trust.VerifyReceipt(rc, e.ledger.Trust), "(4) the receipt of version %d verifies", ver)
		}
	}
	var n int64
	require.NoError(e.t, store.Raw(e.st).QueryRow(ctx, "SELECT COUNT(*) FROM outbox WHERE topic = $1 AND okey LIKE 'status-list|%'", []any{anchor.Topic}, &n))
	assert.Equal(e.t, versions, n, "(4) exactly one anchor per list version, no more")
}

// anchored polls until version of list is anchored on the ledger (deadline
// 60 s) and returns its receipt, fresh from the ledger.
func (e *env) anchored(listID string, version uint64) *trust.Receipt {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		rc, err := e.svc.Receipt(context.Background(), listID, version)
		if err == nil {
			return rc
		}
		require.Contains(e.t, []string{"receipt_not_found", "ledger_unavailable", "anchor_pending"}, errs.CodeOf(err), "%v", err)
		require.True(e.t, time.Now().Before(deadline), "version %d of %s not anchored in time: %v", version, listID, err)
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
}

// statusRefOf returns the status list ID and index a delivered credential
// carries.
func (e *env) statusRefOf(sd string) (string, int64) {
	e.t.Helper()
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
	return strings.TrimPrefix(payload.Status.StatusList.URI, e.srv.URL+"/status/"), payload.Status.StatusList.Idx
}

// revokeDelivered revokes the first n of delivered over the admin API, so
// that reconcile's (3) has revocations to find in the published list.
func (e *env) revokeDelivered(delivered []string, n int) {
	e.t.Helper()
	require.GreaterOrEqual(e.t, len(delivered), n)
	for _, sd := range delivered[:n] {
		list, idx := e.statusRefOf(sd)
		var id string
		require.NoError(e.t, store.Raw(e.st).QueryRow(context.Background(),
			"SELECT id FROM credentials WHERE status_list = $1 AND status_idx = $2", []any{list, idx}, &id))
		code, b := e.setStatus("health/all", id, ActionRevoke, "reconciliation")
		require.Equal(e.t, http.StatusOK, code, string(b))
	}
}

// listIDs returns every status list ID.
func (e *env) listIDs() []string {
	e.t.Helper()
	var ids []string
	for _, tn := range []string{"health", "benefits"} {
		for off := int64(0); ; off++ {
			var id string
			err := store.Raw(e.st).QueryRow(context.Background(),
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
		e := newEnv(t, st, envOpts{ledger: true, fault: fault, signer: func(s keys.Signer) keys.Signer { return countingSigner{s, &signs} }})
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
		require.NoError(t, store.Raw(st).QueryRow(ctx, "SELECT COUNT(*) FROM credentials", nil, &records))
		require.NoError(t, store.Raw(st).QueryRow(ctx, "SELECT COUNT(*) FROM credentials WHERE state = $1", []any{store.CredentialPending}, &pending))
		assert.Equal(t, int64(30), records, "every attempt recorded before anything was signed")
		assert.Equal(t, signs.Load(), records-killed[FaultAfterAllocate].Load(), "no signature without its record")
		assert.Equal(t, killed[FaultAfterAllocate].Load()+killed[FaultAfterSign].Load(), pending, "killed issuances stay pending")
		var issuedRecs int64
		require.NoError(t, store.Raw(st).QueryRow(ctx, "SELECT COUNT(*) FROM credentials WHERE state = $1", []any{store.CredentialIssued}, &issuedRecs))
		assert.Equal(t, int64(len(delivered))+killed[FaultBeforeRespond].Load(), issuedRecs,
			"issued records: the delivered ones and those killed before responding")
		e.revokeDelivered(delivered, 2)
		e.reconcile(delivered)
	})
}

// TestFaultAuditDown is F8: when the audit write fails, every state change
// (revoke, suspend, issuance, offer creation, and a scope refusal, which
// must be audited) fails with 503 audit_unavailable and changes nothing,
// while verification keeps working: the served list verifies and shows
// the credential's status, and the credential itself verifies.
func TestFaultAuditDown(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{ledger: true})
		ctx := context.Background()
		creds := e.issue("health", "vaccination-pass", "c1", vaccSubject, 1)
		recs, err := st.ListCredentials(ctx, "health", "c1", 0)
		require.NoError(t, err)
		require.Len(t, recs, 1)
		rec := recs[0]
		_, err = e.svc.Publish(ctx)
		require.NoError(t, err)
		w := e.redeemed("c2")
		offers := countRows(t, st, "credential_offers")

		breakAudit(t, st)
		for _, a := range []string{ActionRevoke, ActionSuspend} {
			code, b := e.setStatus("health/all", rec.ID, a, "lost")
			assert.Equal(t, http.StatusServiceUnavailable, code, string(b))
			assert.Equal(t, "audit_unavailable", errCode(b), a)
		}
		got, err := st.GetCredential(ctx, "health", rec.ID)
		require.NoError(t, err)
		assert.Equal(t, StatusValid, got.Status, "the change rolled back")
		published, err := e.svc.Publish(ctx)
		require.NoError(t, err)
		assert.Zero(t, published, "no status change reached the list")

		h, err := keys.Generate(keys.ES256)
		require.NoError(t, err)
		nonce := w.nonce()
		code, b := w.credential(map[string]any{"credential_configuration_id": "vaccination-pass",
			"proofs": map[string]any{"jwt": []string{w.proof(h, nonce, nil)}}})
		assert.Equal(t, http.StatusServiceUnavailable, code, string(b))
		assert.Equal(t, "audit_unavailable", errCode(b))
		e.assertNothingIssued(t, w, nonce) // no record without its audit; the nonce use rolled back too

		code, b, _ = e.do("POST", "/issuer/v1/offers", e.keys["health/all"], map[string]any{
			"credential_configuration_id": "vaccination-pass", "subject_ref": "c3", "subject_data": vaccSubject}, "")
		assert.Equal(t, http.StatusServiceUnavailable, code, string(b))
		assert.Equal(t, "audit_unavailable", errCode(b))
		assert.Equal(t, offers, countRows(t, st, "credential_offers"), "no offer without its audit")

		code, b = e.setStatus("health/issue", rec.ID, ActionRevoke, "x")
		assert.Equal(t, http.StatusServiceUnavailable, code, "a refusal that cannot be audited: %s", b)
		assert.Equal(t, "audit_unavailable", errCode(b))

		// Verification keeps working.
		code, served, _ := e.do("GET", "/status/"+rec.ListID, "", nil, "")
		require.Equal(t, http.StatusOK, code, "the list is served")
		tok := e.verifyList(string(served), e.srv.URL+"/status/"+rec.ListID)
		v, err := tok.List.Get(int(rec.Index))
		require.NoError(t, err)
		assert.Equal(t, uint8(StatusValid), v)
		r := e.coreVerify(creds[0], sdjwt.ProfileSDJWTVC)
		assert.Equal(t, uint64(rec.Index), r.Status.Index)

		fixAudit(t, st)
		code, b = e.setStatus("health/all", rec.ID, ActionRevoke, "lost")
		assert.Equal(t, http.StatusOK, code, string(b))
		code, b = w.credential(map[string]any{"credential_configuration_id": "vaccination-pass",
			"proofs": map[string]any{"jwt": []string{w.proof(h, nonce, nil)}}})
		require.Equal(t, http.StatusOK, code, "the token and the nonce survived the failed attempt: %s", b)
		again := credentialsOf(t, b)
		require.Len(t, again, 1)
		e.reconcile([]string{creds[0], again[0]})
	})
}

func breakAudit(t *testing.T, st *store.Store) {
	ctx := context.Background()
	var err error
	if st.Backend() == "sqlite" {
		_, err = store.Raw(st).Exec(ctx, "CREATE TRIGGER audit_down BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'audit down'); END")
	} else {
		_, err = store.Raw(st).Exec(ctx, "CREATE FUNCTION audit_down() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit down'; END $$ LANGUAGE plpgsql")
		require.NoError(t, err)
		_, err = store.Raw(st).Exec(ctx, "CREATE TRIGGER audit_down BEFORE INSERT ON audit FOR EACH ROW EXECUTE FUNCTION audit_down()")
	}
	require.NoError(t, err)
}

func fixAudit(t *testing.T, st *store.Store) {
	ctx := context.Background()
	var err error
	if st.Backend() == "sqlite" {
		_, err = store.Raw(st).Exec(ctx, "DROP TRIGGER audit_down")
	} else {
		_, err = store.Raw(st).Exec(ctx, "DROP TRIGGER audit_down ON audit")
	}
	require.NoError(t, err)
}

// TestFaultIdempotentPOSTs is F6 on the admin API, for offer creation and
// for revocation: the same body twice gets the same response, a different
// body 422 (and is not processed), and 50 in parallel are processed once -
// one offer, one audit event - every one of them answered with that one
// response or 409 while it runs. Reconciliation holds afterwards.
func TestFaultIdempotentPOSTs(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{ledger: true})
		// post does not touch t, so that goroutines may use it.
		post := func(path, key string, body any) (int, []byte, http.Header, error) {
			req, err := http.NewRequest("POST", e.srv.URL+path, bytes.NewReader(mustJSON(body)))
			if err != nil {
				return 0, nil, nil, err
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+e.keys["health/all"])
			req.Header.Set("Idempotency-Key", key)
			resp, err := e.client.Do(req)
			if err != nil {
				return 0, nil, nil, err
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			return resp.StatusCode, b, resp.Header, err
		}
		// parallel sends the same request 50 times at once and returns the
		// distinct successful bodies.
		parallel := func(t *testing.T, path, key string, body any, ok int) map[string]bool {
			var mu sync.Mutex
			bodies := map[string]bool{}
			var wg sync.WaitGroup
			storetest.Within(t, 60*time.Second, func() {
				for range 50 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						c, b, _, err := post(path, key, body)
						switch {
						case err != nil:
							t.Errorf("posting: %v", err)
						case c == ok:
							mu.Lock()
							bodies[string(b)] = true
							mu.Unlock()
						case c != http.StatusConflict || errCode(b) != "idempotency_in_progress":
							t.Errorf("unexpected status %d: %s", c, b)
						}
					}()
				}
				wg.Wait()
			})
			return bodies
		}
		offer := func(subjectRef string) map[string]any {
			return map[string]any{"credential_configuration_id": "vaccination-pass", "subject_ref": subjectRef, "subject_data": vaccSubject}
		}
		audits := func(t *testing.T, action, target string) int64 {
			return countWhere(t, st, "audit", "action = $1 AND target = $2", action, target)
		}

		t.Run("offers", func(t *testing.T) {
			c1, b1, _, err := post("/issuer/v1/offers", "k1", offer("c1"))
			require.NoError(t, err)
			require.Equal(t, http.StatusCreated, c1)
			c2, b2, h2, err := post("/issuer/v1/offers", "k1", offer("c1"))
			require.NoError(t, err)
			assert.Equal(t, c1, c2)
			assert.Equal(t, string(b1), string(b2), "the same response")
			assert.Equal(t, "true", h2.Get("Idempotent-Replayed"))
			c3, b3, _, err := post("/issuer/v1/offers", "k1", offer("c-other"))
			require.NoError(t, err)
			assert.Equal(t, http.StatusUnprocessableEntity, c3)
			assert.Equal(t, "idempotency_key_reused", errCode(b3))
			assert.Equal(t, int64(1), countWhere(t, st, "credential_offers", "subject_ref = 'c1'"), "processed once")
			assert.Zero(t, countWhere(t, st, "credential_offers", "subject_ref = 'c-other'"), "the different body was not processed")

			bodies := parallel(t, "/issuer/v1/offers", "k50", offer("c50"), http.StatusCreated)
			assert.Len(t, bodies, 1, "every success is the one response")
			assert.Equal(t, int64(1), countWhere(t, st, "credential_offers", "subject_ref = 'c50'"), "processed once")
			var id string
			require.NoError(t, store.Raw(st).QueryRow(context.Background(), "SELECT id FROM credential_offers WHERE subject_ref = 'c50'", nil, &id))
			assert.Equal(t, int64(1), audits(t, "credential_offer.create", id), "one audit event")
		})

		var delivered []string
		t.Run("revocations", func(t *testing.T) {
			e := e.in(t)
			delivered = e.issue("health", "vaccination-pass", "r1", vaccSubject, 1)
			rec := func() store.IssuedCredential {
				recs, err := st.ListCredentials(context.Background(), "health", "r1", 0)
				require.NoError(t, err)
				require.Len(t, recs, 1)
				return recs[0]
			}
			id := rec().ID
			path := "/issuer/v1/credentials/" + id + "/revoke"
			bodies := parallel(t, path, "r50", map[string]any{"reason": "stolen"}, http.StatusOK)
			require.Len(t, bodies, 1, "every success is the one response")
			for b := range bodies {
				var out struct{ Changed bool }
				require.NoError(t, json.Unmarshal([]byte(b), &out))
				assert.True(t, out.Changed, "the one response is the one that revoked")
			}
			assert.Equal(t, int64(1), audits(t, "credential.revoke", id), "processed once: one audit event")
			assert.Equal(t, StatusRevoked, rec().Status)

			c, b, h, err := post(path, "r50", map[string]any{"reason": "stolen"})
			require.NoError(t, err)
			assert.Equal(t, http.StatusOK, c)
			assert.True(t, bodies[string(b)], "the same response")
			assert.Equal(t, "true", h.Get("Idempotent-Replayed"))
			c, b, _, err = post(path, "r50", map[string]any{"reason": "another reason"})
			require.NoError(t, err)
			assert.Equal(t, http.StatusUnprocessableEntity, c)
			assert.Equal(t, "idempotency_key_reused", errCode(b))
			assert.Equal(t, int64(1), audits(t, "credential.revoke", id), "the different body was not processed")
		})
		e.reconcile(delivered)
	})
}

// TestFaultConcurrentRevocations is F7: admins revoke the same credentials
// concurrently while lists are being published by two replicas (two
// services on one store, each with its own publication lock): each bit is
// set once, the served version only increases (watched during the run),
// every stored version covers more changes than the one before and never
// clears a revocation, and there is one audit event per action.
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
		replica, err := New(e.svc.cfg)
		require.NoError(t, err)

		pctx, stop := context.WithCancel(ctx)
		var pubWG sync.WaitGroup
		for _, svc := range []*Service{e.svc, replica} {
			pubWG.Add(1)
			go func() {
				defer pubWG.Done()
				for pctx.Err() == nil {
					_, _ = svc.Publish(pctx)
				}
			}()
		}
		// The watcher reads the served version throughout: it must never go
		// back.
		pubWG.Add(1)
		var observed atomic.Int64
		go func() {
			defer pubWG.Done()
			var last uint64
			for pctx.Err() == nil {
				v, err := st.GetStatusListVersion(pctx, recs[0].ListID, 0)
				if err != nil {
					continue
				}
				if v.Version < last {
					t.Errorf("the served version went back from %d to %d", last, v.Version)
				}
				last = v.Version
				observed.Add(1)
			}
		}()
		var changed atomic.Int64
		var calls atomic.Int64
		var wg sync.WaitGroup
		storetest.Within(t, 120*time.Second, func() {
			for _, r := range recs {
				for a := range 3 { // three admins per credential
					wg.Add(1)
					go func() {
						defer wg.Done()
						ch, err := e.svc.SetStatus(ctx, Actor{TenantID: "health", ID: fmt.Sprintf("admin-%d", a)}, r.ID, ActionRevoke, "concurrent")
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
		assert.Positive(t, observed.Load(), "the watcher read the served version")
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

		// Versions are 1..V without gaps or repeats; each covers more
		// changes than the one before, and a revocation, once published,
		// stays in every later version.
		l, err := st.GetStatusList(ctx, recs[0].ListID)
		require.NoError(t, err)
		t.Logf("F7: %d versions published, the served version read %d times", l.Version, observed.Load())
		seq := int64(-1)
		revoked := map[string]bool{}
		for v := uint64(1); v <= l.Version; v++ {
			sv, err := st.GetStatusListVersion(ctx, l.ID, v)
			require.NoError(t, err, "version %d exists", v)
			assert.Greater(t, sv.Seq, seq, "version %d covers more changes than the one before", v)
			seq = sv.Seq
			tok := e.verifyList(sv.Token, l.URI)
			for _, r := range recs {
				got, err := tok.List.Get(int(r.Index))
				require.NoError(t, err)
				if revoked[r.ID] {
					assert.Equal(t, uint8(StatusRevoked), got, "version %d keeps %s revoked", v, r.ID)
				}
				revoked[r.ID] = got == StatusRevoked
			}
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
	_, err = store.Raw(adm).Exec(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = store.Raw(adm).Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
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

	n := 500
	if testing.Short() || os.Getenv("SSI_F4_N") != "" {
		n = 100
	}
	// kill terminates every backend of the issuer's pool and returns how
	// many it terminated (0 when the query failed). It does not touch t.
	var killed, inFlight atomic.Int64
	kill := func() int64 {
		var k int64
		if err := store.Raw(adm).QueryRow(ctx, "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1", []any{app}, &k); err != nil {
			return 0
		}
		killed.Add(k)
		return k
	}
	// Besides the timed rounds below, the first issuance to allocate its
	// record triggers a round itself, from the fault hook: so one round
	// always runs while that issuance (and those running with it) is in
	// flight, however fast the run goes - a short run may be over before
	// the first timed round.
	var first sync.Once
	e := newEnv(t, st, envOpts{ledger: true, fault: func(point string, _ []string) error {
		if point == FaultAfterAllocate {
			first.Do(func() { inFlight.Add(kill()) })
		}
		return nil
	}})
	e.svc.cfg.RatePerClient = 1 << 30
	delivered, failed, _ := e.issueUnderFault(n, func(stop <-chan struct{}) {
		tick := time.NewTicker(400 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				kill()
			}
		}
	})
	// The pool may still hold connections cut by the last round: using one
	// fails once and discards it. Flush them before reconciling.
	for range 32 {
		_ = st.Ping(ctx)
	}
	t.Logf("F4: %d issuances, %d delivered, %d failed, %d backends terminated (%d by the round the first issuance triggered)",
		n, len(delivered), failed, killed.Load(), inFlight.Load())
	require.Positive(t, inFlight.Load(), "connections were cut while issuances were in flight")
	require.NotEmpty(t, delivered)
	e.revokeDelivered(delivered, 3)
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

	n := 500
	if testing.Short() || os.Getenv("SSI_F4_N") != "" {
		n = 100
	}
	// The issuances restart the server themselves, from the fault hook:
	// the one that allocates the n/5-th record, and then the one that
	// allocates the 3n/10-th record after that restart (n/2 in all). So
	// each restart happens while that issuance (and those running with
	// it) is in flight, however fast the run goes: a watcher polling the
	// progress from outside can see a short run end before it acts. The
	// lock keeps the restarts apart; an issuance that allocates meanwhile
	// waits, as it would for the server.
	var mu sync.Mutex
	restarts, since := 0, 0 // since: allocations since the last restart
	gaps := []int{n / 5, n/2 - n/5}
	e := newEnv(t, st, envOpts{ledger: true, fault: func(point string, _ []string) error {
		if point != FaultAfterAllocate {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		if since++; restarts < len(gaps) && since >= gaps[restarts] {
			srv.Restart(t, 500*time.Millisecond) // reports with t.Errorf only: safe off the test goroutine
			restarts++
			since = 0
		}
		return nil
	}})
	e.svc.cfg.RatePerClient = 1 << 30
	delivered, failed, retries := e.issueUnderFault(n, nil)
	for range 32 {
		_ = st.Ping(ctx)
	}
	mu.Lock()
	done := restarts
	mu.Unlock()
	t.Logf("F4: %d issuances, %d delivered, %d failed, %d retried tries, %d server restarts", n, len(delivered), failed, retries, done)
	require.Equal(t, 2, done, "the server was restarted twice during the run")
	require.Positive(t, retries, "the restarts cut issuances short")
	require.NotEmpty(t, delivered)
	e.revokeDelivered(delivered, 3)
	e.reconcile(delivered)
}

// issueUnderFault runs n concurrent issuances through the service API while
// fault, unless nil, runs in its own goroutine; fault gets a channel
// closed when the issuances are done. A client retries a failed issuance
// up to 5 more times, backing off 0.25 s, 0.5 s, … between tries, each
// time with a new offer (its token may be used up). It returns the
// delivered credentials, the number of clients that never got one, and
// the number of failed tries.
func (e *env) issueUnderFault(n int, fault func(stop <-chan struct{})) (delivered []string, failed, retries int64) {
	e.t.Helper()
	ctx := context.Background()
	var mu sync.Mutex
	var gaveUp, retried atomic.Int64
	stop, faultDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(faultDone)
		if fault != nil {
			fault(stop)
		}
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
