package tool

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/refstore/refstore/stack"
)

// TestDigest checks the digest of every fixture against the canonical
// stream built from git's expected.txt (TestFixtureOutput has the golden
// files).
func TestDigest(t *testing.T) {
	for _, name := range fixtureNames(t) {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(fixtures, name, "reftable")
			got := runTool(t, "", "digest", dir)
			if want := expectedDigest(t, readFile(t, filepath.Join(fixtures, name, "expected.txt"))); got.stdout != want {
				t.Errorf("digest %s = %q, want %q from expected.txt", name, got.stdout, want)
			}
		})
	}
}

// expectedDigest computes the digest line from git's expected.txt, as
// the help text of digest defines the stream.
func expectedDigest(t *testing.T, expected string) string {
	t.Helper()
	h := sha256.New()
	n := 0
	for _, line := range strings.Split(strings.TrimSuffix(expected, "\n"), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 3 && f[1] == "ref:":
			fmt.Fprintf(h, "%s\x003%s\n", f[0], f[2])
		case len(f) == 3:
			fmt.Fprintf(h, "%s\x002%s %s\n", f[0], f[1], f[2])
		case len(f) == 2:
			fmt.Fprintf(h, "%s\x001%s\n", f[0], f[1])
		default:
			t.Fatalf("bad expected.txt line %q", line)
		}
		n++
	}
	return fmt.Sprintf("sha256:%s %d refs\n", hex.EncodeToString(h.Sum(nil)), n)
}

// TestDigestLayoutIndependent checks that compacting a stack into one
// table keeps its digest, and that changing one ref changes it.
func TestDigestLayoutIndependent(t *testing.T) {
	for _, name := range []string{"sha1-basic", "sha256-basic"} {
		t.Run(name, func(t *testing.T) {
			src := filepath.Join(fixtures, name, "reftable")
			before := mustRun(t, "", "digest", src)
			repo := makeRepo(t, name, strings.TrimSpace(readFile(t, filepath.Join(fixtures, name, "object-format.txt"))))
			dir := filepath.Join(repo, ".git", "reftable")
			tgt, err := openPath(dir, write, stack.Options{DisableAutoCompaction: true, NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			st, err := tgt.stack()
			if err != nil {
				t.Fatal(err)
			}
			if err := st.CompactAll(ctx, nil); err != nil {
				t.Fatal(err)
			}
			if err := tgt.Close(); err != nil {
				t.Fatal(err)
			}
			if n := len(strings.Fields(readFile(t, filepath.Join(dir, "tables.list")))); n != 1 {
				t.Fatalf("compacted stack has %d tables", n)
			}
			if after := mustRun(t, "", "digest", dir); after != before {
				t.Errorf("digest after compaction %q, before %q", after, before)
			}
			if r := mustRun(t, "", "digest", repo); r != before {
				t.Errorf("digest of the repository %q, want %q", r, before)
			}
			// Move one branch to another commit: the digest changes,
			// the count does not.
			head := strings.Fields(mustRun(t, "", "refs", dir, "refs/heads/main"))
			other := strings.Fields(mustRun(t, "", "refs", dir, "refs/heads/feature/x"))
			mustRun(t, "update "+head[0]+" "+other[1]+"\n", "update", repo)
			changed := mustRun(t, "", "digest", repo)
			if changed == before {
				t.Errorf("digest unchanged after moving %s", head[0])
			}
			if c, b := strings.Fields(changed)[1], strings.Fields(before)[1]; c != b {
				t.Errorf("ref count %s after moving a ref, want %s", c, b)
			}
		})
	}
}

// TestDigestLinkedWorktree checks that digest in a linked worktree hashes
// the refs refs lists there: the worktree's own HEAD with the shared refs
// of the main stack.
func TestDigestLinkedWorktree(t *testing.T) {
	main := makeRepo(t, "sha1-basic", "")
	wtGit := filepath.Join(main, ".git", "worktrees", "wt")
	if err := os.MkdirAll(filepath.Join(wtGit, "reftable"), 0o777); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(wtGit, "reftable", "tables.list"), "")
	writeFile(t, filepath.Join(wtGit, "commondir"), "../..\n")
	writeFile(t, filepath.Join(wtGit, "HEAD"), "ref: refs/heads/.invalid\n")
	wt := t.TempDir()
	writeFile(t, filepath.Join(wt, ".git"), "gitdir: "+wtGit+"\n")
	mustRun(t, "symref-update HEAD refs/heads/feature/x\n", "update", wt)

	expected := readFile(t, filepath.Join(fixtures, "sha1-basic", "expected.txt"))
	want := expectedDigest(t, strings.Replace(expected, "HEAD ref: refs/heads/main\n", "HEAD ref: refs/heads/feature/x\n", 1))
	if got := mustRun(t, "", "digest", wt); got != want {
		t.Errorf("digest of the worktree %q, want %q", got, want)
	}
	if got, want := mustRun(t, "", "digest", main), expectedDigest(t, expected); got != want {
		t.Errorf("digest of the main worktree %q, want %q", got, want)
	}
	own := expectedDigest(t, "HEAD ref: refs/heads/feature/x\n")
	if got := mustRun(t, "", "digest", filepath.Join(wtGit, "reftable")); got != own {
		t.Errorf("digest of the worktree's stack alone %q, want %q", got, own)
	}
}
