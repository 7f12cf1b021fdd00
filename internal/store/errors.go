package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/ssi-project/ssi/internal/errs"
)

// More sentinel errors, next to those in model.go.
var (
	// ErrAppendOnly: an UPDATE, DELETE or TRUNCATE hit the append-only
	// audit table.
	ErrAppendOnly = errs.E(errs.Forbidden, "append_only", "the audit log cannot be changed")
	// ErrAuditUnavailable: a state change failed because its audit record
	// could not be written (SECURITY-CASES F8); nothing changed, the client
	// may retry. Callers wrap the store's error with it.
	ErrAuditUnavailable = errs.E(errs.Unavailable, "audit_unavailable", "the audit log is unavailable, try again later")
	// ErrInvalid: a record is missing a required key (an empty ID, kind …).
	ErrInvalid = errs.E(errs.Invalid, "invalid_record", "the record is incomplete")
	// ErrInternal: any other database failure. The driver error is the
	// cause, for the log only.
	ErrInternal = errs.E(errs.Internal, "store_failed", "the store failed")
)

// classify maps err (from a driver, a context or the store itself) onto a
// sentinel. dialect maps the driver-specific cases and returns nil when it
// does not recognise err. Errors that are already *errs.Error pass through.
func classify(err error, dialect func(error) *errs.Error) error {
	if err == nil {
		return nil
	}
	var e *errs.Error
	if errors.As(err, &e) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return ErrUnavailable.With("", err)
	}
	if m := dialect(err); m != nil {
		return m
	}
	return ErrInternal.With("", err)
}

// notFoundOr tells apart "no such row" from "row in the wrong state" after
// a conditional UPDATE or DELETE touched nothing: it runs the existence
// query and returns ErrNotFound if it finds nothing, else other.
func notFoundOr(ctx context.Context, q querier, other error, existsSQL string, args ...any) error {
	var one int64
	err := q.queryRow(ctx, existsSQL, args...).Scan(&one)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return err
		}
		return fmt.Errorf("checking existence: %w", err)
	}
	return other
}
