package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/store"
)

// issuerCases cover the issuer tables (migration 0003,
// internal/store/issuer.go).
func issuerCases() []testCase {
	return []testCase{
		{"IssuerStatusLists", testIssuerStatusLists},
		{"IssuerCredentialRecords", testIssuerCredentialRecords},
		{"IssuerCredentialStatus", testIssuerCredentialStatus},
		{"IssuerListVersions", testIssuerListVersions},
		{"IssuerOffers", testIssuerOffers},
		{"IssuerTokenBinding", testIssuerTokenBinding},
		{"IssuerConcurrentOfferAttempts", testIssuerConcurrentOfferAttempts},
		{"IssuerStaleSubjectData", testIssuerStaleSubjectData},
		{"IssuerConcurrentIndexAllocation", testIssuerConcurrentIndexAllocation},
		{"IssuerBatches", testIssuerBatches},
	}
}

func issuerSetup(t *testing.T, s *store.Store) store.StatusList {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, s.CreateTenant(ctx, store.Tenant{ID: "health", CreatedAt: t0}))
	require.NoError(t, s.CreateTenant(ctx, store.Tenant{ID: "benefits", CreatedAt: t0}))
	l := store.StatusList{ID: "l1", TenantID: "health", URI: "https://issuer.example/status/l1", Bits: 2, Size: 131072, CreatedAt: t0}
	require.NoError(t, s.CreateStatusList(ctx, l))
	return l
}

func credRecord(id string, idx int64) store.IssuedCredential {
	h := sha256.Sum256([]byte(id))
	return store.IssuedCredential{
		ID: id, TenantID: "health", ConfigID: "vaccination", SubjectRef: "citizen-1", ClaimsHash: h[:],
		ListID: "l1", Index: idx, State: store.CredentialPending, CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour),
	}
}

func testIssuerStatusLists(t *testing.T, s *store.Store) {
	ctx := context.Background()
	l := issuerSetup(t, s)
	got, err := s.GetStatusList(ctx, "l1")
	require.NoError(t, err)
	l.PublishedSeq = -1
	assert.Equal(t, l, got, "exact round trip")

	assertCode(t, store.ErrConflict, s.CreateStatusList(ctx, l), "an ID is used once")
	dupURI := l
	dupURI.ID = "l2"
	assertCode(t, store.ErrConflict, s.CreateStatusList(ctx, dupURI), "a URI is used once")
	small := store.StatusList{ID: "l3", TenantID: "health", URI: "u3", Bits: 1, Size: 1024}
	assert.Error(t, s.CreateStatusList(ctx, small), "herd privacy: at least 131,072 entries")
	bad := store.StatusList{ID: "l4", TenantID: "health", URI: "u4", Bits: 3, Size: 131072}
	assert.Error(t, s.CreateStatusList(ctx, bad), "bits in {1,2,4,8}")

	open, err := s.OpenStatusList(ctx, "health", 2)
	require.NoError(t, err)
	assert.Equal(t, "l1", open.ID)
	_, err = s.OpenStatusList(ctx, "health", 1)
	assertCode(t, store.ErrNotFound, err, "no 1-bit list yet")
	_, err = s.OpenStatusList(ctx, "benefits", 2)
	assertCode(t, store.ErrNotFound, err, "lists are per tenant")
}

