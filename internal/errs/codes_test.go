package errs_test

import (
	"fmt"
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
)

const errsPath = "github.com/ssi-project/ssi/internal/errs"

// codeUse is one place that makes an *errs.Error from a literal kind and
// code: errs.E, errs.Wrap, any other call whose first two arguments are an
// errs Kind and a string literal, or an errs.Error composite literal.
type codeUse struct {
	code, kind string
	pos        token.Position
	sentinel   bool // in a package-level var declaration
}

// TestErrorCodesAreUnique holds every error code of the module to one
// meaning. (*Error).Is matches on the code alone, so a code that two
// packages define on their own makes their errors indistinguishable to
// errors.Is, and a code made with two kinds renders two ways. The test
// parses every non-test Go file of the module and fails on a code made with
// two different kinds anywhere, and on a code declared as a package-level
// sentinel more than once: a code shared by several packages has one
// sentinel, in a package they all import, and the others reuse it
// (sentinel.With for another detail). The same code with the same kind
// made inline several times (errs.Wrap in a function) is allowed.
func TestErrorCodesAreUnique(t *testing.T) {
	root := moduleRoot(t)
	uses, err := collectCodes(root, kindNames(t, root))
	if err != nil {
		t.Fatal(err)
	}
	// The walk must see the module: a parser that found nothing would pass.
	seen := map[string]bool{}
	for _, u := range uses {
		seen[u.code] = true
	}
	for _, code := range []string{"invalid_nonce", "malformed_json", "private_jwk", "store_unavailable", "ledger_unavailable"} {
		if !seen[code] {
			t.Fatalf("the walk of %s found no use of %q; the collector is broken", root, code)
		}
	}
	if len(seen) < 100 {
		t.Fatalf("the walk of %s found only %d codes; the collector is broken", root, len(seen))
	}
	for _, p := range duplicateCodes(uses) {
		t.Error(p)
	}
}

// TestDuplicateCodesCollector shows that the checker above finds each kind
// of duplicate, so that its passing means something.
func TestDuplicateCodesCollector(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example\n")
	write("a/a.go", `package a
import "`+errsPath+`"
var (
	ErrTwice  = errs.E(errs.Invalid, "twice", "")
	ErrKinds  = errs.E(errs.Invalid, "kinds", "")
	ErrShared = errs.E(errs.Unavailable, "shared", "")
	ErrLit    = &errs.Error{Kind: errs.Conflict, Code: "literal"}
	ErrHelper = errs.E(errs.Invalid, "helper", "")
	ErrReused = ErrShared.With("another detail", nil)
)
func f(err error) error { return errs.Wrap(errs.Unavailable, "shared", "", err) }
func g(err error) error { return errs.Wrap(errs.Unavailable, "shared", "", err) }
func k(err error) error { return errors.Is(err, errs.CodeOf, "not a kind") }
`)
	write("b/b.go", `package b
import e "`+errsPath+`"
var ErrTwice = e.E(e.Invalid, "twice", "")
func h() error { return e.E(e.Unauthorized, "kinds", "") }
func i() error { return e.Error{Kind: e.Forbidden, Code: "literal"} }
func helper(k e.Kind, code string) error { return nil }
func j() error { return helper(e.Internal, "helper") }
`)
	write("b/b_test.go", `package b
import "`+errsPath+`"
var ErrTwice = errs.E(errs.Invalid, "twice", "")
`)
	uses, err := collectCodes(dir, kindNames(t, moduleRoot(t)))
	if err != nil {
		t.Fatal(err)
	}
	got := duplicateCodes(uses)
	want := []string{"helper", "kinds", "literal", "twice"}
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d (%v):\n%s", len(got), len(want), want, strings.Join(got, "\n"))
	}
	for i, code := range want {
		if !strings.HasPrefix(got[i], "code "+strconv.Quote(code)) {
			t.Errorf("problem %d = %q, want one about %q", i, got[i], code)
		}
	}
	if !strings.Contains(got[3], "a/a.go:4") || !strings.Contains(got[3], "b/b.go:3") || strings.Contains(got[3], "b_test.go") {
		t.Errorf("the twice problem must name both sentinels and no test file: %s", got[3])
	}
}

// moduleRoot walks up from the test's directory to the go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// kindNames returns the names of the Kind constants of package errs, read
// from its source, so that only a real kind counts as one.
func kindNames(t *testing.T, root string) map[string]bool {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filepath.Join(root, "internal", "errs", "errs.go"), nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		inKind := false
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); ok {
				inKind = id.Name == "Kind"
			}
			if inKind {
				for _, n := range vs.Names {
					kinds[n.Name] = true
				}
			}
		}
	}
	if !kinds["Invalid"] || !kinds["Internal"] {
		t.Fatalf("found no Kind constants in package errs: %v", kinds)
	}
	return kinds
}

