package store

import (
	"context"
	"fmt"
)

// RawSQL runs raw SQL on a store, bypassing every invariant the store's
// methods keep. It exists for tests that must play the attacker
// (tampering with a stored row to prove it is detected, reading a row to
// prove a secret is not stored, breaking a table to provoke a failure)
// and for the set-up of the load tool (cmd/ssi-load). No service may use
// it: TestNoServiceUsesRawSQL (rules_test.go, at the module root) fails
// on non-test code outside internal/store and cmd/ssi-load that refers to
// it. It is a wrapper, not methods of Store, so that no interface a
// service declares of the store, and no transaction a service is handed,
// can reach raw SQL.
type RawSQL struct{ s *Store }

// Raw returns the raw SQL of s. On a transaction-bound Store (inside
// InTx) the statements run in that transaction.
func Raw(s *Store) RawSQL { return RawSQL{s: s} }

// Exec runs one SQL statement with $n parameters and returns the number
// of rows it affected.
func (r RawSQL) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	n, err := r.s.w().exec(ctx, sql, args...)
	if err != nil {
		return 0, fmt.Errorf("executing raw statement: %w", err)
	}
	return n, nil
}

// QueryBytes runs a query that returns one row of one column and returns
// it as bytes (QueryRow is the general case). No row: ErrNotFound.
func (r RawSQL) QueryBytes(ctx context.Context, sql string, args ...any) ([]byte, error) {
	var b []byte
	if err := r.s.r().queryRow(ctx, sql, args...).Scan(&b); err != nil {
		return nil, fmt.Errorf("querying raw row: %w", err)
	}
	return b, nil
}

// QueryRow runs one query and scans its single row into dest, any number
// of columns of any type. No row: ErrNotFound.
func (r RawSQL) QueryRow(ctx context.Context, sql string, args []any, dest ...any) error {
	return r.s.r().queryRow(ctx, sql, args...).Scan(dest...)
}
