package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/errs"
)

func TestSQLitePath(t *testing.T) {
	ok := map[string]string{
		"data/ssi.db":          "data/ssi.db",
		"sqlite:data/ssi.db":   "data/ssi.db",
		"sqlite:///abs/ssi.db": "/abs/ssi.db",
		"file:/abs/ssi.db":     "/abs/ssi.db",
	}
	for dsn, want := range ok {
		t.Run(dsn, func(t *testing.T) {
			got, err := sqlitePath(dsn)
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
	for _, dsn := range []string{"", "sqlite:", ":memory:", "file::memory:", "x.db?_pragma=foreign_keys(0)", "x.db#frag", "a\x00b"} {
		t.Run("reject "+dsn, func(t *testing.T) {
			_, err := sqlitePath(dsn)
			assert.ErrorIs(t, err, ErrInvalid)
		})
	}
}

// TestErrorMapping feeds driver errors of both backends through the mapping.
func TestErrorMapping(t *testing.T) {
	pg := func(code string) error {
		return fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: code, Message: "secret SQL text"})
	}
	cases := []struct {
		name string
		err  error
		want *errs.Error
	}{
		{"pg no rows", pgx.ErrNoRows, ErrNotFound},
		{"pg unique", pg("23505"), ErrConflict},
		{"pg foreign key", pg("23503"), ErrNotFound},
		{"pg not null", pg("23502"), ErrInvalid},
		{"pg append only", pg("SS001"), ErrAppendOnly},
		{"pg bad text", pg("22021"), ErrInvalid},
		{"pg admin shutdown", pg("57P01"), ErrUnavailable},
		{"pg connection failure", pg("08006"), ErrUnavailable},
		{"pg too many connections", pg("53300"), ErrUnavailable},
		{"pg deadlock", pg("40P01"), ErrUnavailable},
		{"pg syntax", pg("42601"), ErrInternal},
		{"pg eof", io.ErrUnexpectedEOF, ErrUnavailable},
		{"pg deadline", context.DeadlineExceeded, ErrUnavailable},
		{"unknown", errors.New("something"), ErrInternal},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := pgErr(c.err)
			assert.ErrorIs(t, got, c.want)
			assert.ErrorIs(t, got, c.err, "the cause is kept")
			var e *errs.Error
			require.ErrorAs(t, got, &e)
			assert.NotContains(t, e.Detail, "secret")
		})
	}
	assert.NoError(t, pgErr(nil))
	assert.NoError(t, sqliteErr(nil))
	// An *errs.Error passes through unchanged.
	assert.Same(t, ErrConflict, pgErr(ErrConflict))
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		dsn  string
		opts Options
		want *errs.Error
	}{
		{"in-memory sqlite", ":memory:", Options{}, ErrInvalid},
		{"bad postgres dsn", "postgres://u:p@[::1/x", Options{}, ErrInvalid},
		{"bad schema", "postgres://127.0.0.1:1/x", Options{Schema: "x; DROP TABLE y"}, ErrInvalid},
		{"postgres refused", "postgres://postgres:pw@127.0.0.1:1/x?connect_timeout=2", Options{}, ErrUnavailable},
		{"sqlite unwritable", "/proc/ssi/ssi.db", Options{}, ErrUnavailable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Open(ctx, c.dsn, c.opts)
			require.ErrorIs(t, err, c.want)
			var e *errs.Error
			require.ErrorAs(t, err, &e)
			assert.NotContains(t, e.Detail, "pw", "the DSN never reaches the detail")
			assert.NotContains(t, e.Detail, "/proc")
		})
	}
}

// TestSQLitePersists: data survives closing and reopening the file, the
// way `ssi dev` restarts.
func TestSQLitePersists(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "dir", "ssi.db")
	s, err := Open(ctx, "sqlite:"+path, Options{})
	require.NoError(t, err)
	require.NoError(t, s.Migrate(ctx))
	require.NoError(t, s.CreateTenant(ctx, Tenant{ID: "health", Name: "Health"}))
	require.NoError(t, s.Close())

	_, err = s.GetTenant(ctx, "health")
	assert.ErrorIs(t, err, ErrUnavailable, "a closed store is unavailable")

	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), mustStat(t, filepath.Dir(path)).Mode().Perm())
	assert.Positive(t, info.Size())
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the database file is owner-only")

	s, err = Open(ctx, path, Options{})
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Migrate(ctx))
	got, err := s.GetTenant(ctx, "health")
	require.NoError(t, err)
	assert.Equal(t, "Health", got.Name)

	var mode string
	require.NoError(t, Raw(s).QueryRow(ctx, "PRAGMA journal_mode", nil, &mode))
	assert.Equal(t, "wal", strings.ToLower(mode))
	var fk int64
	require.NoError(t, Raw(s).QueryRow(ctx, "PRAGMA foreign_keys", nil, &fk))
	assert.Equal(t, int64(1), fk)
}

