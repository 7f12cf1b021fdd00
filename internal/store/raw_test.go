package store_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const storePath = "github.com/ssi-project/ssi/internal/store"

// rawAllowed are the directories (relative to the module root, with
// their subdirectories) whose non-test code may use raw SQL: the store
// itself with its conformance kit, and the load tool's set-up.
var rawAllowed = []string{"internal/store", "cmd/ssi-load"}

// rawNames are the raw-SQL entry points: the store's Raw and RawSQL, and
// the names of the methods that used to be the store's (so that they
// cannot come back as methods of anything a service calls).
var rawNames = []string{"Raw", "RawSQL", "ExecRaw", "QueryRawBytes", "RawQueryRow"}

// TestNoServiceUsesRawSQL: no non-test Go file of the module outside
// rawAllowed refers to raw SQL, so that the services reach the database
// only through the store's typed methods.
func TestNoServiceUsesRawSQL(t *testing.T) {
	root := moduleRoot(t)
	var files int
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || allowedRaw(rel)) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		files++
		for _, use := range rawUses(t, path) {
			t.Errorf("%s:%s refers to raw SQL (%s); services must use the store's typed methods", rel, use.pos, use.name)
		}
		return nil
	})
	require.NoError(t, err)
	require.Greater(t, files, 50, "the walk found the module's code")
}

// TestRawUsesFindsAUse: the check of TestNoServiceUsesRawSQL sees each
// way of reaching raw SQL, under any import name.
func TestRawUsesFindsAUse(t *testing.T) {
	src := `package p

import st "` + storePath + `"

func f(s *st.Store) {
	st.Raw(s).Exec(nil, "DELETE FROM audit")
	var _ st.RawSQL
	s.ExecRaw(nil, "x")
}
`
	path := filepath.Join(t.TempDir(), "p.go")
	require.NoError(t, os.WriteFile(path, []byte(src), 0o600))
	var names []string
	for _, u := range rawUses(t, path) {
		names = append(names, u.name)
	}
	require.Equal(t, []string{"st.Raw", "st.RawSQL", "ExecRaw"}, names)
}

func allowedRaw(rel string) bool {
	return slices.ContainsFunc(rawAllowed, func(a string) bool { return rel == a || strings.HasPrefix(rel, a+"/") })
}

type rawUse struct{ pos, name string }

// rawUses returns the references of the file at path to raw SQL: a
// selector of the store package's import named in rawNames, or a method
// call of one of the former raw methods on any value.
func rawUses(t *testing.T, path string) []rawUse {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	require.NoError(t, err)
	storeName := ""
	for _, im := range f.Imports {
		if p, _ := strconv.Unquote(im.Path.Value); p == storePath {
			storeName = "store"
			if im.Name != nil {
				storeName = im.Name.Name
			}
		}
	}
	var out []rawUse
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok || !slices.Contains(rawNames, sel.Sel.Name) {
			return true
		}
		pos := strconv.Itoa(fset.Position(sel.Pos()).Line)
		if x, ok := sel.X.(*ast.Ident); ok && storeName != "" && x.Name == storeName {
			out = append(out, rawUse{pos, x.Name + "." + sel.Sel.Name})
		} else if sel.Sel.Name != "Raw" && sel.Sel.Name != "RawSQL" {
			out = append(out, rawUse{pos, sel.Sel.Name})
		}
		return true
	})
	return out
}

// moduleRoot is the directory of go.mod above the test's directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, dir, parent, "no go.mod above the test")
		dir = parent
	}
}
