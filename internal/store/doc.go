// Package store is ssi's storage: one concrete *Store with two backends,
// SQLite (modernc.org/sqlite, the embedded default) and PostgreSQL (pgx/v5
// with pgxpool, production), and the embedded migrations that define the
// schema.
//
// Every method is written once, over a small internal adapter (exec, query,
// queryRow) that both drivers implement; SQL differs per dialect only where
// the dialects truly differ, and then as two literal strings, never by
// rewriting one into the other. The same conformance suite
// (internal/store/storetest) runs on both backends.
//
// Contract for every method:
//   - errors are *errs.Error values matching ErrNotFound, ErrConflict,
//     ErrUnavailable, ErrAppendOnly, ErrInvalid or ErrInternal with
//     errors.Is; their Detail never carries driver text, SQL, values or
//     file paths (the driver error is kept as the cause, for the log);
//   - times are stored as unix microseconds and read back in UTC, so a
//     time round-trips exactly when it is UTC and has no sub-microsecond
//     part; the zero time.Time means "not set" and round-trips as zero;
//   - empty byte slices are read back as nil.
//
// This package must never log, never store a secret (API keys and
// single-use values are stored as SHA-256 hashes), and never be imported by
// the format packages (sdjwt, did, statuslist, keys, jose, qr). Only this
// package imports pgx or sqlite.
package store
