package tool

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/refstore/refstore/internal/testutil/gittest"
)

// gitPair is two identical repositories written by real git: one changed
// by git update-ref --stdin, the other by reftable update.
type gitPair struct {
	git, tool *gittest.Repo
	c1, c2    string // commits, c1 the parent of c2 (main)
	tree      string // c2's tree
}

// newGitPair builds the pair: two commits on main and an annotated tag.
func newGitPair(t *testing.T, format string) *gitPair {
	t.Helper()
	p := &gitPair{}
	for _, r := range []**gittest.Repo{&p.git, &p.tool} {
		*r = gittest.Init(t, format)
		(*r).Run("commit", "-q", "--allow-empty", "-m", "c1")
		(*r).Run("commit", "-q", "--allow-empty", "-m", "c2")
		(*r).Run("tag", "-a", "-m", "v1", "v1")
	}
	p.c1 = strings.TrimSpace(p.git.Run("rev-parse", "HEAD~1"))
	p.c2 = strings.TrimSpace(p.git.Run("rev-parse", "HEAD"))
	p.tree = strings.TrimSpace(p.git.Run("rev-parse", "HEAD^{tree}"))
	if got := strings.TrimSpace(p.tool.Run("rev-parse", "HEAD")); got != p.c2 {
		t.Fatalf("the two repositories differ: HEAD %s and %s", p.c2, got)
	}
	return p
}

// run feeds script to both and checks that they agree: both succeed or
// both fail, with the same standard output, git's message of a failure
// in reftable's (but for a ref without its expected value), and the same
// refs afterwards.
func (p *gitPair) run(t *testing.T, script string) {
	t.Helper()
	gout, gerr := p.git.RunInput(script, "update-ref", "--stdin")
	r := runTool(t, script, "update", p.tool.Dir)
	if (gerr == nil) != (r.code == 0) {
		t.Fatalf("script %q: git update-ref: %v\nreftable update: %v", script, gerr, r)
	}
	if gout != r.stdout {
		t.Errorf("script %q: standard output: git %q, reftable %q", script, gout, r.stdout)
	}
	msg := ""
	if gerr != nil {
		msg = strings.TrimPrefix(strings.TrimSpace(gerr.(*gittest.Error).Stderr), "fatal: ")
	}
	// reftable words a ref without its expected value its own way.
	if msg != "" && !strings.HasPrefix(msg, "cannot lock ref ") {
		first, _, _ := strings.Cut(r.stderr, "\n")
		if !strings.HasSuffix(first, ": "+msg) {
			t.Errorf("script %q: reftable says %q, git %q", script, first, msg)
		}
	}
	refs := func(r *gittest.Repo) string {
		return r.Run("for-each-ref", "--include-root-refs", "--format=%(refname) %(objectname) %(symref)")
	}
	if diff := cmp.Diff(refs(p.git), refs(p.tool)); diff != "" {
		t.Errorf("script %q: refs (-git +reftable):\n%s", script, diff)
	}
}

// TestUpdateFramingAgreesWithGit runs scripts that frame transactions in
// every way git accepts or refuses, through git update-ref --stdin and
// reftable update on identical repositories: a transaction started and
// not committed is aborted (exit 0), commands after commit or abort are
// refused, prepare may come without start, start after commands.
func TestUpdateFramingAgreesWithGit(t *testing.T) {
	p := newGitPair(t, "sha1")
	create := func(name string) string { return fmt.Sprintf("create refs/heads/%s %s\n", name, p.c1) }
	for _, script := range []string{
		"start\n" + create("a"),
		"start\n" + create("a") + "prepare\n",
		"start\n" + create("a") + "commit\n" + create("b"),
		"start\n" + create("c") + "commit\nstart\n" + create("d") + "commit\nstart\n",
		create("e") + "start\ncommit\n",
		create("f") + "abort\n" + create("g"),
		"commit\noption no-deref\n",
		"commit\ncommit\n",
		"start\nstart\n",
		"start\n" + create("h") + "prepare\nstart\n",
		"start\n" + create("h") + "prepare\n" + create("i"),
		"prepare\ncommit\n",
		"prepare\n",
		create("j") + "prepare\n",
		"abort\n",
		"",
	} {
		p.run(t, script)
	}
}

