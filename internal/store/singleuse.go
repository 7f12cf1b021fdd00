package store

import (
	"context"
	"crypto/sha256"
	"fmt"
	"time"
)

// valueHash is what the store keeps of a single-use value: its SHA-256,
// never the value itself.
func valueHash(v string) []byte {
	h := sha256.Sum256([]byte(v))
	return h[:]
}

// PutSingleUse stores a single-use value (as the SHA-256 of Value) until
// ExpiresAt. Errors: ErrInvalid (empty Kind or Value, zero ExpiresAt),
// ErrConflict (the same kind and value is already stored, expired or not,
// until purged).
func (s *Store) PutSingleUse(ctx context.Context, u SingleUse) error {
	if err := checkSingleUse(u); err != nil {
		return err
	}
	_, err := s.w().exec(ctx,
		"INSERT INTO single_use (kind, value_hash, data, expires_at) VALUES ($1, $2, $3, $4)",
		u.Kind, valueHash(u.Value), nullBytes(u.Data), toMicros(u.ExpiresAt))
	if err != nil {
		return fmt.Errorf("storing single-use value: %w", err)
	}
	return nil
}

// checkSingleUse is what PutSingleUse and PutSingleUses refuse as
// ErrInvalid: an empty Kind or Value, a zero ExpiresAt.
func checkSingleUse(u SingleUse) error {
	if err := need("single-use kind", u.Kind, "single-use value", u.Value); err != nil {
		return err
	}
	if u.ExpiresAt.IsZero() {
		return ErrInvalid.With("the expiry is required", nil)
	}
	return nil
}

// ConsumeSingleUse atomically deletes and returns the value of this kind if
// it exists and expires after now. One statement does both, so of any
// number of concurrent consumers exactly one gets it. Every other outcome
// (never stored, already consumed, expired, wrong kind) is ErrNotFound, so
// a caller cannot tell them apart.
func (s *Store) ConsumeSingleUse(ctx context.Context, kind, value string, now time.Time) (SingleUse, error) {
	u := SingleUse{Kind: kind, Value: value}
	var exp int64
	err := s.w().queryRow(ctx,
		"DELETE FROM single_use WHERE kind = $1 AND value_hash = $2 AND expires_at > $3 RETURNING data, expires_at",
		kind, valueHash(value), toMicros(now)).Scan(&u.Data, &exp)
	if err != nil {
		return SingleUse{}, fmt.Errorf("consuming single-use value: %w", err)
	}
	u.Data, u.ExpiresAt = bytesOrNil(u.Data), fromMicros(exp)
	return u, nil
}

// PurgeSingleUse deletes the values that expire at or before `before` and
// returns how many it deleted.
func (s *Store) PurgeSingleUse(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.w().exec(ctx, "DELETE FROM single_use WHERE expires_at <= $1", toMicros(before))
	if err != nil {
		return 0, fmt.Errorf("purging single-use values: %w", err)
	}
	return n, nil
}
