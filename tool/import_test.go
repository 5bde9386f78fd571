package tool

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/refstore/refstore/internal/testutil/gittest"
)

// copyTree copies the directory tree src (files, directories and
// symbolic links) to the new directory dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		to := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(to, 0o777)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, to)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(to, data, 0o666)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// tree returns the files under dir (slash-separated path -> contents)
// and its directories (path -> "/").
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			out[filepath.ToSlash(rel)] = "/"
			return nil
		}
		data, err := os.ReadFile(path)
		out[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// runIn runs the tool with the temporary directory tmp shown as $TMP in
// its output, for golden files.
func runIn(t *testing.T, tmp string, args ...string) string {
	t.Helper()
	return strings.ReplaceAll(runTool(t, "", args...).String(), tmp, "$TMP")
}

// writeTree writes files (slash-separated path -> contents) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, data := range files {
		path := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
			t.Fatal(err)
		}
		writeFile(t, path, data)
	}
}

// smallFilesRepo is a files-backend git directory written by hand.
var smallFilesRepo = map[string]string{
	"config":        "[core]\n\trepositoryformatversion = 0\n\tbare = true\n",
	"objects/.keep": "",
	"HEAD":          "ref: refs/heads/main\n",
	"ORIG_HEAD":     "1111111111111111111111111111111111111111\n",
	"FETCH_HEAD":    "2222222222222222222222222222222222222222\t\tbranch 'main' of example\n",
	"packed-refs": "# pack-refs with: peeled fully-peeled sorted \n" +
		"1111111111111111111111111111111111111111 refs/heads/main\n" +
		"3333333333333333333333333333333333333333 refs/tags/v1\n" +
		"^1111111111111111111111111111111111111111\n",
	"refs/heads/main":          "2222222222222222222222222222222222222222\n",
	"refs/remotes/origin/HEAD": "ref: refs/remotes/origin/main\n",
	"logs/HEAD": "0000000000000000000000000000000000000000 1111111111111111111111111111111111111111 A U Thor <a@example.com> 1700000000 +0530\tcommit (initial): one\n" +
		"1111111111111111111111111111111111111111 2222222222222222222222222222222222222222 A U Thor <a@example.com> 1700000060 -0800\n",
	"logs/refs/heads/main": "0000000000000000000000000000000000000000 1111111111111111111111111111111111111111 A U Thor <a@example.com> 1700000000 +0530\tcommit (initial): one\n" +
		"1111111111111111111111111111111111111111 2222222222222222222222222222222222222222 A U Thor <a@example.com> 1700000060 -0800\tcommit:  two \n",
}

// TestImportSmall imports a hand-written repository: the dry run and the
// import print the same refs and digest, and the stack has them.
func TestImportSmall(t *testing.T) {
	tmp := t.TempDir()
	src, dst := filepath.Join(tmp, "src.git"), filepath.Join(tmp, "dst")
	writeTree(t, src, smallFilesRepo)
	checkGolden(t, "import/small-dry-run", runIn(t, tmp, "import", "-dry-run", src, dst))
	if _, err := os.Stat(dst); err == nil {
		t.Fatalf("dry run created %s", dst)
	}
	checkGolden(t, "import/small", runIn(t, tmp, "import", src, dst))
	checkGolden(t, "import/small-refs", runIn(t, tmp, "refs", dst))
	checkGolden(t, "import/small-logs", runIn(t, tmp, "logs", dst))
	checkGolden(t, "import/small-records", dumpRecords(t, dst)+"\n")
	if got := mustRun(t, "", "verify", dst); got != "" {
		t.Errorf("verify: %s", got)
	}
	// The source was only read.
	if diff := cmp.Diff(smallFilesRepo, filesOnly(tree(t, src))); diff != "" {
		t.Errorf("source changed (-want +got):\n%s", diff)
	}
}