// TestUpdateObjectsAgreeWithGit runs scripts writing ids that name no
// object, and non-commits to branches, through git update-ref --stdin and
// reftable update on identical repositories (SHA-1 and SHA-256, objects
// loose and then packed): both must refuse the same scripts with the same
// message, when the command is read (before later commands, even in a
// transaction then aborted), and accept the rest.
// (A regression test: update wrote such ids, after which git fsck and git
// log failed.)
func TestUpdateObjectsAgreeWithGit(t *testing.T) {
	for _, format := range []string{"sha1", "sha256"} {
		t.Run(format, func(t *testing.T) {
			p := newGitPair(t, format)
			hexLen := len(p.c1)
			missing := strings.Repeat("1", hexLen)
			missing2 := strings.Repeat("2", hexLen)
			tag := strings.TrimSpace(p.git.Run("rev-parse", "v1"))
			emptyTree := strings.TrimSpace(p.git.Run("hash-object", "-t", "tree", "/dev/null"))
			emptyBlob := strings.TrimSpace(p.git.Run("hash-object", "-t", "blob", "/dev/null"))
			scripts := []string{
				"create refs/heads/n " + missing + "\n",
				"create refs/tags/n " + missing + "\n",
				"update refs/heads/main " + missing + " " + p.c1 + "\n",             // before the expected value
				"create refs/heads/n " + missing + "\nupdate refs/heads/x nothex\n", // before the next command
				"delete refs/heads/main " + missing + "\ncreate refs/heads/q " + missing + "\n",
				"create refs/heads/n " + p.tree + "\n",
				"create refs/heads/n " + tag + "\n",
				"create refs/heads/n v1\n",
				"update HEAD " + p.tree + "\n",
				"option no-deref\nupdate HEAD " + p.tree + "\n",
				"create refs/heads/ok " + p.c1 + "\ncreate refs/heads/n " + missing + "\n",
				"create refs/heads/n " + missing + "\ncreate refs/heads/n2 " + p.tree + "\n",
				"create refs/heads/n2 " + p.tree + "\ncreate refs/heads/n " + missing + "\n",
				"create refs/tags/n " + p.tree + "\ncreate refs/heads/n " + p.tree + "\ncreate refs/tags/m " + missing2 + "\n",
				"create refs/heads/n " + emptyTree + "\n",
				"create refs/tags/empty-blob " + emptyBlob + "\n",
				"start\ncreate refs/heads/n " + missing + "\nabort\n",
				"start\ncreate refs/heads/n " + missing + "\nprepare\n",
				"start\ncreate refs/heads/n " + missing + "\ncommit\n",
				"delete refs/heads/nothere " + missing + "\n",
				"verify refs/heads/main " + missing + "\n",
				"option no-deref\nsymref-update refs/heads/sym refs/heads/main\n",
				// Accepted: tags, trees, commits where they may go.
				"create refs/tags/tree " + p.tree + "\ncreate refs/tags/tag " + tag + "\ncreate refs/tags/empty " + emptyTree + "\ncreate refs/heads/b1 " + p.c1 + "\nupdate HEAD " + p.c1 + "\n",
			}
			for _, script := range scripts {
				p.run(t, script)
			}
			// Packed, the ids are found through the pack index.
			for _, r := range []*gittest.Repo{p.git, p.tool} {
				r.Run("repack", "-a", "-d", "-q")
			}
			for _, script := range []string{
				"create refs/heads/packed " + p.tree + "\n",
				"create refs/heads/packed " + tag + "\n",
				"create refs/tags/packed " + missing + "\n",
				"create refs/tags/packed " + p.tree + "\ncreate refs/heads/packed " + p.c2 + "\nupdate HEAD " + p.c2 + "\n",
			} {
				p.run(t, script)
			}
			p.tool.Run("fsck", "--no-progress")

			// A stack directory named by path is in the repository.
			dir := filepath.Join(p.tool.Dir, ".git", "reftable")
			r := runTool(t, "create refs/heads/n "+missing+"\n", "update", dir)
			if want := "reftable update: line 1: trying to write ref 'refs/heads/n' with nonexistent object " + missing + "\n"; r.code != 1 || r.stderr != want {
				t.Errorf("update %s: %v; want exit 1 and %q", dir, r, want)
			}
		})
	}
}

