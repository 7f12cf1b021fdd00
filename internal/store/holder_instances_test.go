package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/store/storetest"
)

// TestHolderTakesAcrossInstances: two instances (each its own pool) on
// one PostgreSQL record grouped presentations at once, every group with
// a take of its own and one reaching for the last copy of a credential:
// the copy goes to one presentation, every other take of the groups is
// recorded, and a losing take leaves its consent pending.
func TestHolderTakesAcrossInstances(t *testing.T) {
	sts := storetest.SharedPostgres(t, 2)
	ctx := context.Background()
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	s := sts[0]
	require.NoError(t, s.CreateHolderAccount(ctx, store.HolderAccount{ID: "a1", Username: "u1", PasswordHash: "$argon2id$x", DataKey: []byte("sealed"), CreatedAt: t0}))
	cred := func(id string) {
		require.NoError(t, s.PutHolderCredential(ctx, store.HolderCredential{AccountID: "a1", ID: id, Issuer: "https://issuer.example", ConfigID: "vp", VCT: "urn:vct",
			Display: "[]", KeyMode: "cloud", Status: "valid", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour),
			Copies: []store.HolderCopy{{N: 0, KeyID: id + "-k0", Sealed: []byte{1}}}}))
	}
	consent := func(id string) {
		require.NoError(t, s.PutHolderTransaction(ctx, store.HolderTransaction{AccountID: "a1", ID: id, Kind: "present", Status: "pending", State: []byte("s"), ExpiresAt: t0.Add(time.Minute)}))
	}
	take := func(id, credID, by string) store.HolderTake {
		return store.HolderTake{AccountID: "a1", ID: id, From: "pending", To: "accepted", At: t0,
			Uses:    []store.HolderCopyUse{{CredentialID: credID, N: 0, UsedBy: by}},
			History: []store.HolderHistoryEntry{{AccountID: "a1", ID: "h-" + id, At: t0, Channel: "online", Verifier: by, CredentialID: credID, Claims: []string{"a"}, Outcome: "shared"}}}
	}
	cred("last")
	const groups = 16
	for i := range groups {
		cred(fmt.Sprint("own", i))
		consent(fmt.Sprint("own", i))
		consent(fmt.Sprint("last", i))
	}
	results := make([][]error, groups)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range groups {
		wg.Go(func() {
			<-gate
			v := fmt.Sprint("v", i)
			results[i] = sts[i%2].TakeHolderPresentations(ctx, []store.HolderTake{take(fmt.Sprint("own", i), fmt.Sprint("own", i), v), take(fmt.Sprint("last", i), "last", v)})
		})
	}
	storetest.Within(t, 30*time.Second, func() { close(gate); wg.Wait() })
	won := 0
	for i, r := range results {
		require.Len(t, r, 2)
		assert.NoError(t, r[0], "group %d: its own take is recorded", i)
		last, err := s.GetHolderTransaction(ctx, "a1", "present", fmt.Sprint("last", i))
		require.NoError(t, err)
		if r[1] == nil {
			won++
			assert.Equal(t, "accepted", last.Status)
		} else {
			assert.ErrorIs(t, r[1], store.ErrConflict)
			assert.Equal(t, "pending", last.Status, "a losing take leaves its consent")
		}
	}
	assert.Equal(t, 1, won, "the last copy goes to one presentation")
	hs, err := s.ListHolderHistory(ctx, "a1", store.HolderHistoryFilter{CredentialID: "last"})
	require.NoError(t, err)
	assert.Len(t, hs, 1, "only the winner's history")
	all, err := s.ListHolderHistory(ctx, "a1", store.HolderHistoryFilter{})
	require.NoError(t, err)
	assert.Len(t, all, groups+1)
}
