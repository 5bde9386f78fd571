package repo

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/refstore/refstore/reftable"
)

// TestFind finds the git directory of every kind of place in a
// repository, as git does, and refuses places in none.
func TestFind(t *testing.T) {
	main := newRepo(t, "")
	sub := filepath.Join(main, "a", "b")
	if err := os.MkdirAll(sub, 0o777); err != nil {
		t.Fatal(err)
	}
	wt := addWorktree(t, main, "wt")
	bare := t.TempDir()
	for _, d := range []string{"objects", "refs"} {
		if err := os.MkdirAll(filepath.Join(bare, d), 0o777); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(bare, "HEAD"), "ref: refs/heads/main\n")
	mainGit, wtGit := filepath.Join(main, ".git"), filepath.Join(main, ".git", "worktrees", "wt")
	for _, tt := range []struct {
		name, path        string
		opts              Options
		gitDir, commonDir string
	}{
		{"working tree", main, Options{}, mainGit, mainGit},
		{"subdirectory", sub, Options{}, mainGit, mainGit},
		{"git directory", mainGit, Options{NoParents: true}, mainGit, mainGit},
		{"bare repository", bare, Options{NoParents: true}, bare, bare},
		{"linked worktree", wt, Options{NoParents: true}, wtGit, filepath.Join(wtGit, "..", "..")},
		{"linked worktree's git directory", wtGit, Options{NoParents: true}, wtGit, filepath.Join(wtGit, "..", "..")},
	} {
		gitDir, commonDir, err := Find(tt.path, tt.opts)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !sameDir(gitDir, tt.gitDir) || !sameDir(commonDir, tt.commonDir) {
			t.Errorf("%s: git dir %s, common dir %s; want %s, %s", tt.name, gitDir, commonDir, tt.gitDir, tt.commonDir)
		}
	}

	if _, _, err := Find(sub, Options{NoParents: true}); !errors.Is(err, ErrNotRepository) || !strings.HasPrefix(err.Error(), sub+": ") {
		t.Errorf("a subdirectory without searching: %v, want ErrNotRepository naming it", err)
	}
	outside := t.TempDir()
	if _, _, err := Find(outside, Options{}); !errors.Is(err, ErrNotRepository) || !strings.Contains(err.Error(), "(or any parent up to "+string(filepath.Separator)+")") {
		t.Errorf("outside any repository: %v", err)
	}
	file := filepath.Join(outside, "file")
	writeFile(t, file, "")
	if _, _, err := Find(file, Options{}); !errors.Is(err, ErrNotRepository) {
		t.Errorf("a file: %v", err)
	}
	if _, _, err := Find(filepath.Join(outside, "missing"), Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing path: %v", err)
	}
	writeFile(t, filepath.Join(outside, "bad", ".git"), "not a gitdir line\n")
	if _, _, err := Find(filepath.Join(outside, "bad"), Options{}); !errors.Is(err, ErrNotRepository) {
		t.Errorf("a .git file without gitdir: %v", err)
	}
}

// TestOpenRefuses: a repository whose refs are in the files backend, or
// that says reftable but has no stack, or a linked worktree without its
// main stack, is refused naming the git directory.
func TestOpenRefuses(t *testing.T) {
	files := t.TempDir()
	for _, d := range []string{".git/objects", ".git/refs/heads"} {
		if err := os.MkdirAll(filepath.Join(files, d), 0o777); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(files, ".git", "HEAD"), "ref: refs/heads/main\n")
	_, err := Open(files, Options{})
	if !errors.Is(err, ErrFilesBackend) || err.Error() != filepath.Join(files, ".git")+` uses the "files" ref backend, not reftable` {
		t.Errorf("files backend: %v", err)
	}

	broken := newRepo(t, "")
	if err := os.RemoveAll(filepath.Join(broken, ".git", "reftable")); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(broken, Options{}); err == nil || !strings.Contains(err.Error(), "uses reftable but has no reftable directory") {
		t.Errorf("reftable without a stack: %v", err)
	}

	main := newRepo(t, "")
	wt := addWorktree(t, main, "wt")
	if err := os.RemoveAll(filepath.Join(main, ".git", "reftable")); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(wt, Options{}); err == nil || !strings.Contains(err.Error(), "main stack") {
		t.Errorf("linked worktree without the main stack: %v", err)
	}
}

