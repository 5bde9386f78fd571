package gogit

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"

	"github.com/refstore/refstore/gogit/internal/gittest"
)

// interop is a test's real git, with the environment both git and go-git
// run in.
type interop struct {
	t     *testing.T
	git   string
	env   []string
	clock int64
	root  string // where the test's repositories are made
}

// newInterop finds git (failing under CI=true without one) and sets this
// process's environment as git's: no system or global config, the
// committer git writes reflogs as, and PATH with git's own programs, which
// go-git's file transport runs (git-upload-pack, git-receive-pack).
func newInterop(t *testing.T) *interop {
	g := gittest.Git(t)
	h := &interop{t: t, git: g, clock: 1700000000, root: t.TempDir()}
	h.env = gittest.Env(t, g, t.TempDir())
	for _, kv := range h.env {
		k, v, _ := strings.Cut(kv, "=")
		if k == "PATH" || k == "HOME" || k == "XDG_CONFIG_HOME" || strings.HasPrefix(k, "GIT_") {
			t.Setenv(k, v)
		}
	}
	return h
}

// in returns a runner of git in dir (relative to the test's root unless
// absolute).
func (h *interop) in(dir string) *gittest.Runner {
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(h.root, dir)
	}
	return gittest.NewRunner(h.t, h.git, dir, h.env, &h.clock)
}

// path returns the absolute path of a test repository.
func (h *interop) path(dir string) string { return filepath.Join(h.root, dir) }

// commitFile writes name in the working tree of g and commits it with git.
func commitFile(t *testing.T, g *gittest.Runner, name, content, msg string) string {
	t.Helper()
	writeFiles(t, g.Dir, map[string]string{name: content})
	g.Run("add", name)
	g.Run("commit", "-q", "-m", msg)
	return strings.TrimSpace(g.Run("rev-parse", "HEAD"))
}

// reftableCLI is refstore's command built once for the tests that run
// its verify.
var reftableCLI struct {
	once sync.Once
	dir  string
	err  error
}

// reftableBin returns the path of the reftable command, built from the
// root module.
func reftableBin(t *testing.T) string {
	t.Helper()
	reftableCLI.once.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..")
		if reftableCLI.dir, reftableCLI.err = os.MkdirTemp("", "gogit-reftable-"); reftableCLI.err != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(reftableCLI.dir, "reftable"), "./cmd/reftable")
		cmd.Dir = root
		// The environment the tests started with: newInterop points HOME
		// elsewhere, and with it Go's default build and module caches.
		cmd.Env = startEnv
		if out, err := cmd.CombinedOutput(); err != nil {
			reftableCLI.err = errors.New("go build ./cmd/reftable: " + err.Error() + ": " + string(out))
		}
	})
	if reftableCLI.err != nil {
		t.Fatal(reftableCLI.err)
	}
	return filepath.Join(reftableCLI.dir, "reftable")
}

// startEnv is the environment the test binary started with.
var startEnv []string

func TestMain(m *testing.M) {
	startEnv = os.Environ()
	code := m.Run()
	if reftableCLI.dir != "" {
		os.RemoveAll(reftableCLI.dir)
	}
	os.Exit(code)
}

