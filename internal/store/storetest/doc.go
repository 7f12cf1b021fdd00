// Package storetest is the conformance suite of internal/store: Run
// exercises every method, every sentinel error, exact round trips, audit
// immutability, transactions and the concurrency invariants (single-use
// values, idempotency keys, outbox keys) against one backend. SQLite and
// Postgres open fresh, migrated stores for it.
//
// Services' tests may use SQLite (and Postgres) to get a real store. This
// package must never be imported by non-test code paths of the binary, and
// it must never skip PostgreSQL when the CI environment variable is set.
package storetest
