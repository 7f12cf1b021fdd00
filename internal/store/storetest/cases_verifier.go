package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/store"
)

func verifierCases() []testCase {
	return []testCase{
		{"PresentationRoundTrip", testPresentationRoundTrip},
		{"PresentationFinishOnce", testPresentationFinishOnce},
		{"PresentationExpiredCannotFinish", testPresentationExpired},
		{"PresentationPurge", testPresentationPurge},
		{"PresentationFinishWithShown", testPresentationFinishWithShown},
		{"PresentationFinishMany", testPresentationFinishMany},
	}
}

func newPresentation(t *testing.T, s *store.Store, id string) store.Presentation {
	t.Helper()
	ctx := context.Background()
	if _, err := s.GetTenant(ctx, "venue"); errors.Is(err, store.ErrNotFound) {
		require.NoError(t, s.CreateTenant(ctx, store.Tenant{ID: "venue", Name: "Venue", Kind: "venue-operator"}))
	}
	p := store.Presentation{
		ID: id, RequestID: "req-" + id, TenantID: "venue", Policy: "entry",
		Request: []byte(`{"dcql_query":{}}`), ResponseMode: "direct_post.jwt",
		Nonce: "nonce-" + id, State: "state-" + id, EncKey: []byte("sealed"),
		Events:    []store.PresentationEvent{{Type: "created", At: t0}},
		CreatedAt: t0, ExpiresAt: t0.Add(5 * time.Minute),
	}
	require.NoError(t, s.CreatePresentation(ctx, p))
	return p
}

// testPresentationRoundTrip: a transaction reads back by ID and by request
// ID; its verdict is recorded, and the encryption key dropped with it.
func testPresentationRoundTrip(t *testing.T, s *store.Store) {
	ctx := context.Background()
	p := newPresentation(t, s, "tx1")
	got, err := s.GetPresentation(ctx, "tx1")
	require.NoError(t, err)
	assert.Equal(t, store.PresentationPending, got.Status)
	assert.Equal(t, p.Request, got.Request)
	assert.Equal(t, p.EncKey, got.EncKey)
	assert.Equal(t, p.Events[0].Type, got.Events[0].Type)
	assert.True(t, got.ExpiresAt.Equal(p.ExpiresAt))
	byReq, err := s.GetPresentationByRequest(ctx, "req-tx1")
	require.NoError(t, err)
	assert.Equal(t, "tx1", byReq.ID)
	_, err = s.GetPresentation(ctx, "nope")
	assert.ErrorIs(t, err, store.ErrNotFound)
	assert.ErrorIs(t, s.CreatePresentation(ctx, p), store.ErrConflict)

	require.NoError(t, s.SetPresentationEvents(ctx, "tx1", append(p.Events, store.PresentationEvent{Type: "request_fetched", At: t0})))
	res := store.PresentationResult{Status: store.PresentationRejected, Verdict: "red", Reasons: []string{"revoked"},
		ClaimNames: []string{"given_name"}, Issuer: "did:psr:x", VCT: "urn:v", ResponseCodeHash: []byte{1, 2},
		Events: []store.PresentationEvent{{Type: "created", At: t0}, {Type: "rejected", At: t0.Add(time.Second)}}}
	require.NoError(t, s.FinishPresentation(ctx, "tx1", res, t0.Add(time.Second)))
	got, err = s.GetPresentation(ctx, "tx1")
	require.NoError(t, err)
	assert.Equal(t, store.PresentationRejected, got.Status)
	assert.Equal(t, []string{"revoked"}, got.Reasons)
	assert.Equal(t, []string{"given_name"}, got.ClaimNames)
	assert.Equal(t, "did:psr:x", got.Issuer)
	assert.Equal(t, []byte{1, 2}, got.ResponseCodeHash)
	assert.Nil(t, got.EncKey, "the encryption key is dropped with the verdict")
	assert.Len(t, got.Events, 2)
	assert.True(t, got.DoneAt.Equal(t0.Add(time.Second)))
	assert.ErrorIs(t, s.SetPresentationEvents(ctx, "tx1", nil), store.ErrConflict)
}