// filesOnly drops the directories of a tree.
func filesOnly(tree map[string]string) map[string]string {
	for k, v := range tree {
		if v == "/" {
			delete(tree, k)
		}
	}
	return tree
}

// TestImportBadInput checks that bad arguments and sources fail with a
// clear message and write nothing.
func TestImportBadInput(t *testing.T) {
	tmp := t.TempDir()
	good := filepath.Join(tmp, "good.git")
	writeTree(t, good, smallFilesRepo)
	bad := filepath.Join(tmp, "bad.git")
	writeTree(t, bad, smallFilesRepo)
	writeFile(t, filepath.Join(bad, "logs/HEAD"), smallFilesRepo["logs/HEAD"]+"0000 broken\n")
	sha256Repo := filepath.Join(tmp, "sha256.git")
	writeTree(t, sha256Repo, smallFilesRepo)
	writeFile(t, filepath.Join(sha256Repo, "config"), "[core]\n\trepositoryformatversion = 1\n[extensions]\n\tobjectFormat = sha256\n")
	notRepo := filepath.Join(tmp, "plain")
	writeTree(t, notRepo, map[string]string{"file": "x"})
	withWorktree := filepath.Join(tmp, "wt.git")
	writeTree(t, withWorktree, smallFilesRepo)
	writeTree(t, withWorktree, map[string]string{"worktrees/w/HEAD": "ref: refs/heads/w\n", "worktrees/w/commondir": "../..\n"})
	full := filepath.Join(tmp, "full")
	writeTree(t, full, map[string]string{"x": "x"})
	reftableRepo := makeRepo(t, "sha1-basic", "")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"no-args", []string{"import"}},
		{"one-arg", []string{"import", good}},
		{"not-a-repo", []string{"import", notRepo, filepath.Join(tmp, "out")}},
		{"missing", []string{"import", filepath.Join(tmp, "nope"), filepath.Join(tmp, "out")}},
		{"stack", []string{"import", filepath.Join(fixtures, "sha1-basic", "reftable"), filepath.Join(tmp, "out")}},
		{"reftable-repo", []string{"import", reftableRepo, filepath.Join(tmp, "out")}},
		{"dst-not-empty", []string{"import", good, full}},
		{"dst-is-file", []string{"import", good, filepath.Join(full, "x")}},
		{"malformed-reflog", []string{"import", bad, filepath.Join(tmp, "out")}},
		{"wrong-hash", []string{"import", sha256Repo, filepath.Join(tmp, "out")}},
		{"worktrees", []string{"import", withWorktree, filepath.Join(tmp, "out")}},
		{"linked-worktree", []string{"import", filepath.Join(withWorktree, "worktrees", "w"), filepath.Join(tmp, "out")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := runIn(t, tmp, tc.args...)
			if tc.name == "reftable-repo" {
				got = strings.ReplaceAll(got, reftableRepo, "$REPO")
			}
			checkGolden(t, "import/"+tc.name, got)
			if _, err := os.Stat(filepath.Join(tmp, "out")); err == nil {
				t.Errorf("%s created the destination", tc.name)
			}
			if diff := cmp.Diff(map[string]string{"x": "x"}, tree(t, full)); diff != "" {
				t.Errorf("destination changed (-want +got):\n%s", diff)
			}
		})
	}
}

// newFilesRepo returns a git repository with the files ref backend.
func newFilesRepo(t *testing.T, objectFormat string) *gittest.Repo {
	r := gittest.Init(t, objectFormat)
	r.Run("refs", "migrate", "--ref-format=files")
	return r
}

