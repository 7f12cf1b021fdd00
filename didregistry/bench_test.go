package didregistry

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/store/storetest"
	"github.com/ssi-project/ssi/internal/trust"
)

// benchDID creates a rotated, anchored DID on SQLite and returns the
// service and the DID.
func benchDID(b *testing.B) (*Service, *store.Store, string) {
	st := storetest.OpenSQLite(b)
	l := newLedger(b, st)
	svc := New(Config{Store: st, Anchor: l.Anchorer, PublicURL: "https://registry.example"})
	ctx := context.Background()
	require.NoError(b, st.CreateTenant(ctx, store.Tenant{ID: "health", Name: "h", Kind: "agency", CreatedAt: time.Now()}))
	ctl, s1 := newSigner(b), newSigner(b)
	vm, err := VMFor("sign-1", s1, PurposeAssertionMethod)
	require.NoError(b, err)
	tok, d, err := SignCreate(ctl, "ctl-1", []VMInput{vm}, nil)
	require.NoError(b, err)
	a := Actor{TenantID: "health", ID: "bench"}
	_, err = svc.CreateDID(ctx, a, tok)
	require.NoError(b, err)
	op, err := SignOp(ctl, "ctl-1", Operation{Op: "update", DID: d, Version: 2, Service: &[]ServiceInput{{ID: "s", Type: "T", ServiceEndpoint: "https://x.example"}}})
	require.NoError(b, err)
	_, err = svc.UpdateDID(ctx, a, d, op)
	require.NoError(b, err)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := l.Anchorer.Get(ctx, trust.KindDIDDocument, d, 2); err == nil {
			break
		}
		require.True(b, time.Now().Before(deadline))
		time.Sleep(20 * time.Millisecond)
	}
	// Warm the receipt cache.
	res, err := svc.ResolveDID(ctx, d, ResolveOptions{})
	require.NoError(b, err)
	require.Equal(b, "anchored", res.Anchor.Status)
	return svc, st, d
}

// BenchmarkResolveAnchored is a did:psr resolution with the full integrity
// check (document hash, state derivation, anchored hash from the warm
// receipt cache).
func BenchmarkResolveAnchored(b *testing.B) {
	svc, _, d := benchDID(b)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := svc.ResolveDID(ctx, d, ResolveOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkResolveUnchecked is the same lookup without the anchor check:
// the two store reads a resolution makes and the decoding of the state,
// which is what a registry that trusted its database would do.
func BenchmarkResolveUnchecked(b *testing.B) {
	_, st, d := benchDID(b)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		v, err := st.GetDIDVersion(ctx, d, 0)
		if err != nil {
			b.Fatal(err)
		}
		var s State
		if err := json.Unmarshal(v.State, &s); err != nil {
			b.Fatal(err)
		}
		if _, err := st.GetDIDVersion(ctx, d, 1); err != nil {
			b.Fatal(err)
		}
	}
}
