package repo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/refstore/refstore/stack"
)

// Transaction changes refs of a repository: in a linked worktree, or for
// names with git's worktree prefixes, of several stacks. It is not safe
// for concurrent use.
//
// Each ref goes to the stack its name belongs to (see Repository), with
// reflog entries where git writes them. Prepare takes the locks of every
// stack the transaction writes, and of the worktree's own and the shared
// stack, before it reads anything, in the order of the stacks'
// directories (so that processes writing the same stacks take their locks
// in the same order); under the locks it follows symbolic refs through
// the stacks (HEAD in a linked worktree is its own, the branch it points
// at shared), checks every expected old value, and decides the reflog
// entries: a symbolic ref passed and the worktree's HEAD log in their own
// stack, and no other stack logs its HEAD, which belongs to another
// worktree; a ref whose old or new value is a symbolic ref into another
// stack (HEAD on a shared branch, detached or moved to another branch)
// logs the ids they resolve to through the stacks, as git. A symbolic ref
// leading into a stack not locked yet (another worktree's) has that stack
// locked too, and the updates routed again: after the others when its
// directory comes after theirs, else after letting them go, all in order,
// so that no process waits for a lock holding one that comes after it.
// Then Commit writes each stack's table, in the same order: every check
// was made under all the locks, so only a failure to write can leave some
// stacks written and others not.
//
// In a repository that is not a linked worktree, the updates of names
// that stay in its stack go straight into that stack's
// stack.Transaction, which holds a bulk update without copying it.
type Transaction struct {
	r   *Repository
	who stack.Identity
	err error        // opening the stacks failed: Prepare reports it
	own *stack.Stack // the repository's own stack, once Add opened it

	direct *stack.Transaction // the own stack's updates, without routing
	queued []stack.Update     // updates to route under the locks
	txs    []*stack.Transaction
	done   bool // committed or closed
}

// NewTransaction starts a transaction whose reflog entries are made by
// who, logging refs as the repository's core.logAllRefUpdates says.
func (r *Repository) NewTransaction(who stack.Identity) *Transaction {
	return &Transaction{r: r, who: who}
}

// Add queues updates (see stack.Update). Names are as git names them in
// the worktree: HEAD is the worktree's, main-worktree/HEAD the main
// worktree's. Updates added after Prepare are not applied. As
// stack.Transaction.Add, it keeps copies of the updates' ids.
func (tx *Transaction) Add(us ...stack.Update) {
	r := tx.r
	if tx.own == nil {
		own, _, err := r.stacks()
		if err != nil {
			tx.err = cmp.Or(tx.err, err)
			return
		}
		tx.own = own
	}
	for _, u := range us {
		if !r.linked() {
			dir, bare, routed := r.routeRef(u.Name)
			if routed && sameDir(dir, r.StackDir()) {
				u.Name, routed = bare, false // the main worktree's own ref
			}
			if !routed {
				if tx.direct == nil {
					tx.direct = tx.own.NewTransaction(tx.who, r.cfg.LogAllRefUpdates)
				}
				tx.direct.Add(u)
				continue
			}
		}
		if len(tx.queued) == cap(tx.queued) {
			// Doubling: append grows large slices by a quarter, which
			// copies a bulk update many times.
			tx.queued = slices.Grow(tx.queued, len(tx.queued)+1)
		}
		tx.queued = append(tx.queued, u.Clone()) // the caller may reuse the ids' memory
	}
}

// Prepare takes the locks of the stacks the transaction writes and
// checks it under them (see Transaction), without writing. The locks are
// held until Commit or Close. A failed Prepare releases them and ends
// the transaction.
func (tx *Transaction) Prepare(ctx context.Context) error {
	if tx.r.readOnly {
		return ErrReadOnly
	}
	if tx.done || tx.txs != nil {
		return stack.ErrClosed
	}
	if tx.err != nil {
		tx.Close()
		return tx.err
	}
	var txs []*stack.Transaction
	switch {
	case len(tx.queued) > 0:
		var err error
		if txs, err = tx.lockAndRoute(ctx); err != nil {
			tx.Close()
			return err
		}
	case tx.direct != nil:
		txs = []*stack.Transaction{tx.direct}
	}
	tx.direct, tx.queued = nil, nil
	for _, t := range txs {
		if err := t.Prepare(ctx); err != nil {
			for _, other := range txs {
				other.Close()
			}
			tx.done = true
			return err
		}
	}
	tx.txs = txs
	if tx.txs == nil {
		tx.txs = []*stack.Transaction{} // prepared, and nothing to write
	}
	return nil
}

// Commit prepares the transaction if Prepare was not called, then writes
// it, stack by stack. It ends the transaction.
func (tx *Transaction) Commit(ctx context.Context) error {
	if tx.txs == nil {
		if err := tx.Prepare(ctx); err != nil {
			return err
		}
	}
	if tx.done {
		return stack.ErrClosed
	}
	tx.done = true
	var err error
	for _, t := range tx.txs {
		if err == nil {
			err = t.Commit(ctx)
		} else {
			t.Close()
		}
	}
	tx.txs = nil
	return err
}

