package migrations

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
)

// Dialect names, the folder names under migrations/.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

//go:embed sqlite/*.sql postgres/*.sql
var files embed.FS

// Migration is one numbered SQL file of one dialect.
type Migration struct {
	Version int    // the NNNN prefix, starting at 1, without gaps
	Name    string // the part after the prefix, without ".sql"
	SQL     string
}

var fileName = regexp.MustCompile(`^([0-9]{4})_([a-z0-9_]+)\.sql$`)

// List returns the migrations of dialect ("sqlite" or "postgres") in
// version order. It fails if the dialect is unknown, a file name is not
// NNNN_name.sql, or the versions are not 1, 2, 3 … without gaps or repeats.
func List(dialect string) ([]Migration, error) {
	if dialect != SQLite && dialect != Postgres {
		return nil, fmt.Errorf("listing migrations: unknown dialect %q", dialect)
	}
	return list(files, dialect)
}

func list(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("listing migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		m := fileName.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			return nil, fmt.Errorf("listing migrations: %s/%s is not named NNNN_name.sql", dir, e.Name())
		}
		v, err := strconv.Atoi(m[1])
		if err != nil {
			return nil, fmt.Errorf("listing migrations: %w", err)
		}
		body, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("reading migration: %w", err)
		}
		out = append(out, Migration{Version: v, Name: m[2], SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("listing migrations: %s: version %04d where %04d was expected", dir, m.Version, i+1)
		}
	}
	return out, nil
}