// TestUpdateIdentityAsGit: with no GIT_COMMITTER_* in the environment,
// reftable update logs as git update-ref does: the committer of the
// user's config (~/.gitconfig's user.name) and of the repository's
// (user.email, which wins), with the user's core.logAllRefUpdates.
func TestUpdateIdentityAsGit(t *testing.T) {
	p := newGitPair(t, "sha1")
	global := filepath.Join(t.TempDir(), "gitconfig")
	if err := os.WriteFile(global, []byte("[user]\n\tname = Glo Bal\n\temail = global@example.com\n[core]\n\tlogAllRefUpdates = always\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*gittest.Repo{p.git, p.tool} {
		r.Run("config", "user.email", "local@example.com")
		r.Run("config", "--unset", "core.logAllRefUpdates")
		r.Env = slices.DeleteFunc(r.Env, func(kv string) bool {
			return strings.HasPrefix(kv, "GIT_COMMITTER_NAME=") || strings.HasPrefix(kv, "GIT_COMMITTER_EMAIL=")
		})
		r.Env = append(r.Env, "GIT_CONFIG_GLOBAL="+global)
	}
	t.Setenv("GIT_CONFIG_GLOBAL", global)
	for _, k := range []string{"GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	script := "create refs/tags/logged " + p.c1 + "\n"
	if _, err := p.git.RunInput(script, "update-ref", "--stdin"); err != nil {
		t.Fatal(err)
	}
	mustRun(t, script, "update", p.tool.Dir)
	for _, r := range []*gittest.Repo{p.git, p.tool} {
		// A tag is logged only with core.logAllRefUpdates = always.
		got := r.Run("reflog", "show", "--format=%gn <%ge>", "refs/tags/logged")
		if want := "Glo Bal <local@example.com>\n"; got != want {
			t.Errorf("%s: refs/tags/logged's reflog: %q, want %q", r.Dir, got, want)
		}
	}
}

// TestExpireLogsKeepsReflogAsGit: compact -expire-logs that drops every
// entry of a reflog leaves it existing, as git reflog expire does (git's
// existence marker): git reflog exists agrees for the repository expired
// by reftable and for the one expired by git, both show no entries, and
// git fsck is clean.
func TestExpireLogsKeepsReflogAsGit(t *testing.T) {
	p := newGitPair(t, "sha1")
	p.git.Run("reflog", "expire", "--expire=all", "refs/heads/main")
	mustRun(t, "", "compact", "-expire-logs", "4000000000", p.tool.Dir)
	for _, r := range []*gittest.Repo{p.git, p.tool} {
		if _, err := r.RunInput("", "reflog", "exists", "refs/heads/main"); err != nil {
			t.Errorf("%s: the expired reflog of refs/heads/main does not exist: %v", r.Dir, err)
		}
		if got := r.Run("reflog", "show", "refs/heads/main"); got != "" {
			t.Errorf("%s: refs/heads/main's reflog after expiry: %q", r.Dir, got)
		}
		r.Run("fsck", "--no-progress")
	}
	// With core.logAllRefUpdates=false git logs only the refs whose
	// reflog exists: main's, through the marker.
	for _, r := range []*gittest.Repo{p.git, p.tool} {
		r.Run("config", "core.logAllRefUpdates", "false")
		r.Run("update-ref", "-m", "after expiry", "refs/heads/main", p.c1)
		if got := r.Run("reflog", "show", "--format=%gs", "refs/heads/main"); got != "after expiry\n" {
			t.Errorf("%s: refs/heads/main's reflog after an update: %q, want the update's entry", r.Dir, got)
		}
	}
}

// TestUpdateObjectDirectoriesAsGit: update finds objects where git's
// environment puts them, as in a pre-receive hook: a blob written only to
// a quarantine directory (GIT_OBJECT_DIRECTORY, with the repository's
// objects as GIT_ALTERNATE_OBJECT_DIRECTORIES) may be written to a tag,
// and without that environment it is a nonexistent object, for git
// update-ref and reftable update alike.
func TestUpdateObjectDirectoriesAsGit(t *testing.T) {
	p := newGitPair(t, "sha1")
	quarantine := t.TempDir()
	env := func(r *gittest.Repo) []string {
		return []string{"GIT_OBJECT_DIRECTORY=" + quarantine, "GIT_ALTERNATE_OBJECT_DIRECTORIES=" + filepath.Join(r.Dir, ".git", "objects")}
	}
	hash := func(r *gittest.Repo) string {
		saved := r.Env
		r.Env = append(slices.Clone(r.Env), env(r)...)
		defer func() { r.Env = saved }()
		out, err := r.RunInput("quarantined\n", "hash-object", "-w", "--stdin")
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out)
	}
	blob := hash(p.git)
	if other := hash(p.tool); other != blob {
		t.Fatalf("the blob's ids differ: %s and %s", blob, other)
	}
	script := "create refs/tags/q " + blob + "\n"
	// Without the environment: a nonexistent object to both.
	p.run(t, script)
	for _, r := range []*gittest.Repo{p.git, p.tool} {
		if _, err := r.RunInput("", "rev-parse", "--verify", "-q", "refs/tags/q"); err == nil {
			t.Fatalf("%s: refs/tags/q was written without the quarantine", r.Dir)
		}
	}
	// With it: written by both.
	saved := p.git.Env
	p.git.Env = append(slices.Clone(p.git.Env), env(p.git)...)
	for _, kv := range env(p.tool) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	p.run(t, script)
	p.git.Env = saved
	os.Unsetenv("GIT_OBJECT_DIRECTORY")
	os.Unsetenv("GIT_ALTERNATE_OBJECT_DIRECTORIES")
	got := strings.TrimSpace(p.tool.Run("for-each-ref", "--format=%(objectname)", "refs/tags/q"))
	if got != blob {
		t.Errorf("refs/tags/q = %q after update with the quarantine, want %s", got, blob)
	}
}
