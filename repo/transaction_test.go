package repo

import (
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/refstore/refstore/internal/testutil/gittest"
	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack"
)

// reflogOf returns the reflog of name in r, one "<old> <new> <message>"
// a line, ids cut to 4 hex digits.
func reflogOf(t *testing.T, r *Repository, name string) []string {
	t.Helper()
	var out []string
	for l, err := range r.Reflog(ctx, name) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%x %x %s", l.Old[:2], l.New[:2], strings.TrimSuffix(string(l.Message), "\n")))
	}
	return out
}

// TestTransactionWorktree writes through a linked worktree as git does:
// HEAD followed into the shared stack, the branch logged there and the
// worktree's HEAD in its own stack, the main worktree's HEAD untouched;
// per-worktree refs into the worktree's stack; other worktrees' refs
// through git's prefixes.
func TestTransactionWorktree(t *testing.T) {
	main, wt := worktrees(t)
	w := open(t, wt, Options{})
	m := open(t, main, Options{})
	commit(t, w, stack.Update{Ref: stack.Ref{Name: "HEAD", ID: oid(5)}, Deref: true, Old: &stack.Ref{ID: oid(2)}, Message: "commit: five"},
		set("refs/bisect/bad", 6), set("main-worktree/refs/bisect/bad", 7))

	checks := []struct {
		r    *Repository
		name string
		want string
	}{
		{w, "refs/heads/feature", "refs/heads/feature 0005000000000000000000000000000000000001"},
		{m, "refs/heads/feature", "refs/heads/feature 0005000000000000000000000000000000000001"},
		{w, "HEAD", "HEAD ref: refs/heads/feature"},
		{w, "refs/bisect/bad", "refs/bisect/bad 0006000000000000000000000000000000000001"},
		{m, "refs/bisect/bad", "refs/bisect/bad 0007000000000000000000000000000000000001"},
		{m, "worktrees/wt/refs/bisect/bad", "worktrees/wt/refs/bisect/bad 0006000000000000000000000000000000000001"},
	}
	for _, c := range checks {
		if r, err := c.r.Ref(ctx, c.name); err != nil || r.String() != c.want {
			t.Errorf("%s in %s: %v, %v; want %s", c.name, c.r.GitDir(), r, err, c.want)
		}
	}
	if diff := cmp.Diff([]string{"0002 0005 commit: five", "0000 0002 symref HEAD"}, reflogOf(t, w, "HEAD")); diff != "" {
		t.Errorf("the worktree's HEAD reflog (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"0002 0005 commit: five", "0000 0002 set refs/heads/feature"}, reflogOf(t, w, "refs/heads/feature")); diff != "" {
		t.Errorf("the branch's reflog (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"0000 0001 symref HEAD"}, reflogOf(t, m, "HEAD")); diff != "" {
		t.Errorf("the main worktree's HEAD reflog (-want +got):\n%s", diff)
	}

	// A stale expected value fails the whole transaction.
	tx := w.NewTransaction(testWho)
	tx.Add(set("refs/worktree/x", 1), stack.Update{Ref: stack.Ref{Name: "HEAD", ID: oid(9)}, Deref: true, Old: &stack.Ref{ID: oid(2)}})
	if err := tx.Commit(ctx); !errors.Is(err, stack.ErrRefConflict) {
		t.Errorf("stale old value: %v, want ErrRefConflict", err)
	}
	if _, err := w.Ref(ctx, "refs/worktree/x"); !errors.Is(err, reftable.ErrNotFound) {
		t.Errorf("a failed transaction wrote refs/worktree/x: %v", err)
	}

	// No such worktree: nothing written.
	tx = m.NewTransaction(testWho)
	tx.Add(set("refs/heads/ok", 1), set("worktrees/nosuch/HEAD", 1))
	if err := tx.Commit(ctx); err == nil || !strings.Contains(err.Error(), "no such worktree") {
		t.Errorf("a ref of a worktree that does not exist: %v", err)
	}
	if _, err := m.Ref(ctx, "refs/heads/ok"); !errors.Is(err, reftable.ErrNotFound) {
		t.Errorf("refs/heads/ok written by a failed transaction: %v", err)
	}
}

// TestTransactionPrepareHoldsLocks: after Prepare every stack written is
// locked, until Commit or Close; a transaction is used once.
func TestTransactionPrepareHoldsLocks(t *testing.T) {
	_, wt := worktrees(t)
	w := open(t, wt, Options{Stack: stack.Options{LockTimeout: stack.NoWait}})
	tx := w.NewTransaction(testWho)
	tx.Add(stack.Update{Ref: stack.Ref{Name: "HEAD", ID: oid(8)}, Deref: true, Message: "m"})
	if err := tx.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	other := w.NewTransaction(testWho)
	other.Add(set("refs/heads/other", 1))
	if err := other.Commit(ctx); !errors.Is(err, stack.ErrLocked) {
		t.Errorf("a commit while another transaction is prepared: %v, want ErrLocked", err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); !errors.Is(err, stack.ErrClosed) {
		t.Errorf("a second Commit: %v, want ErrClosed", err)
	}
	if r, err := w.Ref(ctx, "refs/heads/feature"); err != nil || r.ID[0] != 0 || r.ID[1] != 8 {
		t.Errorf("refs/heads/feature = %v, %v", r, err)
	}
	if err := tx.Close(); err != nil {
		t.Errorf("Close after Commit: %v", err)
	}
}

// TestTransactionResolvesUnderLocks checks that in a linked worktree a
// transaction follows HEAD into the shared stack under the locks of both
// stacks (a regression test of the CLI's update: it followed HEAD before
// locking, and a HEAD moved in between had its old branch updated). A
// hook that Prepare calls once it holds its locks, and before it reads
// what to write, has another goroutine move HEAD to refs/heads/main: the
// move must fail on the lock, and the branch HEAD points at afterwards
// must be the one updated.
func TestTransactionResolvesUnderLocks(t *testing.T) {
	_, wt := worktrees(t)
	wtStack := filepath.Join(filepath.Dir(mustGitDir(t, wt)), "wt", "reftable")
	calls := 0
	var moveErr error
	testHookLocked = func() {
		calls++
		done := make(chan error)
		go func() {
			st, err := stack.Open(wtStack, stack.Options{LockTimeout: stack.NoWait})
			if err != nil {
				done <- err
				return
			}
			defer st.Close()
			tx := st.NewTransaction(stack.Identity{Name: "mover", Email: "mover@example.com", Time: time.Unix(1700003000, 0)}, stack.ReflogNormal)
			tx.Add(stack.Update{Ref: stack.Ref{Name: "HEAD", Target: "refs/heads/main"}})
			done <- tx.Commit(ctx)
		}()
		moveErr = <-done
	}
	defer func() { testHookLocked = nil }()
	w := open(t, wt, Options{})
	commit(t, w, stack.Update{Ref: stack.Ref{Name: "HEAD", ID: oid(5)}, Deref: true, Message: "under locks"})
	if calls == 0 {
		t.Fatal("the hook did not run")
	}
	if !errors.Is(moveErr, stack.ErrLocked) {
		t.Errorf("moving HEAD while the transaction holds the locks: %v, want ErrLocked", moveErr)
	}
	if r, _, err := w.Resolve(ctx, "HEAD"); err != nil || r.Name != "refs/heads/feature" || r.ID[1] != 5 {
		t.Errorf("HEAD resolves to %v, %v; want refs/heads/feature updated", r, err)
	}
	if r, err := w.Ref(ctx, "refs/heads/main"); err != nil || r.ID[1] != 1 {
		t.Errorf("refs/heads/main changed: %v, %v", r, err)
	}
	if log := reflogOf(t, w, "HEAD"); len(log) == 0 || log[0] != "0002 0005 under locks" {
		t.Errorf("HEAD's reflog does not start with the update: %q", log)
	}
}

// mustGitDir returns the git directory of the worktree wt.
func mustGitDir(t *testing.T, wt string) string {
	t.Helper()
	gitDir, _, err := Find(wt, Options{NoParents: true})
	if err != nil {
		t.Fatal(err)
	}
	return gitDir
}

// TestTransactionSymrefIntoUnlockedStack: a symbolic ref that leads into
// a stack the transaction did not lock (another worktree's, through a
// worktrees/<id>/ target) has that stack locked too, and the updates
// routed again, before anything is written.
func TestTransactionSymrefIntoUnlockedStack(t *testing.T) {
	main, wt := worktrees(t)
	addWorktree(t, main, "wt2")
	wt2Stack := filepath.Join(main, ".git", "worktrees", "wt2", "reftable")
	w := open(t, wt, Options{})
	commit(t, w, stack.Update{Ref: stack.Ref{Name: "refs/heads/to-wt2", Target: "worktrees/wt2/refs/worktree/x"}})
	var errs []error
	testHookLocked = func() {
		st, err := stack.Open(wt2Stack, stack.Options{LockTimeout: stack.NoWait})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		tx := st.NewTransaction(stack.Identity{Name: "other", Email: "other@example.com", Time: time.Unix(1700003000, 0)}, stack.ReflogNormal)
		tx.Add(stack.Update{Ref: stack.Ref{Name: fmt.Sprintf("refs/worktree/other%d", len(errs)), ID: oid(1)}})
		errs = append(errs, tx.Commit(ctx))
	}
	defer func() { testHookLocked = nil }()
	commit(t, w, stack.Update{Ref: stack.Ref{Name: "refs/heads/to-wt2", ID: oid(6)}, Deref: true, Message: "through"})
	if len(errs) != 2 || errs[0] != nil || !errors.Is(errs[1], stack.ErrLocked) {
		t.Errorf("writing wt2's stack at each round: %v; want success, then ErrLocked", errs)
	}
	m := open(t, main, Options{})
	if r, err := m.Ref(ctx, "worktrees/wt2/refs/worktree/x"); err != nil || r.ID[1] != 6 {
		t.Errorf("wt2's refs/worktree/x: %v, %v", r, err)
	}
	if log := reflogOf(t, w, "refs/heads/to-wt2"); len(log) == 0 || !strings.HasSuffix(log[0], " through") {
		t.Errorf("the symbolic ref passed logs nothing: %q", log)
	}
}

// TestTransactionLateLockInOrder: a symbolic ref that leads into a stack
// whose directory comes before one the transaction locked (worktree a0's,
// before wt's) has the transaction let its locks go and take them all
// again in order, rather than wait for a0's holding wt's. Another
// transaction holding a0's lock and waiting for wt's, as the order says,
// gets both; before, it waited until its timeout and failed.
func TestTransactionLateLockInOrder(t *testing.T) {
	main, wt := worktrees(t)
	addWorktree(t, main, "a0")
	a0Stack := filepath.Join(main, ".git", "worktrees", "a0", "reftable")
	wtStack := filepath.Join(main, ".git", "worktrees", "wt", "reftable")
	w := open(t, wt, Options{Stack: stack.Options{LockTimeout: 10 * time.Second}})
	commit(t, w, stack.Update{Ref: stack.Ref{Name: "refs/heads/to-a0", Target: "worktrees/a0/refs/worktree/x"}})
	other := stack.Identity{Name: "other", Email: "other@example.com", Time: time.Unix(1700003000, 0)}
	var rounds int
	done := make(chan error, 1)
	testHookLocked = func() {
		rounds++
		if rounds > 1 {
			return
		}
		// Hold a0's lock, then ask for wt's, which the transaction holds.
		a0, err := stack.Open(a0Stack, stack.Options{})
		if err != nil {
			t.Fatal(err)
		}
		held := a0.NewTransaction(other, stack.ReflogNormal)
		if _, err := held.Lock(ctx); err != nil {
			t.Fatal(err)
		}
		go func() {
			defer a0.Close()
			defer held.Close()
			st, err := stack.Open(wtStack, stack.Options{LockTimeout: 3 * time.Second})
			if err != nil {
				done <- err
				return
			}
			defer st.Close()
			tx := st.NewTransaction(other, stack.ReflogNormal)
			tx.Add(stack.Update{Ref: stack.Ref{Name: "refs/worktree/other", ID: oid(1)}})
			if err := tx.Commit(ctx); err != nil {
				done <- fmt.Errorf("wt's stack, holding a0's: %w", err)
				return
			}
			held.Add(stack.Update{Ref: stack.Ref{Name: "refs/worktree/other", ID: oid(2)}})
			done <- held.Commit(ctx)
		}()
	}
	defer func() { testHookLocked = nil }()
	commit(t, w, stack.Update{Ref: stack.Ref{Name: "refs/heads/to-a0", ID: oid(6)}, Deref: true, Message: "through"})
	if err := <-done; err != nil {
		t.Errorf("the other transaction, taking a0's lock then wt's: %v", err)
	}
	if rounds < 2 {
		t.Errorf("%d rounds of locking, want a second one after letting go", rounds)
	}
	m := open(t, main, Options{})
	if r, err := m.Ref(ctx, "worktrees/a0/refs/worktree/x"); err != nil || r.ID == nil || r.ID[1] != 6 {
		t.Errorf("a0's refs/worktree/x: %v, %v", r, err)
	}
	if r, err := m.Ref(ctx, "worktrees/wt/refs/worktree/other"); err != nil || r.ID == nil || r.ID[1] != 1 {
		t.Errorf("wt's refs/worktree/other: %v, %v", r, err)
	}
}

// TestTransactionLocksAgainstGit checks against git that while a
// transaction in a linked worktree holds the locks of the stacks it
// writes (a hook runs then, before it reads what to write), git cannot
// move the worktree's HEAD: it fails on the lock, and the branch HEAD
// points at is the one updated. Afterwards git moves HEAD, and git fsck
// is clean.
func TestTransactionLocksAgainstGit(t *testing.T) {
	g := gittest.Init(t, "sha1")
	g.Run("commit", "-q", "--allow-empty", "-m", "c1")
	g.Run("commit", "-q", "--allow-empty", "-m", "c2")
	g.Run("branch", "topic")
	wt := filepath.Join(t.TempDir(), "wt")
	g.Run("worktree", "add", "-q", "-b", "wtbranch", wt)
	g.Run("-C", wt, "commit", "-q", "--allow-empty", "-m", "w1")
	c1 := strings.TrimSpace(g.Run("rev-parse", "HEAD~1"))
	topic := strings.TrimSpace(g.Run("rev-parse", "topic"))
	var gitErr error
	testHookLocked = func() {
		_, gitErr = g.RunInput("", "-C", wt, "-c", "reftable.lockTimeout=0", "symbolic-ref", "HEAD", "refs/heads/topic")
	}
	defer func() { testHookLocked = nil }()
	w := open(t, wt, Options{})
	id, err := hex.DecodeString(c1)
	if err != nil {
		t.Fatal(err)
	}
	commit(t, w, stack.Update{Ref: stack.Ref{Name: "HEAD", ID: id}, Deref: true, Message: "under locks"})
	if gitErr == nil || !strings.Contains(gitErr.Error(), "lock") {
		t.Errorf("git symbolic-ref while the transaction held the locks: %v, want a failure to lock", gitErr)
	}
	if got := strings.TrimSpace(g.Run("-C", wt, "symbolic-ref", "HEAD")); got != "refs/heads/wtbranch" {
		t.Errorf("HEAD: %s, want refs/heads/wtbranch", got)
	}
	if got := strings.TrimSpace(g.Run("rev-parse", "wtbranch")); got != c1 {
		t.Errorf("wtbranch: %s, want %s", got, c1)
	}
	if got := strings.TrimSpace(g.Run("rev-parse", "topic")); got != topic {
		t.Errorf("topic changed: %s, was %s", got, topic)
	}
	if got := g.Run("-C", wt, "log", "-g", "-1", "--format=%H %gs", "HEAD"); got != c1+" under locks\n" {
		t.Errorf("the worktree's HEAD reflog: %q", got)
	}
	g.Run("-C", wt, "symbolic-ref", "HEAD", "refs/heads/topic")
	g.Run("fsck", "--no-progress")
}

// TestTransactionNoDerefHEADAgainstGit: in a linked worktree, detaching
// HEAD without following it (git update-ref --no-deref HEAD <id>) logs in
// HEAD's reflog as old the id of the branch HEAD pointed at, which lives
// in the shared stack, as git logs it; and so does making HEAD point at
// another branch. The same changes by git and by a Transaction leave the
// same reflog entries.
func TestTransactionNoDerefHEADAgainstGit(t *testing.T) {
	g := gittest.Init(t, "sha1")
	g.Run("commit", "-q", "--allow-empty", "-m", "c1")
	g.Run("commit", "-q", "--allow-empty", "-m", "c2")
	g.Run("branch", "other", "HEAD~1")
	wt := filepath.Join(t.TempDir(), "wt")
	g.Run("worktree", "add", "-q", "-b", "wtbranch", wt)
	c1 := strings.TrimSpace(g.Run("rev-parse", "HEAD~1"))
	c2 := strings.TrimSpace(g.Run("rev-parse", "HEAD"))
	id1, err := hex.DecodeString(c1)
	if err != nil {
		t.Fatal(err)
	}
	w := open(t, wt, Options{})
	// newest returns HEAD's newest reflog entry in the worktree as
	// "<old> <new> <message>".
	newest := func() string {
		for l, err := range w.Reflog(ctx, "HEAD") {
			if err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf("%x %x %s", l.Old, l.New, strings.TrimSuffix(string(l.Message), "\n"))
		}
		return ""
	}
	steps := []struct {
		before []string // the state HEAD is put in first
		git    []string
		up     stack.Update
		old    string // the old id logged
	}{
		{[]string{"symbolic-ref", "HEAD", "refs/heads/wtbranch"},
			[]string{"update-ref", "--no-deref", "-m", "detach", "HEAD", c1},
			stack.Update{Ref: stack.Ref{Name: "HEAD", ID: id1}, Message: "detach"}, c2},
		{[]string{"update-ref", "--no-deref", "HEAD", c1},
			[]string{"symbolic-ref", "-m", "attach", "HEAD", "refs/heads/wtbranch"},
			stack.Update{Ref: stack.Ref{Name: "HEAD", Target: "refs/heads/wtbranch"}, Message: "attach"}, c1},
		{[]string{"symbolic-ref", "HEAD", "refs/heads/wtbranch"},
			[]string{"symbolic-ref", "-m", "switch", "HEAD", "refs/heads/other"},
			stack.Update{Ref: stack.Ref{Name: "HEAD", Target: "refs/heads/other"}, Message: "switch"}, c2},
		{[]string{"symbolic-ref", "HEAD", "refs/heads/other"},
			[]string{"update-ref", "--no-deref", "-m", "detach again", "HEAD", c1},
			stack.Update{Ref: stack.Ref{Name: "HEAD", ID: id1}, Message: "detach again"}, c1},
	}
	for i, s := range steps {
		g.Run(append([]string{"-C", wt}, s.before...)...)
		g.Run(append([]string{"-C", wt}, s.git...)...)
		byGit := newest()
		if old, _, _ := strings.Cut(byGit, " "); old != s.old {
			t.Errorf("step %d: git logged %q, old id %s expected", i, byGit, s.old)
		}
		g.Run(append([]string{"-C", wt}, s.before...)...)
		commit(t, w, s.up)
		if got := newest(); got != byGit {
			t.Errorf("step %d: the transaction logged\n%q, git\n%q", i, got, byGit)
		}
	}
	g.Run("fsck", "--no-progress")
}
