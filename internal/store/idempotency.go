package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

const idemColumns = "tenant_id, idem_key, request_hash, state, status, content_type, body, created_at, expires_at"

func scanIdem(r row) (IdempotencyRecord, error) {
	var rec IdempotencyRecord
	var status, created, expires int64
	if err := r.Scan(&rec.TenantID, &rec.Key, &rec.RequestHash, &rec.State, &status,
		&rec.ContentType, &rec.Body, &created, &expires); err != nil {
		return IdempotencyRecord{}, err
	}
	rec.Status = int(status)
	rec.Body = bytesOrNil(rec.Body)
	rec.CreatedAt, rec.ExpiresAt = fromMicros(created), fromMicros(expires)
	return rec, nil
}

// BeginIdempotent claims (rec.TenantID, rec.Key) for a request that is
// about to be processed. rec's State, Status, ContentType and Body are
// ignored: the stored row starts IdemInProgress and empty. A zero CreatedAt
// is set from the clock; CreatedAt is also the "now" that decides whether an
// existing row has expired.
//
// Outcomes:
//   - no row, or only an expired one: the claim is stored and BeginIdempotent
//     returns the stored record and fresh=true; the caller processes the
//     request, then calls CompleteIdempotent or AbandonIdempotent;
//   - a row that has not expired: it is returned with fresh=false, and the
//     caller compares RequestHash (different: 422), then State (in progress:
//     409; done: replay Status, ContentType and Body).
//
// Of any number of concurrent calls with one key, exactly one is fresh.
// Errors: ErrInvalid (empty tenant or key, zero ExpiresAt).
func (s *Store) BeginIdempotent(ctx context.Context, rec IdempotencyRecord) (existing IdempotencyRecord, fresh bool, err error) {
	if err := need("tenant ID", rec.TenantID, "idempotency key", rec.Key); err != nil {
		return IdempotencyRecord{}, false, err
	}
	if rec.ExpiresAt.IsZero() {
		return IdempotencyRecord{}, false, ErrInvalid.With("the expiry is required", nil)
	}
	if rec.CreatedAt.IsZero() {
		rec.CreatedAt = s.now()
	}
	claim := IdempotencyRecord{
		TenantID: rec.TenantID, Key: rec.Key, RequestHash: bytesOrNil(rec.RequestHash),
		State: IdemInProgress, CreatedAt: rec.CreatedAt, ExpiresAt: rec.ExpiresAt,
	}
	now := toMicros(rec.CreatedAt)
	// Each step is one atomic statement, so no transaction is needed (and
	// none is held while the request is processed). A row can vanish between
	// steps (abandoned, purged): then start over, a bounded number of times.
	for range 8 {
		n, err := s.w().exec(ctx,
			"INSERT INTO idempotency ("+idemColumns+") VALUES ($1, $2, $3, $4, 0, '', NULL, $5, $6) ON CONFLICT (tenant_id, idem_key) DO NOTHING",
			claim.TenantID, claim.Key, nullBytes(claim.RequestHash), IdemInProgress, now, toMicros(claim.ExpiresAt))
		if err != nil {
			return IdempotencyRecord{}, false, fmt.Errorf("claiming idempotency key: %w", err)
		}
		if n == 1 {
			return claim, true, nil
		}
		// Take over an expired row; the WHERE makes the takeover atomic.
		n, err = s.w().exec(ctx,
			`UPDATE idempotency SET request_hash = $3, state = $4, status = 0, content_type = '', body = NULL,
			 created_at = $5, expires_at = $6 WHERE tenant_id = $1 AND idem_key = $2 AND expires_at <= $5`,
			claim.TenantID, claim.Key, nullBytes(claim.RequestHash), IdemInProgress, now, toMicros(claim.ExpiresAt))
		if err != nil {
			return IdempotencyRecord{}, false, fmt.Errorf("claiming expired idempotency key: %w", err)
		}
		if n == 1 {
			return claim, true, nil
		}
		got, err := scanIdem(s.w().queryRow(ctx,
			"SELECT "+idemColumns+" FROM idempotency WHERE tenant_id = $1 AND idem_key = $2",
			claim.TenantID, claim.Key))
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return IdempotencyRecord{}, false, fmt.Errorf("reading idempotency key: %w", err)
		}
		return got, false, nil
	}
	return IdempotencyRecord{}, false, ErrConflict.With("the idempotency key is changing too fast, try again", nil)
}

// CompleteIdempotent stores the response of the request that holds the
// in-progress claim and marks it IdemDone. Errors: ErrNotFound (no such
// row), ErrConflict (the row is already done).
func (s *Store) CompleteIdempotent(ctx context.Context, tenant, key string, status int, contentType string, body []byte) error {
	n, err := s.w().exec(ctx,
		`UPDATE idempotency SET state = $3, status = $4, content_type = $5, body = $6
		 WHERE tenant_id = $1 AND idem_key = $2 AND state = $7`,
		tenant, key, IdemDone, status, contentType, nullBytes(body), IdemInProgress)
	if err == nil && n == 0 {
		err = notFoundOr(ctx, s.w(), ErrConflict.With("the idempotent request is already complete", nil),
			"SELECT 1 FROM idempotency WHERE tenant_id = $1 AND idem_key = $2", tenant, key)
	}
	if err != nil {
		return fmt.Errorf("completing idempotency key: %w", err)
	}
	return nil
}

// AbandonIdempotent deletes the in-progress claim so that the request can
// be retried with the same key. A completed row is kept. Errors:
// ErrNotFound (no in-progress row with this key).
func (s *Store) AbandonIdempotent(ctx context.Context, tenant, key string) error {
	n, err := s.w().exec(ctx,
		"DELETE FROM idempotency WHERE tenant_id = $1 AND idem_key = $2 AND state = $3",
		tenant, key, IdemInProgress)
	if err == nil && n == 0 {
		err = ErrNotFound.With("no idempotent request is in progress with this key", nil)
	}
	if err != nil {
		return fmt.Errorf("abandoning idempotency key: %w", err)
	}
	return nil
}

// PurgeIdempotency deletes the records that expire at or before `before`,
// in progress or done, and returns how many it deleted.
func (s *Store) PurgeIdempotency(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.w().exec(ctx, "DELETE FROM idempotency WHERE expires_at <= $1", toMicros(before))
	if err != nil {
		return 0, fmt.Errorf("purging idempotency keys: %w", err)
	}
	return n, nil
}
