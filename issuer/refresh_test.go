package issuer

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/store/storetest"
)

// TestUnchangedListIsReSigned: a list that nobody revokes from is still
// re-signed before its token expires (at half its validity), so verifiers,
// which fail closed on an expired list, never meet one. Each refresh is a
// new version, anchored like any other, with the same entries.
func TestUnchangedListIsReSigned(t *testing.T) {
	backends(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, envOpts{ledger: true, config: func(c *Config) { c.ListValidity = time.Hour }})
		ctx := context.Background()
		rec := e.issuedRecord("c1")
		_, err := e.svc.SetStatus(ctx, Actor{TenantID: "health", ID: "admin"}, rec.ID, "revoke", "lost")
		require.NoError(t, err)
		_, err = e.svc.Publish(ctx)
		require.NoError(t, err)
		served := func() (version int, tok string) {
			t.Helper()
			code, b, h := e.do("GET", "/status/"+rec.ListID, "", nil, "")
			require.Equal(t, http.StatusOK, code, string(b))
			v, err := strconv.Atoi(h.Get(VersionHeader))
			require.NoError(t, err)
			return v, string(b)
		}
		v1, tok1 := served()
		list1 := e.verifyList(tok1, e.srv.URL+"/status/"+rec.ListID)

		e.clock.Add(29 * time.Minute)
		n, err := e.svc.Publish(ctx)
		require.NoError(t, err)
		assert.Zero(t, n, "unchanged and fresh: nothing to publish")
		v, _ := served()
		assert.Equal(t, v1, v)

		e.clock.Add(2 * time.Minute) // 31 min: past half of the hour
		n, err = e.svc.Publish(ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, n, "re-signed")
		v2, tok2 := served()
		assert.Equal(t, v1+1, v2)
		list2 := e.verifyList(tok2, e.srv.URL+"/status/"+rec.ListID)
		assert.Equal(t, e.clock.Now().Add(time.Hour).Unix(), list2.ExpiresAt.Unix(), "a full validity from now")
		got, err := list2.List.Get(int(rec.Index))
		require.NoError(t, err)
		assert.Equal(t, uint8(1), got, "the revocation is still in the list")
		assert.Equal(t, list1.List.Len(), list2.List.Len())
		e.waitReceipt(rec.ListID, uint64(v2))

		n, err = e.svc.Publish(ctx)
		require.NoError(t, err)
		assert.Zero(t, n, "once per half validity, not on every round")
	})
}

// TestListValidityHasAFloor: a list valid for less than two minutes
// cannot hold the verifiers' minimum ttl inside its refresh window.
func TestListValidityHasAFloor(t *testing.T) {
	st := storetest.SQLite(t)
	_, err := New(Config{Store: st, PublicURL: "https://issuer.example", ListValidity: 2 * time.Minute})
	require.NoError(t, err, "two minutes is enough")
	_, err = New(Config{Store: st, PublicURL: "https://issuer.example", ListValidity: 90 * time.Second})
	assert.Error(t, err)
}
