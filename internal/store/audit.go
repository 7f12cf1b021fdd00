package store

import (
	"context"
	"fmt"
)

// AppendAudit appends one record and returns its ID, which increases with
// every append. A zero Time is set from the clock. There is no method that
// changes or deletes a record, and the schema rejects UPDATE, DELETE (and
// on PostgreSQL TRUNCATE) on the table with ErrAppendOnly.
// Errors: ErrInvalid (empty Action).
func (s *Store) AppendAudit(ctx context.Context, a AuditRecord) (int64, error) {
	if err := need("audit action", a.Action); err != nil {
		return 0, err
	}
	if a.Time.IsZero() {
		a.Time = s.now()
	}
	var id int64
	err := s.w().queryRow(ctx,
		`INSERT INTO audit (time, tenant_id, actor, action, target, request_id, outcome, details)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		toMicros(a.Time), a.TenantID, a.Actor, a.Action, a.Target, a.RequestID, a.Outcome, nullBytes(a.Details)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("appending audit record: %w", err)
	}
	return id, nil
}

// ListAudit returns the records of f.TenantID, newest (highest ID) first,
// with ID < f.BeforeID when BeforeID > 0, at most f.Limit of them (0: 100;
// capped at 1000). Page by passing the last ID seen as the next BeforeID.
func (s *Store) ListAudit(ctx context.Context, f AuditFilter) ([]AuditRecord, error) {
	q := `SELECT id, time, tenant_id, actor, action, target, request_id, outcome, details
	      FROM audit WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2`
	args := []any{f.TenantID, clampLimit(f.Limit)}
	if f.BeforeID > 0 {
		q = `SELECT id, time, tenant_id, actor, action, target, request_id, outcome, details
		     FROM audit WHERE tenant_id = $1 AND id < $3 ORDER BY id DESC LIMIT $2`
		args = append(args, f.BeforeID)
	}
	var out []AuditRecord
	err := forEach(ctx, s.r(), q, args, func(r rows) error {
		var a AuditRecord
		var at int64
		if err := r.Scan(&a.ID, &at, &a.TenantID, &a.Actor, &a.Action, &a.Target, &a.RequestID, &a.Outcome, &a.Details); err != nil {
			return err
		}
		a.Time, a.Details = fromMicros(at), bytesOrNil(a.Details)
		out = append(out, a)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing audit records: %w", err)
	}
	return out, nil
}
