package tool

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/refstore/refstore/internal/testutil/gittest"
)

// gitRepo is a repository written by real git, with a linked worktree.
type gitRepo struct {
	*gittest.Repo
	wt string // the linked worktree's working tree
}

// newGitRepo builds a repository with branches, annotated and lightweight
// tags, symbolic refs and reflogs, and a linked worktree with a detached
// HEAD and per-worktree refs; the main worktree has per-worktree refs of
// its own, which the linked one must not see. Built twice with the same
// format, it yields the same object ids (gittest's clock is fixed).
func newGitRepo(t *testing.T, format string) *gitRepo {
	t.Helper()
	r := &gitRepo{Repo: gittest.Init(t, format)}
	r.wt = filepath.Join(t.TempDir(), "wt")
	r.Run("commit", "-q", "--allow-empty", "-m", "c1")
	r.Run("tag", "-a", "v1", "-m", "tag v1")
	r.Run("tag", "light")
	r.Run("commit", "-q", "--allow-empty", "-m", "c2")
	r.Run("branch", "topic")
	r.Run("branch", "feature/a", "HEAD~1")
	var stdin strings.Builder
	for i := range 40 {
		fmt.Fprintf(&stdin, "create refs/heads/many/b%02d HEAD\n", i)
	}
	for i := range 10 {
		fmt.Fprintf(&stdin, "create refs/tags/t%02d HEAD~1\n", i)
	}
	if _, err := r.RunInput(stdin.String(), "update-ref", "-m", "bulk", "--stdin"); err != nil {
		t.Fatal(err)
	}
	r.Run("update-ref", "-m", "fetch", "refs/remotes/origin/main", "HEAD")
	r.Run("symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main")
	r.Run("update-ref", "refs/bisect/good", "HEAD~1") // the main worktree's own
	r.Run("worktree", "add", "-q", "-b", "wtbranch", r.wt)
	r.Run("-C", r.wt, "commit", "-q", "--allow-empty", "-m", "w1")
	r.Run("-C", r.wt, "checkout", "-q", "--detach")
	r.Run("-C", r.wt, "commit", "-q", "--allow-empty", "-m", "w2")
	r.Run("-C", r.wt, "update-ref", "refs/bisect/bad", "HEAD")
	r.Run("-C", r.wt, "update-ref", "-m", "mark", "--create-reflog", "refs/worktree/mark", "HEAD~1")
	r.Run("commit", "-q", "--allow-empty", "-m", "c3")
	return r
}

// in runs git in dir, one of the repository's worktrees.
func (r *gitRepo) in(dir string, args ...string) string {
	r.T().Helper()
	return r.Run(append([]string{"-C", dir}, args...)...)
}

// refsFormat makes for-each-ref print what reftable refs prints.
const refsFormat = "%(refname) %(if)%(symref)%(then)ref: %(symref)%(else)%(objectname)%(if)%(*objectname)%(then) %(*objectname)%(end)%(end)"

// gitRefs lists the refs git sees from dir, root refs (HEAD) included.
func (r *gitRepo) gitRefs(dir string) string {
	return r.in(dir, "for-each-ref", "--include-root-refs", "--format="+refsFormat)
}

// gitLogs prints the reflog of every ref that has one, as git sees it
// from dir: new id, identity, time and message, newest first.
func (r *gitRepo) gitLogs(dir string) map[string]string {
	refs := strings.Fields(r.in(dir, "reflog", "list"))
	out := r.in(dir, append([]string{"log", "-g", "--date=raw", "--format=%gD%x09%H %gn <%ge>%x09%gs"}, refs...)...)
	logs := map[string]string{}
	for _, line := range strings.SplitAfter(out, "\n") {
		sel, rest, ok := strings.Cut(line, "\t")
		if !ok {
			continue
		}
		at := strings.LastIndex(sel, "@{")
		logs[sel[:at]] += sel[at:] + "\t" + rest
	}
	return logs
}

