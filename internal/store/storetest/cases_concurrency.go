package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/store"
)

// workers is how many goroutines race in each concurrency test.
const workers = 50

// deadline bounds each concurrency test; beyond it the test fails with
// every goroutine's stack.
const deadline = 60 * time.Second

func concurrencyCases() []testCase {
	return []testCase{
		{"ConcurrentConsumeSingleUse", testConcurrentConsume},
		{"ConcurrentBeginIdempotent", testConcurrentIdempotent},
		{"ConcurrentEnqueueOutbox", testConcurrentEnqueue},
		{"ConcurrentTransactions", testConcurrentTx},
	}
}

// race starts n goroutines that wait on one gate, opens it, and waits for
// them all (under the deadlock guard). It returns each worker's error.
func race(t *testing.T, n int, fn func(i int) error) []error {
	t.Helper()
	errs := make([]error, n)
	Within(t, deadline, func() {
		var wg sync.WaitGroup
		gate := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-gate
				errs[i] = fn(i)
			})
		}
		close(gate)
		wg.Wait()
	})
	return errs
}

func testConcurrentConsume(t *testing.T, s *store.Store) {
	ctx := context.Background()
	require.NoError(t, s.PutSingleUse(ctx, store.SingleUse{Kind: "pre_auth_code", Value: "code", Data: []byte("d"), ExpiresAt: t0.Add(time.Hour)}))
	got := make([]store.SingleUse, workers)
	errs := race(t, workers, func(i int) error {
		var err error
		got[i], err = s.ConsumeSingleUse(ctx, "pre_auth_code", "code", t0)
		return err
	})
	wins := 0
	for i, err := range errs {
		if err == nil {
			wins++
			assert.Equal(t, []byte("d"), got[i].Data)
			continue
		}
		assertCode(t, store.ErrNotFound, err)
	}
	assert.Equal(t, 1, wins, "exactly one consumer wins")
}

func testConcurrentIdempotent(t *testing.T, s *store.Store) {
	ctx := context.Background()
	rec := store.IdempotencyRecord{TenantID: "health", Key: "k", RequestHash: []byte("h"),
		CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	var mu sync.Mutex
	fresh, seen := 0, 0
	errs := race(t, workers, func(int) error {
		got, isFresh, err := s.BeginIdempotent(ctx, rec)
		if err != nil {
			return err
		}
		if isFresh {
			// The one processing request finishes while others still arrive.
			if err := s.CompleteIdempotent(ctx, "health", "k", 201, "application/json", []byte("{}")); err != nil {
				return err
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if isFresh {
			fresh++
			return nil
		}
		seen++
		if got.State != store.IdemInProgress && got.State != store.IdemDone {
			return errors.New("unexpected state " + got.State)
		}
		if got.State == store.IdemDone && (got.Status != 201 || string(got.Body) != "{}") {
			return errors.New("a done record without its response")
		}
		if string(got.RequestHash) != "h" {
			return errors.New("the existing record lost its request hash")
		}
		return nil
	})
	for _, err := range errs {
		assert.NoError(t, err)
	}
	assert.Equal(t, 1, fresh, "processed once")
	assert.Equal(t, workers-1, seen)
}

func testConcurrentEnqueue(t *testing.T, s *store.Store) {
	ctx := context.Background()
	item := store.OutboxItem{Topic: "anchor", Key: "did:x#1", Payload: []byte("p"), CreatedAt: t0}
	errs := race(t, workers, func(int) error { return s.EnqueueOutbox(ctx, item) })
	for _, err := range errs {
		assert.NoError(t, err)
	}
	depth, err := s.OutboxDepth(ctx, "anchor")
	require.NoError(t, err)
	assert.Equal(t, int64(1), depth, "one row")
}

// testConcurrentTx runs many transactions that each read then write: on
// SQLite this is the lock-upgrade deadlock BEGIN IMMEDIATE prevents.
func testConcurrentTx(t *testing.T, s *store.Store) {
	ctx := context.Background()
	errs := race(t, workers, func(i int) error {
		return s.InTx(ctx, func(tx *store.Store) error {
			if _, err := tx.OutboxDepth(ctx, "anchor"); err != nil {
				return err
			}
			_, err := tx.AppendAudit(ctx, store.AuditRecord{TenantID: "health", Action: "x", Outcome: "ok"})
			return err
		})
	})
	for _, err := range errs {
		assert.NoError(t, err)
	}
	all, err := s.ListAudit(ctx, store.AuditFilter{TenantID: "health", Limit: 1000})
	require.NoError(t, err)
	assert.Len(t, all, workers)
}