func testIssuerCredentialRecords(t *testing.T, s *store.Store) {
	ctx := context.Background()
	issuerSetup(t, s)
	c := credRecord("c1", 7)
	require.NoError(t, s.InsertCredential(ctx, c))
	got, err := s.GetCredential(ctx, "health", "c1")
	require.NoError(t, err)
	assert.Equal(t, c, got, "exact round trip")
	_, err = s.GetCredential(ctx, "benefits", "c1")
	assertCode(t, store.ErrNotFound, err, "another tenant's record is not found")

	assertCode(t, store.ErrConflict, s.InsertCredential(ctx, credRecord("c2", 7)), "unique (list, index)")
	assertCode(t, store.ErrConflict, s.InsertCredential(ctx, credRecord("c1", 8)), "unique ID")
	other := credRecord("c3", 9)
	other.TenantID = "benefits"
	assertCode(t, store.ErrNotFound, s.InsertCredential(ctx, other), "a list of another tenant")
	_, err = s.GetCredential(ctx, "benefits", "c3")
	assertCode(t, store.ErrNotFound, err, "the failed insert left nothing")
	n, err := s.RecountStatusList(ctx, "l1")
	require.NoError(t, err)
	assert.Equal(t, int64(1), n, "only the successful insert counts")
	l, err := s.GetStatusList(ctx, "l1")
	require.NoError(t, err)
	assert.Equal(t, int64(1), l.Allocated)

	at := t0.Add(time.Minute)
	require.NoError(t, s.MarkCredentialIssued(ctx, "health", "c1", at))
	assertCode(t, store.ErrConflict, s.MarkCredentialIssued(ctx, "health", "c1", at), "issued once")
	assertCode(t, store.ErrNotFound, s.MarkCredentialIssued(ctx, "benefits", "c1", at))
	got, err = s.GetCredential(ctx, "health", "c1")
	require.NoError(t, err)
	assert.Equal(t, store.CredentialIssued, got.State)
	assert.Equal(t, at, got.IssuedAt)

	require.NoError(t, s.InsertCredential(ctx, credRecord("c4", 10)))
	list, err := s.ListCredentials(ctx, "health", "citizen-1", 0)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, "c1", list[0].ID)
	list, err = s.ListCredentials(ctx, "benefits", "citizen-1", 0)
	require.NoError(t, err)
	assert.Empty(t, list, "tenant-isolated")
}

func testIssuerCredentialStatus(t *testing.T, s *store.Store) {
	ctx := context.Background()
	issuerSetup(t, s)
	require.NoError(t, s.InsertCredential(ctx, credRecord("c1", 5)))
	require.NoError(t, s.InsertCredential(ctx, credRecord("c2", 6)))

	c, changed, err := s.SetCredentialStatus(ctx, "health", "c1", 2, []int{0})
	require.NoError(t, err)
	assert.True(t, changed)
	assert.Equal(t, 2, c.Status)
	_, changed, err = s.SetCredentialStatus(ctx, "health", "c1", 2, []int{0})
	require.NoError(t, err)
	assert.False(t, changed, "idempotent")
	_, _, err = s.SetCredentialStatus(ctx, "health", "c1", 0, []int{1})
	assertCode(t, store.ErrConflict, err, "a transition not allowed")
	_, _, err = s.SetCredentialStatus(ctx, "benefits", "c1", 1, []int{0, 2})
	assertCode(t, store.ErrNotFound, err, "another tenant")
	_, changed, err = s.SetCredentialStatus(ctx, "health", "c2", 1, []int{0, 2})
	require.NoError(t, err)
	assert.True(t, changed)

	l, err := s.GetStatusList(ctx, "l1")
	require.NoError(t, err)
	assert.Equal(t, int64(2), l.ChangeSeq, "one change per real transition")
	entries, err := s.StatusEntries(ctx, "l1")
	require.NoError(t, err)
	assert.Equal(t, []store.StatusEntry{{Index: 5, Status: 2}, {Index: 6, Status: 1}}, entries)
}

