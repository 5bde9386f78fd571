// Package lint holds the project's lint checks, run as tests.
package lint

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/refstore/refstore"

// file is one parsed Go file of the module.
type file struct {
	path string // relative to the module root, slash-separated
	test bool
	ast  *ast.File
}

func parseModule(t *testing.T) []file {
	t.Helper()
	root := filepath.Join("..", "..")
	var files []file
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && p != root {
			return filepath.SkipDir
		}
		if d.IsDir() && p != root && isModule(p) {
			return filepath.SkipDir // a nested module (gogit/) has its own rules
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files = append(files, file{path: filepath.ToSlash(rel), test: strings.HasSuffix(p, "_test.go"), ast: f})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 20 {
		t.Fatalf("found only %d Go files", len(files))
	}
	return files
}

// isModule reports whether dir is the root of a Go module.
func isModule(dir string) bool {
	fi, err := os.Stat(filepath.Join(dir, "go.mod"))
	return err == nil && !fi.IsDir()
}

func pkgOf(f file) string { return strings.SplitN(f.path, "/", 2)[0] }

// TestImports: only the standard library and the allowed modules, and
// package reftable never touches the operating system.
func TestImports(t *testing.T) {
	allowed := []string{module, "golang.org/x/sys", "github.com/google/go-cmp", "github.com/cespare/xxhash/v2"}
	for _, f := range parseModule(t) {
		for _, imp := range f.ast.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first := strings.SplitN(path, "/", 2)[0]
			std := !strings.Contains(first, ".")
			ok := std
			for _, a := range allowed {
				ok = ok || path == a || strings.HasPrefix(path, a+"/")
			}
			ok = ok || pkgOf(f) == "s3store" && (path == s3Client || strings.HasPrefix(path, s3Client+"/"))
			if !ok {
				t.Errorf("%s imports %s, which is not an allowed dependency", f.path, path)
			}
			// The S3 client is package s3store's; of the programs only
			// reftable-s3 links it (and tests, and the S3 test rigs).
			if path == module+"/s3store" && !f.test && !s3Users[filepath.Dir(f.path)] {
				t.Errorf("%s imports %s: only %v and tests use the S3 client", f.path, path, slices.Sorted(maps.Keys(s3Users)))
			}
			// stat (file identity) is a leaf; vfs uses only stat.
			if ours := strings.HasPrefix(path, module+"/"); ours && pkgOf(f) == "stat" ||
				ours && pkgOf(f) == "vfs" && path != module+"/stat" {
				t.Errorf("%s imports %s: stat imports nothing of ours, vfs only stat", f.path, path)
			}
			// Arrows go one way: cmd -> repo -> stack -> {reftable, stat,
			// vfs}. No library package imports the repository package or
			// a command, and the repository package uses only the stack
			// and what is below it.
			ours := strings.HasPrefix(path, module+"/")
			if ours && !f.test && pkgOf(f) != "cmd" && pkgOf(f) != "tool" && pkgOf(f) != "repo" && (path == module+"/repo" || strings.HasPrefix(path, module+"/cmd/")) {
				t.Errorf("%s imports %s: only the tool and commands use the repository package", f.path, path)
			}
			if ours && pkgOf(f) != "cmd" && strings.HasPrefix(path, module+"/cmd/") {
				t.Errorf("%s imports %s: nothing imports a command", f.path, path)
			}
			if ours && !f.test && pkgOf(f) == "repo" && !slices.Contains(repoDeps, path) {
				t.Errorf("%s imports %s: the repository package uses only %v", f.path, path, repoDeps)
			}
			// unsafe stays where it is argued for (see unsafeUsers).
			if path == "unsafe" && !f.test && !unsafeUsers[f.path] {
				t.Errorf("%s imports unsafe: only %v may", f.path, slices.Sorted(maps.Keys(unsafeUsers)))
			}
			// The format package (with its codec, reftable/internal/zlib)
			// may use only that codec of ours.
			if pkgOf(f) == "reftable" && !f.test &&
				(path == "os" || path == "syscall" || strings.HasPrefix(path, module+"/") && path != module+"/reftable/internal/zlib") {
				t.Errorf("%s imports %s: the format package must not touch the OS or other packages", f.path, path)
			}
		}
	}
}

// repoDeps are the packages of ours the repository package may import.
var repoDeps = []string{module + "/stack", module + "/reftable", module + "/vfs", module + "/stat"}

// unsafeUsers are the files (tests aside) that may import unsafe:
// update's parser, whose tokens are strings over the reader's buffer
// that only the transactions, which copy what they keep, receive (see
// tokenSource); and vfs's stat without allocation, which a reader makes
// of tables.list at every reload (see StatID).
var unsafeUsers = map[string]bool{"tool/updateparse.go": true, "vfs/statid_linux.go": true}

// s3Client is the S3 client library. Only package s3store imports it.
const s3Client = "github.com/minio/minio-go/v7"

// s3Users are the directories whose code (tests aside) may import
// package s3store, the S3 client: the reftable-s3 program and the S3
// test rigs.
var s3Users = map[string]bool{"cmd/reftable-s3": true, "internal/testutil/s3fake": true, "internal/testutil/versitygw": true}

