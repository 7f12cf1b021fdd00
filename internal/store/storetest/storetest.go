package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/store"
)

// PostgresEnv names the environment variable holding the DSN of the
// PostgreSQL server the tests may use.
const PostgresEnv = "SSI_TEST_POSTGRES"

// Run runs the conformance suite. open must return a fresh, migrated,
// empty store for each call, and close it in t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) *store.Store) {
	t.Helper()
	var cases []testCase
	cases = append(cases, basicCases()...)
	cases = append(cases, flowCases()...)
	cases = append(cases, concurrencyCases()...)
	cases = append(cases, registryCases()...)
	cases = append(cases, issuerCases()...)
	cases = append(cases, rateLimitCases()...)
	cases = append(cases, verifierCases()...)
	cases = append(cases, statusListCases()...)
	cases = append(cases, holderCases()...)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, open(t)) })
	}
}

// testCase is one conformance test; it gets a fresh store.
type testCase struct {
	name string
	fn   func(t *testing.T, s *store.Store)
}

// SQLite returns a fresh, migrated store in a file under t.TempDir(),
// closed in t.Cleanup. It has the signature Run wants; OpenSQLite is the
// same for benchmarks.
func SQLite(t *testing.T) *store.Store {
	t.Helper()
	return OpenSQLite(t)
}

// Postgres returns a fresh, migrated store in a new schema with a random
// name on the server named by $SSI_TEST_POSTGRES; the schema is dropped
// (CASCADE) in t.Cleanup. Without the variable the test is skipped, unless
// $CI is set: then it fails, because CI must never skip PostgreSQL.
// OpenPostgres is the same for benchmarks.
func Postgres(t *testing.T) *store.Store {
	t.Helper()
	return OpenPostgres(t)
}

// OpenSQLite is SQLite for any testing.TB.
func OpenSQLite(t testing.TB) *store.Store {
	t.Helper()
	return SharedSQLite(t, 1)[0]
}

// SharedSQLite returns n stores on one fresh, migrated SQLite file, each
// with its own connections, as n processes on one file would have; they
// are closed in t.Cleanup.
func SharedSQLite(t testing.TB, n int) []*store.Store {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ssi.db")
	out := make([]*store.Store, n)
	for i := range out {
		s, err := store.Open(ctx, path, store.Options{})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		out[i] = s
	}
	require.NoError(t, out[0].Migrate(ctx))
	return out
}

// OpenPostgres is Postgres for any testing.TB.
func OpenPostgres(t testing.TB) *store.Store {
	t.Helper()
	return SharedPostgres(t, 1)[0]
}

// SharedPostgres returns n stores on one fresh, migrated schema, each with
// its own pool, as n instances of a service behind a load balancer would
// have; skipped (or failed, in CI) without $SSI_TEST_POSTGRES like
// Postgres. The stores are closed, and the schema dropped, in t.Cleanup.
func SharedPostgres(t testing.TB, n int) []*store.Store {
	t.Helper()
	dsn := PostgresDSN(t)
	ctx := context.Background()
	admin, err := store.Open(ctx, dsn, store.Options{MaxConns: 2})
	require.NoError(t, err, "connecting to %s", PostgresEnv)
	var b [8]byte
	_, _ = rand.Read(b[:])
	schema := "ssitest_" + hex.EncodeToString(b[:])
	_, err = store.Raw(admin).Exec(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := store.Raw(admin).Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		_ = admin.Close()
		if err != nil {
			t.Errorf("dropping test schema: %v", err)
		}
	})
	out := make([]*store.Store, n)
	for i := range out {
		s, err := store.Open(ctx, dsn, store.Options{Schema: schema, MaxConns: 8})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() }) // runs before the drop (LIFO)
		out[i] = s
	}
	require.NoError(t, out[0].Migrate(ctx))
	return out
}

// PostgresDSN returns $SSI_TEST_POSTGRES, skipping the test when it is
// empty, or failing it when $CI is also set.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(PostgresEnv)
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is empty, and CI must not skip the PostgreSQL tests", PostgresEnv)
		}
		t.Skipf("%s is empty: skipping the PostgreSQL tests", PostgresEnv)
	}
	return dsn
}

// Within runs fn in its own goroutine and waits at most d for it. If fn
// has not returned by then, the test fails with the stacks of all
// goroutines, so a deadlock is diagnosable instead of a hung test binary.
// fn must not call t.FailNow (require); use assert or return values.
func Within(t testing.TB, d time.Duration, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Fatalf("not finished within %v (deadlock?); goroutines:\n%s", d, buf)
	}
}
