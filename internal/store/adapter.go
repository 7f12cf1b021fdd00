package store

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// querier is the adapter every method is written against. Both the pools
// and the transactions of both backends implement it, and every error it
// returns (including from Scan, Next and Err) is already mapped onto the
// sentinels, so methods never see a driver error type.
type querier interface {
	exec(ctx context.Context, sql string, args ...any) (rowsAffected int64, err error)
	query(ctx context.Context, sql string, args ...any) (rows, error)
	queryRow(ctx context.Context, sql string, args ...any) row
	// execAll runs statements in order and returns the rows each
	// affected; it stops at the first error. PostgreSQL sends them in one
	// round trip (a pipeline: outside a transaction they are one implicit
	// transaction), SQLite one after another.
	execAll(ctx context.Context, stmts []stmt) (rowsAffected []int64, err error)
	// queryRowAll runs queries of one row each in order, like execAll,
	// and calls scan with each one's row (its Scan returns ErrNotFound
	// when there is none); it stops at the first error.
	queryRowAll(ctx context.Context, stmts []stmt, scan func(i int, r row) error) error
}

// stmt is one statement of execAll.
type stmt struct {
	sql  string
	args []any
}

// row is the result of queryRow. Scan returns ErrNotFound when there is no
// row.
type row interface {
	Scan(dest ...any) error
}

// rows is a cursor; Close must be called.
type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// txn is a running transaction.
type txn interface {
	querier
	commit(ctx context.Context) error
	rollback(ctx context.Context) error
}

// backend is what differs between SQLite and PostgreSQL beyond a query.
type backend interface {
	name() string
	// writer runs statements that change data, outside a transaction.
	writer() querier
	// reader runs read-only statements outside a transaction. SQLite
	// serves it from a separate pool so reads do not wait for the writer.
	reader() querier
	// begin starts a transaction and runs first in it (PostgreSQL: in
	// the round trip of its BEGIN), returning the rows each affected. On
	// error nothing stays begun.
	begin(ctx context.Context, first []stmt) (txn, []int64, error)
	// lockMigrations serialises Migrate across processes, inside tx.
	lockMigrations(ctx context.Context, tx querier) error
	ping(ctx context.Context) error
	stats() PoolStats
	close() error
}

// forEach runs query and calls scan once per row.
func forEach(ctx context.Context, q querier, sql string, args []any, scan func(rows) error) error {
	rs, err := q.query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		if err := scan(rs); err != nil {
			return err
		}
	}
	return rs.Err()
}

// toMicros stores t as unix microseconds; the zero time is stored as 0.
func toMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromMicros is the inverse of toMicros; the result is in UTC.
func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// nullBytes stores an empty slice as NULL, so nil and empty read back alike.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// bytesOrNil normalises what a driver scanned: empty becomes nil.
func bytesOrNil(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// clampLimit turns a caller's limit into a sane page size.
func clampLimit(limit int) int {
	switch {
	case limit <= 0:
		return 100
	case limit > 1000:
		return 1000
	}
	return limit
}

// planPerCall, as the first argument of a statement, has PostgreSQL plan
// that statement afresh on every call (SQLite ignores it). It is for
// statements whose cached plan goes wrong as a table grows from empty:
// PostgreSQL switches a prepared statement to a generic plan after five
// calls and keeps it until the table is next analysed, and a generic plan
// made while the table was small is a sequential scan, or an index on the
// wrong column, whose cost then grows with every row. Measured with
// ssi-load on a fresh schema: marking a group of ~12 credentials issued
// read 290 pages (a hash join over the whole table) against 94 with a
// plan per call; counting a tx_code attempt read all of the tenant's
// offers (through the tenant index) instead of one. Planning costs some
// tens of microseconds per statement, not per row.
var planPerCall = planMode{}

type planMode struct{}

// withoutPlanMode drops a leading planPerCall, for SQLite.
func withoutPlanMode(args []any) []any {
	if len(args) > 0 && args[0] == planPerCall {
		return args[1:]
	}
	return args
}

// checkArgs rejects string arguments that are not valid UTF-8 or contain
// NUL. PostgreSQL refuses them in TEXT and SQLite would store them, so both
// adapters reject them up front, alike, with ErrInvalid.
func checkArgs(args []any) error {
	for _, a := range args {
		switch v := a.(type) {
		case string:
			if !validText(v) {
				return errBadText
			}
		case []string: // the arrays of the many-row methods
			for _, s := range v {
				if !validText(s) {
					return errBadText
				}
			}
		}
	}
	return nil
}

var errBadText = ErrInvalid.With("a text value is not valid UTF-8 or contains NUL", nil)

func validText(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }

// errRow is a row whose Scan returns err.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
