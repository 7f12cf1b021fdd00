package store_test

import (
	"testing"

	"github.com/ssi-project/ssi/internal/store/storetest"
)

func TestSQLite(t *testing.T) { storetest.Run(t, storetest.SQLite) }

func TestPostgres(t *testing.T) {
	storetest.PostgresDSN(t) // skip (or, in CI, fail) once, not per case
	storetest.Run(t, storetest.Postgres)
}