func testIssuerListVersions(t *testing.T, s *store.Store) {
	ctx := context.Background()
	issuerSetup(t, s)
	todo, err := s.StatusListsToPublish(ctx, 0, t0)
	require.NoError(t, err)
	require.Len(t, todo, 1, "a new list is published")

	v1 := store.StatusListVersion{ListID: "l1", Version: 1, Token: "a.b.c", SHA256: "00", Seq: 0, CreatedAt: t0}
	require.NoError(t, s.PutStatusListVersion(ctx, v1))
	assertCode(t, store.ErrConflict, s.PutStatusListVersion(ctx, v1), "a version is written once")
	skip := v1
	skip.Version = 3
	assertCode(t, store.ErrConflict, s.PutStatusListVersion(ctx, skip), "versions do not skip")
	none := v1
	none.ListID = "nope"
	assertCode(t, store.ErrNotFound, s.PutStatusListVersion(ctx, none))

	todo, err = s.StatusListsToPublish(ctx, 0, t0)
	require.NoError(t, err)
	assert.Empty(t, todo, "published and unchanged")
	todo, err = s.StatusListsToPublish(ctx, 0, t0.Add(time.Microsecond))
	require.NoError(t, err)
	require.Len(t, todo, 1, "unchanged, but its latest version is older than the refresh time")
	assert.Equal(t, "l1", todo[0].ID)
	require.NoError(t, s.InsertCredential(ctx, credRecord("c1", 5)))
	_, _, err = s.SetCredentialStatus(ctx, "health", "c1", 1, []int{0})
	require.NoError(t, err)
	todo, err = s.StatusListsToPublish(ctx, 0, t0)
	require.NoError(t, err)
	require.Len(t, todo, 1, "changed since")

	v2 := store.StatusListVersion{ListID: "l1", Version: 2, Token: "d.e.f", SHA256: "11", Seq: 1, CreatedAt: t0.Add(time.Second)}
	require.NoError(t, s.PutStatusListVersion(ctx, v2))
	got, err := s.GetStatusListVersion(ctx, "l1", 0)
	require.NoError(t, err)
	assert.Equal(t, v2, got, "0 is the latest")
	got, err = s.GetStatusListVersion(ctx, "l1", 1)
	require.NoError(t, err)
	assert.Equal(t, v1, got)
	_, err = s.GetStatusListVersion(ctx, "l1", 9)
	assertCode(t, store.ErrNotFound, err)
}

func offer(id string, code string) store.CredentialOffer {
	h := sha256.Sum256([]byte(code))
	tx := sha256.Sum256([]byte("123456"))
	return store.CredentialOffer{
		ID: id, TenantID: "health", ConfigID: "vaccination", SubjectRef: "citizen-1",
		SubjectData: []byte(`{"given_name":"Ada"}`), CodeHash: h[:], TxCodeHash: tx[:], Actor: "key-1",
		CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute),
	}
}