// testPresentationFinishOnce: of many concurrent responses exactly one is
// recorded.
func testPresentationFinishOnce(t *testing.T, s *store.Store) {
	newPresentation(t, s, "tx2")
	var won atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			err := s.FinishPresentation(context.Background(), "tx2", store.PresentationResult{Status: store.PresentationVerified, Verdict: "green"}, t0)
			switch {
			case err == nil:
				won.Add(1)
			case !errors.Is(err, store.ErrConflict):
				t.Error(err)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), won.Load())
}

// testPresentationExpired: a transaction past its expiry takes no verdict.
func testPresentationExpired(t *testing.T, s *store.Store) {
	p := newPresentation(t, s, "tx3")
	err := s.FinishPresentation(context.Background(), "tx3", store.PresentationResult{Status: store.PresentationVerified}, p.ExpiresAt)
	assert.ErrorIs(t, err, store.ErrConflict)
	err = s.FinishPresentation(context.Background(), "tx3", store.PresentationResult{Status: "pending"}, t0)
	assert.ErrorIs(t, err, store.ErrInvalid)
}

// testPresentationPurge: expired and finished transactions go, pending ones
// stay.
func testPresentationPurge(t *testing.T, s *store.Store) {
	ctx := context.Background()
	newPresentation(t, s, "a")
	newPresentation(t, s, "b")
	require.NoError(t, s.FinishPresentation(ctx, "b", store.PresentationResult{Status: store.PresentationVerified}, t0))
	n, err := s.PurgePresentations(ctx, t0)
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
	_, err = s.GetPresentation(ctx, "a")
	require.NoError(t, err)
	n, err = s.PurgePresentations(ctx, t0.Add(5*time.Minute))
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
}

// testPresentationFinishWithShown: the sealed shown claims are stored with
// the verdict, once: a second response stores neither.
func testPresentationFinishWithShown(t *testing.T, s *store.Store) {
	ctx := context.Background()
	newPresentation(t, s, "tx4")
	shown := &store.SingleUse{Kind: "verifier-claims", Value: "tx4", Data: []byte("sealed"), ExpiresAt: t0.Add(time.Hour)}
	res := store.PresentationResult{Status: store.PresentationVerified, Verdict: "green", Shown: shown}
	var won atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			err := s.FinishPresentation(ctx, "tx4", res, t0)
			switch {
			case err == nil:
				won.Add(1)
			case !errors.Is(err, store.ErrConflict):
				t.Error(err)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), won.Load())
	u, err := s.ConsumeSingleUse(ctx, "verifier-claims", "tx4", t0)
	require.NoError(t, err)
	assert.Equal(t, []byte("sealed"), u.Data)
	_, err = s.ConsumeSingleUse(ctx, "verifier-claims", "tx4", t0)
	assert.ErrorIs(t, err, store.ErrNotFound)

	newPresentation(t, s, "tx5")
	bad := res
	bad.Shown = &store.SingleUse{Kind: "verifier-claims"}
	assert.ErrorIs(t, s.FinishPresentation(ctx, "tx5", bad, t0), store.ErrInvalid)
	got, err := s.GetPresentation(ctx, "tx5")
	require.NoError(t, err)
	assert.Equal(t, store.PresentationPending, got.Status, "nothing recorded")
}

