package tool

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestFixtures checks refs and logs against what git says every fixture
// holds, byte for byte, on the stack directory read in place, on a
// repository holding a copy, and on the single table of one-table stacks.
func TestFixtures(t *testing.T) {
	for _, name := range fixtureNames(t) {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(fixtures, name)
			wantRefs := readFile(t, filepath.Join(dir, "expected.txt"))
			wantLogs := readFile(t, filepath.Join(dir, "expected-logs.txt"))
			format := strings.TrimSpace(readFile(t, filepath.Join(dir, "object-format.txt")))
			repo := makeRepo(t, name, format)
			// A git directory named by path needs objects/ to be one.
			if err := os.Mkdir(filepath.Join(repo, ".git", "objects"), 0o777); err != nil {
				t.Fatal(err)
			}
			paths := []string{filepath.Join(dir, "reftable"), repo, filepath.Join(repo, ".git")}
			if tables := strings.Fields(readFile(t, filepath.Join(dir, "reftable", "tables.list"))); len(tables) == 1 {
				paths = append(paths, filepath.Join(dir, "reftable", tables[0]))
			}
			for _, p := range paths {
				if diff := cmp.Diff(wantRefs, mustRun(t, "", "refs", p)); diff != "" {
					t.Errorf("refs %s (-want +got):\n%s", p, diff)
				}
				if diff := cmp.Diff(wantLogs, mustRun(t, "", "logs", p)); diff != "" {
					t.Errorf("logs %s (-want +got):\n%s", p, diff)
				}
			}
		})
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestDefaultPath runs refs, show and dump without PATH, and with a
// subdirectory of the working tree for PATH, from a subdirectory: the
// repository is found as git finds it.
func TestDefaultPath(t *testing.T) {
	repo := makeRepo(t, "sha1-basic", "")
	sub := filepath.Join(repo, "a", "b")
	if err := os.MkdirAll(sub, 0o777); err != nil {
		t.Fatal(err)
	}
	want := readFile(t, filepath.Join(fixtures, "sha1-basic", "expected.txt"))
	t.Chdir(sub)
	if diff := cmp.Diff(want, mustRun(t, "", "refs")); diff != "" {
		t.Errorf("refs (-want +got):\n%s", diff)
	}
	got := mustRun(t, "", "refs", "refs/tags/")
	if n := strings.Count(got, "\n"); n != 3 {
		t.Errorf("refs refs/tags/: got %d lines:\n%s", n, got)
	}
	stackDir := filepath.Join(repo, ".git", "reftable")
	for _, tc := range []struct{ args, withPath []string }{
		{[]string{"show", "HEAD"}, []string{"show", stackDir, "HEAD"}},
		{[]string{"show", ".", "HEAD"}, []string{"show", stackDir, "HEAD"}},
		{[]string{"dump", "-records"}, []string{"dump", "-records", stackDir}},
		{[]string{"refs", "..", "refs/tags/"}, []string{"refs", stackDir, "refs/tags/"}},
	} {
		want := mustRun(t, "", tc.withPath...)
		if got := mustRun(t, "", tc.args...); got != want {
			t.Errorf("%q printed\n%s\nwant what %q prints:\n%s", tc.args, got, tc.withPath, want)
		}
	}
}

func TestReadCommands(t *testing.T) {
	sha1 := filepath.Join(fixtures, "sha1-basic", "reftable")
	sha256 := filepath.Join(fixtures, "sha256-basic", "reftable")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"refs/prefix", []string{"refs", sha1, "refs/tags/"}},
		{"refs/json", []string{"refs", "-json", sha1}},
		{"refs/json-after-path", []string{"refs", sha1, "-json", "refs/heads/"}},
		{"refs/sha256-json", []string{"refs", "-json", sha256, "refs/tags/"}},
		{"refs/missing-path", []string{"refs", "testdata/no-such-dir"}},
		{"refs/not-a-repo", []string{"refs", "/"}},
		{"show/head", []string{"show", sha1, "HEAD"}},
		{"show/head-json", []string{"show", "-json", sha1, "HEAD"}},
		{"show/short-tag", []string{"show", sha1, "v1.0"}},
		{"show/origin", []string{"show", sha1, "origin"}},
		{"show/missing", []string{"show", sha1, "refs/heads/nope"}},
		{"show/deleted", []string{"show", sha1, "refs/heads/gone"}},
		{"logs/ref", []string{"logs", "-ref", "refs/heads/feature/x", sha1}},
		{"logs/ref-json", []string{"logs", "-json", "-ref", "refs/remotes/origin/main", sha1}},
		{"logs/ref-missing", []string{"logs", "-ref", "refs/heads/nope", sha1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGolden(t, tc.name, runTool(t, "", tc.args...).String())
		})
	}
}

func TestFilesBackend(t *testing.T) {
	wt := t.TempDir()
	for _, d := range []string{".git/objects", ".git/refs/heads"} {
		if err := os.MkdirAll(filepath.Join(wt, d), 0o777); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(wt, ".git", "HEAD"), "ref: refs/heads/main\n")
	writeFile(t, filepath.Join(wt, ".git", "config"), "[core]\n\tbare = false\n")
	r := runTool(t, "", "refs", wt)
	want := "reftable refs: " + filepath.Join(wt, ".git") + ` uses the "files" ref backend, not reftable (convert it with 'reftable import')` + "\n"
	if r.code != 1 || r.stdout != "" {
		t.Errorf("got %v", r)
	}
	if diff := cmp.Diff(want, r.stderr); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
}

// TestObjectFormatFromConfig checks that a sha256 repository is opened
// with the hash of its config, and that a mismatch is reported.
func TestObjectFormatFromConfig(t *testing.T) {
	repo := makeRepo(t, "sha256-basic", "sha256")
	mustRun(t, "", "refs", repo)
	bad := makeRepo(t, "sha256-basic", "")
	r := runTool(t, "", "refs", bad)
	if r.code != 1 || !strings.Contains(r.stderr, "hash") {
		t.Errorf("sha256 tables in a sha1 repository: %v", r)
	}
}

// TestLinkedWorktree checks that a linked worktree's own stack is used.
func TestLinkedWorktree(t *testing.T) {
	main := makeRepo(t, "sha1-basic", "")
	wtGit := filepath.Join(main, ".git", "worktrees", "wt")
	copyDir(t, filepath.Join(fixtures, "compacted", "reftable"), filepath.Join(wtGit, "reftable"))
	writeFile(t, filepath.Join(wtGit, "commondir"), "../..\n")
	writeFile(t, filepath.Join(wtGit, "HEAD"), "ref: refs/heads/.invalid\n")
	wt := t.TempDir()
	writeFile(t, filepath.Join(wt, ".git"), "gitdir: "+wtGit+"\n")
	got := mustRun(t, "", "refs", wt)
	if diff := cmp.Diff(readFile(t, filepath.Join(fixtures, "compacted", "expected.txt")), got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
