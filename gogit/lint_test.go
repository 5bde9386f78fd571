package gogit

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestRefstoreCallsInOneFile: of the package's code, only refstore.go
// imports refstore's packages, so that moving to refstore's repository
// package changes that file alone (see backend.go).
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
			if strings.HasPrefix(path, "github.com/refstore/refstore/") && !strings.HasPrefix(path, "github.com/refstore/refstore/gogit") && name != "refstore.go" {
				t.Errorf("%s imports %s: calls into refstore belong in refstore.go", name, path)
			}
		}
	}
}
