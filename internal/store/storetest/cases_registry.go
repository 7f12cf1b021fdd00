package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/store"
)

// registryCases cover the did_versions and registry_records tables
// (migration 0002, internal/store/registry.go).
func registryCases() []testCase {
	return []testCase{
		{"DIDVersions", testDIDVersions},
		{"RecordVersions", testRecordVersions},
		{"ConcurrentDIDVersion", testConcurrentDIDVersion},
	}
}

func didVersion(did string, v uint64, at time.Time) store.DIDVersion {
	return store.DIDVersion{
		DID: did, Version: v, TenantID: "registry",
		Document: []byte(`{"id":"` + did + `"}`), State: []byte(`{"v":1}`),
		SHA256: "ab", Operation: "eyJ.op.sig", CreatedAt: at,
	}
}

func testDIDVersions(t *testing.T, s *store.Store) {
	ctx := context.Background()
	require.NoError(t, s.CreateTenant(ctx, store.Tenant{ID: "registry", CreatedAt: t0}))
	a1 := didVersion("did:psr:a", 1, t0)
	a2 := didVersion("did:psr:a", 2, t0.Add(time.Hour))
	b1 := didVersion("did:psr:b", 1, t0)
	for _, v := range []store.DIDVersion{a1, a2, b1} {
		require.NoError(t, s.PutDIDVersion(ctx, v))
	}
	assertCode(t, store.ErrConflict, s.PutDIDVersion(ctx, a2), "a version is written once")
	orphan := didVersion("did:psr:c", 1, t0)
	orphan.TenantID = "nobody"
	assertCode(t, store.ErrNotFound, s.PutDIDVersion(ctx, orphan))
	assertCode(t, store.ErrInvalid, s.PutDIDVersion(ctx, didVersion("did:psr:c", 0, t0)))

	got, err := s.GetDIDVersion(ctx, "did:psr:a", 1)
	require.NoError(t, err)
	assert.Equal(t, a1, got, "exact round trip")
	got, err = s.GetDIDVersion(ctx, "did:psr:a", 0)
	require.NoError(t, err)
	assert.Equal(t, a2, got, "version 0 is the latest")
	_, err = s.GetDIDVersion(ctx, "did:psr:a", 3)
	assertCode(t, store.ErrNotFound, err)

	got, err = s.GetDIDVersionAt(ctx, "did:psr:a", t0.Add(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, uint64(1), got.Version)
	got, err = s.GetDIDVersionAt(ctx, "did:psr:a", t0.Add(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, uint64(2), got.Version, "in force from its creation time")
	_, err = s.GetDIDVersionAt(ctx, "did:psr:a", t0.Add(-time.Microsecond))
	assertCode(t, store.ErrNotFound, err)

	list, err := s.ListDIDs(ctx, "registry")
	require.NoError(t, err)
	assert.Equal(t, []store.DIDVersion{a2, b1}, list, "latest versions, ordered by DID")
	list, err = s.ListDIDs(ctx, "nobody")
	require.NoError(t, err)
	assert.Empty(t, list)
}

func testRecordVersions(t *testing.T, s *store.Store) {
	ctx := context.Background()
	require.NoError(t, s.CreateTenant(ctx, store.Tenant{ID: "registry", CreatedAt: t0}))
	require.NoError(t, s.CreateTenant(ctx, store.Tenant{ID: "other", CreatedAt: t0}))
	rec := func(id string, v uint64, tenant, subject string) store.RecordVersion {
		return store.RecordVersion{Kind: "accreditation", ID: id, Version: v, TenantID: tenant,
			SubjectDID: subject, Body: []byte(`{"v":` + string(rune('0'+v)) + `}`), SHA256: "cd",
			EffectiveAt: t0.Add(time.Duration(v) * time.Hour)}
	}
	x1, x2 := rec("x", 1, "registry", "did:psr:issuer"), rec("x", 2, "registry", "did:psr:issuer")
	y1 := rec("y", 1, "other", "did:psr:other")
	// y2 is written by another tenant (an operator deciding on it): y
	// still belongs to "other", whose record it is.
	y2 := rec("y", 2, "registry", "did:psr:other")
	z1 := rec("z", 1, "registry", "did:psr:issuer")
	rp := store.RecordVersion{Kind: "rp-registration", ID: "x", Version: 1, TenantID: "registry",
		SubjectDID: "did:psr:issuer", Body: []byte("{}"), SHA256: "ef", EffectiveAt: t0}
	for _, v := range []store.RecordVersion{x1, x2, y1, y2, z1, rp} {
		require.NoError(t, s.PutRecordVersion(ctx, v))
	}
	assertCode(t, store.ErrConflict, s.PutRecordVersion(ctx, x1))
	assertCode(t, store.ErrNotFound, s.PutRecordVersion(ctx, rec("w", 1, "nobody", "did:psr:w")))
	assertCode(t, store.ErrInvalid, s.PutRecordVersion(ctx, rec("w", 1, "registry", "")))

	got, err := s.GetRecordVersion(ctx, "accreditation", "x", 1)
	require.NoError(t, err)
	assert.Equal(t, x1, got, "exact round trip")
	got, err = s.GetRecordVersion(ctx, "accreditation", "x", 0)
	require.NoError(t, err)
	assert.Equal(t, x2, got, "version 0 is the latest")
	_, err = s.GetRecordVersion(ctx, "accreditation", "x", 9)
	assertCode(t, store.ErrNotFound, err)
	got, err = s.GetRecordVersion(ctx, "rp-registration", "x", 0)
	require.NoError(t, err)
	assert.Equal(t, rp, got, "kinds are separate namespaces")

	about, err := s.RecordVersionsFor(ctx, "accreditation", "did:psr:issuer")
	require.NoError(t, err)
	assert.Equal(t, []store.RecordVersion{x1, x2, z1}, about, "every version, by ID then version")

	all, err := s.ListRecords(ctx, "accreditation", "")
	require.NoError(t, err)
	assert.Equal(t, []store.RecordVersion{x2, y2, z1}, all, "latest versions of every tenant")
	mine, err := s.ListRecords(ctx, "accreditation", "other")
	require.NoError(t, err)
	assert.Equal(t, []store.RecordVersion{y2}, mine, "the latest version of the records other created, whoever wrote it")
	theirs, err := s.ListRecords(ctx, "accreditation", "registry")
	require.NoError(t, err)
	assert.Equal(t, []store.RecordVersion{x2, z1}, theirs, "a later version does not make the record its writer's")
}

// testConcurrentDIDVersion: many writers racing to publish the same next
// version of one DID: exactly one wins, so versions never fork.
func testConcurrentDIDVersion(t *testing.T, s *store.Store) {
	ctx := context.Background()
	require.NoError(t, s.CreateTenant(ctx, store.Tenant{ID: "registry", CreatedAt: t0}))
	require.NoError(t, s.PutDIDVersion(ctx, didVersion("did:psr:a", 1, t0)))
	errs := race(t, workers, func(i int) error {
		v := didVersion("did:psr:a", 2, t0.Add(time.Duration(i)*time.Second))
		return s.PutDIDVersion(ctx, v)
	})
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
			continue
		}
		assertCode(t, store.ErrConflict, err)
	}
	assert.Equal(t, 1, wins)
	latest, err := s.GetDIDVersion(ctx, "did:psr:a", 0)
	require.NoError(t, err)
	assert.Equal(t, uint64(2), latest.Version)
}
