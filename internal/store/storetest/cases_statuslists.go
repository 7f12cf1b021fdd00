package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/store"
)

// statusListCases cover the listing of a tenant's status lists
// (internal/store/statuslists.go), which the admin console's anchoring
// state reads.
func statusListCases() []testCase {
	return []testCase{{"ListStatusLists", testListStatusLists}}
}

func testListStatusLists(t *testing.T, s *store.Store) {
	ctx := context.Background()
	issuerSetup(t, s) // l1 of health, at t0
	got, err := s.ListStatusLists(ctx, "benefits", 10)
	require.NoError(t, err)
	assert.Empty(t, got, "a tenant without lists has none")
	assert.NotNil(t, got, "an empty list, not nil")

	l2 := store.StatusList{ID: "l2", TenantID: "health", URI: "https://issuer.example/status/l2", Bits: 1, Size: 131072, CreatedAt: t0.Add(time.Hour)}
	require.NoError(t, s.CreateStatusList(ctx, l2))
	lb := store.StatusList{ID: "lb", TenantID: "benefits", URI: "https://issuer.example/status/lb", Bits: 1, Size: 131072, CreatedAt: t0}
	require.NoError(t, s.CreateStatusList(ctx, lb))

	got, err = s.ListStatusLists(ctx, "health", 10)
	require.NoError(t, err)
	require.Len(t, got, 2, "only the tenant's own lists")
	assert.Equal(t, []string{"l2", "l1"}, []string{got[0].ID, got[1].ID}, "newest first")
	assert.Equal(t, int64(-1), got[0].PublishedSeq)
	assert.Equal(t, l2.URI, got[0].URI)

	got, err = s.ListStatusLists(ctx, "health", 1)
	require.NoError(t, err)
	assert.Len(t, got, 1, "the limit holds")
}
