package store

import (
	"context"
	"fmt"
)

// ExecRaw runs one SQL statement with $n parameters against the store,
// bypassing every invariant the methods keep. It exists for tests that must
// play the attacker (tampering with a stored row to prove it is detected)
// and for operators' repair scripts. No service may call it.
func (s *Store) ExecRaw(ctx context.Context, sql string, args ...any) (int64, error) {
	n, err := s.w().exec(ctx, sql, args...)
	if err != nil {
		return 0, fmt.Errorf("executing raw statement: %w", err)
	}
	return n, nil
}

// QueryRawBytes runs a query that returns one row of one column and
// returns it as bytes, with the same restrictions as ExecRaw: tests read raw
// rows with it (for example to prove a secret is not stored).
func (s *Store) QueryRawBytes(ctx context.Context, sql string, args ...any) ([]byte, error) {
	var b []byte
	if err := s.r().queryRow(ctx, sql, args...).Scan(&b); err != nil {
		return nil, fmt.Errorf("querying raw row: %w", err)
	}
	return b, nil
}
