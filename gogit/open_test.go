package gogit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// newWorkTree lays out a working tree whose .git is an empty reftable
// repository with HEAD on main at one commit, and returns the working
// tree's path.
func newWorkTree(t testing.TB) string {
	t.Helper()
	wt := t.TempDir()
	gitDir := newEmptyRepo(t, filepath.Join(wt, ".git"))
	cfg := strings.Replace(readFile(t, filepath.Join(gitDir, "config")), "bare = true", "bare = false", 1)
	writeFiles(t, gitDir, map[string]string{"config": cfg})
	st, err := OpenStorage(gitDir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	setRef(t, st, symRef("HEAD", "refs/heads/main"))
	setRef(t, st, hashRef("refs/heads/main", makeCommit(t, st, "one")))
	return wt
}

// worktreeRoot returns the root of r's working tree, "" if bare.
func worktreeRoot(t testing.TB, r *git.Repository) string {
	t.Helper()
	w, err := r.Worktree()
	if errors.Is(err, git.ErrIsBareRepository) {
		return ""
	} else if err != nil {
		t.Fatal(err)
	}
	return w.Filesystem.Root()
}

func TestOpenLayouts(t *testing.T) {
	wt := newWorkTree(t)
	sub := filepath.Join(wt, "a", "b")
	if err := os.MkdirAll(sub, 0o777); err != nil {
		t.Fatal(err)
	}
	// A working tree whose .git is a file naming a git directory
	// elsewhere, as git clone --separate-git-dir makes.
	sepWT := t.TempDir()
	sepGit := filepath.Join(t.TempDir(), "repo.git")
	if err := os.Rename(filepath.Join(newWorkTree(t), ".git"), sepGit); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, sepWT, map[string]string{".git": "gitdir: " + sepGit + "\n"})
	bare := newEmptyRepo(t, t.TempDir())
	st, err := OpenStorage(bare, Options{})
	if err != nil {
		t.Fatal(err)
	}
	setRef(t, st, symRef("HEAD", "refs/heads/main"))
	st.Close()

	tests := []struct {
		path   string
		detect bool
		root   string // the working tree; "" bare
		err    error
	}{
		{wt, false, wt, nil},
		{filepath.Join(wt, ".git"), false, wt, nil},
		{sub, true, wt, nil},
		{sub, false, "", git.ErrRepositoryNotExists},
		{sepWT, false, sepWT, nil},
		{bare, false, "", nil},
		{t.TempDir(), true, "", git.ErrRepositoryNotExists},
	}
	for _, tt := range tests {
		r, err := OpenWithOptions(tt.path, Options{DetectDotGit: tt.detect})
		if !errors.Is(err, tt.err) {
			t.Errorf("Open(%s, detect %v): %v, want %v", tt.path, tt.detect, err, tt.err)
			continue
		}
		if err != nil {
			continue
		}
		if _, ok := r.Storer.(*Storage); !ok {
			t.Errorf("Open(%s): storage %T", tt.path, r.Storer)
		}
		if root := worktreeRoot(t, r); root != tt.root {
			t.Errorf("Open(%s): working tree %q, want %q", tt.path, root, tt.root)
		}
		if _, err := r.Head(); err != nil && tt.path != bare {
			t.Errorf("Open(%s): HEAD: %v", tt.path, err)
		}
		r.Storer.(*Storage).Close()
	}
}

func TestOpenFilesBackend(t *testing.T) {
	dir := t.TempDir()
	if _, err := git.PlainInit(dir, false); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenStorage(dir, Options{}); !errors.Is(err, ErrNotReftable) {
		t.Errorf("OpenStorage of a files-backend repository: %v", err)
	}
	r, err := Open(dir)
	if err != nil {
		t.Fatalf("Open of a files-backend repository: %v", err)
	}
	if _, ok := r.Storer.(*filesystem.Storage); !ok {
		t.Errorf("files-backend repository opened with %T", r.Storer)
	}
}

