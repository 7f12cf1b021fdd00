package ssi_test

// Checks of the module's source that keep two seams honest: services reach
// the database only through the store's typed methods, and read the time
// only through their injected clock.

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

// rawAllowed are the directories (with their subdirectories) whose
// non-test code may use raw SQL: the store itself with its conformance
// kit, and the load tool's set-up.
var rawAllowed = []string{"internal/store", "cmd/ssi-load"}

// rawNames are the raw-SQL entry points: the store's Raw and RawSQL, and
// the names of the methods that used to be the store's (so that they
// cannot come back as methods of anything a service calls).
var rawNames = []string{"Raw", "RawSQL", "ExecRaw", "QueryRawBytes", "RawQueryRow"}

// TestNoServiceUsesRawSQL: no non-test Go file of the module outside
// rawAllowed refers to raw SQL.
func TestNoServiceUsesRawSQL(t *testing.T) {
	var files int
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		path = filepath.ToSlash(path)
		if d.IsDir() {
			if path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || allowedRaw(path)) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		files++
		for _, use := range rawUses(t, path) {
			t.Errorf("%s:%d refers to raw SQL (%s); services must use the store's typed methods", path, use.line, use.name)
		}
		return nil
	})
	require.NoError(t, err)
	require.Greater(t, files, 50, "the walk found the module's code")
}

// clockPackages are the packages that must read the time only through
// their injected clock (a Config.Now, store.Options.Now), which cmd/ssi
// hands them all from one place: the services and the store.
var clockPackages = []string{"issuer", "didregistry", "verifier", "holder", "internal/admin", "internal/store"}

// TestServicesReadTheInjectedClock: no non-test file of clockPackages
// calls time.Now, time.Since or time.Until. Naming time.Now as the
// default of an unset clock is fine; calling it beside the injected clock
// is what made the registry's trust check answer for the machine's time.
func TestServicesReadTheInjectedClock(t *testing.T) {
	for _, dir := range clockPackages {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		require.NoError(t, err)
		require.NotEmpty(t, files, dir)
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			for _, c := range clockCalls(t, path) {
				t.Errorf("%s:%d calls %s; use the injected clock", filepath.ToSlash(path), c.line, c.name)
			}
		}
	}
}

// TestRulesFindUses: both checks see each form they look for, under any
// import name, and let pass what they allow.
func TestRulesFindUses(t *testing.T) {
	src := `package p

import (
	st "` + storePath + `"
	tm "time"
)

var def = tm.Now

func f(s *st.Store) {
	st.Raw(s).Exec(nil, "DELETE FROM audit")
	var _ st.RawSQL
	s.ExecRaw(nil, "x")
	_ = tm.Now()
	_ = tm.Since(tm.Time{})
}
`
	path := filepath.Join(t.TempDir(), "p.go")
	require.NoError(t, os.WriteFile(path, []byte(src), 0o600))
	names := func(uses []use) []string {
		var out []string
		for _, u := range uses {
			out = append(out, u.name)
		}
		return out
	}
	require.Equal(t, []string{"st.Raw", "st.RawSQL", "ExecRaw"}, names(rawUses(t, path)))
	require.Equal(t, []string{"time.Now", "time.Since"}, names(clockCalls(t, path)))
}

func allowedRaw(rel string) bool {
	return slices.ContainsFunc(rawAllowed, func(a string) bool { return rel == a || strings.HasPrefix(rel, a+"/") })
}

// use is a reference the rules refuse.
type use struct {
	line int
	name string
}

// parse parses the file at path and returns it with the local name of
// its import of pkg ("" when it does not import it).
func parse(t *testing.T, path, pkg string) (*token.FileSet, *ast.File, string) {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	require.NoError(t, err)
	for _, im := range f.Imports {
		if p, _ := strconv.Unquote(im.Path.Value); p == pkg {
			if im.Name != nil {
				return fset, f, im.Name.Name
			}
			return fset, f, pkg[strings.LastIndex(pkg, "/")+1:]
		}
	}
	return fset, f, ""
}

// rawUses returns the references of the file at path to raw SQL: a
// selector of the store package's import named in rawNames, or a
// selector of one of the former raw methods on any value.
func rawUses(t *testing.T, path string) []use {
	fset, f, storeName := parse(t, path, storePath)
	var out []use
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok || !slices.Contains(rawNames, sel.Sel.Name) {
			return true
		}
		line := fset.Position(sel.Pos()).Line
		if x, ok := sel.X.(*ast.Ident); ok && storeName != "" && x.Name == storeName {
			out = append(out, use{line, x.Name + "." + sel.Sel.Name})
		} else if sel.Sel.Name != "Raw" && sel.Sel.Name != "RawSQL" {
			out = append(out, use{line, sel.Sel.Name})
		}
		return true
	})
	return out
}

// clockCalls returns the calls of time.Now, time.Since and time.Until in
// the file at path.
func clockCalls(t *testing.T, path string) []use {
	fset, f, timeName := parse(t, path, "time")
	if timeName == "" {
		return nil
	}
	var out []use
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if x, ok := sel.X.(*ast.Ident); ok && x.Name == timeName && slices.Contains([]string{"Now", "Since", "Until"}, sel.Sel.Name) {
			out = append(out, use{fset.Position(call.Pos()).Line, "time." + sel.Sel.Name})
		}
		return true
	})
	return out
}