// Close abandons the transaction if it was not committed, releasing the
// locks Prepare took. It is always safe to call.
func (tx *Transaction) Close() error {
	tx.done = true
	var errs []error
	if tx.direct != nil {
		errs = append(errs, tx.direct.Close())
	}
	for _, t := range tx.txs {
		errs = append(errs, t.Close())
	}
	tx.direct, tx.queued, tx.txs = nil, nil, nil
	return errors.Join(errs...)
}

// testHookLocked, when not nil, is called by Prepare once it holds the
// locks of the stacks it writes, before it reads what to write: a test
// changes refs from there.
var testHookLocked func()

// A lockedTx is the transaction of one stack, with the stack as locked.
type lockedTx struct {
	tx   *stack.Transaction
	snap *stack.Snapshot // the stack under the lock; nil until locked
}

// A routed update is one for the stack st, naming the ref as st holds it.
type routed struct {
	st *stack.Stack
	up stack.Update
}

// lockAndRoute turns the queued updates into transactions, one a stack
// (the direct one the own stack's), under the locks of every stack they
// write (see Transaction), in the order of their stacks' directories. On
// error every transaction is closed.
func (tx *Transaction) lockAndRoute(ctx context.Context) (_ []*stack.Transaction, err error) {
	r := tx.r
	own, shared, err := r.stacks()
	if err != nil {
		return nil, err
	}
	byStack := map[*stack.Stack]*lockedTx{}
	if tx.direct != nil {
		byStack[own] = &lockedTx{tx: tx.direct}
	}
	defer func() {
		if err != nil {
			for _, l := range byStack {
				l.tx.Close()
			}
		}
	}()
	need := []*stack.Stack{own, shared}
	for _, u := range tx.queued {
		st, _, err := r.writeStackFor(u.Name)
		if err != nil {
			return nil, err
		}
		need = append(need, st)
	}
	// Each round locks at least one more stack; chains of symbolic refs
	// pass at most five refs.
	for range 6 {
		if err := tx.lock(ctx, own, byStack, need); err != nil {
			return nil, err
		}
		if testHookLocked != nil {
			testHookLocked()
		}
		plan, err := tx.routeLocked(own, shared, byStack)
		if err != nil {
			return nil, err
		}
		need = need[:0]
		for _, p := range plan {
			if byStack[p.st] == nil {
				need = append(need, p.st)
			}
		}
		if len(need) > 0 {
			if r.outOfOrder(need, byStack) {
				// Waiting for a lock that comes before one held could
				// wait on a process that holds it and waits for ours
				// (forever, with a negative lock timeout): let every
				// lock go and take them all again, in order.
				for st, l := range byStack {
					if l.snap != nil {
						if err := l.tx.Unlock(); err != nil {
							return nil, err
						}
						l.snap = nil
					}
					need = append(need, st)
				}
			}
			continue
		}
		for _, p := range plan {
			byStack[p.st].tx.Add(p.up)
		}
		order := make([]*stack.Stack, 0, len(byStack))
		for st := range byStack {
			order = append(order, st)
		}
		r.sortByDir(order)
		txs := make([]*stack.Transaction, len(order))
		for i, st := range order {
			txs[i] = byStack[st].tx
		}
		return txs, nil
	}
	return nil, fmt.Errorf("symbolic refs lead into more than %d stacks", 6)
}

// lock takes the locks of the stacks of need not locked yet, in the order
// of their directories, each through its transaction (started if none).
func (tx *Transaction) lock(ctx context.Context, own *stack.Stack, byStack map[*stack.Stack]*lockedTx, need []*stack.Stack) error {
	r := tx.r
	need = slices.Clone(need)
	r.sortByDir(need)
	for _, st := range slices.Compact(need) {
		l := byStack[st]
		if l == nil {
			l = &lockedTx{tx: st.NewTransaction(tx.who, r.cfg.LogAllRefUpdates)}
			if st != own {
				// Its HEAD is another worktree's: this worktree's HEAD
				// logs in its own stack.
				l.tx.SkipHEADLog()
			}
			byStack[st] = l
		}
		if l.snap != nil {
			continue
		}
		snap, err := l.tx.Lock(ctx)
		if err != nil {
			return err
		}
		l.snap = snap
	}
	return nil
}

// outOfOrder reports whether a stack of need comes before a stack locked
// in byStack in the order locks are taken (sortByDir).
func (r *Repository) outOfOrder(need []*stack.Stack, byStack map[*stack.Stack]*lockedTx) bool {
	last := ""
	for st, l := range byStack {
		if d := r.dirOf(st); l.snap != nil && d > last {
			last = d
		}
	}
	for _, st := range need {
		if r.dirOf(st) < last {
			return true
		}
	}
	return false
}

// sortByDir sorts stacks by their directories' absolute paths.
func (r *Repository) sortByDir(stacks []*stack.Stack) {
	slices.SortFunc(stacks, func(a, b *stack.Stack) int { return strings.Compare(r.dirOf(a), r.dirOf(b)) })
}