// collectCodes parses every non-test .go file below root, skipping testdata,
// vendor, hidden directories and nested modules, and returns the literal
// kind+code pairs it finds.
func collectCodes(root string, kinds map[string]bool) ([]codeUse, error) {
	var uses []codeUse
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			if path != root {
				if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
					return filepath.SkipDir
				}
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return fmt.Errorf("parsing %s: %w", path, err)
		}
		rel, _ := filepath.Rel(root, path)
		uses = append(uses, codesInFile(fset, f, filepath.ToSlash(rel), kinds)...)
		return nil
	})
	return uses, err
}

// codesInFile finds the literal kind+code pairs of one file. Inside package
// errs itself the names are unqualified.
func codesInFile(fset *token.FileSet, f *ast.File, rel string, kinds map[string]bool) []codeUse {
	local := ""
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == errsPath {
			local = "errs"
			if imp.Name != nil {
				local = imp.Name.Name
			}
		}
	}
	inErrs := f.Name.Name == "errs" && strings.HasSuffix(filepath.Dir(rel), "internal/errs")
	if local == "" && !inErrs {
		return nil
	}
	// errsName reports the name of an errs identifier: errs.X, or X inside
	// package errs.
	errsName := func(e ast.Expr) (string, bool) {
		switch x := e.(type) {
		case *ast.SelectorExpr:
			if id, ok := x.X.(*ast.Ident); ok && local != "" && id.Name == local {
				return x.Sel.Name, true
			}
		case *ast.Ident:
			if inErrs {
				return x.Name, true
			}
		}
		return "", false
	}
	isKind := func(e ast.Expr) (string, bool) {
		name, ok := errsName(e)
		return name, ok && kinds[name]
	}
	literal := func(e ast.Expr) (string, bool) {
		b, ok := e.(*ast.BasicLit)
		if !ok || b.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(b.Value)
		return s, err == nil
	}

	var uses []codeUse
	visit := func(n ast.Node, sentinel bool) {
		ast.Inspect(n, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.CallExpr:
				if len(x.Args) < 2 {
					return true
				}
				kind, ok := isKind(x.Args[0])
				code, okCode := literal(x.Args[1])
				if ok && okCode {
					uses = append(uses, codeUse{code: code, kind: kind, pos: fset.Position(x.Pos()), sentinel: sentinel})
				}
			case *ast.CompositeLit:
				if name, ok := errsName(x.Type); !ok || name != "Error" {
					return true
				}
				var kind, code string
				for _, el := range x.Elts {
					kv, ok := el.(*ast.KeyValueExpr)
					if !ok {
						continue
					}
					switch key, _ := kv.Key.(*ast.Ident); {
					case key == nil:
					case key.Name == "Kind":
						kind, _ = isKind(kv.Value)
					case key.Name == "Code":
						code, _ = literal(kv.Value)
					}
				}
				if kind != "" && code != "" {
					uses = append(uses, codeUse{code: code, kind: kind, pos: fset.Position(x.Pos()), sentinel: sentinel})
				}
			}
			return true
		})
	}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		visit(decl, ok && gd.Tok == token.VAR)
	}
	for i := range uses {
		uses[i].pos.Filename = rel
	}
	return uses
}

// duplicateCodes returns one line per code that is made with two kinds or
// declared as a package-level sentinel twice, sorted by code.
func duplicateCodes(uses []codeUse) []string {
	byCode := map[string][]codeUse{}
	for _, u := range uses {
		byCode[u.code] = append(byCode[u.code], u)
	}
	var problems []string
	for code, us := range byCode {
		kinds := map[string]bool{}
		sentinels := 0
		for _, u := range us {
			kinds[u.kind] = true
			if u.sentinel {
				sentinels++
			}
		}
		if len(kinds) < 2 && sentinels < 2 {
			continue
		}
		var where []string
		for _, u := range us {
			s := fmt.Sprintf("%s:%d (%s", u.pos.Filename, u.pos.Line, u.kind)
			if u.sentinel {
				s += ", sentinel"
			}
			where = append(where, s+")")
		}
		slices.Sort(where)
		var why []string
		if len(kinds) > 1 {
			why = append(why, fmt.Sprintf("made with %d kinds", len(kinds)))
		}
		if sentinels > 1 {
			why = append(why, fmt.Sprintf("declared as a sentinel %d times", sentinels))
		}
		problems = append(problems, fmt.Sprintf("code %q is %s: %s", code, strings.Join(why, " and "), strings.Join(where, ", ")))
	}
	slices.Sort(problems)
	return problems
}
