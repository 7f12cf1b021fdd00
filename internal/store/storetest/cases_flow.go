package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/store"
)

func flowCases() []testCase {
	return []testCase{
		{"Idempotency", testIdempotency},
		{"IdempotencyExpiry", testIdempotencyExpiry},
		{"SingleUse", testSingleUse},
		{"Outbox", testOutbox},
		{"OutboxConflictInsertsNothing", testOutboxConflict},
		{"OutboxPark", testOutboxPark},
		{"InTx", testInTx},
		{"InTxRollback", testInTxRollback},
	}
}

func testIdempotency(t *testing.T, s *store.Store) {
	ctx := context.Background()
	h := sha256.Sum256([]byte("POST /credentials {...}"))
	rec := store.IdempotencyRecord{TenantID: "health", Key: "idem-1", RequestHash: h[:],
		CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour)}

	got, fresh, err := s.BeginIdempotent(ctx, rec)
	require.NoError(t, err)
	assert.True(t, fresh)
	claim := rec
	claim.State = store.IdemInProgress
	assert.Equal(t, claim, got)

	// A second request with the key sees the in-progress claim.
	got, fresh, err = s.BeginIdempotent(ctx, store.IdempotencyRecord{TenantID: "health", Key: "idem-1",
		RequestHash: []byte("other"), CreatedAt: t0.Add(time.Second), ExpiresAt: t0.Add(48 * time.Hour)})
	require.NoError(t, err)
	assert.False(t, fresh)
	assert.Equal(t, claim, got, "the existing record, with the first request's hash")

	// The same key in another tenant is independent.
	_, fresh, err = s.BeginIdempotent(ctx, store.IdempotencyRecord{TenantID: "police", Key: "idem-1",
		CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)})
	require.NoError(t, err)
	assert.True(t, fresh)

	require.NoError(t, s.CompleteIdempotent(ctx, "health", "idem-1", 201, "application/json", []byte(`{"id":"c1"}`)))
	got, fresh, err = s.BeginIdempotent(ctx, rec)
	require.NoError(t, err)
	assert.False(t, fresh)
	done := claim
	done.State, done.Status, done.ContentType, done.Body = store.IdemDone, 201, "application/json", []byte(`{"id":"c1"}`)
	assert.Equal(t, done, got, "the stored response, for replay")

	assertCode(t, store.ErrConflict, s.CompleteIdempotent(ctx, "health", "idem-1", 500, "", nil))
	assertCode(t, store.ErrNotFound, s.CompleteIdempotent(ctx, "health", "nope", 200, "", nil))
	assertCode(t, store.ErrNotFound, s.AbandonIdempotent(ctx, "health", "idem-1"), "a done row is kept")
	assertCode(t, store.ErrNotFound, s.AbandonIdempotent(ctx, "health", "nope"))

	// Abandoning an in-progress claim lets the request be retried.
	require.NoError(t, s.AbandonIdempotent(ctx, "police", "idem-1"))
	_, fresh, err = s.BeginIdempotent(ctx, store.IdempotencyRecord{TenantID: "police", Key: "idem-1",
		CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)})
	require.NoError(t, err)
	assert.True(t, fresh)
	// An empty body reads back as nil.
	require.NoError(t, s.CompleteIdempotent(ctx, "police", "idem-1", 204, "", []byte{}))
	got, _, err = s.BeginIdempotent(ctx, store.IdempotencyRecord{TenantID: "police", Key: "idem-1",
		CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)})
	require.NoError(t, err)
	assert.Equal(t, 204, got.Status)
	assert.Nil(t, got.Body)
}