func mustStat(t *testing.T, p string) os.FileInfo {
	t.Helper()
	fi, err := os.Stat(p)
	require.NoError(t, err)
	return fi
}

// TestMigrateConcurrently: two processes (here: two Stores on one
// database) migrating at once both succeed and apply each migration once.
func TestMigrateConcurrently(t *testing.T) {
	ctx := context.Background()
	backends := map[string]func(t *testing.T) (string, Options){
		"sqlite": func(t *testing.T) (string, Options) {
			return filepath.Join(t.TempDir(), "ssi.db"), Options{}
		},
		"postgres": func(t *testing.T) (string, Options) {
			dsn := os.Getenv("SSI_TEST_POSTGRES")
			if dsn == "" {
				if os.Getenv("CI") != "" {
					t.Fatal("SSI_TEST_POSTGRES is empty in CI")
				}
				t.Skip("SSI_TEST_POSTGRES is empty")
			}
			admin, err := Open(ctx, dsn, Options{})
			require.NoError(t, err)
			schema := fmt.Sprintf("ssitest_migrate_%d", time.Now().UnixNano())
			_, err = Raw(admin).Exec(ctx, "CREATE SCHEMA "+schema)
			require.NoError(t, err)
			t.Cleanup(func() {
				_, _ = Raw(admin).Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
				_ = admin.Close()
			})
			return dsn, Options{Schema: schema}
		},
	}
	for name, setup := range backends {
		t.Run(name, func(t *testing.T) {
			dsn, opts := setup(t)
			stores := make([]*Store, 4)
			for i := range stores {
				s, err := Open(ctx, dsn, opts)
				require.NoError(t, err)
				t.Cleanup(func() { _ = s.Close() })
				stores[i] = s
			}
			errs := make([]error, len(stores))
			var wg sync.WaitGroup
			for i, s := range stores {
				wg.Go(func() { errs[i] = s.Migrate(ctx) })
			}
			wg.Wait()
			for _, err := range errs {
				assert.NoError(t, err)
			}
			var n int64
			require.NoError(t, Raw(stores[0]).QueryRow(ctx, "SELECT COUNT(*) FROM schema_migrations", nil, &n))
			st, err := stores[0].MigrationStatus(ctx)
			require.NoError(t, err)
			assert.Equal(t, int64(len(st)), n, "each migration recorded once")

			// A database migrated by a newer binary is left alone.
			_, err = Raw(stores[0]).Exec(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 1)")
			require.NoError(t, err)
			assert.ErrorIs(t, stores[1].Migrate(ctx), ErrConflict)
		})
	}
}

// TestMigrationStatusFresh: on an empty database nothing is applied.
func TestMigrationStatusFresh(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "ssi.db"), Options{})
	require.NoError(t, err)
	defer s.Close()
	st, err := s.MigrationStatus(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, st)
	for _, m := range st {
		assert.False(t, m.Applied)
		assert.True(t, m.AppliedAt.IsZero())
	}
	require.NoError(t, s.Migrate(ctx))
	st, err = s.MigrationStatus(ctx)
	require.NoError(t, err)
	assert.True(t, st[0].Applied)
}

func FuzzTruncateUTF8(f *testing.F) {
	f.Add("ledger unreachable", 2048) // plain ASCII, under the cap
	f.Add("\xff\xfe", 1)              // invalid UTF-8 only
	f.Add("a\x00b", 2)                // NUL, which PostgreSQL TEXT refuses
	f.Add("héllo wörld", 2)           // cut would split a two-byte rune
	f.Add("日本語", 4)                   // cut inside a three-byte rune
	f.Add("", 0)                      // empty
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 0 || n > 1<<16 {
			return
		}
		got := truncateUTF8(s, n)
		if len(got) > n || !utf8.ValidString(got) || strings.IndexByte(got, 0) >= 0 {
			t.Fatalf("truncateUTF8(%q, %d) = %q", s, n, got)
		}
		if checkArgs([]any{got}) != nil {
			t.Fatalf("checkArgs refuses truncateUTF8's output %q", got)
		}
	})
}

