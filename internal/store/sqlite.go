package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/ssi-project/ssi/internal/errs"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteBackend has one writer connection (every write and every
// transaction, BEGIN IMMEDIATE, so a transaction never has to upgrade a
// read lock and cannot deadlock) and a pool of read-only connections, which
// WAL lets run next to the writer.
type sqliteBackend struct {
	wdb, rdb *sql.DB
	w, r     sqlQuerier
}

// sqlitePath turns the DSN forms of Open into a file path.
func sqlitePath(dsn string) (string, error) {
	p := dsn
	for _, prefix := range []string{"sqlite://", "sqlite:", "file:"} {
		if strings.HasPrefix(p, prefix) {
			p = strings.TrimPrefix(p, prefix)
			break
		}
	}
	switch {
	case p == "":
		return "", ErrInvalid.With("the SQLite path is empty", nil)
	case strings.ContainsAny(p, "?#\x00"), p == ":memory:", strings.HasPrefix(p, ":"):
		// A query string would be parsed as driver options, and an in-memory
		// database would differ per connection.
		return "", ErrInvalid.With("the SQLite DSN must be a plain file path", nil)
	}
	return p, nil
}

func openSQLite(ctx context.Context, dsn string, opts Options) (*sqliteBackend, error) {
	path, err := sqlitePath(dsn)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, ErrUnavailable.With("the SQLite directory cannot be created", err)
	}
	// Create the file owner-only before SQLite does (with the umask's
	// mode); SQLite gives the -wal and -shm files the same mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, ErrUnavailable.With("the SQLite file cannot be created", err)
	}
	_ = f.Close()
	// synchronous(FULL): a committed transaction survives a power loss,
	// which record-before-sign and single-use values rely on.
	common := "?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)&_txlock=immediate"
	wdb, err := sql.Open("sqlite", path+common+"&_pragma=journal_mode(WAL)")
	if err != nil {
		return nil, ErrInvalid.With("the SQLite DSN is not usable", err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)
	// Open the writer first: it switches the file to WAL before any reader
	// connects.
	if err := wdb.PingContext(ctx); err != nil {
		_ = wdb.Close()
		return nil, ErrUnavailable.With("the SQLite database cannot be opened", err)
	}
	rdb, err := sql.Open("sqlite", path+common+"&_pragma=query_only(1)")
	if err != nil {
		_ = wdb.Close()
		return nil, ErrInvalid.With("the SQLite DSN is not usable", err)
	}
	n := opts.MaxConns
	if n <= 0 {
		n = 4
	}
	rdb.SetMaxOpenConns(n)
	rdb.SetMaxIdleConns(n)
	b := &sqliteBackend{wdb: wdb, rdb: rdb, w: sqlQuerier{wdb}, r: sqlQuerier{rdb}}
	if err := b.ping(ctx); err != nil {
		_ = b.close()
		return nil, err
	}
	return b, nil
}

func (b *sqliteBackend) name() string    { return "sqlite" }
func (b *sqliteBackend) writer() querier { return b.w }
func (b *sqliteBackend) reader() querier { return b.r }

func (b *sqliteBackend) begin(ctx context.Context, first []stmt) (txn, []int64, error) {
	tx, err := b.wdb.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, sqliteErr(err)
	}
	t := sqlTx{sqlQuerier{tx}, tx}
	n, err := t.execAll(ctx, first)
	if err != nil {
		_ = t.rollback(context.WithoutCancel(ctx))
		return nil, nil, err
	}
	return t, n, nil
}

// lockMigrations needs nothing: the transaction is BEGIN IMMEDIATE, which
// takes SQLite's write lock for the whole file, across processes.
func (b *sqliteBackend) lockMigrations(context.Context, querier) error { return nil }

func (b *sqliteBackend) ping(ctx context.Context) error {
	if err := b.wdb.PingContext(ctx); err != nil {
		return sqliteErr(err)
	}
	return sqliteErr(b.rdb.PingContext(ctx))
}