func testIdempotencyExpiry(t *testing.T, s *store.Store) {
	ctx := context.Background()
	old := store.IdempotencyRecord{TenantID: "health", Key: "k", RequestHash: []byte("old"),
		CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	_, fresh, err := s.BeginIdempotent(ctx, old)
	require.NoError(t, err)
	require.True(t, fresh)
	require.NoError(t, s.CompleteIdempotent(ctx, "health", "k", 200, "text/plain", []byte("old")))

	// At expiry the row is taken over by a new request.
	renewed := store.IdempotencyRecord{TenantID: "health", Key: "k", RequestHash: []byte("new"),
		CreatedAt: t0.Add(time.Hour), ExpiresAt: t0.Add(2 * time.Hour)}
	got, fresh, err := s.BeginIdempotent(ctx, renewed)
	require.NoError(t, err)
	assert.True(t, fresh)
	assert.Equal(t, []byte("new"), got.RequestHash)
	assert.Equal(t, store.IdemInProgress, got.State)
	assert.Nil(t, got.Body, "the old response is gone")

	_, fresh, err = s.BeginIdempotent(ctx, store.IdempotencyRecord{TenantID: "health", Key: "other",
		CreatedAt: t0, ExpiresAt: t0.Add(3 * time.Hour)})
	require.NoError(t, err)
	require.True(t, fresh)

	n, err := s.PurgeIdempotency(ctx, t0.Add(2*time.Hour))
	require.NoError(t, err)
	assert.Equal(t, int64(1), n, "expired at or before the cut-off")
	got, fresh, err = s.BeginIdempotent(ctx, store.IdempotencyRecord{TenantID: "health", Key: "other",
		CreatedAt: t0, ExpiresAt: t0.Add(3 * time.Hour)})
	require.NoError(t, err)
	assert.False(t, fresh, "the unexpired row survived the purge")
	assert.Equal(t, "other", got.Key)
}

func testSingleUse(t *testing.T, s *store.Store) {
	ctx := context.Background()
	u := store.SingleUse{Kind: "c_nonce", Value: "n-123", Data: []byte(`{"sub":"x"}`), ExpiresAt: t0.Add(5 * time.Minute)}
	require.NoError(t, s.PutSingleUse(ctx, u))
	assertCode(t, store.ErrConflict, s.PutSingleUse(ctx, u))
	// The same value under another kind is another value.
	require.NoError(t, s.PutSingleUse(ctx, store.SingleUse{Kind: "vp_nonce", Value: "n-123", ExpiresAt: t0.Add(time.Minute)}))

	// Only the hash is stored.
	var n int64
	require.NoError(t, store.Raw(s).QueryRow(ctx, "SELECT COUNT(*) FROM single_use WHERE value_hash = $1", []any{[]byte("n-123")}, &n))
	assert.Zero(t, n, "the raw value must not be stored")
	sum := sha256.Sum256([]byte("n-123"))
	require.NoError(t, store.Raw(s).QueryRow(ctx, "SELECT COUNT(*) FROM single_use WHERE kind = 'c_nonce' AND value_hash = $1", []any{sum[:]}, &n))
	assert.Equal(t, int64(1), n)

	_, err := s.ConsumeSingleUse(ctx, "pre_auth_code", "n-123", t0)
	assertCode(t, store.ErrNotFound, err)
	_, err = s.ConsumeSingleUse(ctx, "c_nonce", "n-124", t0)
	assertCode(t, store.ErrNotFound, err)
	_, err = s.ConsumeSingleUse(ctx, "c_nonce", "n-123", u.ExpiresAt)
	assertCode(t, store.ErrNotFound, err) // expired at ExpiresAt exactly

	got, err := s.ConsumeSingleUse(ctx, "c_nonce", "n-123", t0)
	require.NoError(t, err)
	assert.Equal(t, u, got)
	_, err = s.ConsumeSingleUse(ctx, "c_nonce", "n-123", t0)
	assertCode(t, store.ErrNotFound, err, "second consume")

	// Purge removes expired values only.
	require.NoError(t, s.PutSingleUse(ctx, store.SingleUse{Kind: "c_nonce", Value: "late", ExpiresAt: t0.Add(time.Hour)}))
	purged, err := s.PurgeSingleUse(ctx, t0.Add(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, int64(1), purged)
	got, err = s.ConsumeSingleUse(ctx, "c_nonce", "late", t0)
	require.NoError(t, err)
	assert.Nil(t, got.Data)
}

func testOutbox(t *testing.T, s *store.Store) {
	ctx := context.Background()
	a := store.OutboxItem{Topic: "anchor", Key: "did:x#1", Payload: []byte("a"), CreatedAt: t0}
	b := store.OutboxItem{Topic: "anchor", Key: "did:x#2", Payload: []byte("b"), CreatedAt: t0.Add(time.Second)}
	c := store.OutboxItem{Topic: "mail", Key: "did:x#1", Payload: []byte("c"), CreatedAt: t0}
	require.NoError(t, s.EnqueueOutbox(ctx, a, b, c))
	require.NoError(t, s.EnqueueOutbox(ctx, a), "same item again is a no-op")
	require.NoError(t, s.EnqueueOutbox(ctx))

	depth, err := s.OutboxDepth(ctx, "anchor")
	require.NoError(t, err)
	assert.Equal(t, int64(2), depth)

	pending, err := s.PendingOutbox(ctx, "anchor", 0)
	require.NoError(t, err)
	require.Len(t, pending, 2)
	assert.Less(t, pending[0].ID, pending[1].ID)
	a.ID, b.ID = pending[0].ID, pending[1].ID
	assert.Equal(t, []store.OutboxItem{a, b}, pending, "exact round trip, ascending ID")

	one, err := s.PendingOutbox(ctx, "anchor", 1)
	require.NoError(t, err)
	assert.Equal(t, []store.OutboxItem{a}, one)

	require.NoError(t, s.FailOutbox(ctx, "anchor", a.ID, "ledger unreachable"))
	require.NoError(t, s.FailOutbox(ctx, "anchor", a.ID, "ledger halted"))
	got, err := s.GetOutbox(ctx, "anchor", a.Key)
	require.NoError(t, err)
	assert.Equal(t, 2, got.Attempts)
	assert.Equal(t, "ledger halted", got.LastError)
	assert.True(t, got.DoneAt.IsZero())

	require.NoError(t, s.CompleteOutbox(ctx, "anchor", a.ID, []byte("receipt")))
	got, err = s.GetOutbox(ctx, "anchor", a.Key)
	require.NoError(t, err)
	assert.Equal(t, []byte("receipt"), got.Result)
	assert.False(t, got.DoneAt.IsZero())
	assert.Equal(t, time.UTC, got.DoneAt.Location())

	assertCode(t, store.ErrConflict, s.CompleteOutbox(ctx, "anchor", a.ID, nil), "exactly once")
	assertCode(t, store.ErrConflict, s.FailOutbox(ctx, "anchor", a.ID, "late"))
	assertCode(t, store.ErrNotFound, s.CompleteOutbox(ctx, "mail", a.ID, nil), "wrong topic")
	assertCode(t, store.ErrNotFound, s.FailOutbox(ctx, "anchor", 1<<40, "x"))
	_, err = s.GetOutbox(ctx, "anchor", "nope")
	assertCode(t, store.ErrNotFound, err)

	// Re-enqueueing a done item is still a no-op: it is not redone.
	require.NoError(t, s.EnqueueOutbox(ctx, a))
	pending, err = s.PendingOutbox(ctx, "anchor", 10)
	require.NoError(t, err)
	require.Len(t, pending, 1)
	assert.Equal(t, b.ID, pending[0].ID)

	// A long, invalid-UTF-8 reason is stored cut and valid.
	require.NoError(t, s.FailOutbox(ctx, "anchor", b.ID, string([]byte{0xff})+string(make([]byte, 5000))))
	got, err = s.GetOutbox(ctx, "anchor", b.Key)
	require.NoError(t, err)
	assert.LessOrEqual(t, len(got.LastError), 2048)
}

func testOutboxConflict(t *testing.T, s *store.Store) {
	ctx := context.Background()
	a := store.OutboxItem{Topic: "anchor", Key: "k1", Payload: []byte("a"), CreatedAt: t0}
	require.NoError(t, s.EnqueueOutbox(ctx, a))
	fresh := store.OutboxItem{Topic: "anchor", Key: "k2", Payload: []byte("new"), CreatedAt: t0}
	clash := store.OutboxItem{Topic: "anchor", Key: "k1", Payload: []byte("different"), CreatedAt: t0}
	assertCode(t, store.ErrConflict, s.EnqueueOutbox(ctx, fresh, clash))
	_, err := s.GetOutbox(ctx, "anchor", "k2")
	assertCode(t, store.ErrNotFound, err, "nothing from the failed call is stored")
	got, err := s.GetOutbox(ctx, "anchor", "k1")
	require.NoError(t, err)
	assert.Equal(t, []byte("a"), got.Payload)

	// Two items with one key and different payloads in one call.
	assertCode(t, store.ErrConflict, s.EnqueueOutbox(ctx,
		store.OutboxItem{Topic: "anchor", Key: "k3", Payload: []byte("x")},
		store.OutboxItem{Topic: "anchor", Key: "k3", Payload: []byte("y")}))
	depth, err := s.OutboxDepth(ctx, "anchor")
	require.NoError(t, err)
	assert.Equal(t, int64(1), depth)
}

// errBoom is fn's own error, to check InTx returns it unchanged.
var errBoom = errors.New("boom")

func testInTx(t *testing.T, s *store.Store) {
	ctx := context.Background()
	err := s.InTx(ctx, func(tx *store.Store) error {
		if err := tx.CreateTenant(ctx, store.Tenant{ID: "health", CreatedAt: t0}); err != nil {
			return err
		}
		// Reads inside the transaction see its writes.
		if _, err := tx.GetTenant(ctx, "health"); err != nil {
			return err
		}
		// A nested InTx joins the same transaction.
		return tx.InTx(ctx, func(inner *store.Store) error {
			_, err := inner.AppendAudit(ctx, store.AuditRecord{TenantID: "health", Action: "tenant.create", Outcome: "ok"})
			return err
		})
	})
	require.NoError(t, err)
	_, err = s.GetTenant(ctx, "health")
	require.NoError(t, err)
	audit, err := s.ListAudit(ctx, store.AuditFilter{TenantID: "health"})
	require.NoError(t, err)
	assert.Len(t, audit, 1)
	require.NoError(t, s.Ping(ctx))
}

func testInTxRollback(t *testing.T, s *store.Store) {
	ctx := context.Background()
	// change is a state change, its audit record and its outbox item.
	change := func(tx *store.Store, id string) error {
		if err := tx.CreateTenant(ctx, store.Tenant{ID: id, CreatedAt: t0}); err != nil {
			return err
		}
		if _, err := tx.AppendAudit(ctx, store.AuditRecord{TenantID: id, Action: "tenant.create", Outcome: "ok"}); err != nil {
			return err
		}
		if err := tx.PutSingleUse(ctx, store.SingleUse{Kind: "code", Value: id, ExpiresAt: t0.Add(time.Hour)}); err != nil {
			return err
		}
		return tx.EnqueueOutbox(ctx, store.OutboxItem{Topic: "anchor", Key: id, Payload: []byte(id)})
	}
	assertNothing := func(t *testing.T, id string) {
		t.Helper()
		_, err := s.GetTenant(ctx, id)
		assertCode(t, store.ErrNotFound, err)
		audit, err := s.ListAudit(ctx, store.AuditFilter{TenantID: id})
		require.NoError(t, err)
		assert.Empty(t, audit)
		_, err = s.ConsumeSingleUse(ctx, "code", id, t0)
		assertCode(t, store.ErrNotFound, err)
		_, err = s.GetOutbox(ctx, "anchor", id)
		assertCode(t, store.ErrNotFound, err)
	}

	t.Run("error", func(t *testing.T) {
		err := s.InTx(ctx, func(tx *store.Store) error {
			if err := change(tx, "err"); err != nil {
				return err
			}
			return errBoom
		})
		assert.ErrorIs(t, err, errBoom)
		assertNothing(t, "err")
	})
	t.Run("nested error", func(t *testing.T) {
		err := s.InTx(ctx, func(tx *store.Store) error {
			if err := change(tx, "nested"); err != nil {
				return err
			}
			return tx.InTx(ctx, func(*store.Store) error { return errBoom })
		})
		assert.ErrorIs(t, err, errBoom)
		assertNothing(t, "nested")
	})
	t.Run("store error", func(t *testing.T) {
		err := s.InTx(ctx, func(tx *store.Store) error {
			if err := change(tx, "dup"); err != nil {
				return err
			}
			return tx.CreateTenant(ctx, store.Tenant{ID: "dup"})
		})
		assertCode(t, store.ErrConflict, err)
		assertNothing(t, "dup")
	})
	t.Run("panic", func(t *testing.T) {
		assert.PanicsWithValue(t, "boom", func() {
			_ = s.InTx(ctx, func(tx *store.Store) error {
				if err := change(tx, "panic"); err != nil {
					return err
				}
				panic("boom")
			})
		})
		assertNothing(t, "panic")
	})
	// The store still works after all that (the writer was released).
	require.NoError(t, s.InTx(ctx, func(tx *store.Store) error { return change(tx, "ok") }))
	_, err := s.GetTenant(ctx, "ok")
	require.NoError(t, err)
}

// testOutboxPark: a parked item leaves the queue, so the items behind it
// are reached, but it still counts in the depth and keeps its reason.
func testOutboxPark(t *testing.T, s *store.Store) {
	ctx := context.Background()
	require.NoError(t, s.EnqueueOutbox(ctx,
		store.OutboxItem{Topic: "park", Key: "a", Payload: []byte("a")},
		store.OutboxItem{Topic: "park", Key: "b", Payload: []byte("b")}))
	first, err := s.PendingOutbox(ctx, "park", 1)
	require.NoError(t, err)
	require.Len(t, first, 1)
	require.Equal(t, "a", first[0].Key)

	require.NoError(t, s.ParkOutbox(ctx, "park", first[0].ID, "permanent: not valid work"))
	next, err := s.PendingOutbox(ctx, "park", 1)
	require.NoError(t, err)
	require.Len(t, next, 1)
	assert.Equal(t, "b", next[0].Key, "the parked item no longer holds up the queue")
	depth, err := s.OutboxDepth(ctx, "park")
	require.NoError(t, err)
	assert.EqualValues(t, 2, depth, "a parked item still counts in the depth")
	got, err := s.GetOutbox(ctx, "park", "a")
	require.NoError(t, err)
	assert.Equal(t, "permanent: not valid work", got.LastError)
	assert.Equal(t, 1, got.Attempts)
	assert.True(t, got.DoneAt.IsZero())

	require.NoError(t, s.CompleteOutbox(ctx, "park", next[0].ID, nil))
	assert.ErrorIs(t, s.ParkOutbox(ctx, "park", next[0].ID, "x"), store.ErrConflict, "a done item cannot be parked")
	assert.ErrorIs(t, s.ParkOutbox(ctx, "park", 1<<40, "x"), store.ErrNotFound)
}