func TestOpenRefusals(t *testing.T) {
	other := map[string]string{"sha1": "sha256", "sha256": "sha1"}[formatOfBuild()]
	wrongFormat := newEmptyRepo(t, t.TempDir())
	writeFiles(t, wrongFormat, map[string]string{"config": "[core]\n\trepositoryformatversion = 1\n[extensions]\n\trefstorage = reftable\n\tobjectformat = " + other + "\n"})
	if _, err := Open(wrongFormat); !errors.Is(err, ErrObjectFormat) {
		t.Errorf("Open of a %s repository in a %s build: %v", other, formatOfBuild(), err)
	}
	noStack := newEmptyRepo(t, t.TempDir())
	if err := os.RemoveAll(filepath.Join(noStack, "reftable")); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(noStack); err == nil || !strings.Contains(err.Error(), "has no reftable directory") {
		t.Errorf("Open of a reftable repository without reftable/: %v", err)
	}
	badSetting := newEmptyRepo(t, t.TempDir())
	writeFiles(t, badSetting, map[string]string{"config": readFile(t, filepath.Join(badSetting, "config")) + "[reftable]\n\tblockSize = lots\n"})
	if _, err := Open(badSetting); err == nil || !strings.Contains(strings.ToLower(err.Error()), "blocksize") {
		t.Errorf("Open with reftable.blockSize = lots: %v", err)
	}
}

// linkWorktree lays out a linked worktree of the repository whose working
// tree is main, as git worktree add does, with its own empty stack, and
// returns its path.
func linkWorktree(t testing.TB, main, id string) string {
	t.Helper()
	wt := filepath.Join(t.TempDir(), id)
	gitDir := filepath.Join(main, ".git", "worktrees", id)
	writeFiles(t, gitDir, map[string]string{
		"HEAD":                 "ref: refs/heads/.invalid\n",
		"commondir":            "../..\n",
		"gitdir":               filepath.Join(wt, ".git") + "\n",
		"reftable/tables.list": "",
	})
	writeFiles(t, wt, map[string]string{".git": "gitdir: " + gitDir + "\n"})
	return wt
}