func (b *sqliteBackend) stats() PoolStats {
	var p PoolStats
	for _, db := range []*sql.DB{b.wdb, b.rdb} {
		s := db.Stats()
		p.Open += int64(s.OpenConnections)
		p.InUse += int64(s.InUse)
		p.Idle += int64(s.Idle)
		p.WaitCount += s.WaitCount
	}
	return p
}

func (b *sqliteBackend) close() error {
	return errors.Join(b.rdb.Close(), b.wdb.Close())
}

// sqliteErr maps modernc errors onto the sentinels.
func sqliteErr(err error) error {
	return classify(err, func(err error) *errs.Error {
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound.With("", err)
		}
		// database/sql does not export its "database is closed" error.
		if errors.Is(err, sql.ErrConnDone) || errors.Is(err, sql.ErrTxDone) || err.Error() == "sql: database is closed" {
			return ErrUnavailable.With("", err)
		}
		var se *sqlite.Error
		if !errors.As(err, &se) {
			return nil
		}
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return ErrConflict.With("", err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return ErrNotFound.With("a referenced record does not exist", err)
		case sqlite3.SQLITE_CONSTRAINT_NOTNULL, sqlite3.SQLITE_CONSTRAINT_CHECK:
			return ErrInvalid.With("the record is missing a required value", err)
		case sqlite3.SQLITE_CONSTRAINT_TRIGGER:
			if strings.Contains(se.Error(), "audit_append_only") {
				return ErrAppendOnly.With("", err)
			}
		}
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN,
			sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY:
			return ErrUnavailable.With("", err)
		}
		return nil
	})
}

// sqlConn is what *sql.DB and *sql.Tx share.
type sqlConn interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// sqlQuerier adapts database/sql to querier.
type sqlQuerier struct{ c sqlConn }

func (q sqlQuerier) exec(ctx context.Context, query string, args ...any) (int64, error) {
	if err := checkArgs(args); err != nil {
		return 0, err
	}
	res, err := q.c.ExecContext(ctx, query, withoutPlanMode(args)...)
	if err != nil {
		return 0, sqliteErr(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, sqliteErr(err)
	}
	return n, nil
}

func (q sqlQuerier) execAll(ctx context.Context, stmts []stmt) ([]int64, error) {
	out := make([]int64, len(stmts))
	for i, st := range stmts {
		n, err := q.exec(ctx, st.sql, st.args...)
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

func (q sqlQuerier) queryRowAll(ctx context.Context, stmts []stmt, scan func(int, row) error) error {
	for i, st := range stmts {
		if err := scan(i, q.queryRow(ctx, st.sql, st.args...)); err != nil {
			return err
		}
	}
	return nil
}

func (q sqlQuerier) query(ctx context.Context, query string, args ...any) (rows, error) {
	if err := checkArgs(args); err != nil {
		return nil, err
	}
	rs, err := q.c.QueryContext(ctx, query, withoutPlanMode(args)...)
	if err != nil {
		return nil, sqliteErr(err)
	}
	return sqlRows{rs}, nil
}

func (q sqlQuerier) queryRow(ctx context.Context, query string, args ...any) row {
	if err := checkArgs(args); err != nil {
		return errRow{err}
	}
	return sqlRow{q.c.QueryRowContext(ctx, query, withoutPlanMode(args)...)}
}

type sqlRow struct{ r *sql.Row }

func (r sqlRow) Scan(dest ...any) error { return sqliteErr(r.r.Scan(dest...)) }

type sqlRows struct{ rs *sql.Rows }

func (r sqlRows) Next() bool             { return r.rs.Next() }
func (r sqlRows) Scan(dest ...any) error { return sqliteErr(r.rs.Scan(dest...)) }
func (r sqlRows) Err() error             { return sqliteErr(r.rs.Err()) }
func (r sqlRows) Close()                 { _ = r.rs.Close() }

type sqlTx struct {
	sqlQuerier
	tx *sql.Tx
}

func (t sqlTx) commit(context.Context) error   { return sqliteErr(t.tx.Commit()) }
func (t sqlTx) rollback(context.Context) error { return sqliteErr(t.tx.Rollback()) }
