package migrations

import (
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestListEmbedded(t *testing.T) {
	for _, d := range []string{SQLite, Postgres} {
		t.Run(d, func(t *testing.T) {
			ms, err := List(d)
			require.NoError(t, err)
			require.NotEmpty(t, ms)
			assert.Equal(t, 1, ms[0].Version)
			assert.Equal(t, "foundation", ms[0].Name)
			assert.Contains(t, ms[0].SQL, "CREATE TABLE audit")
		})
	}
	// Both dialects must define the same sequence of migrations.
	s, err := List(SQLite)
	require.NoError(t, err)
	p, err := List(Postgres)
	require.NoError(t, err)
	require.Len(t, p, len(s))
	for i := range s {
		assert.Equal(t, s[i].Name, p[i].Name, "migration %d", s[i].Version)
	}
}

func TestListRejects(t *testing.T) {
	sql := &fstest.MapFile{Data: []byte("SELECT 1;")}
	cases := map[string]fstest.MapFS{
		"gap":       {"d/0001_a.sql": sql, "d/0003_c.sql": sql},
		"repeat":    {"d/0001_a.sql": sql, "d/0001_b.sql": sql},
		"bad name":  {"d/1_a.sql": sql},
		"uppercase": {"d/0001_A.sql": sql},
		"not sql":   {"d/0001_a.txt": sql},
		"no dir":    {"other/0001_a.sql": sql},
		"zero":      {"d/0000_a.sql": sql},
	}
	for name, fsys := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := list(fsys, "d")
			assert.Error(t, err)
		})
	}
	_, err := List("mysql")
	assert.Error(t, err)
}

func TestListOrders(t *testing.T) {
	fsys := fstest.MapFS{
		"d/0002_b.sql": {Data: []byte("two")},
		"d/0001_a.sql": {Data: []byte("one")},
	}
	ms, err := list(fsys, "d")
	require.NoError(t, err)
	require.Len(t, ms, 2)
	assert.Equal(t, Migration{Version: 1, Name: "a", SQL: "one"}, ms[0])
	assert.Equal(t, Migration{Version: 2, Name: "b", SQL: "two"}, ms[1])
}

// TestTokenJKT: migration 6 adds the DPoP binding of access tokens in both
// dialects, with a constant default so that existing rows need no rewrite
// and a bearer token reads back as "".
func TestTokenJKT(t *testing.T) {
	for _, d := range []string{SQLite, Postgres} {
		t.Run(d, func(t *testing.T) {
			ms, err := List(d)
			require.NoError(t, err)
			require.GreaterOrEqual(t, len(ms), 6)
			m := ms[5]
			assert.Equal(t, 6, m.Version)
			assert.Equal(t, "token_jkt", m.Name)
			assert.Contains(t, m.SQL, "ALTER TABLE credential_offers ADD COLUMN token_jkt TEXT NOT NULL DEFAULT ''")
		})
	}
}
