//go:build !sha256

package gogit

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var rewrite = flag.Bool("rewrite", false, "remake testdata/example.git with git, and Example's output")

// exampleRepo is the repository Example opens.
const exampleRepo = "testdata/example.git"

// TestExampleRepository checks the repository Example opens against git:
// a bare reftable repository git 2.55 made, clean, whose git log --oneline
// -3 is Example's output. With -rewrite it makes it anew (four commits
// with fixed identities and dates) and writes Example's output.
func TestExampleRepository(t *testing.T) {
	h := newInterop(t)
	abs, err := filepath.Abs(exampleRepo)
	if err != nil {
		t.Fatal(err)
	}
	if *rewrite {
		src := h.in("src")
		h.in(".").Run("init", "-q", "--ref-format=reftable", "-b", "main", "src")
		commitFile(t, src, "README", "refstore\n", "Add the README")
		commitFile(t, src, "README", "refstore: git's reftable in Go\n", "Describe the project")
		commitFile(t, src, "CHANGES", "v0.1: first release\n", "Add a changelog")
		commitFile(t, src, "README", "refstore: git's reftable format in Go\n", "Fix the description")
		if err := os.RemoveAll(abs); err != nil {
			t.Fatal(err)
		}
		h.in(".").Run("clone", "-q", "--bare", "--no-local", "--ref-format=reftable", h.path("src"), abs)
		for _, extra := range []string{"hooks", "description", "info"} {
			if err := os.RemoveAll(filepath.Join(abs, extra)); err != nil {
				t.Fatal(err)
			}
		}
	}
	g := h.in(abs)
	if got := strings.TrimSpace(g.Run("config", "extensions.refStorage")); got != "reftable" {
		t.Fatalf("%s: extensions.refStorage = %q", exampleRepo, got)
	}
	r, err := Open(abs)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Storer.(*Storage).Close()
	checkClean(t, g, r, filepath.Join(abs, "reftable"))

	gitLog := g.Run("log", "--oneline", "-3")
	src := readFile(t, "example_test.go")
	const marker = "\t// Output:\n"
	i := strings.Index(src, marker)
	if i < 0 {
		t.Fatal("example_test.go has no output")
	}
	i += len(marker)
	j := i + strings.Index(src[i:], "}\n")
	if *rewrite {
		var out strings.Builder
		for line := range strings.Lines(gitLog) {
			out.WriteString("\t// " + line)
		}
		if err := os.WriteFile("example_test.go", []byte(src[:i]+out.String()+src[j:]), 0o666); err != nil {
			t.Fatal(err)
		}
		return
	}
	var want strings.Builder
	for line := range strings.Lines(src[i:j]) {
		want.WriteString(strings.TrimPrefix(strings.TrimSpace(line), "// ") + "\n")
	}
	if want.String() != gitLog {
		t.Errorf("git log --oneline -3 in %s:\n%s\nExample's output:\n%s", exampleRepo, gitLog, want.String())
	}
}
