package storetest

import (
	"context"
	"crypto/sha256"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/errs"
	"github.com/ssi-project/ssi/internal/store"
)

// t0 is a fixed instant with microseconds, to prove exact round trips.
var t0 = time.Date(2026, 11, 22, 10, 30, 15, 123456000, time.UTC)

func basicCases() []testCase {
	return []testCase{
		{"Backend", testBackend},
		{"Migrations", testMigrations},
		{"Tenants", testTenants},
		{"APIKeys", testAPIKeys},
		{"Audit", testAudit},
		{"AuditAppendOnly", testAuditAppendOnly},
		{"CancelledContext", testCancelledContext},
		{"Invalid", testInvalid},
	}
}

// assertCode checks that err is the sentinel want, and that its Detail
// leaks nothing of the driver.
func assertCode(t *testing.T, want *errs.Error, err error, msgAndArgs ...any) {
	t.Helper()
	if !assert.ErrorIs(t, err, want, msgAndArgs...) {
		return
	}
	var e *errs.Error
	require.ErrorAs(t, err, &e)
	d := strings.ToLower(e.Detail)
	for _, bad := range []string{"sql", "pgx", "pgconn", "constraint", "unique", "select", "insert", "/", ".go:"} {
		assert.NotContains(t, d, bad, "the error detail leaks driver text")
	}
}

func testBackend(t *testing.T, s *store.Store) {
	ctx := context.Background()
	assert.Contains(t, []string{"sqlite", "postgres"}, s.Backend())
	require.NoError(t, s.Ping(ctx))
	st := s.Stats()
	assert.Positive(t, st.Open, "a pinged store has an open connection")
	assert.GreaterOrEqual(t, st.Open, st.InUse+st.Idle)
}

func testMigrations(t *testing.T, s *store.Store) {
	ctx := context.Background()
	before, err := s.MigrationStatus(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, before)
	for i, m := range before {
		assert.Equal(t, i+1, m.Version)
		assert.NotEmpty(t, m.Name)
		assert.True(t, m.Applied, "migration %d", m.Version)
		assert.False(t, m.AppliedAt.IsZero())
	}
	assert.Equal(t, "foundation", before[0].Name)
	// Migrate is idempotent: a second run applies nothing and records
	// nothing new.
	require.NoError(t, s.Migrate(ctx))
	after, err := s.MigrationStatus(ctx)
	require.NoError(t, err)
	assert.Equal(t, before, after)
}

func testTenants(t *testing.T, s *store.Store) {
	ctx := context.Background()
	health := store.Tenant{ID: "health", Name: "Ministry of Health", Kind: "agency", CreatedAt: t0}
	venue := store.Tenant{ID: "arena", Name: "Arena Ltd", Kind: "venue-operator", CreatedAt: t0.Add(time.Hour)}
	require.NoError(t, s.CreateTenant(ctx, health))
	require.NoError(t, s.CreateTenant(ctx, venue))

	got, err := s.GetTenant(ctx, "health")
	require.NoError(t, err)
	assert.Equal(t, health, got)

	assertCode(t, store.ErrConflict, s.CreateTenant(ctx, store.Tenant{ID: "health", Name: "other"}))
	_, err = s.GetTenant(ctx, "nobody")
	assertCode(t, store.ErrNotFound, err)

	all, err := s.ListTenants(ctx)
	require.NoError(t, err)
	assert.Equal(t, []store.Tenant{venue, health}, all, "ordered by ID")

	// A zero CreatedAt is set by the store.
	require.NoError(t, s.CreateTenant(ctx, store.Tenant{ID: "reg", Kind: "registry-operator"}))
	reg, err := s.GetTenant(ctx, "reg")
	require.NoError(t, err)
	assert.False(t, reg.CreatedAt.IsZero())
	assert.Equal(t, time.UTC, reg.CreatedAt.Location())
}

func testAPIKeys(t *testing.T, s *store.Store) {
	ctx := context.Background()
	require.NoError(t, s.CreateTenant(ctx, store.Tenant{ID: "health", CreatedAt: t0}))
	sum := sha256.Sum256([]byte("the secret part"))
	k := store.APIKey{ID: "k1", TenantID: "health", Hash: sum[:],
		Scopes: []string{"credentials:issue", "credentials:revoke"}, CreatedAt: t0}
	require.NoError(t, s.CreateAPIKey(ctx, k))

	got, err := s.GetAPIKey(ctx, "k1")
	require.NoError(t, err)
	assert.Equal(t, k, got)

	assertCode(t, store.ErrConflict, s.CreateAPIKey(ctx, k))
	assertCode(t, store.ErrNotFound, s.CreateAPIKey(ctx, store.APIKey{ID: "k2", TenantID: "nobody", Hash: sum[:]}))
	_, err = s.GetAPIKey(ctx, "k2")
	assertCode(t, store.ErrNotFound, err)

	// No scopes round-trips as nil.
	k3 := store.APIKey{ID: "k3", TenantID: "health", Hash: []byte{1}, CreatedAt: t0}
	require.NoError(t, s.CreateAPIKey(ctx, k3))
	list, err := s.ListAPIKeys(ctx, "health")
	require.NoError(t, err)
	assert.Equal(t, []store.APIKey{k, k3}, list)
	none, err := s.ListAPIKeys(ctx, "nobody")
	require.NoError(t, err)
	assert.Empty(t, none)

	// Revocation: the first time sticks, a second revocation is a no-op.
	require.NoError(t, s.RevokeAPIKey(ctx, "k1", t0.Add(time.Minute)))
	require.NoError(t, s.RevokeAPIKey(ctx, "k1", t0.Add(time.Hour)))
	got, err = s.GetAPIKey(ctx, "k1")
	require.NoError(t, err)
	assert.Equal(t, t0.Add(time.Minute), got.RevokedAt)
	assertCode(t, store.ErrNotFound, s.RevokeAPIKey(ctx, "nobody", t0))

	// The raw row: the hash column holds exactly the hash.
	var raw []byte
	require.NoError(t, store.Raw(s).QueryRow(ctx, "SELECT hash FROM api_keys WHERE id = $1", []any{"k1"}, &raw))
	assert.Equal(t, sum[:], raw)
}