// TestOpenConfig: Open applies the config to the stacks it opens, and
// refuses an invalid reftable.* setting unless only reading.
func TestOpenConfig(t *testing.T) {
	wt := newRepo(t, "\tobjectFormat = sha256\n[core]\n\tlogAllRefUpdates = always\n[reftable]\n\tblockSize = 1k\n")
	r := open(t, wt, Options{})
	if c := r.Config(); c.ObjectFormat.Size() != 32 || c.BlockSize != 1024 {
		t.Errorf("config: %+v", c)
	}
	if r.GitDir() != filepath.Join(wt, ".git") || r.CommonDir() != r.GitDir() || r.StackDir() != filepath.Join(wt, ".git", "reftable") {
		t.Errorf("directories: %s %s %s", r.GitDir(), r.CommonDir(), r.StackDir())
	}
	id := make([]byte, 32)
	id[31] = 1
	commit(t, r, stackUpdate("refs/tags/v1", id))
	// Logged although not a branch: logAllRefUpdates = always.
	n := 0
	for _, err := range r.Reflog(ctx, "refs/tags/v1") {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 {
		t.Errorf("%d reflog entries of a tag with logAllRefUpdates = always, want 1", n)
	}

	bad := newRepo(t, "[reftable]\n\trestartInterval = 70000\n")
	if _, err := Open(bad, Options{}); !errors.Is(err, ErrConfig) {
		t.Errorf("invalid setting: %v, want ErrConfig", err)
	}
	ro := open(t, bad, Options{ReadOnly: true})
	if _, err := ro.Ref(ctx, "HEAD"); !errors.Is(err, reftable.ErrNotFound) {
		t.Errorf("reading a repository with an invalid setting: %v", err)
	}
	tx := ro.NewTransaction(testWho)
	tx.Add(set("refs/heads/main", 1))
	if err := tx.Commit(ctx); !errors.Is(err, ErrReadOnly) {
		t.Errorf("writing a repository opened read-only: %v", err)
	}
}

// TestOpenWorkTree: the working tree is the directory whose .git led to
// the repository, or the one a git directory opened directly implies;
// none for a bare repository.
func TestOpenWorkTree(t *testing.T) {
	main := newRepo(t, "")
	sub := filepath.Join(main, "a")
	if err := os.MkdirAll(sub, 0o777); err != nil {
		t.Fatal(err)
	}
	wt := addWorktree(t, main, "wt")
	// A .git file naming a git directory elsewhere (git clone
	// --separate-git-dir).
	sep := t.TempDir()
	sepGit := filepath.Join(newRepo(t, ""), ".git")
	writeFile(t, filepath.Join(sep, ".git"), "gitdir: "+sepGit+"\n")
	bare := t.TempDir()
	writeFile(t, filepath.Join(bare, "config"), "[core]\n\trepositoryformatversion = 1\n\tbare = true\n[extensions]\n\trefStorage = reftable\n")
	writeFile(t, filepath.Join(bare, "HEAD"), "ref: refs/heads/.invalid\n")
	writeFile(t, filepath.Join(bare, "reftable", "tables.list"), "")
	if err := os.MkdirAll(filepath.Join(bare, "objects"), 0o777); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, path, workTree string
	}{
		{"working tree", main, main},
		{"subdirectory", sub, main},
		{".git directory", filepath.Join(main, ".git"), main},
		{".git file", sep, sep},
		{"linked worktree", wt, wt},
		{"linked worktree's git directory", filepath.Join(main, ".git", "worktrees", "wt"), wt},
		{"bare repository", bare, ""},
	} {
		r := open(t, tt.path, Options{})
		if got := r.WorkTree(); got != tt.workTree && !sameDir(got, tt.workTree) {
			t.Errorf("%s: working tree %q, want %q", tt.name, got, tt.workTree)
		}
	}
}