// makeHistory gives r commits, branches (one packed and then updated
// loose, one deleted), an annotated and a lightweight tag, a remote with
// a symbolic HEAD, ORIG_HEAD, reflogs with odd and empty messages, and
// (if pack) packs the refs half way.
func makeHistory(r *gittest.Repo, pack bool) {
	r.Run("commit", "-q", "--allow-empty", "-m", "c1")
	r.Run("tag", "-a", "-m", "annotated", "v1")
	r.Run("tag", "light")
	r.Run("branch", "feature/x")
	r.Run("branch", "gone")
	r.Run("commit", "-q", "--allow-empty", "-m", "c2")
	r.Run("update-ref", "-m", "fetch: fast-forward", "refs/remotes/origin/main", "HEAD")
	r.Run("symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main")
	if pack {
		r.Run("pack-refs", "--all")
	}
	r.Run("commit", "-q", "--allow-empty", "-m", "c3")
	r.Run("branch", "-f", "feature/x", "HEAD~1")
	r.Run("update-ref", "-m", "  odd   message\twith\ttabs  ", "refs/heads/topic", "HEAD~2")
	r.Run("update-ref", "refs/heads/topic", "HEAD") // no message
	r.Run("branch", "-D", "gone")
	r.Run("checkout", "-q", "feature/x")
	r.Run("commit", "-q", "--allow-empty", "-m", "c4 on feature/x")
	r.Run("reset", "-q", "--hard", "HEAD~1") // sets ORIG_HEAD
	r.Run("checkout", "-q", "main")
}

// gitRefs is what git shows of a repository's refs and reflogs.
func gitRefs(r *gittest.Repo) string {
	out := r.Run("for-each-ref", "--format=%(refname) %(objectname) %(*objectname) %(symref)")
	out += r.Run("rev-parse", "HEAD", "ORIG_HEAD")
	out += r.Run("reflog", "show", "--all", "--format=%gD %H %gn <%ge> %gs")
	out += r.Run("reflog", "show", "--all", "--date=raw", "--format=%gd")
	return out
}

