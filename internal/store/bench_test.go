package store_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/ssi-project/ssi/internal/store"
	"github.com/ssi-project/ssi/internal/store/storetest"
)

// backends runs a benchmark on SQLite and, when configured, PostgreSQL.
func backends(b *testing.B, fn func(b *testing.B, s *store.Store)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, storetest.OpenSQLite(b)) })
	b.Run("postgres", func(b *testing.B) { fn(b, storetest.OpenPostgres(b)) })
}

var benchT0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// BenchmarkConsumeSingleUse: put then consume one nonce (the OID4VP and
// OID4VCI nonce path).
func BenchmarkConsumeSingleUse(b *testing.B) {
	backends(b, func(b *testing.B, s *store.Store) {
		ctx := context.Background()
		for i := 0; b.Loop(); i++ {
			v := "nonce-" + strconv.Itoa(i)
			if err := s.PutSingleUse(ctx, store.SingleUse{Kind: "vp_nonce", Value: v, ExpiresAt: benchT0.Add(time.Hour)}); err != nil {
				b.Fatal(err)
			}
			if _, err := s.ConsumeSingleUse(ctx, "vp_nonce", v, benchT0); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkStateChangeTx: one transaction with an audit record and an
// outbox item, the shape of every audited state change.
func BenchmarkStateChangeTx(b *testing.B) {
	backends(b, func(b *testing.B, s *store.Store) {
		ctx := context.Background()
		for i := 0; b.Loop(); i++ {
			err := s.InTx(ctx, func(tx *store.Store) error {
				if _, err := tx.AppendAudit(ctx, store.AuditRecord{TenantID: "t", Action: "credential.revoke", Outcome: "ok"}); err != nil {
					return err
				}
				return tx.EnqueueOutbox(ctx, store.OutboxItem{Topic: "anchor", Key: strconv.Itoa(i), Payload: []byte("p")})
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkGetAPIKey: the per-request API key lookup.
func BenchmarkGetAPIKey(b *testing.B) {
	backends(b, func(b *testing.B, s *store.Store) {
		ctx := context.Background()
		if err := s.CreateTenant(ctx, store.Tenant{ID: "t"}); err != nil {
			b.Fatal(err)
		}
		if err := s.CreateAPIKey(ctx, store.APIKey{ID: "k", TenantID: "t", Hash: []byte{1}, Scopes: []string{"a"}}); err != nil {
			b.Fatal(err)
		}
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.GetAPIKey(ctx, "k"); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
