package storetest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/store"
)

func holderCases() []testCase {
	return []testCase{
		{"HolderAccounts", testHolderAccounts},
		{"HolderSessions", testHolderSessions},
		{"HolderCredentials", testHolderCredentials},
		{"HolderCopiesOnceOnly", testHolderCopiesOnceOnly},
		{"HolderPickCopy", testHolderPickCopy},
		{"HolderTransactions", testHolderTransactions},
		{"HolderHistory", testHolderHistory},
		{"HolderTakePresentation", testHolderTakePresentation},
		{"HolderTakePresentations", testHolderTakePresentations},
		{"HolderRateLimitPeek", testHolderRateLimitPeek},
	}
}

func holderAccount(t *testing.T, s *store.Store, id string) {
	t.Helper()
	require.NoError(t, s.CreateHolderAccount(context.Background(), store.HolderAccount{
		ID: id, Username: "user-" + id, PasswordHash: "$argon2id$x", DataKey: []byte("sealed"), CreatedAt: t0}))
}

func testHolderAccounts(t *testing.T, s *store.Store) {
	ctx := context.Background()
	holderAccount(t, s, "a1")
	a, err := s.GetHolderAccountByUsername(ctx, "user-a1")
	require.NoError(t, err)
	assert.Equal(t, store.HolderAccount{ID: "a1", Username: "user-a1", PasswordHash: "$argon2id$x", DataKey: []byte("sealed"), CreatedAt: t0}, a)
	b, err := s.GetHolderAccount(ctx, "a1")
	require.NoError(t, err)
	assert.Equal(t, a, b)
	err = s.CreateHolderAccount(ctx, store.HolderAccount{ID: "a2", Username: "user-a1", PasswordHash: "h", DataKey: []byte("k")})
	assertCode(t, store.ErrConflict, err, "a username is taken once")
	_, err = s.GetHolderAccountByUsername(ctx, "nobody")
	assertCode(t, store.ErrNotFound, err)
	assertCode(t, store.ErrInvalid, s.CreateHolderAccount(ctx, store.HolderAccount{ID: "a3", Username: "u3", PasswordHash: "h"}), "no data key")
}