// toolLogs prints what reftable logs says about the same reflogs, in
// gitLogs's form (deletion tombstones and entries to a null id, which
// git does not show, left out).
func toolLogs(t *testing.T, dir string) map[string]string {
	t.Helper()
	logs := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(mustRun(t, "", "logs", dir), "\n"), "\n") {
		ref, rest, _ := strings.Cut(line, "\t")
		entry, msg, ok := strings.Cut(rest, "\t")
		if !ok {
			continue
		}
		f := strings.Fields(entry) // old new name... <email> time zone
		if strings.Trim(f[1], "0") == "" {
			continue // to no object: git log -g shows none
		}
		n := len(f)
		who := strings.Join(f[2:n-2], " ")
		logs[ref] += fmt.Sprintf("@{%s %s}\t%s %s\t%s\n", f[n-2], f[n-1], f[1], who, msg)
	}
	return logs
}

// checkAgrees compares refs, show and logs of reftable with git in dir.
func (r *gitRepo) checkAgrees(t *testing.T, dir string) {
	t.Helper()
	want := r.gitRefs(dir)
	if diff := cmp.Diff(want, mustRun(t, "", "refs", dir)); diff != "" {
		t.Errorf("refs %s differ from git for-each-ref (-git +reftable):\n%s", dir, diff)
	}
	for _, line := range strings.Split(strings.TrimSuffix(want, "\n"), "\n") {
		name := strings.Fields(line)[0]
		got := strings.Split(strings.TrimSuffix(mustRun(t, "", "show", dir, name), "\n"), "\n")
		if sym, err := r.RunInput("", "-C", dir, "symbolic-ref", "-q", name); err == nil {
			if want := name + " ref: " + strings.TrimSpace(sym); got[0] != want {
				t.Errorf("show %s: first line %q, want %q", name, got[0], want)
			}
		}
		last := strings.Fields(got[len(got)-1])
		if id := strings.TrimSpace(r.in(dir, "rev-parse", name)); last[1] != id {
			t.Errorf("show %s: %v, git rev-parse says %s", name, got, id)
		}
	}
	if diff := cmp.Diff(r.gitLogs(dir), toolLogs(t, dir)); diff != "" {
		t.Errorf("logs %s differ from git reflog (-git +reftable):\n%s", dir, diff)
	}
}

// checkGitHappy runs git's own checks.
func (r *gitRepo) checkGitHappy(t *testing.T) {
	t.Helper()
	for _, dir := range []string{r.Dir, r.wt} {
		r.in(dir, "fsck", "--no-progress")
		r.in(dir, "refs", "verify")
	}
}

