package store

import (
	"context"
	"errors"
	"io"
	"net"
	"regexp"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/puddle/v2"
	"github.com/ssi-project/ssi/internal/errs"
)

// migrationLockKey is the pg_advisory_xact_lock key that serialises
// Migrate between processes ("ssi-migr" as an int64).
const migrationLockKey int64 = 0x7373692d6d696772

// schemaName restricts Options.Schema to plain identifiers, so it can be
// put into search_path without quoting games.
var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

type pgBackend struct {
	pool *pgxpool.Pool
	q    pgQuerier
}

func openPostgres(ctx context.Context, dsn string, opts Options) (*pgBackend, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// The parse error may quote the DSN (and its password): cause only.
		return nil, ErrInvalid.With("the PostgreSQL DSN is not valid", err)
	}
	// Statements run with planPerCall read their results as text, and pgx
	// reads bytea text only in the hex form: a database or role set to
	// bytea_output = 'escape' (for old clients) must not change that. A
	// startup parameter overrides both.
	cfg.ConnConfig.RuntimeParams["bytea_output"] = "hex"
	if opts.Schema != "" {
		if !schemaName.MatchString(opts.Schema) {
			return nil, ErrInvalid.With("the schema name must be a lowercase identifier", nil)
		}
		cfg.ConnConfig.RuntimeParams["search_path"] = opts.Schema
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = int32(min(opts.MaxConns, 1<<20))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, pgErr(err)
	}
	b := &pgBackend{pool: pool, q: pgQuerier{pool}}
	if err := b.ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return b, nil
}

func (b *pgBackend) name() string    { return "postgres" }
func (b *pgBackend) writer() querier { return b.q }
func (b *pgBackend) reader() querier { return b.q }

func (b *pgBackend) begin(ctx context.Context, first []stmt) (txn, []int64, error) {
	if len(first) == 0 {
		tx, err := b.pool.Begin(ctx)
		if err != nil {
			return nil, nil, pgErr(err)
		}
		return pgTx{pgQuerier{tx}, tx}, nil, nil
	}
	c, err := b.pool.Acquire(ctx)
	if err != nil {
		return nil, nil, pgErr(err)
	}
	t := pgConnTx{pgQuerier{c}, c}
	n, err := t.execAll(ctx, append([]stmt{{sql: "begin"}}, first...))
	if err != nil {
		_ = t.rollback(context.WithoutCancel(ctx))
		return nil, nil, err
	}
	return t, n[1:], nil
}

func (b *pgBackend) lockMigrations(ctx context.Context, tx querier) error {
	_, err := tx.exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLockKey)
	return err
}

func (b *pgBackend) ping(ctx context.Context) error { return pgErr(b.pool.Ping(ctx)) }

func (b *pgBackend) stats() PoolStats {
	s := b.pool.Stat()
	return PoolStats{
		Open:      int64(s.TotalConns()),
		InUse:     int64(s.AcquiredConns()),
		Idle:      int64(s.IdleConns()),
		WaitCount: s.EmptyAcquireCount(),
	}
}

func (b *pgBackend) close() error {
	b.pool.Close()
	return nil
}

// pgErr maps pgx errors onto the sentinels.
func pgErr(err error) error {
	return classify(err, func(err error) *errs.Error {
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound.With("", err)
		}
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			switch {
			case pe.Code == "23505":
				return ErrConflict.With("", err)
			case pe.Code == "23503":
				return ErrNotFound.With("a referenced record does not exist", err)
			case pe.Code == "23502", pe.Code == "23514": // not null, check
				return ErrInvalid.With("the record is missing a required value", err)
			case pe.Code == "SS001":
				return ErrAppendOnly.With("", err)
			case strings.HasPrefix(pe.Code, "22"): // data exception: bad UTF-8, NUL in text, out of range
				return ErrInvalid.With("the record holds a value the database refuses", err)
			case strings.HasPrefix(pe.Code, "08"), // connection exception
				strings.HasPrefix(pe.Code, "53"),       // insufficient resources
				strings.HasPrefix(pe.Code, "57"),       // operator intervention (shutdown, cancel)
				pe.Code == "40001", pe.Code == "40P01": // serialization failure, deadlock: retry
				return ErrUnavailable.With("", err)
			}
			return nil
		}
		var ne net.Error
		var ce *pgconn.ConnectError
		if errors.As(err, &ce) || errors.As(err, &ne) || pgconn.Timeout(err) ||
			errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
			errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
			errors.Is(err, pgx.ErrTxClosed) || errors.Is(err, puddle.ErrClosedPool) {
			return ErrUnavailable.With("", err)
		}
		return nil
	})
}

// pgConn is what *pgxpool.Pool and pgx.Tx share.
type pgConn interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// pgQuerier adapts pgx to querier.
type pgQuerier struct{ c pgConn }

