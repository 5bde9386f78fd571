package gogit

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestRefstoreCallsInOneFile: of the package's code, only refstore.go
// imports refstore's packages, and backend.go package stack for the
// values both sides share (stack.Ref, stack.Update, stack.Identity), so
// that every call into refstore is in refstore.go (see backend.go).
func TestRefstoreCallsInOneFile(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !strings.HasPrefix(path, "github.com/refstore/refstore/") || strings.HasPrefix(path, "github.com/refstore/refstore/gogit") {
				continue
			}
			if name != "refstore.go" && (name != "backend.go" || path != "github.com/refstore/refstore/stack") {
				t.Errorf("%s imports %s: calls into refstore belong in refstore.go", name, path)
			}
		}
	}
}

// TestBackendUsesStackTypesOnly: backend.go names only the value types
// of package stack that both sides share, and calls nothing in it.
func TestBackendUsesStackTypesOnly(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "backend.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{"Ref": true, "Update": true, "Identity": true}
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == "stack" && !allowed[sel.Sel.Name] {
				t.Errorf("backend.go uses stack.%s: only stack.Ref, stack.Update and stack.Identity belong there", sel.Sel.Name)
			}
		}
		return true
	})
}
