package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/store"
)

// testHolderTakePresentations: presentations recorded together (one
// transaction on PostgreSQL) each get their own outcome; one that cannot
// be recorded leaves nothing and does not fail the others, and two
// reaching for one copy, in one group or in groups racing, never both
// get it.
func testHolderTakePresentations(t *testing.T, s *store.Store) {
	ctx := context.Background()
	holderAccount(t, s, "a1")
	require.NoError(t, s.PutHolderCredential(ctx, holderCredential("a1", "c1", 3)))
	require.NoError(t, s.PutHolderCredential(ctx, holderCredential("a1", "c2", 1)))
	consent := func(id string) {
		require.NoError(t, s.PutHolderTransaction(ctx, store.HolderTransaction{AccountID: "a1", ID: id, Kind: "present", Status: "pending", State: []byte("s"), ExpiresAt: t0.Add(time.Minute)}))
	}
	take := func(id, cred string, n int, by string) store.HolderTake {
		h := store.HolderHistoryEntry{AccountID: "a1", ID: "h-" + id, At: t0, Channel: "online", Verifier: "did:x:" + by, CredentialID: cred, Claims: []string{"a"}, Outcome: "shared"}
		return store.HolderTake{AccountID: "a1", ID: id, From: "pending", To: "accepted",
			Uses: []store.HolderCopyUse{{CredentialID: cred, N: n, UsedBy: by}}, History: []store.HolderHistoryEntry{h}, At: t0}
	}
	for _, id := range []string{"ok", "spent", "taken", "twin1", "twin2", "bad", "decline", "pair"} {
		consent(id)
	}
	require.NoError(t, s.FinishHolderTransaction(ctx, "a1", "spent", "pending", "accepted", nil))
	require.NoError(t, s.UseHolderCopy(ctx, "a1", "c1", 1, "v-other", false, t0))
	bad := take("bad", "c1", 2, "v1")
	bad.History[0].ID = ""
	decline := store.HolderTake{AccountID: "a1", ID: "decline", From: "pending", To: "declined", State: []byte("new"), At: t0,
		History: []store.HolderHistoryEntry{{AccountID: "a1", ID: "h-decline", At: t0, Channel: "online", Verifier: "did:x:v1", Outcome: "declined"}}}
	pair := take("pair", "c1", 2, "v1")
	pair.Uses = append(pair.Uses, store.HolderCopyUse{CredentialID: "c1", N: 1, UsedBy: "v1"})
	takes := []store.HolderTake{
		take("ok", "c1", 0, "v1"),
		take("spent", "c1", 2, "v1"), // its consent was accepted already
		take("taken", "c1", 1, "v1"), // its copy went to another verifier
		take("twin1", "c2", 0, "v1"), // these two reach for one copy
		take("twin2", "c2", 0, "v2"),
		bad,                         // refused before anything runs
		take("gone", "c1", 2, "v1"), // no such consent
		decline,                     // no copy, a new state
		pair,                        // its second copy went to another verifier
	}
	errs := s.TakeHolderPresentations(ctx, takes)
	require.Len(t, errs, len(takes))
	assert.NoError(t, errs[0])
	assertCode(t, store.ErrConflict, errs[1], "a spent consent")
	assertCode(t, store.ErrConflict, errs[2], "a copy another verifier has")
	assertCode(t, store.ErrInvalid, errs[5])
	assertCode(t, store.ErrNotFound, errs[6])
	assert.NoError(t, errs[7])
	assertCode(t, store.ErrConflict, errs[8], "a copy of two another verifier has")
	assert.True(t, (errs[3] == nil) != (errs[4] == nil), "one of the twins gets the copy: %v, %v", errs[3], errs[4])

	status := func(id string) string {
		tx, err := s.GetHolderTransaction(ctx, "a1", "present", id)
		require.NoError(t, err)
		return tx.Status
	}
	assert.Equal(t, "accepted", status("ok"))
	assert.Equal(t, "pending", status("taken"), "a failed take leaves its consent")
	assert.Equal(t, "pending", status("bad"))
	assert.Equal(t, "pending", status("pair"))
	assert.Equal(t, "declined", status("decline"))
	d, err := s.GetHolderTransaction(ctx, "a1", "present", "decline")
	require.NoError(t, err)
	assert.Equal(t, []byte("new"), d.State)
	winner, loser := "twin1", "twin2"
	if errs[3] != nil {
		winner, loser = loser, winner
	}
	assertCode(t, store.ErrConflict, errs[map[string]int{"twin1": 3, "twin2": 4}[loser]])
	assert.Equal(t, "accepted", status(winner))
	assert.Equal(t, "pending", status(loser))
	c1, err := s.GetHolderCredential(ctx, "a1", "c1")
	require.NoError(t, err)
	assert.Equal(t, []string{"v1", "v-other", ""}, []string{c1.Copies[0].UsedBy, c1.Copies[1].UsedBy, c1.Copies[2].UsedBy}, "only the successful take's copy is used")
	assert.Equal(t, t0, c1.Copies[0].UsedAt)
	hs, err := s.ListHolderHistory(ctx, "a1", store.HolderHistoryFilter{})
	require.NoError(t, err)
	var ids []string
	for _, h := range hs {
		ids = append(ids, h.ID)
	}
	assert.ElementsMatch(t, []string{"h-ok", "h-" + winner, "h-decline"}, ids, "history only of what was recorded")

	// Groups racing (as instances on one database do): each has a take
	// of its own and one reaching for the last copy of c3.
	require.NoError(t, s.PutHolderCredential(ctx, holderCredential("a1", "c3", 1)))
	const groups = 8
	for i := range groups {
		require.NoError(t, s.PutHolderCredential(ctx, holderCredential("a1", fmt.Sprint("own", i), 1)))
		consent(fmt.Sprint("own", i))
		consent(fmt.Sprint("last", i))
	}
	var results [groups][]error
	race(t, groups, func(i int) error {
		results[i] = s.TakeHolderPresentations(ctx, []store.HolderTake{
			take(fmt.Sprint("last", i), "c3", 0, fmt.Sprint("v", i)),
			take(fmt.Sprint("own", i), fmt.Sprint("own", i), 0, fmt.Sprint("v", i)),
		})
		return nil
	})
	won := 0
	for i, r := range results {
		require.Len(t, r, 2)
		assert.NoError(t, r[1], "a group's other take is recorded")
		assert.Equal(t, "accepted", status(fmt.Sprint("own", i)))
		if r[0] == nil {
			won++
			assert.Equal(t, "accepted", status(fmt.Sprint("last", i)))
		} else {
			assertCode(t, store.ErrConflict, r[0])
			assert.Equal(t, "pending", status(fmt.Sprint("last", i)), "a losing take leaves its consent")
		}
	}
	assert.Equal(t, 1, won, "the last copy goes to one presentation")
	hs, err = s.ListHolderHistory(ctx, "a1", store.HolderHistoryFilter{CredentialID: "c3"})
	require.NoError(t, err)
	assert.Len(t, hs, 1, "only the winner's history")
}
