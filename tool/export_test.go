package tool

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/refstore/refstore/internal/testutil/gittest"
	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack"
)

// TestExportImportRoundTrip exports every fixture git wrote and imports
// the result again: refs, reflogs and digest come back unchanged.
func TestExportImportRoundTrip(t *testing.T) {
	for _, name := range fixtureNames(t) {
		t.Run(name, func(t *testing.T) {
			src := filepath.Join(fixtures, name, "reftable")
			tmp := t.TempDir()
			files, stack := filepath.Join(tmp, "files"), filepath.Join(tmp, "stack")
			out := mustRun(t, "", "export", src, files)
			digest := mustRun(t, "", "digest", src)
			if !strings.HasSuffix(out, digest) {
				t.Errorf("export printed %q, want the digest %q", out, digest)
			}
			if want := expectedDigest(t, readFile(t, filepath.Join(fixtures, name, "expected.txt"))); digest != want {
				t.Fatalf("fixture digest %q, want %q", digest, want)
			}
			mustRun(t, "", "import", files, stack)
			for _, cmd := range []string{"refs", "logs", "digest"} {
				if diff := cmp.Diff(mustRun(t, "", cmd, src), mustRun(t, "", cmd, stack)); diff != "" {
					t.Errorf("reftable %s after export and import (-before +after):\n%s", cmd, diff)
				}
			}
			if leftovers, _ := filepath.Glob(filepath.Join(tmp, ".*")); len(leftovers) > 0 {
				t.Errorf("temporary files left: %v", leftovers)
			}
		})
	}
}

// TestExportSmall checks the layout export writes for the stack import
// made of a hand-written repository: the same files, byte for byte.
func TestExportSmall(t *testing.T) {
	tmp := t.TempDir()
	src, stack, files := filepath.Join(tmp, "src.git"), filepath.Join(tmp, "stack"), filepath.Join(tmp, "files")
	writeTree(t, src, smallFilesRepo)
	mustRun(t, "", "import", src, stack)
	checkGolden(t, "export/small-dry-run", runIn(t, tmp, "export", "-dry-run", stack, files))
	if _, err := os.Stat(files); err == nil {
		t.Fatalf("dry run created %s", files)
	}
	checkGolden(t, "export/small", runIn(t, tmp, "export", stack, files))
	// As git's migration lays them out: every ref but root refs and
	// symbolic refs in packed-refs; reflog messages with white space
	// collapsed.
	want := map[string]string{
		"HEAD":      smallFilesRepo["HEAD"],
		"ORIG_HEAD": smallFilesRepo["ORIG_HEAD"],
		"packed-refs": "# pack-refs with: peeled fully-peeled sorted \n" +
			"2222222222222222222222222222222222222222 refs/heads/main\n" +
			"3333333333333333333333333333333333333333 refs/tags/v1\n" +
			"^1111111111111111111111111111111111111111\n",
		"refs/remotes/origin/HEAD": smallFilesRepo["refs/remotes/origin/HEAD"],
		"logs/HEAD":                smallFilesRepo["logs/HEAD"],
		"logs/refs/heads/main":     strings.Replace(smallFilesRepo["logs/refs/heads/main"], "commit:  two \n", "commit: two\n", 1),
	}
	if diff := cmp.Diff(want, filesOnly(tree(t, files))); diff != "" {
		t.Errorf("exported files (-want +got):\n%s", diff)
	}
}