func testAudit(t *testing.T, s *store.Store) {
	ctx := context.Background()
	var want []store.AuditRecord
	for i := range 5 {
		a := store.AuditRecord{
			Time: t0.Add(time.Duration(i) * time.Second), TenantID: "health", Actor: "k1",
			Action: "credential.revoke", Target: "cred-" + string(rune('a'+i)), RequestID: "req",
			Outcome: "ok",
		}
		if i%2 == 0 {
			a.Details = []byte(`{"reason":"test"}`)
		}
		id, err := s.AppendAudit(ctx, a)
		require.NoError(t, err)
		if len(want) > 0 {
			assert.Greater(t, id, want[0].ID, "IDs increase")
		}
		a.ID = id
		want = append([]store.AuditRecord{a}, want...) // newest first
	}
	_, err := s.AppendAudit(ctx, store.AuditRecord{TenantID: "other", Action: "tenant.create", Outcome: "ok"})
	require.NoError(t, err)

	got, err := s.ListAudit(ctx, store.AuditFilter{TenantID: "health"})
	require.NoError(t, err)
	assert.Equal(t, want, got, "exact round trip, newest first, one tenant only")

	page1, err := s.ListAudit(ctx, store.AuditFilter{TenantID: "health", Limit: 2})
	require.NoError(t, err)
	assert.Equal(t, want[:2], page1)
	page2, err := s.ListAudit(ctx, store.AuditFilter{TenantID: "health", Limit: 2, BeforeID: page1[1].ID})
	require.NoError(t, err)
	assert.Equal(t, want[2:4], page2)

	other, err := s.ListAudit(ctx, store.AuditFilter{TenantID: "other"})
	require.NoError(t, err)
	require.Len(t, other, 1)
	assert.False(t, other[0].Time.IsZero(), "a zero Time is set by the store")
}

func testAuditAppendOnly(t *testing.T, s *store.Store) {
	ctx := context.Background()
	id, err := s.AppendAudit(ctx, store.AuditRecord{Time: t0, TenantID: "health", Action: "key.create", Outcome: "ok"})
	require.NoError(t, err)
	stmts := []string{
		"UPDATE audit SET outcome = 'denied'",
		"UPDATE audit SET tenant_id = 'other' WHERE id = " + strconv.FormatInt(id, 10),
		"DELETE FROM audit",
		"DELETE FROM audit WHERE id = " + strconv.FormatInt(id, 10),
	}
	if s.Backend() == "postgres" {
		stmts = append(stmts, "TRUNCATE audit")
	}
	for _, q := range stmts {
		t.Run(q, func(t *testing.T) {
			_, err := store.Raw(s).Exec(ctx, q)
			assertCode(t, store.ErrAppendOnly, err)
		})
	}
	// Inside a transaction too, and the record is unchanged afterwards.
	err = s.InTx(ctx, func(tx *store.Store) error {
		_, err := store.Raw(tx).Exec(ctx, "DELETE FROM audit")
		return err
	})
	assertCode(t, store.ErrAppendOnly, err)
	got, err := s.ListAudit(ctx, store.AuditFilter{TenantID: "health"})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "ok", got[0].Outcome)
}

func testCancelledContext(t *testing.T, s *store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.GetTenant(ctx, "health")
	assertCode(t, store.ErrUnavailable, err)
	assert.ErrorIs(t, err, context.Canceled, "the cause is kept for the log")
	assertCode(t, store.ErrUnavailable, s.CreateTenant(ctx, store.Tenant{ID: "x"}))
	assertCode(t, store.ErrUnavailable, s.InTx(ctx, func(*store.Store) error { return nil }))
}

func testInvalid(t *testing.T, s *store.Store) {
	ctx := context.Background()
	_, _, idemErr := s.BeginIdempotent(ctx, store.IdempotencyRecord{TenantID: "t", ExpiresAt: t0})
	_, auditErr := s.AppendAudit(ctx, store.AuditRecord{TenantID: "t"})
	cases := map[string]error{
		"tenant without ID":         s.CreateTenant(ctx, store.Tenant{Name: "x"}),
		"key without tenant":        s.CreateAPIKey(ctx, store.APIKey{ID: "k", Hash: []byte{1}}),
		"key without hash":          s.CreateAPIKey(ctx, store.APIKey{ID: "k", TenantID: "t"}),
		"revoke at zero time":       s.RevokeAPIKey(ctx, "k", time.Time{}),
		"audit without action":      auditErr,
		"idempotency without key":   idemErr,
		"single use without value":  s.PutSingleUse(ctx, store.SingleUse{Kind: "c_nonce", ExpiresAt: t0}),
		"single use without expiry": s.PutSingleUse(ctx, store.SingleUse{Kind: "c_nonce", Value: "v"}),
		"outbox without key":        s.EnqueueOutbox(ctx, store.OutboxItem{Topic: "anchor"}),
	}
	for name, err := range cases {
		t.Run(name, func(t *testing.T) { assertCode(t, store.ErrInvalid, err) })
	}
}