// writeStackFor is stackFor for a ref to write: a name routed to a
// worktree that has no stack is an error.
func (r *Repository) writeStackFor(name string) (*stack.Stack, string, error) {
	st, bare, err := r.stackFor(name)
	if err == nil && st == nil {
		dir, _, _ := r.routeRef(name)
		err = fmt.Errorf("%s: no such worktree: %s has no stack", name, filepath.Dir(dir))
	}
	return st, bare, err
}

// routeLocked routes the queued updates reading the stacks as locked
// (others, not written, as they are now).
func (tx *Transaction) routeLocked(own, shared *stack.Stack, byStack map[*stack.Stack]*lockedTx) ([]routed, error) {
	snaps := make(map[*stack.Stack]*stack.Snapshot, len(byStack))
	for st, l := range byStack {
		snaps[st] = l.snap
	}
	s := tx.r.lockedSnapshot(own, shared, snaps)
	defer s.Close()
	return tx.route(s)
}

// route returns the updates for their stacks, reading refs through s.
func (tx *Transaction) route(s *Snapshot) ([]routed, error) {
	r := tx.r
	var plan []routed
	add := func(up stack.Update) error {
		st, name, err := r.writeStackFor(up.Name)
		if err != nil {
			return err
		}
		up.Name = name
		plan = append(plan, routed{st, up})
		return nil
	}
	sameStack := func(a, b string) (bool, error) {
		sa, _, err := r.writeStackFor(a)
		if err != nil {
			return false, err
		}
		sb, _, err := r.writeStackFor(b)
		return sa == sb, err
	}
	headTarget := ""
	if h, err := s.Ref("HEAD"); err == nil && h.Symbolic() {
		headTarget = h.Target
	}
	for _, up := range tx.queued {
		var via []string
		if up.Deref {
			end, passed, err := s.Resolve(up.Name)
			if err != nil {
				return nil, err
			}
			up.Name, via = end.Name, passed
		}
		up.Deref = false
		if !up.Verify && !up.LogOnly {
			if err := logAcross(s, up, sameStack, add); err != nil {
				return nil, err
			}
		}
		if err := add(up); err != nil {
			return nil, err
		}
		if up.Verify {
			continue
		}
		logged := up.Ref // what the refs passed (and HEAD) log
		logged.Name = ""
		if t := up.Target; t != "" {
			// The symbolic refs followed to it log the id the new
			// target resolves to, as git; nothing if it dangles.
			if len(via) == 0 {
				continue
			}
			var err error
			if logged, err = targetID(s, t); err != nil {
				return nil, err
			}
			if logged.ID == nil {
				continue
			}
		} else if up.Name == headTarget && !slices.Contains(via, "HEAD") {
			same, err := sameStack(up.Name, "HEAD")
			if err != nil {
				return nil, err
			}
			if !same {
				via = append(via, "HEAD")
			}
		}
		if len(via) == 0 {
			continue
		}
		cur, err := targetID(s, up.Name)
		if err != nil {
			return nil, err
		}
		for _, name := range via {
			if err := add(stack.Update{Ref: named(name, logged), Old: &cur, Message: up.Message, LogOnly: true}); err != nil {
				return nil, err
			}
		}
	}
	return plan, nil
}

// logAcross adds the reflog entry of the update up when its ref's old or
// new value is a symbolic ref to a ref in another stack (a linked
// worktree's HEAD on a branch, which is shared): the ref's own stack,
// which does not hold the target, would log none as its id. As git, the
// entry records the ids the old and the new value resolve to through the
// stacks (none as old for a missing ref); a new symbolic ref that
// dangles logs nothing. It is added before the update itself: a stack
// keeps one reflog entry a ref a transaction, the first, so the entry
// the ref's stack would make of the update is left out. (A target in a
// worktree that does not exist dangles.)
func logAcross(s *Snapshot, up stack.Update, sameStack func(a, b string) (bool, error), add func(stack.Update) error) error {
	cur, err := s.lookup(up.Name)
	if err != nil {
		return err
	}
	across := false
	for _, t := range []string{cur.Target, up.Target} {
		if t == "" {
			continue
		}
		if same, err := sameStack(t, up.Name); err == nil && !same {
			across = true
		}
	}
	if !across {
		return nil
	}
	next := stack.Ref{ID: up.ID, Peeled: up.Peeled}
	if up.Target != "" {
		if next, err = targetID(s, up.Target); err != nil || next.ID == nil {
			return err
		}
	}
	old, err := targetID(s, up.Name)
	if err != nil {
		return err
	}
	return add(stack.Update{Ref: named(up.Name, next), Old: &old, Message: up.Message, LogOnly: true})
}

// targetID returns the object id the ref target has, following symbolic
// refs (with its peeled id), none when it dangles: what a reflog entry
// records of a symbolic ref to target, or of target itself, as git.
func targetID(s *Snapshot, target string) (stack.Ref, error) {
	r, _, err := s.Resolve(target)
	if err != nil || r.ID == nil {
		return stack.Ref{}, err
	}
	return stack.Ref{ID: r.ID, Peeled: r.Peeled}, nil
}

// named returns v as the value of the ref name.
func named(name string, v stack.Ref) stack.Ref {
	v.Name = name
	return v
}