// TestExportBadInput checks that bad arguments and sources fail with a
// clear message and write nothing.
func TestExportBadInput(t *testing.T) {
	tmp := t.TempDir()
	filesRepo := filepath.Join(tmp, "files.git")
	writeTree(t, filesRepo, smallFilesRepo)
	exists := filepath.Join(tmp, "exists")
	writeTree(t, exists, map[string]string{"x": "x"})
	// A stack whose refs the files backend cannot hold.
	conflict := makeRepo(t, "", "")
	st, err := stack.Open(filepath.Join(conflict, ".git", "reftable"), stack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	one := bytes.Repeat([]byte{1}, 20)
	if err := st.AddTable(ctx, func(w *reftable.Writer) error {
		for _, name := range []string{"refs/heads/a", "refs/heads/a/b"} { // reflogs of deleted refs
			err := w.AddLog(&reftable.LogRecord{RefName: []byte(name), UpdateIndex: 1, Type: reftable.LogUpdate,
				Old: one, New: one, Name: []byte("n"), Email: []byte("e"), Time: 1, Message: []byte("m")})
			if err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"no-args", []string{"export"}},
		{"three-args", []string{"export", "a", "b", "c"}},
		{"files-repo", []string{"export", filesRepo, filepath.Join(tmp, "out")}},
		{"not-a-repo", []string{"export", exists, filepath.Join(tmp, "out")}},
		{"dst-exists", []string{"export", filepath.Join(fixtures, "sha1-basic", "reftable"), exists}},
		{"dst-exists-dry-run", []string{"export", "-dry-run", filepath.Join(fixtures, "sha1-basic", "reftable"), exists}},
		{"conflict", []string{"export", conflict, filepath.Join(tmp, "out")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.ReplaceAll(runIn(t, tmp, tc.args...), conflict, "$REPO")
			checkGolden(t, "export/"+tc.name, got)
			if _, err := os.Stat(filepath.Join(tmp, "out")); err == nil {
				t.Errorf("%s created the destination", tc.name)
			}
			if leftovers, _ := filepath.Glob(filepath.Join(tmp, ".*")); len(leftovers) > 0 {
				t.Errorf("temporary files left: %v", leftovers)
			}
			if diff := cmp.Diff(map[string]string{"x": "x"}, tree(t, exists)); diff != "" {
				t.Errorf("existing directory changed (-want +got):\n%s", diff)
			}
		})
	}
}

// TestExportGit compares export with git's own migration to the files
// backend on repositories git wrote, also after git gc (which leaves
// reflog existence markers: export failed on them), and checks that git
// reads the exported files.
func TestExportGit(t *testing.T) {
	for _, tc := range []struct{ format, name string }{{"sha1", "sha1"}, {"sha256", "sha256"}, {"sha1", "sha1-gc"}, {"sha256", "sha256-gc"}} {
		t.Run(tc.name, func(t *testing.T) {
			format := tc.format
			r := gittest.Init(t, format)
			makeHistory(r, false)
			if strings.HasSuffix(tc.name, "-gc") {
				// gc expires every entry (all older than 90 days),
				// leaving markers; then an entry above two of them.
				r.Run("gc", "-q")
				r.Run("commit", "-q", "--allow-empty", "-m", "after gc")
				if !strings.Contains(mustRun(t, "", "logs", "-markers", r.Dir), "existence marker") {
					t.Fatal("git gc left no reflog existence marker")
				}
			}
			want := gitRefs(r)
			wantDigest := mustRun(t, "", "digest", r.Dir)
			if !strings.Contains(mustRun(t, "", "refs", r.Dir, "refs/tags/v1"), strings.TrimSpace(r.Run("rev-parse", "v1^{}"))) {
				t.Fatal("git wrote v1 without its peeled id")
			}

			// git's migration of a copy.
			migrated := *r
			migrated.Dir = filepath.Join(t.TempDir(), "migrated")
			copyTree(t, r.Dir, migrated.Dir)
			migrated.Run("refs", "migrate", "--ref-format=files")
			gitFiles := tree(t, filepath.Join(migrated.Dir, ".git"))
			for name := range gitFiles {
				if !isRefFile(name) {
					delete(gitFiles, name)
				}
			}

			// Ours without peeled ids: the same files, byte for byte.
			dst := filepath.Join(t.TempDir(), "files")
			mustRun(t, "", "export", "-no-peeled", r.Dir, dst)
			if diff := cmp.Diff(gitFiles, tree(t, dst)); diff != "" {
				t.Errorf("exported files (-git +ours):\n%s", diff)
			}

			// With peeled ids git reads the files as the repository's refs,
			// and they import back to the same digest.
			peeled := filepath.Join(t.TempDir(), "files")
			out := mustRun(t, "", "export", r.Dir, peeled)
			if !strings.HasSuffix(out, wantDigest) {
				t.Errorf("export printed %q, want the digest %q", out, wantDigest)
			}
			if !strings.Contains(readFile(t, filepath.Join(peeled, "packed-refs")), "refs/tags/v1\n^") {
				t.Error("packed-refs has no peeled line for v1")
			}
			back := filepath.Join(t.TempDir(), "stack")
			mustRun(t, "", "import", peeled, back)
			if got := mustRun(t, "", "digest", back); got != wantDigest {
				t.Errorf("digest after export and import %q, want %q", got, wantDigest)
			}
			conv := *r
			conv.Dir = filepath.Join(t.TempDir(), "converted")
			copyTree(t, r.Dir, conv.Dir)
			gitDir := filepath.Join(conv.Dir, ".git")
			for _, p := range []string{"reftable", "refs", "HEAD"} {
				if err := os.RemoveAll(filepath.Join(gitDir, p)); err != nil {
					t.Fatal(err)
				}
			}
			copyTree(t, peeled, gitDir)
			conv.Run("config", "--file", filepath.Join(gitDir, "config"), "--unset", "extensions.refStorage")
			if diff := cmp.Diff(want, gitRefs(&conv)); diff != "" {
				t.Errorf("git on the exported files (-reftable +files):\n%s", diff)
			}
			if diff := cmp.Diff(gitRefs(&migrated), gitRefs(&conv)); diff != "" {
				t.Errorf("git on its migration and on ours (-git +ours):\n%s", diff)
			}
			conv.Run("fsck", "--strict")
			conv.Run("refs", "verify")
		})
	}
}

// isRefFile reports whether a path in a files-backend git directory
// holds refs or reflogs.
func isRefFile(name string) bool {
	first, _, _ := strings.Cut(name, "/")
	switch first {
	case "refs", "logs", "packed-refs", "HEAD", "ORIG_HEAD":
		return true
	}
	return false
}
