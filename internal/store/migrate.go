package store

import (
	"context"
	"fmt"
	"time"

	"github.com/ssi-project/ssi/migrations"
)

// MigrationState is one embedded migration and whether it is applied.
type MigrationState struct {
	Version   int
	Name      string
	Applied   bool
	AppliedAt time.Time // zero when not applied
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    BIGINT NOT NULL PRIMARY KEY,
	name       TEXT   NOT NULL,
	applied_at BIGINT NOT NULL
)`

// Migrate applies every embedded migration that is not yet recorded in
// schema_migrations, in version order, all in one transaction: either all
// pending migrations apply or none does. It is idempotent, and safe when
// several processes start at once (PostgreSQL: a transaction-scoped
// advisory lock; SQLite: BEGIN IMMEDIATE takes the file's write lock). A
// database that has a version this binary does not know is left alone and
// reported as ErrConflict (a newer binary migrated it).
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := migrations.List(s.b.name())
	if err != nil {
		return ErrInternal.With("the embedded migrations are broken", err)
	}
	return s.InTx(ctx, func(tx *Store) error {
		if err := s.b.lockMigrations(ctx, tx.w()); err != nil {
			return fmt.Errorf("locking migrations: %w", err)
		}
		if _, err := tx.w().exec(ctx, createMigrationsTable); err != nil {
			return fmt.Errorf("creating schema_migrations: %w", err)
		}
		applied, err := tx.appliedMigrations(ctx)
		if err != nil {
			return err
		}
		for v := range applied {
			if v > len(ms) {
				return ErrConflict.With("the database schema is newer than this binary", nil)
			}
		}
		for _, m := range ms {
			if _, ok := applied[m.Version]; ok {
				continue
			}
			if _, err := tx.w().exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("applying migration %04d_%s: %w", m.Version, m.Name, err)
			}
			if _, err := tx.w().exec(ctx,
				"INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
				m.Version, m.Name, toMicros(s.now())); err != nil {
				return fmt.Errorf("recording migration %04d_%s: %w", m.Version, m.Name, err)
			}
		}
		return nil
	})
}

// MigrationStatus lists every embedded migration in version order and
// whether it is applied. It works on a database that was never migrated
// (nothing applied).
func (s *Store) MigrationStatus(ctx context.Context) ([]MigrationState, error) {
	ms, err := migrations.List(s.b.name())
	if err != nil {
		return nil, ErrInternal.With("the embedded migrations are broken", err)
	}
	var applied map[int]time.Time
	err = s.InTx(ctx, func(tx *Store) error {
		if err := s.b.lockMigrations(ctx, tx.w()); err != nil {
			return fmt.Errorf("locking migrations: %w", err)
		}
		// CREATE IF NOT EXISTS is the one portable way to ask whether the
		// table is there; it is harmless on a migrated database.
		if _, err := tx.w().exec(ctx, createMigrationsTable); err != nil {
			return fmt.Errorf("creating schema_migrations: %w", err)
		}
		applied, err = tx.appliedMigrations(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]MigrationState, 0, len(ms))
	for _, m := range ms {
		at, ok := applied[m.Version]
		out = append(out, MigrationState{Version: m.Version, Name: m.Name, Applied: ok, AppliedAt: at})
	}
	return out, nil
}

func (s *Store) appliedMigrations(ctx context.Context) (map[int]time.Time, error) {
	applied := map[int]time.Time{}
	err := forEach(ctx, s.r(), "SELECT version, applied_at FROM schema_migrations", nil, func(r rows) error {
		var v, at int64
		if err := r.Scan(&v, &at); err != nil {
			return err
		}
		applied[int(v)] = fromMicros(at)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading schema_migrations: %w", err)
	}
	return applied, nil
}