// TestGitEndToEnd runs refs, show and logs against repositories that real
// git wrote (SHA-1 and SHA-256, main and linked worktree) and compares
// them with git's answers; then it changes one repository with
// reftable update and an identical one with git update-ref --stdin, and
// checks that both end the same, that git reads what reftable wrote after
// compaction too, that git's fsck and refs verify are clean, and that git
// keeps writing afterwards.
func TestGitEndToEnd(t *testing.T) {
	t.Setenv("GIT_COMMITTER_NAME", "C O Mitter")
	t.Setenv("GIT_COMMITTER_EMAIL", "committer@example.com")
	for _, format := range []string{"sha1", "sha256"} {
		t.Run(format, func(t *testing.T) {
			git := newGitRepo(t, format) // changed by git
			tool := newGitRepo(t, format)
			if diff := cmp.Diff(git.gitRefs(git.Dir), tool.gitRefs(tool.Dir)); diff != "" {
				t.Fatalf("the two repositories differ:\n%s", diff)
			}
			t.Run("read", func(t *testing.T) {
				tool.checkAgrees(t, tool.Dir)
				tool.checkAgrees(t, tool.wt)
				if got := mustRun(t, "", "refs", tool.wt, "refs/bisect/"); !strings.HasPrefix(got, "refs/bisect/bad ") || strings.Contains(got, "good") {
					t.Errorf("refs/bisect/ in the linked worktree: %q", got)
				}
			})
			c1 := strings.TrimSpace(tool.Run("rev-parse", "HEAD~2"))
			for i, tc := range []struct {
				name, where, script string
			}{
				{"one-transaction", "main", "update refs/heads/topic HEAD\ncreate refs/heads/new1 " + c1 + "\ndelete refs/heads/feature/a\ndelete refs/heads/many/b03 refs/heads/many/b03\noption no-deref\nsymref-update refs/remotes/origin/HEAD refs/heads/topic ref refs/remotes/origin/main\n"},
				{"head-deref", "main", "update HEAD " + c1 + "\n"},
				{"several", "main", "start\ncreate refs/heads/s1 " + c1 + "\ncommit\nstart\ncreate refs/heads/s2 HEAD\nprepare\ncommit\nstart\ncreate refs/heads/s3 HEAD\nabort\n"},
				{"quoted", "main", "create \"refs/heads/caf\\303\\251\" \"" + c1 + "\"\nverify \"refs/heads/s1\" " + c1 + "\n"},
				{"conflict", "main", "create refs/heads/ok HEAD\nupdate refs/heads/topic " + c1 + " " + c1 + "\n"},
				{"malformed", "main", "create refs/heads/ok2 HEAD\nupdate refs/heads/x nothex\n"},
				{"worktree-detached", "wt", "update HEAD " + c1 + "\nupdate refs/worktree/mark HEAD\ndelete refs/bisect/bad\ncreate refs/heads/from-wt HEAD\n"},
				{"worktree-attach", "wt", "option no-deref\nsymref-update HEAD refs/heads/wtbranch\n"},
				{"worktree-via-head", "wt", "update HEAD " + c1 + "\nupdate refs/heads/main HEAD\n"},
				{"worktree-branch", "wt", "update refs/heads/wtbranch refs/heads/topic\n"},
				{"no-op", "main", "update refs/heads/topic refs/heads/topic\nupdate HEAD HEAD\n"},
				{"symref-deref", "wt", "symref-update HEAD refs/heads/topic\n"},
				// wtbranch back to an id: git's for-each-ref and
				// symbolic-ref print a chain's last target, refs its
				// first, so checkAgrees cannot compare chains.
				{"symref-undo", "wt", "option no-deref\nupdate refs/heads/wtbranch refs/heads/topic\n"},
				{"symref-deref-fails", "main", "symref-update HEAD refs/heads/topic ref refs/heads/main\n"},
				// HEAD dangles in between, which git's log -g refuses:
				// stored entries are compared then.
				{"worktree-branch-deleted", "wt", "delete refs/heads/wtbranch\n"},
				{"worktree-branch-back", "wt", "create refs/heads/wtbranch refs/heads/topic\n"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					gdir, tdir := git.Dir, tool.Dir
					if tc.where == "wt" {
						gdir, tdir = git.wt, tool.wt
					}
					// Both run at the same time.
					date := fmt.Sprintf("@%d +0130", 1800000000+60*i)
					t.Setenv("GIT_COMMITTER_DATE", date)
					cmd := exec.Command(git.Git, "-C", gdir, "update-ref", "-m", tc.name, "--stdin")
					cmd.Env = append(slices.Clone(git.Env), "GIT_COMMITTER_DATE="+date)
					cmd.Stdin = strings.NewReader(tc.script)
					gout, gerr := cmd.CombinedOutput()
					before := listDir(t, tool)
					r := runTool(t, tc.script, "update", "-m", tc.name, tdir)
					if (gerr == nil) != (r.code == 0) {
						t.Fatalf("git update-ref: %v: %s\nreftable update: %v", gerr, gout, r)
					}
					if r.code != 0 {
						if diff := cmp.Diff(before, listDir(t, tool)); diff != "" {
							t.Errorf("failed update changed files (-before +after):\n%s", diff)
						}
					}
					for _, d := range [][2]string{{git.Dir, tool.Dir}, {git.wt, tool.wt}} {
						if diff := cmp.Diff(mustRun(t, "", "refs", d[0]), mustRun(t, "", "refs", d[1])); diff != "" {
							t.Errorf("stored refs from %s (-git +reftable):\n%s", d[1], diff)
						}
						if tc.name != "worktree-branch-deleted" {
							if diff := cmp.Diff(git.gitRefs(d[0]), tool.gitRefs(d[1])); diff != "" {
								t.Errorf("refs from %s (-git +reftable):\n%s", d[1], diff)
							}
							if diff := cmp.Diff(git.gitLogs(d[0]), tool.gitLogs(d[1])); diff != "" {
								t.Errorf("reflogs from %s (-git +reftable):\n%s", d[1], diff)
							}
						}
						// Every entry as stored, those git does not show
						// (to a null id) included.
						if diff := cmp.Diff(mustRun(t, "", "logs", d[0]), mustRun(t, "", "logs", d[1])); diff != "" {
							t.Errorf("stored reflog entries from %s (-git +reftable):\n%s", d[1], diff)
						}
					}
				})
			}
			t.Run("compact", func(t *testing.T) {
				want := [2]string{tool.gitRefs(tool.Dir), tool.gitRefs(tool.wt)}
				wantLogs := [2]map[string]string{tool.gitLogs(tool.Dir), tool.gitLogs(tool.wt)}
				mustRun(t, "", "compact", "-auto", tool.Dir)
				mustRun(t, "", "compact", tool.Dir)
				mustRun(t, "", "compact", tool.wt)
				for i, dir := range []string{tool.Dir, tool.wt} {
					if diff := cmp.Diff(want[i], tool.gitRefs(dir)); diff != "" {
						t.Errorf("refs from %s after compaction (-before +after):\n%s", dir, diff)
					}
					if diff := cmp.Diff(wantLogs[i], tool.gitLogs(dir)); diff != "" {
						t.Errorf("reflogs from %s after compaction (-before +after):\n%s", dir, diff)
					}
				}
				tool.checkGitHappy(t)
			})
			t.Run("git-writes-after", func(t *testing.T) {
				tool.Run("commit", "-q", "--allow-empty", "-m", "after")
				tool.in(tool.wt, "commit", "-q", "--allow-empty", "-m", "after-wt")
				tool.Run("branch", "-D", "s1")
				tool.Run("pack-refs", "--all")
				tool.checkGitHappy(t)
				tool.checkAgrees(t, tool.Dir)
				tool.checkAgrees(t, tool.wt)
			})
		})
	}
}

