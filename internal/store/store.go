package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Options tune Open. The zero value is valid.
type Options struct {
	// Schema is the PostgreSQL search_path (one schema name). Tests use it to
	// get a fresh schema each; empty means the server's default. SQLite
	// ignores it.
	Schema string
	// MaxConns caps the connection pool: PostgreSQL's pool, or SQLite's
	// reader pool (SQLite always has exactly one writer connection).
	// 0 means a default (PostgreSQL: pgxpool's default; SQLite: 4).
	MaxConns int
	// Now is the clock for default timestamps (CreatedAt left zero, DoneAt,
	// the expiry check of BeginIdempotent when CreatedAt is zero). nil means
	// time.Now. Give it the clock the services are given, so that the
	// times the store fills in agree with theirs (cmd/ssi hands the same
	// one to all).
	Now func() time.Time
}

// PoolStats describes the connection pool(s), for metrics.
type PoolStats struct {
	Open      int64 // connections open
	InUse     int64 // connections in use
	Idle      int64 // connections idle
	WaitCount int64 // acquisitions that had to wait, since Open
}

// Store is the storage of ssi. A Store returned by Open is safe for
// concurrent use. Inside InTx, fn receives a Store bound to the transaction,
// which has the same methods and must not be used after fn returns.
type Store struct {
	b   backend
	tx  txn // non-nil when bound to a transaction
	now func() time.Time
}

// Open connects to the database named by dsn and returns a Store. It does
// not migrate; call Migrate.
//
//   - "postgres://…" or "postgresql://…": PostgreSQL through pgxpool.
//   - "sqlite:PATH", "file:PATH" or a plain PATH: SQLite; the file (and its
//     directory) is created when missing. WAL, a busy timeout, foreign keys
//     and BEGIN IMMEDIATE transactions are always on.
//
// Errors: ErrInvalid for a DSN it cannot use, ErrUnavailable when the
// database cannot be reached. The DSN never appears in an error's Detail.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var (
		b   backend
		err error
	)
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		b, err = openPostgres(ctx, dsn, opts)
	default:
		b, err = openSQLite(ctx, dsn, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("opening store: %w", err)
	}
	return &Store{b: b, now: opts.Now}, nil
}

// Backend returns "sqlite" or "postgres".
func (s *Store) Backend() string { return s.b.name() }

// Close closes the pools. It must not be called on a transaction-bound
// Store.
func (s *Store) Close() error {
	if s.tx != nil {
		return ErrInvalid.With("close called inside a transaction", nil)
	}
	return s.b.close()
}

// Ping checks that the database answers; ErrUnavailable otherwise.
func (s *Store) Ping(ctx context.Context) error {
	if s.tx != nil {
		_, err := s.tx.exec(ctx, "SELECT 1")
		return err
	}
	if err := s.b.ping(ctx); err != nil {
		return fmt.Errorf("pinging store: %w", err)
	}
	return nil
}

// Stats returns the pool statistics.
func (s *Store) Stats() PoolStats { return s.b.stats() }

// w is where statements that write go.
func (s *Store) w() querier {
	if s.tx != nil {
		return s.tx
	}
	return s.b.writer()
}

// r is where read-only statements go.
func (s *Store) r() querier {
	if s.tx != nil {
		return s.tx
	}
	return s.b.reader()
}

// InTx runs fn in one transaction: it commits if fn returns nil and rolls
// back if fn returns an error (which InTx returns) or panics (InTx rolls
// back and re-panics). fn's Store runs every method inside the transaction.
// On a Store that is already bound to a transaction, InTx runs fn in that
// same transaction (no savepoint): an error from fn must then be returned
// to the outer InTx so that the whole transaction rolls back.
//
// fn's Store is for fn's goroutine only: a transaction is one connection
// and must not be used concurrently. On SQLite the transaction holds the
// single writer connection: inside fn, use only fn's Store, or the call
// waits for the transaction to end.
func (s *Store) InTx(ctx context.Context, fn func(tx *Store) error) (err error) {
	return s.inTxWith(ctx, nil, func(tx *Store, _ []int64) error { return fn(tx) })
}

// inTxWith is InTx whose transaction starts with the statements first
// (PostgreSQL sends them with its BEGIN, in one round trip); fn gets the
// rows each affected and decides: its error rolls all of it back.
func (s *Store) inTxWith(ctx context.Context, first []stmt, fn func(tx *Store, n []int64) error) (err error) {
	if s.tx != nil {
		var n []int64
		if len(first) > 0 {
			if n, err = s.tx.execAll(ctx, first); err != nil {
				return err
			}
		}
		return fn(s, n)
	}
	t, n, err := s.b.begin(ctx, first)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	done := false
	defer func() {
		if !done {
			// fn panicked: roll back on a fresh context, then re-panic.
			_ = t.rollback(context.WithoutCancel(ctx))
		}
	}()
	ferr := fn(&Store{b: s.b, tx: t, now: s.now}, n)
	done = true
	if ferr != nil {
		if rerr := t.rollback(context.WithoutCancel(ctx)); rerr != nil {
			return fmt.Errorf("%w (and rolling back: %v)", ferr, rerr)
		}
		return ferr
	}
	if err := t.commit(ctx); err != nil {
		return fmt.Errorf("committing transaction: %w", err)
	}
	return nil
}

// need returns ErrInvalid naming the first empty required field.
func need(fields ...string) error {
	for i := 0; i+1 < len(fields); i += 2 {
		if fields[i+1] == "" {
			return ErrInvalid.With(fields[i]+" is required", nil)
		}
	}
	return nil
}
