package didregistry

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"

	"github.com/ssi-project/ssi/internal/did"
	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/store/storetest"
	"github.com/ssi-project/ssi/internal/trust"
)

// benchDID creates a rotated, anchored DID on SQLite and returns the
// service, its store, the DID and the ledger's pinned validators.
func benchDID(b *testing.B) (*Service, *store.Store, string, trust.Trust) {
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
	return svc, st, d, l.Trust
}

// BenchmarkResolveAnchored is a did:psr resolution with the full integrity
// check (document hash, state derivation, anchored hash from the warm
// receipt cache).
func BenchmarkResolveAnchored(b *testing.B) {
	svc, _, d, _ := benchDID(b)
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
	_, st, d, _ := benchDID(b)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		resolveUnchecked(b, ctx, st, d)
	}
}

func resolveUnchecked(b *testing.B, ctx context.Context, st *store.Store, d string) {
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

func resolveProven(b *testing.B, ctx context.Context, svc *Service, d string) {
	res, err := svc.ResolveDID(ctx, d, ResolveOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if err := svc.proveResolution(ctx, res); err != nil || res.Anchor.Latest == nil {
		b.Fatal("no latest-version proof", err)
	}
}

// BenchmarkResolveRatio measures acceptance 6 of issue 14 directly on a
// shared, noisy machine: it alternates batches of the proven resolution
// (BenchmarkResolveProven) and of the unchecked lookup
// (BenchmarkResolveUnchecked) and reports the best batch of each, so both
// see the same contention. ratio = proven / unchecked, target ≤ 1.3.
func BenchmarkResolveRatio(b *testing.B) {
	svc, st, d, _ := benchDID(b)
	ctx := context.Background()
	resolveProven(b, ctx, svc, d) // warm the proof cache
	const batch = 50
	bestP, bestU := time.Duration(1<<62), time.Duration(1<<62)
	for b.Loop() {
		t0 := time.Now()
		for range batch {
			resolveProven(b, ctx, svc, d)
		}
		t1 := time.Now()
		for range batch {
			resolveUnchecked(b, ctx, st, d)
		}
		t2 := time.Now()
		bestP, bestU = min(bestP, t1.Sub(t0)), min(bestU, t2.Sub(t1))
	}
	b.ReportMetric(float64(bestP.Nanoseconds())/batch, "proven-ns")
	b.ReportMetric(float64(bestU.Nanoseconds())/batch, "unchecked-ns")
	b.ReportMetric(float64(bestP)/float64(bestU), "ratio")
}

// BenchmarkResolveProven is BenchmarkResolveAnchored plus what a
// resolution answer now carries for a client that does not trust the
// registry: the DID's latest-version proof, from the warm proof cache
// (anchor.ProofCache; it asks the ledger again about once a second, which
// the loop pays for when it happens). Issue 14, acceptance 6: at most 1.3
// times BenchmarkResolveUnchecked.
func BenchmarkResolveProven(b *testing.B) {
	svc, _, d, _ := benchDID(b)
	ctx := context.Background()
	resolveProven(b, ctx, svc, d) // warm the proof cache
	b.ResetTimer()
	for b.Loop() {
		resolveProven(b, ctx, svc, d)
	}
}

// BenchmarkClientResolve is trust.Client.Resolve over HTTP against the
// registry: cold (a new client, so the answer is fetched and its receipt
// and latest-version proof verified offline) and warm (the client's cache).
func BenchmarkClientResolve(b *testing.B) {
	svc, st, d, pinned := benchDID(b)
	r := chi.NewRouter()
	Routes(r, svc, did.NewRouter(), st, 64<<10)
	srv := httptest.NewServer(r)
	b.Cleanup(srv.Close)
	ctx := context.Background()
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			c := trust.NewClient(srv.URL, trust.Options{Trust: pinned})
			if _, err := c.Resolve(ctx, d, did.ResolveOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("warm", func(b *testing.B) {
		c := trust.NewClient(srv.URL, trust.Options{Trust: pinned, TTL: 10 * time.Minute})
		if _, err := c.Resolve(ctx, d, did.ResolveOptions{}); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := c.Resolve(ctx, d, did.ResolveOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
