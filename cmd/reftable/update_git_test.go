package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/refstore/refstore/internal/gittest"
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
// in reftable's, and the same refs afterwards.
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
	if gerr != nil {
		msg := strings.TrimPrefix(strings.TrimSpace(gerr.(*gittest.Error).Stderr), "fatal: ")
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