// TestSQLiteNoLockUpgradeDeadlock: two Stores on one file (two processes,
// each with its own writer connection) run read-then-write transactions at
// once. With deferred transactions SQLite would answer SQLITE_BUSY to the
// lock upgrade without waiting; BEGIN IMMEDIATE makes them queue instead.
func TestSQLiteNoLockUpgradeDeadlock(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ssi.db")
	a, err := Open(ctx, path, Options{})
	require.NoError(t, err)
	defer a.Close()
	require.NoError(t, a.Migrate(ctx))
	b, err := Open(ctx, path, Options{})
	require.NoError(t, err)
	defer b.Close()

	const n = 20
	errs := make([]error, 2*n)
	var wg sync.WaitGroup
	for i := range 2 * n {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			errs[i] = s.InTx(ctx, func(tx *Store) error {
				if _, err := tx.OutboxDepth(ctx, "anchor"); err != nil {
					return err
				}
				return tx.EnqueueOutbox(ctx, OutboxItem{Topic: "anchor", Key: fmt.Sprint(i)})
			})
		})
	}
	wg.Wait()
	for _, err := range errs {
		assert.NoError(t, err)
	}
	depth, err := a.OutboxDepth(ctx, "anchor")
	require.NoError(t, err)
	assert.Equal(t, int64(2*n), depth)
}

// TestPostgresByteaOutput: a server, database or DSN that sets
// bytea_output to escape does not reach the store's connections, whose
// statements planned per call read bytea results as text (found in
// review: with escape, every token request failed to scan).
func TestPostgresByteaOutput(t *testing.T) {
	dsn := os.Getenv("SSI_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("SSI_TEST_POSTGRES is empty in CI")
		}
		t.Skip("SSI_TEST_POSTGRES is empty")
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	ctx := context.Background()
	s, err := Open(ctx, dsn+sep+"bytea_output=escape", Options{MaxConns: 2})
	require.NoError(t, err)
	defer s.Close()
	var setting string
	require.NoError(t, Raw(s).QueryRow(ctx, "SHOW bytea_output", nil, &setting))
	assert.Equal(t, "hex", setting)
	var got []byte
	require.NoError(t, Raw(s).QueryRow(ctx, "SELECT $1::bytea", []any{planPerCall, []byte{0, 1, 0xfe}}, &got), "a bytea read as text")
	assert.Equal(t, []byte{0, 1, 0xfe}, got)
}

// TestPostgresPipelinedBegin: a transaction begun with its first
// statements (inTxWith, BEGIN in their round trip) commits them, rolls
// them back when fn fails, reports a commit that PostgreSQL turned into a
// rollback (a statement failed inside), and returns its connection to the
// pool idle every time.
func TestPostgresPipelinedBegin(t *testing.T) {
	dsn := os.Getenv("SSI_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("SSI_TEST_POSTGRES is empty")
	}
	ctx := context.Background()
	s, err := Open(ctx, dsn, Options{MaxConns: 1}) // one connection: a leaked transaction would show
	require.NoError(t, err)
	defer s.Close()
	tbl := fmt.Sprintf("pipelined_%d", time.Now().UnixNano())
	_, err = s.w().exec(ctx, "CREATE TABLE "+tbl+" (v BIGINT PRIMARY KEY)")
	require.NoError(t, err)
	defer func() { _, _ = s.w().exec(ctx, "DROP TABLE "+tbl) }()
	ins := func(v int) stmt {
		return stmt{"INSERT INTO " + tbl + " (v) VALUES ($1) ON CONFLICT DO NOTHING", []any{v}}
	}
	count := func() int {
		var n int
		require.NoError(t, s.r().queryRow(ctx, "SELECT count(*) FROM "+tbl).Scan(&n))
		return n
	}

	require.NoError(t, s.inTxWith(ctx, []stmt{ins(1), ins(1), ins(2)}, func(tx *Store, n []int64) error {
		assert.Equal(t, []int64{1, 0, 1}, n, "the rows each statement affected")
		return nil
	}))
	assert.Equal(t, 2, count())
	refused := errors.New("refused")
	err = s.inTxWith(ctx, []stmt{ins(3)}, func(tx *Store, n []int64) error { return refused })
	require.ErrorIs(t, err, refused)
	assert.Equal(t, 2, count(), "fn's error rolls the first statements back")
	err = s.inTxWith(ctx, []stmt{ins(4)}, func(tx *Store, n []int64) error {
		_, err := tx.w().exec(ctx, "SELECT 1/0")
		require.Error(t, err)
		return nil // ignored: the commit must not pass for a success
	})
	require.ErrorIs(t, err, ErrUnavailable)
	assert.Equal(t, 2, count(), "a commit turned rollback")
	err = s.inTxWith(ctx, []stmt{ins(5), {"SELECT 1/0", nil}}, func(*Store, []int64) error {
		t.Fatal("fn runs only when the first statements ran")
		return nil
	})
	require.Error(t, err)
	assert.Equal(t, 2, count(), "a failed first statement leaves nothing")
}