// runReftable runs refstore's command and returns its output.
func runReftable(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(reftableBin(t), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("reftable %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// checkClean checks the repository g runs in as git and refstore see it:
// git fsck, git refs verify and reftable verify -strict (on each stack)
// find nothing, and git for-each-ref and HEAD agree with what r, go-git
// through the adapter, reads.
func checkClean(t *testing.T, g *gittest.Runner, r *git.Repository, stacks ...string) {
	t.Helper()
	if out := g.Run("fsck", "--strict", "--no-dangling", "--no-progress"); out != "" {
		t.Errorf("git fsck in %s:\n%s", g.Dir, out)
	}
	if out := g.Run("refs", "verify", "--strict"); out != "" {
		t.Errorf("git refs verify in %s:\n%s", g.Dir, out)
	}
	for _, s := range stacks {
		runReftable(t, "verify", "-strict", s)
	}
	if r == nil {
		return
	}
	want := strings.Fields(g.Run("for-each-ref", "--format=%(refname)=%(objectname)=%(symref)"))
	var got []string
	it, err := r.References()
	if err != nil {
		t.Fatal(err)
	}
	err = it.ForEach(func(ref *plumbing.Reference) error {
		if ref.Name() == plumbing.HEAD {
			return nil
		}
		res, err := storer.ResolveReference(r.Storer, ref.Name())
		if err != nil {
			return err
		}
		sym := ""
		if ref.Type() == plumbing.SymbolicReference {
			sym = ref.Target().String()
		}
		got = append(got, ref.Name().String()+"="+res.Hash().String()+"="+sym)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("go-git's refs differ from git for-each-ref in %s:\ngo-git: %q\ngit:    %q", g.Dir, got, want)
	}
	head, err := r.Head()
	if err != nil {
		t.Fatal(err)
	}
	if gitHead := strings.TrimSpace(g.Run("rev-parse", "HEAD")); head.Hash().String() != gitHead {
		t.Errorf("HEAD: go-git %v, git %s", head.Hash(), gitHead)
	}
}

// lastReflog returns the newest reflog entry of ref as git shows it:
// "<new id> <committer> <message>".
func lastReflog(g *gittest.Runner, ref string) string {
	return strings.TrimSpace(g.Run("log", "-g", "-1", "--format=%H %gn <%ge> %gs", ref, "--"))
}

// wantReflog checks the newest reflog entry of each ref.
func wantReflog(t *testing.T, g *gittest.Runner, id, msg string, refs ...string) {
	t.Helper()
	for _, ref := range refs {
		if got, want := lastReflog(g, ref), id+" C O Mitter <committer@example.com> "+msg; got != want {
			t.Errorf("%s: newest reflog entry of %s:\n got %s\nwant %s", g.Dir, ref, got, want)
		}
	}
}

// sha256Build is set under -tags sha256. go-git v5 so built reads and
// writes the objects and refs of SHA-256 repositories, but cannot read the
// index git writes for them (index.ErrUnknownExtension), so its Worktree
// cannot add, commit, check out or reset, and its transports do not
// speak object-format=sha256 ("pkt-line 1: no space after hash"). The
// steps that need them are skipped; checkout and commit write, through
// go-git's storer, the refs and objects go-git's would.
var sha256Build = formatOfBuild() == "sha256"

const (
	noIndexSHA256     = "go-git v5 (-tags sha256) cannot read git's SHA-256 index: its Worktree cannot add, commit, check out or reset"
	noTransportSHA256 = "go-git v5 (-tags sha256) does not speak object-format=sha256 on the wire"
)

// checkout checks out branch with go-git, creating it if create is set.
// Under sha256Build it writes what go-git's Checkout would write to refs,
// the branch and HEAD, and leaves the working tree.
func checkout(t *testing.T, r *git.Repository, w *git.Worktree, branch plumbing.ReferenceName, create bool) {
	t.Helper()
	if !sha256Build {
		if err := w.Checkout(&git.CheckoutOptions{Branch: branch, Create: create}); err != nil {
			t.Fatal(err)
		}
		return
	}
	head, err := r.Head()
	if err != nil {
		t.Fatal(err)
	}
	if create {
		if err := r.Storer.SetReference(plumbing.NewHashReference(branch, head.Hash())); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, branch)); err != nil {
		t.Fatal(err)
	}
}

// commit writes file and commits it with go-git. Under sha256Build it
// writes what go-git's Commit would, with the tree of HEAD (go-git cannot
// build one from git's index): the commit object, then HEAD's branch.
func commit(t *testing.T, r *git.Repository, w *git.Worktree, file, content, msg string) plumbing.Hash {
	t.Helper()
	if !sha256Build {
		writeFiles(t, w.Filesystem.Root(), map[string]string{file: content})
		if _, err := w.Add(file); err != nil {
			t.Fatal(err)
		}
		h, err := w.Commit(msg, &git.CommitOptions{Author: &sig})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	head, err := r.Head()
	if err != nil {
		t.Fatal(err)
	}
	parent, err := r.CommitObject(head.Hash())
	if err != nil {
		t.Fatal(err)
	}
	c := &object.Commit{Author: sig, Committer: sig, Message: msg, TreeHash: parent.TreeHash, ParentHashes: []plumbing.Hash{head.Hash()}}
	o := r.Storer.NewEncodedObject()
	if err := c.Encode(o); err != nil {
		t.Fatal(err)
	}
	h, err := r.Storer.SetEncodedObject(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Storer.SetReference(plumbing.NewHashReference(head.Name(), h)); err != nil {
		t.Fatal(err)
	}
	return h
}

var sig = object.Signature{Name: "G O Git", Email: "gogit@example.com", When: time.Unix(1700100000, 0).UTC()}

// TestGitInterop: git makes a reftable repository with history,
// branches, tags and a linked worktree; go-git through the adapter logs,
// branches, tags, commits, resets, checks out, fetches from and pushes to
// a files and a reftable repository; after each step git and refstore
// find the repository clean and agree with go-git, and git's reflog shows
// go-git's changes in git's words. Then git writes and go-git reads it
// back, in the main and in the linked worktree, and in a bare clone.
func TestGitInterop(t *testing.T) {
	h := newInterop(t)
	format := formatOfBuild()
	m := h.in("main")
	h.in(".").Run("init", "-q", "--ref-format=reftable", "--object-format="+format, "-b", "main", "main")
	m.Run("config", "gc.auto", "0")
	m.Run("config", "maintenance.auto", "false")
	commitFile(t, m, "a.txt", "one\n", "c1")
	c2 := commitFile(t, m, "a.txt", "two\n", "c2")
	m.Run("tag", "-a", "-m", "version 1", "v1")
	m.Run("tag", "light")
	m.Run("branch", "feature")
	c3 := commitFile(t, m, "b.txt", "three\n", "c3")
	m.Run("worktree", "add", "-q", "-b", "wtb", h.path("wt"))
	for _, kind := range []string{"files", "reftable"} {
		h.in(".").Run("clone", "-q", "--ref-format="+kind, h.path("main"), kind)
		commitFile(t, h.in(kind), "x.txt", kind+"\n", "on "+kind)
		h.in(kind).Run("checkout", "-q", "-b", "side-"+kind)
		h.in(kind).Run("checkout", "-q", "main")
	}
	mainStack := filepath.Join(h.path("main"), ".git", "reftable")
	wtStack := filepath.Join(h.path("main"), ".git", "worktrees", "wt", "reftable")

	r, err := Open(h.path("main"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Storer.(*Storage).Close()
	w, err := r.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	checkClean(t, m, r, mainStack, wtStack)

	t.Run("log", func(t *testing.T) {
		head, err := r.Head()
		if err != nil {
			t.Fatal(err)
		}
		it, err := r.Log(&git.LogOptions{From: head.Hash()})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		it.ForEach(func(c *object.Commit) error {
			got = append(got, c.Hash.String()+" "+strings.TrimSpace(c.Message))
			return nil
		})
		want := strings.Split(strings.TrimSpace(m.Run("log", "--format=%H %s")), "\n")
		if !slices.Equal(got, want) {
			t.Errorf("go-git log %q, git log %q", got, want)
		}
		tag, err := r.Tag("v1")
		if err != nil {
			t.Fatal(err)
		}
		obj, err := r.TagObject(tag.Hash())
		if err != nil || obj.Target.String() != c2 {
			t.Errorf("v1 = %v, %v; want a tag of %s", obj, err, c2)
		}
	})

	t.Run("branch", func(t *testing.T) {
		checkout(t, r, w, "refs/heads/topic", true)
		wantReflog(t, m, c3, "branch: Created from main", "topic")
		wantReflog(t, m, c3, "checkout: moving from main to topic", "HEAD")
		checkout(t, r, w, plumbing.Main, false)
		wantReflog(t, m, c3, "checkout: moving from topic to main", "HEAD")
		// A branch's config: go-git writes the config back.
		if err := r.CreateBranch(&config.Branch{Name: "topic", Remote: "origin", Merge: plumbing.Main}); err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(m.Run("config", "extensions.refStorage")); got != "reftable" {
			t.Errorf("extensions.refStorage = %q after go-git wrote the config", got)
		}
		if got := strings.TrimSpace(m.Run("config", "branch.topic.merge")); got != "refs/heads/main" {
			t.Errorf("branch.topic.merge = %q", got)
		}
		checkClean(t, m, r, mainStack)
	})

	t.Run("tag", func(t *testing.T) {
		head, _ := r.Head()
		tag, err := r.CreateTag("v2", head.Hash(), &git.CreateTagOptions{Tagger: &sig, Message: "version 2"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.CreateTag("light2", head.Hash(), nil); err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(m.Run("for-each-ref", "--format=%(objecttype) %(objectname) %(*objectname)", "refs/tags/v2")); got != "tag "+tag.Hash().String()+" "+c3 {
			t.Errorf("git sees v2 as %q", got)
		}
		// The table records the id v2 peels to, as git's would.
		if got := strings.TrimSpace(runReftable(t, "refs", mainStack, "refs/tags/v2")); got != "refs/tags/v2 "+tag.Hash().String()+" "+c3 {
			t.Errorf("reftable refs: %q", got)
		}
		checkClean(t, m, r, mainStack)
	})

	var gogitCommit plumbing.Hash
	t.Run("commit", func(t *testing.T) {
		gogitCommit = commit(t, r, w, "c.txt", "from go-git\n", "go-git commit\n\nwith a body\n")
		wantReflog(t, m, gogitCommit.String(), "commit: go-git commit", "HEAD", "main")
		if got := m.Run("status", "--porcelain"); got != "" && !sha256Build {
			t.Errorf("git status after go-git's commit:\n%s", got)
		}
		checkClean(t, m, r, mainStack)
	})

	t.Run("reset", func(t *testing.T) {
		if sha256Build {
			t.Skip(noIndexSHA256)
		}
		if err := w.Reset(&git.ResetOptions{Commit: plumbing.NewHash(c3), Mode: git.HardReset}); err != nil {
			t.Fatal(err)
		}
		wantReflog(t, m, c3, "reset: moving to "+c3, "HEAD", "main")
		if got := strings.TrimSpace(m.Run("rev-parse", "main")); got != c3 {
			t.Errorf("main = %s after the reset, want %s", got, c3)
		}
		// Back to go-git's commit, which the next steps push.
		if err := w.Reset(&git.ResetOptions{Commit: gogitCommit, Mode: git.HardReset}); err != nil {
			t.Fatal(err)
		}
		checkClean(t, m, r, mainStack)
	})

	for _, kind := range []string{"files", "reftable"} {
		remote := h.in(kind)
		t.Run("fetch from "+kind, func(t *testing.T) {
			if sha256Build {
				t.Skip(noTransportSHA256)
			}
			if _, err := r.CreateRemote(&config.RemoteConfig{Name: kind, URLs: []string{h.path(kind)}}); err != nil {
				t.Fatal(err)
			}
			if err := r.Fetch(&git.FetchOptions{RemoteName: kind}); err != nil {
				t.Fatal(err)
			}
			onRemote := strings.TrimSpace(remote.Run("rev-parse", "main"))
			wantReflog(t, m, onRemote, "fetch "+kind+": storing head", "refs/remotes/"+kind+"/main")
			// Fast-forward, then forced.
			next := commitFile(t, remote, "y.txt", "more\n", "more on "+kind)
			if err := r.Fetch(&git.FetchOptions{RemoteName: kind}); err != nil {
				t.Fatal(err)
			}
			wantReflog(t, m, next, "fetch "+kind+": fast-forward", "refs/remotes/"+kind+"/main")
			remote.Run("reset", "-q", "--hard", "HEAD~1")
			other := commitFile(t, remote, "y.txt", "other\n", "rewritten on "+kind)
			if err := r.Fetch(&git.FetchOptions{RemoteName: kind}); err != nil {
				t.Fatal(err)
			}
			wantReflog(t, m, other, "fetch "+kind+": forced-update", "refs/remotes/"+kind+"/main")
			checkClean(t, m, r, mainStack)
		})
		t.Run("push to "+kind, func(t *testing.T) {
			if sha256Build {
				t.Skip(noTransportSHA256)
			}
			err := r.Push(&git.PushOptions{RemoteName: kind, RefSpecs: []config.RefSpec{"refs/heads/main:refs/heads/from-gogit"}})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(remote.Run("rev-parse", "from-gogit")); got != gogitCommit.String() {
				t.Errorf("%s's from-gogit = %s, want %v", kind, got, gogitCommit)
			}
			if got := strings.TrimSpace(remote.Run("log", "-g", "-1", "--format=%gs", "from-gogit", "--")); got != "push" {
				t.Errorf("%s's reflog of from-gogit: %q", kind, got)
			}
			wantReflog(t, m, gogitCommit.String(), "update by push", "refs/remotes/"+kind+"/from-gogit")
			var stacks []string
			if kind == "reftable" {
				stacks = append(stacks, filepath.Join(remote.Dir, ".git", "reftable"))
			}
			checkClean(t, remote, nil, stacks...)
			checkClean(t, m, r, mainStack)
		})
	}

	t.Run("git writes, go-git reads", func(t *testing.T) {
		c4 := commitFile(t, m, "d.txt", "from git\n", "git again")
		m.Run("branch", "g1", "HEAD~1")
		m.Run("tag", "-a", "-m", "g2", "g2")
		m.Run("update-ref", "-m", "by git", "refs/heads/x", "HEAD")
		m.Run("symbolic-ref", "refs/heads/sym", "refs/heads/x")
		m.Run("pack-refs", "--all")
		m.Run("update-ref", "-d", "refs/heads/topic")
		for name, want := range map[string]string{"refs/heads/main": c4, "refs/heads/x": c4, "refs/heads/sym": c4, "refs/heads/g1": gogitCommit.String()} {
			ref, err := storer.ResolveReference(r.Storer, plumbing.ReferenceName(name))
			if err != nil || ref.Hash().String() != want {
				t.Errorf("%s: go-git reads %v, %v; want %s", name, ref, err, want)
			}
		}
		if _, err := r.Reference("refs/heads/topic", false); err != plumbing.ErrReferenceNotFound {
			t.Errorf("topic, deleted by git: %v", err)
		}
		checkClean(t, m, r, mainStack, wtStack)
		// go-git writes after git's compaction, and git after go-git.
		if err := r.Storer.SetReference(plumbing.NewHashReference("refs/heads/y", plumbing.NewHash(c4))); err != nil {
			t.Fatal(err)
		}
		if err := r.Storer.PackRefs(); err != nil {
			t.Fatal(err)
		}
		m.Run("branch", "-f", "y", "HEAD~1")
		if got := strings.TrimSpace(m.Run("log", "-g", "-2", "--format=%gs", "y", "--")); got != "branch: Reset to HEAD~1\nbranch: Created from main" {
			t.Errorf("y's reflog: %q", got)
		}
		checkClean(t, m, r, mainStack, wtStack)
	})

	t.Run("linked worktree", func(t *testing.T) {
		g := h.in("wt")
		wr, err := Open(h.path("wt"))
		if err != nil {
			t.Fatal(err)
		}
		defer wr.Storer.(*Storage).Close()
		ww, err := wr.Worktree()
		if err != nil {
			t.Fatal(err)
		}
		if ww.Filesystem.Root() != h.path("wt") {
			t.Errorf("worktree root %s", ww.Filesystem.Root())
		}
		mainHead := lastReflog(m, "HEAD")
		c := commit(t, wr, ww, "w.txt", "in the worktree\n", "worktree commit")
		wantReflog(t, g, c.String(), "commit: worktree commit", "HEAD", "wtb")
		if got := lastReflog(m, "HEAD"); got != mainHead {
			t.Errorf("the main worktree's HEAD logged the linked worktree's commit: %s", got)
		}
		// A per-worktree ref is the worktree's own.
		if err := wr.Storer.SetReference(plumbing.NewHashReference("refs/worktree/mark", c)); err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(g.Run("rev-parse", "refs/worktree/mark")); got != c.String() {
			t.Errorf("git in the worktree reads refs/worktree/mark as %s", got)
		}
		if _, err := m.RunInput("", "rev-parse", "-q", "--verify", "refs/worktree/mark"); err == nil {
			t.Errorf("the main worktree sees the linked worktree's refs/worktree/mark")
		}
		checkout(t, wr, ww, "refs/heads/wt2", true)
		wantReflog(t, g, c.String(), "checkout: moving from wtb to wt2", "HEAD")
		wantReflog(t, g, c.String(), "branch: Created from wtb", "wt2")
		// git writes in the worktree, go-git reads.
		c5 := commitFile(t, g, "w.txt", "by git\n", "git in the worktree")
		if head, err := wr.Head(); err != nil || head.Hash().String() != c5 || head.Name() != "refs/heads/wt2" {
			t.Errorf("go-git reads the worktree's HEAD as %v, %v; want wt2 at %s", head, err, c5)
		}
		checkClean(t, g, wr, mainStack, wtStack)
		checkClean(t, m, r, mainStack)
	})

	t.Run("bare", func(t *testing.T) {
		h.in(".").Run("clone", "-q", "--bare", "--ref-format=reftable", h.path("main"), "bare.git")
		g := h.in("bare.git")
		br, err := Open(h.path("bare.git"))
		if err != nil {
			t.Fatal(err)
		}
		defer br.Storer.(*Storage).Close()
		if _, err := br.Worktree(); err != git.ErrIsBareRepository {
			t.Errorf("Worktree of a bare repository: %v", err)
		}
		head, err := br.Head()
		if err != nil {
			t.Fatal(err)
		}
		if err := br.Storer.SetReference(plumbing.NewHashReference("refs/heads/by-gogit", head.Hash())); err != nil {
			t.Fatal(err)
		}
		g.Run("branch", "by-git", "HEAD")
		// A bare repository logs only refs that have a reflog: neither
		// branch has one, as git.
		for _, b := range []string{"by-gogit", "by-git"} {
			if out := g.Run("reflog", "show", b, "--"); out != "" {
				t.Errorf("%s has a reflog in a bare repository: %q", b, out)
			}
		}
		checkClean(t, g, br, filepath.Join(h.path("bare.git"), "reftable"))
	})
}

// TestFirstCommitByGoGit: in a repository git init just made (HEAD on an
// unborn branch), go-git commits first; git reads the commit and the
// reflogs, then commits on top, and go-git reads that back.
func TestFirstCommitByGoGit(t *testing.T) {
	h := newInterop(t)
	h.in(".").Run("init", "-q", "--ref-format=reftable", "--object-format="+formatOfBuild(), "-b", "trunk", "repo")
	g := h.in("repo")
	r, err := Open(h.path("repo"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Storer.(*Storage).Close()
	w, err := r.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	// No index yet: go-git writes its own, which it can read in either
	// object format.
	writeFiles(t, g.Dir, map[string]string{"README": "hello\n"})
	if _, err := w.Add("README"); err != nil {
		t.Fatal(err)
	}
	first, err := w.Commit("first\n", &git.CommitOptions{Author: &sig})
	if err != nil {
		t.Fatal(err)
	}
	wantReflog(t, g, first.String(), "commit (initial): first", "HEAD", "trunk")
	second := commitFile(t, g, "README", "hello again\n", "second")
	head, err := r.Head()
	if err != nil || head.Hash().String() != second || head.Name() != "refs/heads/trunk" {
		t.Errorf("go-git reads HEAD as %v, %v; want trunk at %s", head, err, second)
	}
	checkClean(t, g, r, filepath.Join(h.path("repo"), ".git", "reftable"))
}
