package repo

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack"
)

// worktrees makes a repository with a linked worktree "wt": the main
// worktree's HEAD points at refs/heads/main and it has refs/bisect/good;
// the linked one's HEAD points at refs/heads/feature and it has
// refs/worktree/mark. It returns both working trees.
func worktrees(t *testing.T) (main, wt string) {
	t.Helper()
	main = newRepo(t, "")
	r := open(t, main, Options{})
	commit(t, r, set("refs/heads/main", 1), set("refs/heads/feature", 2), set("refs/tags/v1", 3), set("refs/bisect/good", 1))
	commit(t, r, symref("HEAD", "refs/heads/main"))
	wt = addWorktree(t, main, "wt")
	w := open(t, wt, Options{})
	commit(t, w, symref("HEAD", "refs/heads/feature"), set("refs/worktree/mark", 4))
	return main, wt
}

// TestWorktreeReads reads a linked worktree as git does: per-worktree refs
// from its own stack, the others shared, and other worktrees' refs
// through git's prefixes.
func TestWorktreeReads(t *testing.T) {
	main, wt := worktrees(t)
	w := open(t, wt, Options{})
	m := open(t, main, Options{})

	refs := func(r *Repository, prefix string) []string {
		var out []string
		for ref, err := range r.Refs(ctx, prefix) {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, ref.String())
		}
		return out
	}
	want := []string{
		"HEAD ref: refs/heads/feature",
		"refs/heads/feature 0002000000000000000000000000000000000001",
		"refs/heads/main 0001000000000000000000000000000000000001",
		"refs/tags/v1 0003000000000000000000000000000000000001",
		"refs/worktree/mark 0004000000000000000000000000000000000001",
	}
	if diff := cmp.Diff(want, refs(w, "")); diff != "" {
		t.Errorf("the worktree's refs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"refs/heads/feature 0002000000000000000000000000000000000001", "refs/heads/main 0001000000000000000000000000000000000001"}, refs(w, "refs/heads/")); diff != "" {
		t.Errorf("the worktree's branches (-want +got):\n%s", diff)
	}
	if got := refs(m, "refs/bisect/"); len(got) != 1 {
		t.Errorf("the main worktree's refs/bisect/: %q", got)
	}
	// RefRecords yields the same refs, as records.
	snap, err := w.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	var recs []string
	for rec, err := range snap.RefRecords("") {
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, stack.RefOf(&rec).String())
	}
	if diff := cmp.Diff(want, recs); diff != "" {
		t.Errorf("the worktree's ref records (-want +got):\n%s", diff)
	}

	for _, tt := range []struct {
		r          *Repository
		name       string
		want       string // the ref read, "" if not found
		resolved   string // the ref it resolves to
		via        []string
		resolveErr error
	}{
		{w, "HEAD", "HEAD ref: refs/heads/feature", "refs/heads/feature 0002000000000000000000000000000000000001", []string{"HEAD"}, nil},
		{w, "main-worktree/HEAD", "main-worktree/HEAD ref: refs/heads/main", "refs/heads/main 0001000000000000000000000000000000000001", []string{"main-worktree/HEAD"}, nil},
		{w, "main-worktree/refs/bisect/good", "main-worktree/refs/bisect/good 0001000000000000000000000000000000000001", "main-worktree/refs/bisect/good 0001000000000000000000000000000000000001", nil, nil},
		{w, "refs/bisect/good", "", "refs/bisect/good missing", nil, nil},
		{m, "worktrees/wt/HEAD", "worktrees/wt/HEAD ref: refs/heads/feature", "refs/heads/feature 0002000000000000000000000000000000000001", []string{"worktrees/wt/HEAD"}, nil},
		{m, "worktrees/wt/refs/worktree/mark", "worktrees/wt/refs/worktree/mark 0004000000000000000000000000000000000001", "worktrees/wt/refs/worktree/mark 0004000000000000000000000000000000000001", nil, nil},
		{m, "worktrees/nosuch/HEAD", "", "worktrees/nosuch/HEAD missing", nil, nil},
		{m, "main-worktree/HEAD", "main-worktree/HEAD ref: refs/heads/main", "refs/heads/main 0001000000000000000000000000000000000001", []string{"main-worktree/HEAD"}, nil},
		{m, "refs/worktree/mark", "", "refs/worktree/mark missing", nil, nil},
	} {
		got, err := tt.r.Ref(ctx, tt.name)
		switch {
		case tt.want == "" && !errors.Is(err, reftable.ErrNotFound):
			t.Errorf("%s: Ref(%s) = %v, %v; want not found", tt.r.GitDir(), tt.name, got, err)
		case tt.want != "" && (err != nil || got.String() != tt.want):
			t.Errorf("%s: Ref(%s) = %v, %v; want %s", tt.r.GitDir(), tt.name, got, err, tt.want)
		}
		end, via, err := tt.r.Resolve(ctx, tt.name)
		if err != nil || end.String() != tt.resolved || !cmp.Equal(via, tt.via) {
			t.Errorf("%s: Resolve(%s) = %v, %q, %v; want %s, %q", tt.r.GitDir(), tt.name, end, via, err, tt.resolved, tt.via)
		}
	}
}

// TestWorktreeReflogs: each reflog is read from the stack its ref lives
// in, under the name asked for; Logs merges the worktree's and the
// shared reflogs as Refs merges refs, and routes a prefix into another
// worktree.
func TestWorktreeReflogs(t *testing.T) {
	main, wt := worktrees(t)
	w := open(t, wt, Options{})
	m := open(t, main, Options{})
	reflog := func(r *Repository, name string) []string {
		var out []string
		for l, err := range r.Reflog(ctx, name) {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%s %x %s", l.RefName, l.New[:2], l.Message))
		}
		return out
	}
	if diff := cmp.Diff([]string{"refs/heads/feature 0002 set refs/heads/feature\n"}, reflog(w, "refs/heads/feature")); diff != "" {
		t.Errorf("a shared reflog from the worktree (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"HEAD 0002 symref HEAD\n"}, reflog(w, "HEAD")); diff != "" {
		t.Errorf("the worktree's HEAD reflog (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"worktrees/wt/HEAD 0002 symref HEAD\n"}, reflog(m, "worktrees/wt/HEAD")); diff != "" {
		t.Errorf("the worktree's HEAD reflog from the main worktree (-want +got):\n%s", diff)
	}
	snap, err := w.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	var names []string
	for l, err := range snap.Logs("") {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, string(l.RefName))
	}
	if diff := cmp.Diff([]string{"HEAD", "refs/heads/feature", "refs/heads/main"}, names); diff != "" {
		t.Errorf("Logs of the worktree (-want +got):\n%s", diff)
	}
	names = nil
	for l, err := range snap.Logs("main-worktree/HEAD") {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, string(l.RefName))
	}
	if diff := cmp.Diff([]string{"main-worktree/HEAD"}, names); diff != "" {
		t.Errorf("Logs of main-worktree/HEAD (-want +got):\n%s", diff)
	}
}

// TestRefsBreak: an iteration over a linked worktree's refs stops when
// the loop breaks, and releases what it read.
func TestRefsBreak(t *testing.T) {
	_, wt := worktrees(t)
	w := open(t, wt, Options{})
	var got []stack.Ref
	for r, err := range w.Refs(ctx, "") {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
		if len(got) == 2 {
			break
		}
	}
	if len(got) != 2 || got[0].Name != "HEAD" || got[1].Name != "refs/heads/feature" {
		t.Errorf("refs before the break: %v", got)
	}
}