func testIssuerOffers(t *testing.T, s *store.Store) {
	ctx := context.Background()
	issuerSetup(t, s)
	o := offer("o1", "code-1")
	require.NoError(t, s.CreateOffer(ctx, o))
	assertCode(t, store.ErrConflict, s.CreateOffer(ctx, o))
	got, err := s.GetOffer(ctx, "o1")
	require.NoError(t, err)
	o.State = store.OfferOffered
	assert.Equal(t, o, got, "exact round trip")

	now := t0.Add(time.Minute)
	byCode, err := s.OfferByCode(ctx, o.CodeHash, now)
	require.NoError(t, err)
	assert.Equal(t, "o1", byCode.ID)
	_, err = s.OfferByCode(ctx, o.CodeHash, t0.Add(11*time.Minute))
	assertCode(t, store.ErrNotFound, err, "expired")
	_, err = s.AttemptOffer(ctx, "benefits", o.CodeHash, now)
	assertCode(t, store.ErrNotFound, err, "another tenant's code")
	a, err := s.AttemptOffer(ctx, "health", o.CodeHash, now)
	require.NoError(t, err)
	assert.Equal(t, 1, a.Attempts, "the other tenant's request spent no attempt")
	_, err = s.AttemptOffer(ctx, "health", o.CodeHash, t0.Add(11*time.Minute))
	assertCode(t, store.ErrNotFound, err, "expired")

	tok := sha256.Sum256([]byte("token"))
	require.NoError(t, s.RedeemOffer(ctx, "o1", tok[:], "", now.Add(time.Minute), now))
	assertCode(t, store.ErrNotFound, s.RedeemOffer(ctx, "o1", tok[:], "jkt-late", now.Add(time.Minute), now), "single use")
	_, err = s.AttemptOffer(ctx, "health", o.CodeHash, now)
	assertCode(t, store.ErrNotFound, err, "a redeemed code is dead")
	_, err = s.OfferByCode(ctx, o.CodeHash, now)
	assertCode(t, store.ErrNotFound, err, "a redeemed offer is no longer served")

	byTok, err := s.OfferByToken(ctx, tok[:], now)
	require.NoError(t, err)
	assert.Equal(t, "o1", byTok.ID)
	assert.Empty(t, byTok.TokenJKT, "a bearer token, and the losing redemption wrote no binding")
	_, err = s.OfferByToken(ctx, tok[:], now.Add(2*time.Minute))
	assertCode(t, store.ErrNotFound, err, "token expired")
	assertCode(t, store.ErrConflict, s.CompleteOffer(ctx, "o1", now.Add(2*time.Minute)), "not once the token has expired")
	require.NoError(t, s.CompleteOffer(ctx, "o1", now))
	assertCode(t, store.ErrConflict, s.CompleteOffer(ctx, "o1", now), "a token is used once")
	_, err = s.OfferByToken(ctx, tok[:], now)
	assertCode(t, store.ErrNotFound, err)
	got, err = s.GetOffer(ctx, "o1")
	require.NoError(t, err)
	assert.Nil(t, got.SubjectData, "subject data dropped after issuance")
}

// testIssuerTokenBinding: the DPoP key thumbprint an access token is
// bound to (migration 0006) is written by RedeemOffer, in the same
// statement as the token, and read back by every offer look-up.
func testIssuerTokenBinding(t *testing.T, s *store.Store) {
	ctx := context.Background()
	issuerSetup(t, s)
	now := t0.Add(time.Minute)
	const jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
	for _, id := range []string{"bound", "bearer"} {
		require.NoError(t, s.CreateOffer(ctx, offer(id, "code-"+id)))
	}
	fresh, err := s.GetOffer(ctx, "bound")
	require.NoError(t, err)
	assert.Empty(t, fresh.TokenJKT, "an offer not yet redeemed is bound to nothing")

	tb, tr := sha256.Sum256([]byte("tok-bound")), sha256.Sum256([]byte("tok-bearer"))
	require.NoError(t, s.InTx(ctx, func(tx *store.Store) error {
		return tx.RedeemOffer(ctx, "bound", tb[:], jkt, now.Add(time.Minute), now)
	}))
	require.NoError(t, s.RedeemOffer(ctx, "bearer", tr[:], "", now.Add(time.Minute), now))

	got, err := s.GetOffer(ctx, "bound")
	require.NoError(t, err)
	assert.Equal(t, jkt, got.TokenJKT)
	byTok, err := s.OfferByToken(ctx, tb[:], now)
	require.NoError(t, err)
	assert.Equal(t, jkt, byTok.TokenJKT)
	byTok, err = s.OfferByToken(ctx, tr[:], now)
	require.NoError(t, err)
	assert.Empty(t, byTok.TokenJKT, "a bearer token is bound to nothing")
	found, err := s.OffersByTokens(ctx, [][]byte{tr[:], tb[:]}, now)
	require.NoError(t, err)
	require.Len(t, found, 2)
	assert.Equal(t, jkt, found[string(tb[:])].TokenJKT)
	assert.Empty(t, found[string(tr[:])].TokenJKT)
	require.NoError(t, s.CompleteOffer(ctx, "bound", now))
	got, err = s.GetOffer(ctx, "bound")
	require.NoError(t, err)
	assert.Equal(t, jkt, got.TokenJKT, "kept after issuance, for the audit trail")
}