// listDir lists the files of a repository's stacks with their sizes.
func listDir(t *testing.T, r *gitRepo) []string {
	t.Helper()
	var out []string
	for _, dir := range []string{filepath.Join(r.Dir, ".git", "reftable"), filepath.Join(r.Dir, ".git", "worktrees", "wt", "reftable")} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			fi, err := e.Info()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%s %d", filepath.Join(filepath.Base(filepath.Dir(dir)), e.Name()), fi.Size()))
		}
	}
	slices.Sort(out)
	return out
}

// TestWorktreePrefixes: a name with git's worktree prefixes reaches the
// ref it names, as git reads it: main-worktree/X is the main worktree's
// per-worktree ref X, worktrees/<id>/X linked worktree <id>'s. show and
// logs read them, update writes them to that worktree's stack under the
// name X (git 2.55 writes the prefixed name itself into that stack, which
// it then cannot read back; what is written here, git reads), following
// symbolic refs through the stacks and logging the HEAD passed. A
// prefixed name that is not per-worktree is an ordinary shared ref, as in
// git, and a worktree that does not exist is an error that changes
// nothing.
func TestWorktreePrefixes(t *testing.T) {
	t.Setenv("GIT_COMMITTER_NAME", "C O Mitter")
	t.Setenv("GIT_COMMITTER_EMAIL", "committer@example.com")
	r := newGitRepo(t, "sha1")
	main, wt := r.Dir, r.wt
	rev := func(dir, name string) string { return strings.TrimSpace(r.in(dir, "rev-parse", "--verify", name)) }
	showID := func(dir, name string) string {
		lines := strings.Split(strings.TrimSuffix(mustRun(t, "", "show", dir, name), "\n"), "\n")
		if first := strings.Fields(lines[0])[0]; first != name {
			t.Errorf("show %s %s: first line names %q", dir, name, first)
		}
		f := strings.Fields(lines[len(lines)-1])
		return f[len(f)-1]
	}
	logIDs := func(dir, name string) string { // new ids, newest first
		var ids []string
		for _, line := range strings.Split(strings.TrimSuffix(mustRun(t, "", "logs", "-ref", name, dir), "\n"), "\n") {
			ref, rest, _ := strings.Cut(line, "\t")
			if ref != name {
				t.Errorf("logs -ref %s: a line names %q", name, ref)
			}
			ids = append(ids, strings.Fields(rest)[1])
		}
		return strings.Join(ids, " ")
	}
	gitLogIDs := func(dir, name string) string {
		return strings.Join(strings.Fields(r.in(dir, "log", "-g", "--format=%H", name)), " ")
	}

	// Reading, from either side.
	for _, c := range [][2]string{
		{wt, "main-worktree/HEAD"}, {wt, "main-worktree/refs/bisect/good"},
		{main, "worktrees/wt/HEAD"}, {main, "worktrees/wt/refs/bisect/bad"}, {main, "main-worktree/HEAD"},
	} {
		if got, want := showID(c[0], c[1]), rev(c[0], c[1]); got != want {
			t.Errorf("show %s from %s: %s, git says %s", c[1], c[0], got, want)
		}
	}
	if got, want := logIDs(main, "worktrees/wt/HEAD"), gitLogIDs(main, "worktrees/wt/HEAD"); got != want {
		t.Errorf("logs of worktrees/wt/HEAD: %s, git says %s", got, want)
	}
	if got, want := logIDs(wt, "main-worktree/HEAD"), gitLogIDs(wt, "main-worktree/HEAD"); got != want {
		t.Errorf("logs of main-worktree/HEAD: %s, git says %s", got, want)
	}
	if r := runTool(t, "", "show", main, "worktrees/nosuch/HEAD"); r.code != 1 {
		t.Errorf("show of a worktree that does not exist: %v", r)
	}

	// Writing another worktree's refs, from either side.
	c1 := rev(main, "HEAD~2")
	wtHEADLog := gitLogIDs(wt, "HEAD")
	mustRun(t, "update worktrees/wt/refs/bisect/new "+c1+"\nupdate worktrees/wt/HEAD "+c1+"\n", "update", "-m", "from-main", main)
	if got := rev(wt, "refs/bisect/new"); got != c1 {
		t.Errorf("refs/bisect/new in the linked worktree: %s, want %s", got, c1)
	}
	if got := rev(wt, "HEAD"); got != c1 {
		t.Errorf("the linked worktree's HEAD: %s, want %s", got, c1)
	}
	if got := r.in(wt, "log", "-g", "-1", "--format=%H %gs", "HEAD"); got != c1+" from-main\n" {
		t.Errorf("the linked worktree's HEAD reflog: %q", got)
	}
	if _, err := r.RunInput("", "rev-parse", "--verify", "-q", "refs/bisect/new"); err == nil {
		t.Error("refs/bisect/new is visible in the main worktree")
	}

	mainHEADLog := gitLogIDs(main, "HEAD")
	wtHEADLog = gitLogIDs(wt, "HEAD")
	mustRun(t, "update main-worktree/refs/bisect/good "+c1+"\nupdate main-worktree/HEAD "+c1+"\nupdate main-worktree/refs/heads/lit "+c1+"\n", "update", "-m", "from-wt", wt)
	for _, c := range [][2]string{{main, "refs/bisect/good"}, {main, "refs/heads/main"}, {wt, "main-worktree/refs/heads/lit"}} {
		if got := rev(c[0], c[1]); got != c1 {
			t.Errorf("%s from %s: %s, want %s", c[1], c[0], got, c1)
		}
	}
	if got, want := gitLogIDs(main, "HEAD"), c1+" "+mainHEADLog; got != want {
		t.Errorf("the main worktree's HEAD reflog: %s, want %s (main-worktree/HEAD followed to refs/heads/main)", got, want)
	}
	if got := gitLogIDs(wt, "HEAD"); got != wtHEADLog {
		t.Errorf("the linked worktree's HEAD reflog changed: %s, was %s", got, wtHEADLog)
	}
	for _, dir := range []string{filepath.Join(main, ".git", "reftable"), filepath.Join(main, ".git", "worktrees", "wt", "reftable")} {
		for _, line := range strings.Split(mustRun(t, "", "refs", dir), "\n") {
			if strings.HasPrefix(line, "worktrees/") || strings.HasPrefix(line, "main-worktree/") && !strings.HasPrefix(line, "main-worktree/refs/heads/lit ") {
				t.Errorf("%s holds a prefixed name: %s", dir, line)
			}
		}
	}

	before := listDir(t, r)
	if res := runTool(t, "create refs/heads/ok "+c1+"\nupdate worktrees/nosuch/HEAD "+c1+"\n", "update", main); res.code != 1 || !strings.Contains(res.stderr, "no such worktree") {
		t.Errorf("update of a worktree that does not exist: %v", res)
	}
	if diff := cmp.Diff(before, listDir(t, r)); diff != "" {
		t.Errorf("a failed update changed files (-before +after):\n%s", diff)
	}
	r.checkGitHappy(t)
}