func testHolderSessions(t *testing.T, s *store.Store) {
	ctx := context.Background()
	holderAccount(t, s, "a1")
	holderAccount(t, s, "a2")
	h := func(s string) []byte { b := sha256.Sum256([]byte(s)); return b[:] }
	for i, tok := range []string{"t1", "t2"} {
		require.NoError(t, s.PutHolderSession(ctx, store.HolderSession{TokenHash: h(tok), AccountID: "a1", CreatedAt: t0, ExpiresAt: t0.Add(time.Duration(i+1) * time.Hour)}))
	}
	require.NoError(t, s.PutHolderSession(ctx, store.HolderSession{TokenHash: h("t3"), AccountID: "a2", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
	assertCode(t, store.ErrConflict, s.PutHolderSession(ctx, store.HolderSession{TokenHash: h("t1"), AccountID: "a2", ExpiresAt: t0.Add(time.Hour)}))
	assertCode(t, store.ErrNotFound, s.PutHolderSession(ctx, store.HolderSession{TokenHash: h("t9"), AccountID: "ghost", ExpiresAt: t0.Add(time.Hour)}))

	got, err := s.GetHolderSession(ctx, h("t1"), t0)
	require.NoError(t, err)
	assert.Equal(t, "a1", got.AccountID)
	assert.Equal(t, "a1", got.Account.ID, "the account comes with its session")
	assert.Equal(t, []byte("sealed"), got.Account.DataKey)
	_, err = s.GetHolderSession(ctx, h("t1"), t0.Add(time.Hour))
	assertCode(t, store.ErrNotFound, err, "expired at its expiry")

	n, err := s.DeleteHolderSessions(ctx, "a2", h("t2"))
	require.NoError(t, err)
	assert.Zero(t, n, "another account's session is not deleted")
	n, err = s.DeleteHolderSessions(ctx, "a1", nil)
	require.NoError(t, err)
	assert.Equal(t, int64(2), n, "logout everywhere")
	_, err = s.GetHolderSession(ctx, h("t2"), t0)
	assertCode(t, store.ErrNotFound, err)
	_, err = s.GetHolderSession(ctx, h("t3"), t0)
	require.NoError(t, err, "the other account keeps its session")
	n, err = s.PurgeHolderSessions(ctx, t0.Add(2*time.Hour))
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
}

func holderCredential(acct, id string, copies int) store.HolderCredential {
	c := store.HolderCredential{AccountID: acct, ID: id, Issuer: "https://issuer.example", ConfigID: "vp", VCT: "urn:vct", Display: "[]",
		KeyMode: "cloud", Status: "valid", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	for i := range copies {
		c.Copies = append(c.Copies, store.HolderCopy{N: i, KeyID: id + "-k" + string(rune('0'+i)), Sealed: []byte{byte(i + 1)}})
	}
	return c
}

func testHolderCredentials(t *testing.T, s *store.Store) {
	ctx := context.Background()
	holderAccount(t, s, "a1")
	holderAccount(t, s, "a2")
	c := holderCredential("a1", "c1", 3)
	for _, cp := range c.Copies {
		c.Keys = append(c.Keys, store.HolderKey{AccountID: "a1", ID: cp.KeyID, Mode: "cloud", JWK: "{}", Sealed: []byte("k"), CreatedAt: t0})
	}
	require.NoError(t, s.PutHolderCredential(ctx, c))
	got, err := s.GetHolderCredential(ctx, "a1", "c1")
	require.NoError(t, err)
	keysOf := c.Keys
	c.Keys = nil
	assert.Equal(t, c, got)
	k0, err := s.GetHolderKey(ctx, "a1", c.Copies[0].KeyID)
	require.NoError(t, err)
	assert.Equal(t, keysOf[0], k0)
	_, err = s.GetHolderCredential(ctx, "a2", "c1")
	assertCode(t, store.ErrNotFound, err, "another account's credential")
	cps, err := s.GetHolderCopies(ctx, "a1", "c1")
	require.NoError(t, err)
	require.Len(t, cps, 3)
	assert.Nil(t, cps[1].Sealed)
	assert.Equal(t, c.Copies[1].KeyID, cps[1].KeyID)
	sealed, err := s.GetHolderCopySealed(ctx, "a1", "c1", 1)
	require.NoError(t, err)
	assert.Equal(t, c.Copies[1].Sealed, sealed)
	_, err = s.GetHolderCopies(ctx, "a2", "c1")
	assertCode(t, store.ErrNotFound, err)
	_, err = s.GetHolderCopySealed(ctx, "a2", "c1", 1)
	assertCode(t, store.ErrNotFound, err)
	list, err := s.ListHolderCredentials(ctx, "a2")
	require.NoError(t, err)
	assert.Empty(t, list)

	bad := holderCredential("a1", "c2", 2)
	bad.Keys = []store.HolderKey{{AccountID: "a1", ID: "c2-key", Mode: "cloud", JWK: "{}", Sealed: []byte("k")}}
	bad.Copies[1].Sealed = nil
	assertCode(t, store.ErrInvalid, s.PutHolderCredential(ctx, bad))
	_, err = s.GetHolderCredential(ctx, "a1", "c2")
	assertCode(t, store.ErrNotFound, err, "a credential is stored whole or not at all")
	_, err = s.GetHolderKey(ctx, "a1", "c2-key")
	assertCode(t, store.ErrNotFound, err, "with its keys")

	assertCode(t, store.ErrInvalid, s.PutHolderKey(ctx, store.HolderKey{AccountID: "a1", ID: "d", Mode: "device", JWK: "{}", Sealed: []byte("k")}), "a device key has no private part")
	require.NoError(t, s.PutHolderKey(ctx, store.HolderKey{AccountID: "a1", ID: "d", Mode: "device", JWK: "{}"}))
	k, err := s.GetHolderKey(ctx, "a1", "d")
	require.NoError(t, err)
	assert.Nil(t, k.Sealed)
	_, err = s.GetHolderKey(ctx, "a2", "d")
	assertCode(t, store.ErrNotFound, err)

	require.NoError(t, s.SetHolderCredentialStatus(ctx, "a1", "c1", "", "suspended"))
	assertCode(t, store.ErrConflict, s.SetHolderCredentialStatus(ctx, "a1", "c1", "valid", "revoked"), "changed meanwhile")
	require.NoError(t, s.SetHolderCredentialStatus(ctx, "a1", "c1", "suspended", "revoked"))
	got, err2 := s.GetHolderCredential(ctx, "a1", "c1")
	require.NoError(t, err2)
	assert.Equal(t, "revoked", got.Status)
	assertCode(t, store.ErrNotFound, s.SetHolderCredentialStatus(ctx, "a2", "c1", "", "revoked"))
	assertCode(t, store.ErrNotFound, s.DeleteHolderCredential(ctx, "a2", "c1"))
	require.NoError(t, s.DeleteHolderCredential(ctx, "a1", "c1"))
	_, err = s.GetHolderKey(ctx, "a1", c.Copies[0].KeyID)
	assertCode(t, store.ErrNotFound, err, "a deleted credential's keys go with it")
}

// testHolderCopiesOnceOnly: of many concurrent uses of one copy by
// different verifiers exactly one wins; reuse lets the same verifier use
// it again and nobody else.
func testHolderCopiesOnceOnly(t *testing.T, s *store.Store) {
	ctx := context.Background()
	holderAccount(t, s, "a1")
	require.NoError(t, s.PutHolderCredential(ctx, holderCredential("a1", "c1", 2)))
	errs := race(t, 8, func(i int) error {
		return s.UseHolderCopy(ctx, "a1", "c1", 0, "verifier-"+string(rune('a'+i)), false, t0)
	})
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else {
			assertCode(t, store.ErrConflict, err)
		}
	}
	assert.Equal(t, 1, won)
	c, err := s.GetHolderCredential(ctx, "a1", "c1")
	require.NoError(t, err)
	require.NotEmpty(t, c.Copies[0].UsedBy)
	assert.Empty(t, c.Copies[1].UsedBy)
	first := c.Copies[0].UsedBy
	assertCode(t, store.ErrConflict, s.UseHolderCopy(ctx, "a1", "c1", 0, first, false, t0), "once-only even for the same verifier")
	require.NoError(t, s.UseHolderCopy(ctx, "a1", "c1", 0, first, true, t0), "reuse by the same verifier")
	assertCode(t, store.ErrConflict, s.UseHolderCopy(ctx, "a1", "c1", 0, "other", true, t0), "never by another")
	assertCode(t, store.ErrNotFound, s.UseHolderCopy(ctx, "a1", "c1", 5, "other", false, t0))
}

// testHolderPickCopy: PickHolderCopy chooses among the copies fresh for
// the verifier (unused; with reuse, its own first), never one of except,
// at random among the unused, with its sealed blob and key and the count
// of fresh copies; none fresh is Fresh 0, no credential ErrNotFound.
func testHolderPickCopy(t *testing.T, s *store.Store) {
	ctx := context.Background()
	holderAccount(t, s, "a1")
	holderAccount(t, s, "a2")
	c := holderCredential("a1", "c1", 4)
	for _, cp := range c.Copies {
		c.Keys = append(c.Keys, store.HolderKey{AccountID: "a1", ID: cp.KeyID, Mode: "cloud", JWK: `{"k":"` + cp.KeyID + `"}`, Sealed: []byte("k" + cp.KeyID), CreatedAt: t0})
	}
	require.NoError(t, s.PutHolderCredential(ctx, c))
	require.NoError(t, s.UseHolderCopy(ctx, "a1", "c1", 1, "v1", false, t0))
	require.NoError(t, s.UseHolderCopy(ctx, "a1", "c1", 3, "v2", false, t0))

	seen := map[int]bool{}
	for range 64 {
		p, err := s.PickHolderCopy(ctx, "a1", "c1", "v1", false, nil)
		require.NoError(t, err)
		require.Contains(t, []int{0, 2}, p.Copy.N, "an unused copy")
		assert.Equal(t, 2, p.Fresh)
		assert.Equal(t, []byte{byte(p.Copy.N + 1)}, p.Copy.Sealed, "with its sealed blob")
		assert.Equal(t, c.Copies[p.Copy.N].KeyID, p.Key.ID, "and its key")
		assert.Equal(t, []byte("k"+p.Key.ID), p.Key.Sealed)
		assert.Equal(t, "cloud", p.Key.Mode)
		seen[p.Copy.N] = true
	}
	assert.Len(t, seen, 2, "chosen at random among the unused")
	p, err := s.PickHolderCopy(ctx, "a1", "c1", "v1", false, []int{0})
	require.NoError(t, err)
	assert.Equal(t, 2, p.Copy.N, "never one of except")
	p, err = s.PickHolderCopy(ctx, "a1", "c1", "v1", true, nil)
	require.NoError(t, err)
	assert.Equal(t, 1, p.Copy.N, "with reuse, the verifier's own copy first")
	assert.Equal(t, "v1", p.Copy.UsedBy)
	assert.Equal(t, 3, p.Fresh, "its own and the two unused")
	p, err = s.PickHolderCopy(ctx, "a1", "c1", "v1", true, []int{1, 0})
	require.NoError(t, err)
	assert.Equal(t, 2, p.Copy.N, "never another verifier's copy 3")
	p, err = s.PickHolderCopy(ctx, "a1", "c1", "v1", false, []int{0, 2})
	require.NoError(t, err)
	assert.Zero(t, p.Fresh, "none fresh")
	_, err = s.PickHolderCopy(ctx, "a2", "c1", "v1", false, nil)
	assertCode(t, store.ErrNotFound, err, "another account's credential")
	_, err = s.PickHolderCopy(ctx, "a1", "nope", "v1", false, nil)
	assertCode(t, store.ErrNotFound, err)

	// With the consent, in one round trip.
	require.NoError(t, s.PutHolderTransaction(ctx, store.HolderTransaction{AccountID: "a1", ID: "t1", Kind: "present", Status: "pending", State: []byte("s"), ExpiresAt: t0.Add(time.Minute)}))
	tx, picks, err := s.GetHolderTransactionPicking(ctx, "a1", "present", "t1", []string{"c1", "nope"})
	require.NoError(t, err)
	assert.Equal(t, "pending", tx.Status)
	assert.Equal(t, []byte("s"), tx.State)
	require.Len(t, picks, 2)
	assert.Contains(t, []int{0, 2}, picks[0].Copy.N, "an unused copy")
	assert.Equal(t, 2, picks[0].Fresh)
	assert.Equal(t, c.Copies[picks[0].Copy.N].KeyID, picks[0].Key.ID)
	assert.Equal(t, []byte{byte(picks[0].Copy.N + 1)}, picks[0].Copy.Sealed)
	assert.Zero(t, picks[1].Fresh, "no such credential: nothing fresh")
	_, _, err = s.GetHolderTransactionPicking(ctx, "a1", "present", "t9", []string{"c1"})
	assertCode(t, store.ErrNotFound, err)
	_, _, err = s.GetHolderTransactionPicking(ctx, "a2", "present", "t1", []string{"c1"})
	assertCode(t, store.ErrNotFound, err, "another account's consent")
}

func testHolderTransactions(t *testing.T, s *store.Store) {
	ctx := context.Background()
	holderAccount(t, s, "a1")
	tx := store.HolderTransaction{AccountID: "a1", ID: "t1", Kind: "present", Status: "pending", State: []byte("s"), CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}
	require.NoError(t, s.PutHolderTransaction(ctx, tx))
	got, err := s.GetHolderTransaction(ctx, "a1", "present", "t1")
	require.NoError(t, err)
	assert.Equal(t, tx, got)
	_, err = s.GetHolderTransaction(ctx, "a1", "receive", "t1")
	assertCode(t, store.ErrNotFound, err, "another kind")
	errs := race(t, 8, func(int) error { return s.FinishHolderTransaction(ctx, "a1", "t1", "pending", "sent", []byte("s2")) })
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			assertCode(t, store.ErrConflict, err)
		}
	}
	assert.Equal(t, 1, ok, "a flow is finished once")
	got, err = s.GetHolderTransaction(ctx, "a1", "present", "t1")
	require.NoError(t, err)
	assert.Equal(t, "sent", got.Status)
	assert.Equal(t, []byte("s2"), got.State)
	assertCode(t, store.ErrNotFound, s.FinishHolderTransaction(ctx, "a2", "t1", "sent", "x", nil))
	n, err := s.PurgeHolderTransactions(ctx, t0.Add(time.Minute-time.Microsecond))
	require.NoError(t, err)
	assert.Zero(t, n, "not expired yet")
	n, err = s.PurgeHolderTransactions(ctx, t0.Add(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
	_, err = s.GetHolderTransaction(ctx, "a1", "present", "t1")
	assertCode(t, store.ErrNotFound, err)
}

func testHolderHistory(t *testing.T, s *store.Store) {
	ctx := context.Background()
	holderAccount(t, s, "a1")
	holderAccount(t, s, "a2")
	for i, v := range []string{"did:x:1", "did:x:2", "did:x:1"} {
		require.NoError(t, s.AddHolderHistory(ctx, store.HolderHistoryEntry{AccountID: "a1", ID: "h" + string(rune('0'+i)), At: t0.Add(time.Duration(i) * time.Minute),
			Channel: "online", Verifier: v, VerifierName: "V", CredentialID: "c1", Claims: []string{"given_name"}, Outcome: "shared"}))
	}
	all, err := s.ListHolderHistory(ctx, "a1", store.HolderHistoryFilter{})
	require.NoError(t, err)
	require.Len(t, all, 3)
	assert.Equal(t, "h2", all[0].ID, "newest first")
	assert.Equal(t, []string{"given_name"}, all[0].Claims)
	one, err := s.ListHolderHistory(ctx, "a1", store.HolderHistoryFilter{Verifier: "did:x:1", From: t0.Add(time.Minute)})
	require.NoError(t, err)
	require.Len(t, one, 1)
	assert.Equal(t, "h2", one[0].ID)
	none, err := s.ListHolderHistory(ctx, "a2", store.HolderHistoryFilter{})
	require.NoError(t, err)
	assert.Empty(t, none, "another account's history")
}

func testHolderRateLimitPeek(t *testing.T, s *store.Store) {
	ctx := context.Background()
	rl, err := s.PeekRateLimit(ctx, "k", t0)
	require.NoError(t, err)
	assert.Zero(t, rl.Hits)
	hit(t, s, "k", 5, time.Minute, t0)
	hit(t, s, "k", 5, time.Minute, t0)
	for range 3 {
		rl, err = s.PeekRateLimit(ctx, "k", t0.Add(time.Second))
		require.NoError(t, err)
		assert.Equal(t, int64(2), rl.Hits, "a peek counts nothing")
	}
	assert.Equal(t, t0.Add(time.Minute), rl.WindowEnd)
	rl, err = s.PeekRateLimit(ctx, "k", t0.Add(time.Minute))
	require.NoError(t, err)
	assert.Zero(t, rl.Hits, "an ended window is no window")
	require.NoError(t, s.ResetRateLimit(ctx, "k"))
	assert.Equal(t, int64(1), hit(t, s, "k", 5, time.Minute, t0).Hits, "a reset starts afresh")
}

// testHolderTakePresentation: the flow, the copies and the history of a
// presentation are written together or not at all.
func testHolderTakePresentation(t *testing.T, s *store.Store) {
	ctx := context.Background()
	holderAccount(t, s, "a1")
	require.NoError(t, s.PutHolderCredential(ctx, holderCredential("a1", "c1", 2)))
	for _, id := range []string{"t1", "t2"} {
		require.NoError(t, s.PutHolderTransaction(ctx, store.HolderTransaction{AccountID: "a1", ID: id, Kind: "present", Status: "pending", State: []byte("s"), ExpiresAt: t0.Add(time.Minute)}))
	}
	h := store.HolderHistoryEntry{AccountID: "a1", ID: "h1", At: t0, Channel: "online", Verifier: "did:x:1", CredentialID: "c1", Claims: []string{"a"}, Outcome: "shared"}
	require.NoError(t, s.UseHolderCopy(ctx, "a1", "c1", 1, "v-other", false, t0))
	// Copy 1 went to another verifier: nothing of t2's presentation stays.
	err := s.TakeHolderPresentation(ctx, "a1", "t2", "pending", "accepted", nil,
		[]store.HolderCopyUse{{CredentialID: "c1", N: 0, UsedBy: "v1"}, {CredentialID: "c1", N: 1, UsedBy: "v1"}}, []store.HolderHistoryEntry{h}, t0)
	assertCode(t, store.ErrConflict, err)
	tx, err := s.GetHolderTransaction(ctx, "a1", "present", "t2")
	require.NoError(t, err)
	assert.Equal(t, "pending", tx.Status, "the flow is not spent")
	c, err := s.GetHolderCredential(ctx, "a1", "c1")
	require.NoError(t, err)
	assert.Empty(t, c.Copies[0].UsedBy, "copy 0 is not taken")
	hs, err := s.ListHolderHistory(ctx, "a1", store.HolderHistoryFilter{})
	require.NoError(t, err)
	assert.Empty(t, hs)

	require.NoError(t, s.TakeHolderPresentation(ctx, "a1", "t1", "pending", "accepted", nil,
		[]store.HolderCopyUse{{CredentialID: "c1", N: 0, UsedBy: "v1"}}, []store.HolderHistoryEntry{h}, t0))
	assertCode(t, store.ErrConflict, s.TakeHolderPresentation(ctx, "a1", "t1", "pending", "accepted", nil, nil, nil, t0), "once")
	require.NoError(t, s.SetHolderHistoryOutcome(ctx, "a1", "h1", "failed"))
	hs, err = s.ListHolderHistory(ctx, "a1", store.HolderHistoryFilter{})
	require.NoError(t, err)
	require.Len(t, hs, 1)
	assert.Equal(t, "failed", hs[0].Outcome)
	assertCode(t, store.ErrNotFound, s.SetHolderHistoryOutcome(ctx, "a2", "h1", "x"))

	// Concurrent presentations reaching for one copy: one takes it, the
	// others record nothing.
	require.NoError(t, s.PutHolderCredential(ctx, holderCredential("a1", "c2", 1)))
	for i := range 8 {
		require.NoError(t, s.PutHolderTransaction(ctx, store.HolderTransaction{AccountID: "a1", ID: fmt.Sprint("r", i), Kind: "present", Status: "pending", State: []byte("s"), ExpiresAt: t0.Add(time.Minute)}))
	}
	errs := race(t, 8, func(i int) error {
		h := store.HolderHistoryEntry{AccountID: "a1", ID: fmt.Sprint("hr", i), At: t0, Channel: "online", Verifier: "did:x:1", CredentialID: "c2", Claims: []string{"a"}, Outcome: "shared"}
		return s.TakeHolderPresentation(ctx, "a1", fmt.Sprint("r", i), "pending", "accepted", nil,
			[]store.HolderCopyUse{{CredentialID: "c2", N: 0, UsedBy: fmt.Sprint("v", i)}}, []store.HolderHistoryEntry{h}, t0)
	})
	won := 0
	for i, err := range errs {
		tx, gerr := s.GetHolderTransaction(ctx, "a1", "present", fmt.Sprint("r", i))
		require.NoError(t, gerr)
		if err == nil {
			won++
			assert.Equal(t, "accepted", tx.Status)
		} else {
			assertCode(t, store.ErrConflict, err)
			assert.Equal(t, "pending", tx.Status, "a losing presentation leaves its consent")
		}
	}
	assert.Equal(t, 1, won)
	hs, err = s.ListHolderHistory(ctx, "a1", store.HolderHistoryFilter{CredentialID: "c2"})
	require.NoError(t, err)
	assert.Len(t, hs, 1, "only the winner's history")
}