func testIssuerConcurrentOfferAttempts(t *testing.T, s *store.Store) {
	ctx := context.Background()
	issuerSetup(t, s)
	o := offer("o1", "code-1")
	require.NoError(t, s.CreateOffer(ctx, o))
	var ok atomic.Int64
	var wg sync.WaitGroup
	Within(t, 60*time.Second, func() {
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.AttemptOffer(ctx, "health", o.CodeHash, t0.Add(time.Minute))
				if err == nil {
					ok.Add(1)
				} else if !errors.Is(err, store.ErrNotFound) {
					t.Errorf("unexpected error: %v", err)
				}
			}()
		}
		wg.Wait()
	})
	assert.Equal(t, int64(store.MaxTxCodeAttempts), ok.Load(), "exactly the allowed attempts, however concurrent")
}

func testIssuerConcurrentIndexAllocation(t *testing.T, s *store.Store) {
	ctx := context.Background()
	issuerSetup(t, s)
	// 40 writers race for 8 indices: each index is taken exactly once.
	var wins atomic.Int64
	var wg sync.WaitGroup
	Within(t, 60*time.Second, func() {
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.InsertCredential(ctx, credRecord(fmt.Sprintf("c%d", i), int64(i%8)))
				if err == nil {
					wins.Add(1)
				} else if !errors.Is(err, store.ErrConflict) {
					t.Errorf("unexpected error: %v", err)
				}
			}()
		}
		wg.Wait()
	})
	assert.Equal(t, int64(8), wins.Load())
	n, err := s.RecountStatusList(ctx, "l1")
	require.NoError(t, err)
	assert.Equal(t, int64(8), n)
}

func testIssuerStaleSubjectData(t *testing.T, s *store.Store) {
	ctx := context.Background()
	issuerSetup(t, s)
	for _, id := range []string{"fresh", "expired", "redeemed"} {
		require.NoError(t, s.CreateOffer(ctx, offer(id, "code-"+id)))
	}
	tok := sha256.Sum256([]byte("token"))
	require.NoError(t, s.RedeemOffer(ctx, "redeemed", tok[:], "", t0.Add(5*time.Minute), t0))
	n, err := s.DropStaleSubjectData(ctx, t0.Add(time.Minute))
	require.NoError(t, err)
	assert.Zero(t, n, "nothing is stale yet")
	n, err = s.DropStaleSubjectData(ctx, t0.Add(11*time.Minute))
	require.NoError(t, err)
	assert.Equal(t, int64(3), n, "expired codes and an expired token")
	for _, id := range []string{"fresh", "expired", "redeemed"} {
		o, err := s.GetOffer(ctx, id)
		require.NoError(t, err)
		assert.Nil(t, o.SubjectData, id)
	}
}