func TestLinkedWorktree(t *testing.T) {
	setIdentity(t)
	mainWT := newWorkTree(t)
	linked := linkWorktree(t, mainWT, "wt")
	mainSt, err := OpenStorage(mainWT, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer mainSt.Close()
	head, err := mainSt.Reference("refs/heads/main")
	if err != nil {
		t.Fatal(err)
	}
	c1 := head.Hash()
	c2 := makeCommit(t, mainSt, "two", c1)
	setRef(t, mainSt, hashRef("refs/heads/wtb", c1))

	st, err := OpenStorage(linked, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.GitDir() == st.CommonDir() {
		t.Fatalf("linked worktree with git directory %s = common directory", st.GitDir())
	}
	// git worktree add: the worktree's HEAD on its branch, logged in its
	// own stack with the id of the branch, which the main stack holds.
	setRef(t, st, symRef("HEAD", "refs/heads/wtb"))
	if h := lastLog(t, st, "HEAD"); fmt.Sprintf("%x", h.new) != c1.String() {
		t.Errorf("worktree HEAD's entry: %x -> %x %q, want -> %v", h.old, h.new, h.message, c1)
	}
	// A commit on the worktree's branch: the branch (main stack) and the
	// worktree's HEAD log it; the main worktree's HEAD does not.
	mainHeadLogs, _ := mainSt.refs.reflog("HEAD")
	setRef(t, st, hashRef("refs/heads/wtb", c2))
	for _, l := range []struct {
		st   *Storage
		name string
	}{{st, "HEAD"}, {st, "refs/heads/wtb"}, {mainSt, "refs/heads/wtb"}} {
		got := lastLog(t, l.st, l.name)
		if got.message != "commit: two" || fmt.Sprintf("%x", got.old) != c1.String() || fmt.Sprintf("%x", got.new) != c2.String() {
			t.Errorf("%s (from %s): %x -> %x %q, want commit: two", l.name, l.st.GitDir(), got.old, got.new, got.message)
		}
	}
	if logs, _ := mainSt.refs.reflog("HEAD"); len(logs) != len(mainHeadLogs) {
		t.Errorf("the main worktree's HEAD logged a commit of a linked worktree's branch: %d entries, had %d", len(logs), len(mainHeadLogs))
	}
	// Detaching HEAD logs the id HEAD had, read through the main stack.
	setRef(t, st, hashRef("HEAD", c1))
	if h := lastLog(t, st, "HEAD"); h.message != "checkout: moving from wtb to "+c1.String() || fmt.Sprintf("%x", h.old) != c2.String() {
		t.Errorf("detaching: %x -> %x %q", h.old, h.new, h.message)
	}
	// Per-worktree refs live in the worktree's stack.
	setRef(t, st, hashRef("refs/worktree/mark", c2))
	setRef(t, st, hashRef("refs/bisect/bad", c2))
	for _, name := range []plumbing.ReferenceName{"refs/worktree/mark", "refs/bisect/bad"} {
		if _, err := st.Reference(name); err != nil {
			t.Errorf("%s from the worktree: %v", name, err)
		}
		if _, err := mainSt.Reference(name); err != plumbing.ErrReferenceNotFound {
			t.Errorf("%s from the main worktree: %v", name, err)
		}
	}
	// PackRefs compacts the worktree's own stack, as git pack-refs
	// there does, and leaves the main one.
	mainTables := tablesIn(t, mainSt.GitDir())
	if err := st.PackRefs(); err != nil {
		t.Fatal(err)
	}
	if n := tablesIn(t, st.GitDir()); n != 1 {
		t.Errorf("%d tables in the worktree's stack after PackRefs, want 1", n)
	}
	if n := tablesIn(t, mainSt.GitDir()); n != mainTables {
		t.Errorf("PackRefs in the linked worktree changed the main stack: %d tables, had %d", n, mainTables)
	}
	want := []string{
		c1.String() + " HEAD",
		c2.String() + " refs/bisect/bad",
		c1.String() + " refs/heads/main",
		c2.String() + " refs/heads/wtb",
		c2.String() + " refs/worktree/mark",
	}
	if got := refsOf(t, st); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("the worktree's refs:\n%q\nwant\n%q", got, want)
	}
	if got := refsOf(t, mainSt); len(got) != 3 || got[0] != "ref: refs/heads/main HEAD" {
		t.Errorf("the main worktree's refs: %q", got)
	}
	// go-git opens it, with the linked worktree as its working tree.
	r, err := Open(linked)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Storer.(*Storage).Close()
	if root := worktreeRoot(t, r); root != linked {
		t.Errorf("working tree %s, want %s", root, linked)
	}
	if h, err := r.Head(); err != nil || h.Hash() != c1 {
		t.Errorf("HEAD = %v, %v", h, err)
	}
}

// TestOtherWorktreesRefs: git's names for other worktrees' per-worktree
// refs, worktrees/<id>/X and main-worktree/X, reach those worktrees'
// stacks, as git update-ref routes them; a worktree that does not exist
// is refused.
func TestOtherWorktreesRefs(t *testing.T) {
	setIdentity(t)
	mainWT := newWorkTree(t)
	linked := linkWorktree(t, mainWT, "wt")
	mainSt, err := OpenStorage(mainWT, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer mainSt.Close()
	st, err := OpenStorage(linked, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	head, err := mainSt.Reference("refs/heads/main")
	if err != nil {
		t.Fatal(err)
	}
	c := head.Hash()

	// The linked worktree's HEAD, set from the main worktree, logs in
	// the worktree's stack the id of the branch it points at.
	setRef(t, mainSt, symRef("worktrees/wt/HEAD", "refs/heads/main"))
	if h, err := st.Reference(plumbing.HEAD); err != nil || h.Target() != plumbing.Main {
		t.Errorf("the linked worktree's HEAD: %v, %v", h, err)
	}
	if l := lastLog(t, st, "HEAD"); hashOf(l.new) != c {
		t.Errorf("the linked worktree's HEAD logged %x -> %x, want -> %v", l.old, l.new, c)
	}
	setRef(t, mainSt, hashRef("worktrees/wt/refs/bisect/bad", c))
	if r, err := st.Reference("refs/bisect/bad"); err != nil || r.Hash() != c {
		t.Errorf("refs/bisect/bad in the linked worktree: %v, %v", r, err)
	}
	if _, err := mainSt.Reference("refs/bisect/bad"); err != plumbing.ErrReferenceNotFound {
		t.Errorf("refs/bisect/bad in the main worktree: %v", err)
	}
	setRef(t, st, hashRef("main-worktree/refs/bisect/good", c))
	if r, err := mainSt.Reference("refs/bisect/good"); err != nil || r.Hash() != c {
		t.Errorf("refs/bisect/good in the main worktree: %v, %v", r, err)
	}
	if r, err := st.Reference("main-worktree/refs/bisect/good"); err != nil || r.Hash() != c {
		t.Errorf("main-worktree/refs/bisect/good read from the linked worktree: %v, %v", r, err)
	}
	if err := mainSt.SetReference(hashRef("worktrees/nosuch/HEAD", c)); err == nil {
		t.Error("SetReference(worktrees/nosuch/HEAD) succeeded")
	}
}