// TestImportGit compares import with git's own migration on repositories
// git wrote, and checks that git reads the imported stack.
func TestImportGit(t *testing.T) {
	for _, format := range []string{"sha1", "sha256"} {
		t.Run(format, func(t *testing.T) {
			r := newFilesRepo(t, format)
			makeHistory(r, true)
			// Zones git was not told to use, an identity with crud, a
			// message longer than half a block, and a pseudoref.
			topic := strings.TrimSpace(r.Run("rev-parse", "refs/heads/topic"))
			logs := filepath.Join(r.Dir, ".git", "logs", "refs", "heads", "topic")
			data := readFile(t, logs) +
				topic + " " + topic + " Zed Zone <z@example.com> 1700009999 -0800\tzone: minus eight\n" +
				topic + " " + topic + " Zed Zone <z@example.com> 1700010999 +0530\tzone: plus five thirty\n" +
				topic + " " + topic + "  \"Zed, Zone;\" <  z@example.com  > 1700011999 +0000 no tab,  spaces\n" +
				topic + " " + topic + " Long <l@example.com> 1700012999 +0000\t" + strings.Repeat("long message ", 300) + "\n"
			writeFile(t, logs, data)
			writeFile(t, filepath.Join(r.Dir, ".git", "FETCH_HEAD"), topic+"\t\tbranch 'main' of example\n")
			// Empty reflogs, which the files backend keeps to say that a
			// reflog exists (of a ref, and of no ref): git's migration
			// writes no existence marker for them, nor do we.
			writeFile(t, filepath.Join(r.Dir, ".git", "logs", "refs", "heads", "feature", "x"), "")
			writeFile(t, filepath.Join(r.Dir, ".git", "logs", "refs", "heads", "ghost"), "")
			if _, err := os.Stat(filepath.Join(r.Dir, ".git", "refs", "heads", "main")); err != nil {
				t.Fatalf("main is not loose: %v", err)
			}
			if !strings.Contains(readFile(t, filepath.Join(r.Dir, ".git", "packed-refs")), "refs/tags/v1\n^") {
				t.Fatal("v1 is not packed with its peeled id")
			}
			before := tree(t, filepath.Join(r.Dir, ".git"))

			// git's migration of a copy.
			migrated := *r
			migrated.Dir = filepath.Join(t.TempDir(), "migrated")
			copyTree(t, r.Dir, migrated.Dir)
			migrated.Run("refs", "migrate", "--ref-format=reftable")

			// Ours, without peeled ids: the same records as git's.
			dst := filepath.Join(t.TempDir(), "stack")
			out := mustRun(t, "", "import", "-no-peeled", r.Dir, dst)
			for _, cmd := range []string{"refs", "logs", "digest"} {
				if diff := cmp.Diff(mustRun(t, "", cmd, migrated.Dir), mustRun(t, "", cmd, dst)); diff != "" {
					t.Errorf("reftable %s (-git +ours):\n%s", cmd, diff)
				}
			}
			if diff := cmp.Diff(dumpRecords(t, migrated.Dir), dumpRecords(t, dst)); diff != "" {
				t.Errorf("records with update indexes (-git +ours):\n%s", diff)
			}
			if got := mustRun(t, "", "logs", "-markers", migrated.Dir); strings.Contains(got, "existence marker") {
				t.Errorf("git's migration wrote existence markers, which import does not:\n%s", got)
			}
			if !strings.HasSuffix(out, mustRun(t, "", "digest", dst)) {
				t.Errorf("import printed %q, want the digest of %s", out, dst)
			}

			// With peeled ids: only v1 differs, by the id git peels it to.
			peeled := filepath.Join(t.TempDir(), "stack")
			mustRun(t, "", "import", r.Dir, peeled)
			v1 := strings.TrimSpace(r.Run("rev-parse", "v1")) + " " + strings.TrimSpace(r.Run("rev-parse", "v1^{}"))
			wantRefs := strings.Replace(mustRun(t, "", "refs", migrated.Dir), "refs/tags/v1 "+strings.Fields(v1)[0], "refs/tags/v1 "+v1, 1)
			if diff := cmp.Diff(wantRefs, mustRun(t, "", "refs", peeled)); diff != "" {
				t.Errorf("refs with peeled ids (-want +got):\n%s", diff)
			}

			// git reads the stack as a repository's refs.
			conv := *r
			conv.Dir = filepath.Join(t.TempDir(), "converted")
			copyTree(t, r.Dir, conv.Dir)
			gitDir := filepath.Join(conv.Dir, ".git")
			for _, p := range []string{"packed-refs", "logs", "refs", "HEAD", "ORIG_HEAD", "FETCH_HEAD"} {
				if err := os.RemoveAll(filepath.Join(gitDir, p)); err != nil {
					t.Fatal(err)
				}
			}
			writeTree(t, gitDir, map[string]string{"HEAD": "ref: refs/heads/.invalid\n", "refs/heads": "this repository uses the reftable format\n"})
			if err := os.Rename(peeled, filepath.Join(gitDir, "reftable")); err != nil {
				t.Fatal(err)
			}
			conv.Run("config", "--file", filepath.Join(gitDir, "config"), "core.repositoryformatversion", "1")
			conv.Run("config", "--file", filepath.Join(gitDir, "config"), "extensions.refStorage", "reftable")
			if diff := cmp.Diff(gitRefs(&migrated), gitRefs(&conv)); diff != "" {
				t.Errorf("git on its migration and on our import (-git +ours):\n%s", diff)
			}
			conv.Run("fsck", "--strict")
			conv.Run("refs", "verify")

			if diff := cmp.Diff(before, tree(t, filepath.Join(r.Dir, ".git"))); diff != "" {
				t.Errorf("import changed its source (-before +after):\n%s", diff)
			}
		})
	}
}

// dumpRecords returns the ref and log records of a stack as dump prints
// them, update indexes included.
func dumpRecords(t *testing.T, path string) string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(mustRun(t, "", "dump", "-records", path), "\n") {
		if strings.HasPrefix(line, "ref ") || strings.HasPrefix(line, "log ") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