// testIssuerBatches holds the many-row methods (batch.go) to what their
// single-row forms say, row by row, inside one transaction.
func testIssuerBatches(t *testing.T, s *store.Store) {
	ctx := context.Background()
	issuerSetup(t, s)
	require.NoError(t, s.CreateStatusList(ctx, store.StatusList{ID: "lb", TenantID: "benefits", URI: "https://issuer.example/status/lb", Bits: 1, Size: 131072, CreatedAt: t0}))
	now := t0.Add(time.Minute)
	for _, u := range []store.SingleUse{
		{Kind: "c_nonce", Value: "n1", Data: []byte("health"), ExpiresAt: t0.Add(time.Hour)},
		{Kind: "c_nonce", Value: "n2", Data: []byte("benefits"), ExpiresAt: t0.Add(time.Hour)},
		{Kind: "c_nonce", Value: "old", Data: []byte("health"), ExpiresAt: t0},
		{Kind: "pre_auth_code", Value: "n3", ExpiresAt: t0.Add(time.Hour)},
	} {
		require.NoError(t, s.PutSingleUse(ctx, u))
	}
	for i, id := range []string{"o1", "o2", "o3"} {
		require.NoError(t, s.CreateOffer(ctx, offer(id, "code-"+id)))
		if i < 2 {
			tok := sha256.Sum256([]byte("token-" + id))
			jkt := "" // o2 gets a bearer token, o1 a DPoP-bound one
			if id == "o1" {
				jkt = "jkt-o1"
			}
			require.NoError(t, s.RedeemOffer(ctx, id, tok[:], jkt, now.Add(time.Minute), now))
		}
	}
	require.NoError(t, s.InsertCredential(ctx, credRecord("taken", 7)))
	tok1, tok2, tokX := sha256.Sum256([]byte("token-o1")), sha256.Sum256([]byte("token-o2")), sha256.Sum256([]byte("token-x"))
	found, err := s.OffersByTokens(ctx, [][]byte{tok1[:], tokX[:], tok2[:], tok1[:]}, now)
	require.NoError(t, err)
	require.Len(t, found, 2, "the redeemed offers, once each; not an unknown token")
	assert.Equal(t, "o1", found[string(tok1[:])].ID)
	assert.Equal(t, "o2", found[string(tok2[:])].ID)
	assert.Equal(t, "jkt-o1", found[string(tok1[:])].TokenJKT, "the binding comes back with the batch look-up")
	assert.Empty(t, found[string(tok2[:])].TokenJKT)
	one, err := s.OfferByToken(ctx, tok1[:], now)
	require.NoError(t, err)
	assert.Equal(t, one, found[string(tok1[:])], "what OfferByToken returns")
	found, err = s.OffersByTokens(ctx, [][]byte{tok1[:]}, now.Add(2*time.Minute))
	require.NoError(t, err)
	assert.Empty(t, found, "an expired token finds nothing")

	err = s.InTx(ctx, func(tx *store.Store) error {
		got, err := tx.ConsumeSingleUses(ctx, "c_nonce", []string{"n1", "n2", "n1", "old", "absent", "n3"}, now)
		require.NoError(t, err)
		assert.Equal(t, map[string][]byte{"n1": []byte("health"), "n2": []byte("benefits")}, got,
			"each live value once, with its data; not the expired one, the absent one or one of another kind")

		stored, err := tx.PutSingleUses(ctx, "dpop_jti", []store.SingleUse{
			{Value: "j1", ExpiresAt: now.Add(time.Minute)},
			{Value: "j2", Data: []byte("d"), ExpiresAt: now.Add(time.Minute)},
			{Value: "j1", ExpiresAt: now.Add(time.Minute)},
		})
		require.NoError(t, err)
		assert.Equal(t, map[string]bool{"j1": true, "j2": true}, stored, "each new value once")
		stored, err = tx.PutSingleUses(ctx, "dpop_jti", []store.SingleUse{
			{Value: "j2", ExpiresAt: now.Add(time.Minute)}, {Value: "j3", ExpiresAt: now.Add(time.Minute)},
			{Value: "n1", ExpiresAt: now.Add(time.Minute)}, // a value of another kind does not collide
		})
		require.NoError(t, err, "a taken value fails neither the others nor the transaction")
		assert.Equal(t, map[string]bool{"j3": true, "n1": true}, stored, "not the value stored before")
		_, err = tx.PutSingleUses(ctx, "dpop_jti", []store.SingleUse{{Value: "j4"}})
		assertCode(t, store.ErrInvalid, err, "an expiry is required")

		done, err := tx.CompleteOffers(ctx, []string{"o1", "o2"}, now.Add(2*time.Minute))
		require.NoError(t, err)
		assert.Empty(t, done, "not once the tokens have expired")
		done, err = tx.CompleteOffers(ctx, []string{"o1", "o2", "o3", "o1", "nope"}, now)
		require.NoError(t, err)
		assert.Equal(t, map[string]bool{"o1": true, "o2": true}, done, "only redeemed offers complete, each once")

		other := credRecord("c4", 9)
		other.TenantID, other.ListID = "benefits", "lb"
		ok, err := tx.InsertCredentials(ctx, []store.IssuedCredential{credRecord("c1", 7), credRecord("c2", 8), credRecord("c3", 8), other})
		require.NoError(t, err)
		assert.Equal(t, []bool{false, true, false, true}, ok, "a pair taken before, or earlier in the same call, is not inserted")

		foreign := credRecord("c5", 10)
		foreign.ListID = "lb"
		_, err = tx.InsertCredentials(ctx, []store.IssuedCredential{foreign})
		assertCode(t, store.ErrNotFound, err, "a list of another tenant")
		return nil
	})
	require.NoError(t, err)
	for _, id := range []string{"c2", "c4"} {
		_, err := s.GetCredential(ctx, map[string]string{"c2": "health", "c4": "benefits"}[id], id)
		assert.NoError(t, err, id)
	}
	for _, id := range []string{"c1", "c3", "c5"} {
		_, err := s.GetCredential(ctx, "health", id)
		assertCode(t, store.ErrNotFound, err, id)
	}
	_, err = s.ConsumeSingleUse(ctx, "pre_auth_code", "n3", now)
	assert.NoError(t, err, "a value of another kind is untouched")
	for v, data := range map[string][]byte{"j1": nil, "j2": []byte("d"), "j3": nil} {
		u, err := s.ConsumeSingleUse(ctx, "dpop_jti", v, now)
		if assert.NoError(t, err, "%s was committed with the transaction", v) {
			assert.Equal(t, data, u.Data, v)
		}
	}

	_, err = s.CompleteOffers(ctx, []string{"o3", "bad\x00id"}, now)
	assertCode(t, store.ErrInvalid, err, "array elements are checked like any text")
	_, err = s.ConsumeSingleUses(ctx, "c_nonce", []string{"\xff"}, now)
	assert.NoError(t, err, "a value is only ever hashed, never stored as text")

	require.NoError(t, s.AppendAudits(ctx, []store.AuditRecord{
		{Time: now, TenantID: "health", Actor: "wallet", Action: "credential.issue", Target: "a", Outcome: "ok", Details: []byte(`{"n":1}`)},
		{Time: now, TenantID: "health", Actor: "wallet", Action: "credential.issue", Target: "b", Outcome: "ok"},
	}))
	recs, err := s.ListAudit(ctx, store.AuditFilter{TenantID: "health"})
	require.NoError(t, err)
	require.Len(t, recs, 2)
	assert.Equal(t, []string{"b", "a"}, []string{recs[0].Target, recs[1].Target}, "appended in order (newest first)")
	assert.Equal(t, []byte(`{"n":1}`), recs[1].Details)
	assert.Nil(t, recs[0].Details)
	assert.Error(t, s.AppendAudits(ctx, []store.AuditRecord{{TenantID: "health"}}), "an action is required")

	at := now.Add(time.Second)
	marked, err := s.MarkCredentialsIssued(ctx, []store.CredentialRef{
		{TenantID: "health", ID: "c2"}, {TenantID: "health", ID: "c4"}, {TenantID: "benefits", ID: "c4"}, {TenantID: "health", ID: "nope"},
	}, at)
	require.NoError(t, err)
	assert.Equal(t, map[store.CredentialRef]bool{{TenantID: "health", ID: "c2"}: true, {TenantID: "benefits", ID: "c4"}: true}, marked,
		"only the tenant's own pending records")
	c2, err := s.GetCredential(ctx, "health", "c2")
	require.NoError(t, err)
	assert.Equal(t, store.CredentialIssued, c2.State)
	assert.Equal(t, at, c2.IssuedAt)
	marked, err = s.MarkCredentialsIssued(ctx, []store.CredentialRef{{TenantID: "health", ID: "c2"}}, at)
	require.NoError(t, err)
	assert.Empty(t, marked, "an issued record is not pending")
}