// testPresentationFinishMany: FinishPresentations records, in one call,
// each verdict FinishPresentation would, and says which: not a finished,
// an expired or an unknown transaction, not a second entry for one; the
// events are appended to the stored ones (a request_fetched recorded
// since); the shown values go with their verdicts only. Of concurrent
// calls naming one transaction exactly one records it.
func testPresentationFinishMany(t *testing.T, s *store.Store) {
	ctx := context.Background()
	now := t0.Add(time.Minute)
	a := newPresentation(t, s, "m-a")
	newPresentation(t, s, "m-b")
	newPresentation(t, s, "m-done")
	require.NoError(t, s.FinishPresentation(ctx, "m-done", store.PresentationResult{Status: store.PresentationVerified, Verdict: "green"}, t0))
	exp := newPresentation(t, s, "m-exp")
	require.NoError(t, s.SetPresentationEvents(ctx, "m-a", append(a.Events, store.PresentationEvent{Type: "request_fetched", At: t0})))
	shown := func(id string) *store.SingleUse {
		return &store.SingleUse{Kind: "verifier-claims", Value: id, Data: []byte("sealed " + id), ExpiresAt: t0.Add(time.Hour)}
	}
	ev := []store.PresentationEvent{{Type: "response_received", At: now}, {Type: store.PresentationVerified, At: now}}
	green := store.PresentationResult{Status: store.PresentationVerified, Verdict: "green", ClaimNames: []string{"given_name"},
		Issuer: "did:psr:i", VCT: "urn:v", Events: ev}
	red := store.PresentationResult{Status: store.PresentationRejected, Verdict: "red", Reasons: []string{"revoked"}, ResponseCodeHash: []byte{7}}
	withShown := func(r store.PresentationResult, id string) store.PresentationResult { r.Shown = shown(id); return r }
	vs := []store.Verdict{
		{ID: "m-a", PresentationResult: withShown(green, "m-a")},
		{ID: "m-b", PresentationResult: red},
		{ID: "m-a", PresentationResult: withShown(green, "m-a")}, // a second entry
		{ID: "m-done", PresentationResult: withShown(green, "m-done")},
		{ID: "m-exp", PresentationResult: green},
		{ID: "m-nope", PresentationResult: green},
	}
	got, err := s.FinishPresentations(ctx, vs, exp.ExpiresAt.Add(-time.Nanosecond))
	require.NoError(t, err)
	assert.Equal(t, []bool{true, true, false, false, true, false}, got)
	// m-exp was recorded just before its expiry; at it, nothing is.
	newPresentation(t, s, "m-exp2")
	got, err = s.FinishPresentations(ctx, []store.Verdict{{ID: "m-exp2", PresentationResult: green}}, exp.ExpiresAt)
	require.NoError(t, err)
	assert.Equal(t, []bool{false}, got)

	pa, err := s.GetPresentation(ctx, "m-a")
	require.NoError(t, err)
	assert.Equal(t, store.PresentationVerified, pa.Status)
	assert.Equal(t, "green", pa.Verdict)
	assert.Equal(t, []string{"given_name"}, pa.ClaimNames)
	assert.Equal(t, "did:psr:i", pa.Issuer)
	assert.Equal(t, "urn:v", pa.VCT)
	assert.Nil(t, pa.EncKey, "the encryption key is dropped with the verdict")
	var types []string
	for _, e := range pa.Events {
		types = append(types, e.Type)
	}
	assert.Equal(t, []string{"created", "request_fetched", "response_received", store.PresentationVerified}, types)
	assert.True(t, pa.Events[2].At.Equal(now))
	pb, err := s.GetPresentation(ctx, "m-b")
	require.NoError(t, err)
	assert.Equal(t, "red", pb.Verdict)
	assert.Equal(t, []string{"revoked"}, pb.Reasons)
	assert.Equal(t, []byte{7}, pb.ResponseCodeHash)
	assert.Empty(t, pb.Issuer)
	assert.True(t, pb.DoneAt.Equal(exp.ExpiresAt.Add(-time.Nanosecond).Truncate(time.Microsecond)))
	u, err := s.ConsumeSingleUse(ctx, "verifier-claims", "m-a", t0)
	require.NoError(t, err)
	assert.Equal(t, []byte("sealed m-a"), u.Data)
	_, err = s.ConsumeSingleUse(ctx, "verifier-claims", "m-done", t0)
	assert.ErrorIs(t, err, store.ErrNotFound, "no shown value without its verdict")

	_, err = s.FinishPresentations(ctx, []store.Verdict{{ID: "m-x", PresentationResult: store.PresentationResult{Status: "pending"}}}, now)
	assert.ErrorIs(t, err, store.ErrInvalid)

	newPresentation(t, s, "m-race")
	var won atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			got, err := s.FinishPresentations(ctx, []store.Verdict{{ID: "m-race", PresentationResult: withShown(green, "m-race")}}, now)
			if err != nil {
				t.Error(err)
				return
			}
			if got[0] {
				won.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), won.Load())
}