func (q pgQuerier) exec(ctx context.Context, sql string, args ...any) (int64, error) {
	if err := checkArgs(args); err != nil {
		return 0, err
	}
	args = pgPlanMode(args)
	tag, err := q.c.Exec(ctx, sql, args...)
	if err != nil {
		return 0, pgErr(err)
	}
	return tag.RowsAffected(), nil
}

func (q pgQuerier) execAll(ctx context.Context, stmts []stmt) ([]int64, error) {
	b := &pgx.Batch{}
	for _, st := range stmts {
		if err := checkArgs(st.args); err != nil {
			return nil, err
		}
		b.Queue(st.sql, pgPlanMode(st.args)...)
	}
	br := q.c.SendBatch(ctx, b)
	out := make([]int64, len(stmts))
	for i := range stmts {
		tag, err := br.Exec()
		if err != nil {
			_ = br.Close()
			return nil, pgErr(err)
		}
		out[i] = tag.RowsAffected()
	}
	return out, pgErr(br.Close())
}

func (q pgQuerier) queryRowAll(ctx context.Context, stmts []stmt, scan func(int, row) error) error {
	b := &pgx.Batch{}
	for _, st := range stmts {
		if err := checkArgs(st.args); err != nil {
			return err
		}
		b.Queue(st.sql, pgPlanMode(st.args)...)
	}
	br := q.c.SendBatch(ctx, b)
	for i := range stmts {
		if err := scan(i, pgRow{br.QueryRow()}); err != nil {
			_ = br.Close()
			return err
		}
	}
	return pgErr(br.Close())
}

func (q pgQuerier) query(ctx context.Context, sql string, args ...any) (rows, error) {
	if err := checkArgs(args); err != nil {
		return nil, err
	}
	args = pgPlanMode(args)
	rs, err := q.c.Query(ctx, sql, args...)
	if err != nil {
		return nil, pgErr(err)
	}
	return pgRows{rs}, nil
}

func (q pgQuerier) queryRow(ctx context.Context, sql string, args ...any) row {
	if err := checkArgs(args); err != nil {
		return errRow{err}
	}
	args = pgPlanMode(args)
	return pgRow{q.c.QueryRow(ctx, sql, args...)}
}

// pgPlanMode turns a leading planPerCall into pgx's QueryExecModeExec:
// pgx then sends the statement unnamed, and the server plans it with the
// call's values and the tables' sizes at that moment, instead of through
// the connection's prepared-statement cache.
func pgPlanMode(args []any) []any {
	if len(args) == 0 || args[0] != planPerCall {
		return args
	}
	out := make([]any, len(args)) // the caller's slice stays as it was
	out[0] = pgx.QueryExecModeExec
	copy(out[1:], args[1:])
	return out
}

type pgRow struct{ r pgx.Row }

func (r pgRow) Scan(dest ...any) error { return pgErr(r.r.Scan(dest...)) }

type pgRows struct{ rs pgx.Rows }

func (r pgRows) Next() bool             { return r.rs.Next() }
func (r pgRows) Scan(dest ...any) error { return pgErr(r.rs.Scan(dest...)) }
func (r pgRows) Err() error             { return pgErr(r.rs.Err()) }
func (r pgRows) Close()                 { r.rs.Close() }

type pgTx struct {
	pgQuerier
	tx pgx.Tx
}

func (t pgTx) commit(ctx context.Context) error   { return pgErr(t.tx.Commit(ctx)) }
func (t pgTx) rollback(ctx context.Context) error { return pgErr(t.tx.Rollback(ctx)) }

// pgConnTx is a transaction begun by hand on a pooled connection, so
// that its BEGIN goes in one pipeline with its first statements. Commit
// and rollback release the connection; the pool closes one that is still
// in a transaction (a failed commit or rollback).
type pgConnTx struct {
	pgQuerier
	c *pgxpool.Conn
}

func (t pgConnTx) commit(ctx context.Context) error {
	defer t.c.Release()
	tag, err := t.c.Exec(ctx, "commit")
	if err == nil && tag.String() == "ROLLBACK" {
		// A statement failed in the transaction: PostgreSQL rolled it
		// back instead (pgx.ErrTxCommitRollback for pgx's own).
		return ErrUnavailable.With("the transaction was rolled back", pgx.ErrTxCommitRollback)
	}
	return pgErr(err)
}

func (t pgConnTx) rollback(ctx context.Context) error {
	defer t.c.Release()
	_, err := t.c.Exec(ctx, "rollback")
	return pgErr(err)
}

// IsSerializationFailure reports whether err comes from a PostgreSQL
// transaction that lost a serialization race or a deadlock (40001,
// 40P01): it had no effect, and running it again may succeed. Callers
// that do not retry see it as ErrUnavailable.
func IsSerializationFailure(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}