// TestCoreWithoutS3Client: the core packages do not depend on the S3
// client library, not even indirectly.
func TestCoreWithoutS3Client(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-test", "./reftable", "./stat", "./stack", "./objstore", "./vfs")
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for dep := range strings.Lines(string(out)) {
		dep = strings.TrimSpace(dep)
		if strings.HasPrefix(dep, s3Client) || dep == module+"/s3store" {
			t.Errorf("a core package depends on %s", dep)
		}
	}
}

// goGit is the go-git module. Only the nested module gogit/ requires it,
// so that users of the core never download it or its dependencies.
const goGit = "github.com/go-git/"

// TestCoreWithoutGoGit: the root module's go.mod does not require go-git
// (not even indirectly), and no package of the root module depends on it.
func TestCoreWithoutGoGit(t *testing.T) {
	root := filepath.Join("..", "..")
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if strings.Contains(line, goGit) {
			t.Errorf("go.mod: %s: go-git belongs to the nested module gogit/", strings.TrimSpace(line))
		}
	}
	cmd := exec.Command("go", "list", "-deps", "-test", "./...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for dep := range strings.Lines(string(out)) {
		if strings.HasPrefix(dep, goGit) {
			t.Errorf("a package of the root module depends on %s", strings.TrimSpace(dep))
		}
	}
	if !isModule(filepath.Join(root, "gogit")) {
		t.Errorf("gogit/ is not a module of its own")
	}
}

// TestCLIWithoutNetwork: the reftable command, and package tool, link no
// network, HTTP, TLS or S3 client code (every linked package costs
// start-up time, and most commands are one short process); S3 is
// reftable-s3's, which reftable runs for the command lines that need it.
// Nor anything that makes the binary load libc (os/user, cgo).
func TestCLIWithoutNetwork(t *testing.T) {
	deps := func(pkg string) map[string]bool {
		cmd := exec.Command("go", "list", "-deps", pkg)
		cmd.Dir = filepath.Join("..", "..")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		m := map[string]bool{}
		for dep := range strings.Lines(string(out)) {
			m[strings.TrimSpace(dep)] = true
		}
		return m
	}
	for _, pkg := range []string{"./cmd/reftable", "./tool/..."} {
		n := 0
		for dep := range deps(pkg) {
			n++
			switch {
			case dep == "net", dep == "net/http", dep == "crypto/tls", dep == module+"/s3store",
				strings.HasPrefix(dep, "github.com/minio/"):
				t.Errorf("%s depends on %s; S3 access belongs in cmd/reftable-s3", pkg, dep)
			case dep == "os/user", dep == "runtime/cgo":
				t.Errorf("%s depends on %s, which links libc under cgo: loading it cost each process 3 ms", pkg, dep)
			}
		}
		if n == 0 {
			t.Errorf("go list -deps %s listed nothing", pkg)
		}
	}
	if !deps("./cmd/reftable-s3")[module+"/s3store"] {
		t.Errorf("cmd/reftable-s3 does not depend on %s/s3store", module)
	}
}

// TestNoAdvisoryLocks: correctness must not depend on flock or fcntl
// locks, so nothing calls them but vfs.TryLock, the witness that a lock's
// holder still runs (see stack.BreakStaleLock): a stale lock is broken
// only when its holder's process is gone too.
func TestNoAdvisoryLocks(t *testing.T) {
	for _, f := range parseModule(t) {
		if filepath.ToSlash(f.path) == "vfs/lock_flock.go" {
			continue
		}
		ast.Inspect(f.ast, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				switch sel.Sel.Name {
				case "Flock", "FcntlFlock", "LockFileEx", "F_SETLK", "F_SETLKW", "F_OFD_SETLK", "F_OFD_SETLKW":
					t.Errorf("%s uses %s: advisory locks are not used for correctness", f.path, sel.Sel.Name)
				}
			}
			return true
		})
	}
}

// TestLibraryCode: no panics and no reflect.DeepEqual in library code,
// and only package vfs calls os file functions.
func TestLibraryCode(t *testing.T) {
	osFileCalls := map[string]bool{
		"Open": true, "OpenFile": true, "Create": true, "Rename": true, "Remove": true, "RemoveAll": true,
		"ReadDir": true, "ReadFile": true, "WriteFile": true, "Stat": true, "Lstat": true, "Mkdir": true,
		"MkdirAll": true, "Chmod": true, "Link": true, "Symlink": true,
	}
	for _, f := range parseModule(t) {
		library := !f.test && (pkgOf(f) == "reftable" || pkgOf(f) == "repo" || strings.HasPrefix(f.path, "internal/odb/") || pkgOf(f) == "stack" || pkgOf(f) == "stat" || pkgOf(f) == "vfs" || pkgOf(f) == "objstore" || pkgOf(f) == "filesrefs" || pkgOf(f) == "s3store")
		ast.Inspect(f.ast, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "panic" && library {
					t.Errorf("%s calls panic", f.path)
				}
			case *ast.SelectorExpr:
				x, ok := n.X.(*ast.Ident)
				if !ok {
					return true
				}
				if x.Name == "reflect" && n.Sel.Name == "DeepEqual" {
					t.Errorf("%s uses reflect.DeepEqual; use go-cmp", f.path)
				}
				if x.Name == "os" && osFileCalls[n.Sel.Name] && library && pkgOf(f) != "vfs" {
					t.Errorf("%s calls os.%s: file access goes through package vfs", f.path, n.Sel.Name)
				}
			}
			return true
		})
	}
}
