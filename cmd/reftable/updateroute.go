package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack"
)

// How update routes refs to stacks: in a linked worktree, or naming
// another worktree's refs, each ref goes to the stack its name belongs to,
// with symbolic refs followed through the stacks.

// stackFor returns the stack holding the ref name, and its name there.
func (u *updater) stackFor(name string) (*stack.Stack, string, error) {
	if dir, bare, ok := u.target.routeRef(name); ok {
		st := u.routes[dir]
		switch {
		case st != nil:
		case sameDir(dir, u.target.Dir):
			st = u.own
		case u.main != nil && sameDir(dir, u.target.MainDir):
			st = u.main
		default:
			var err error
			if st, err = u.otherStack(name, dir); err != nil {
				return nil, "", err
			}
		}
		if u.routes == nil {
			u.routes = map[string]*stack.Stack{}
		}
		u.routes[dir] = st
		return st, bare, nil
	}
	if u.main != nil && !perWorktree(name) {
		return u.main, name, nil
	}
	return u.own, name, nil
}

// otherStack opens the stack of another worktree, which name routes to
// (once: stackFor remembers it).
func (u *updater) otherStack(name, dir string) (*stack.Stack, error) {
	if !exists(filepath.Join(dir, "tables.list")) {
		return nil, fmt.Errorf("%s: no such worktree: %s has no stack", clip(name), filepath.Dir(dir))
	}
	opts := u.opts
	opts.Hash = u.target.Hash
	st, err := stack.Open(dir, opts)
	if err != nil {
		return nil, err
	}
	if u.others == nil {
		u.others = map[string]*stack.Stack{}
	}
	u.others[dir] = st
	return st, nil
}

// closeOthers closes the other worktrees' stacks.
func (u *updater) closeOthers() {
	for _, st := range u.others {
		st.Close()
	}
}

// testHookLocked, when not nil, is called by update once it holds the
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

// lockAndRoute turns the queued commands into transactions, one a stack
// (u.tx the own stack's, holding the commands that went straight to it),
// under the locks of every stack they write. It locks the worktree's own
// stack, the shared one and those the commands name, in the order of
// their directories (so that processes writing the same stacks take their
// locks in the same order); then, reading the stacks under the locks, it
// follows symbolic refs through them and adds each update to its stack's
// transaction, with reflog entries where git writes them: a symbolic ref
// passed and the worktree's HEAD get their entries in their own stack,
// and no other stack logs its HEAD, which belongs to another worktree. A
// symbolic ref leading into a stack not locked (another worktree's, by a
// worktrees/<id>/ target) has that stack locked too, after the others,
// and the commands routed again. Transactions come in the order of their
// stacks' directories. On error every transaction is closed, u.tx too.
func (u *updater) lockAndRoute(cmds []updateCmd) (_ []*stack.Transaction, err error) {
	byStack := map[*stack.Stack]*lockedTx{}
	if u.tx != nil {
		byStack[u.own] = &lockedTx{tx: u.tx}
	}
	defer func() {
		if err != nil {
			for _, l := range byStack {
				l.tx.Close()
			}
		}
	}()
	need := []*stack.Stack{u.own}
	if u.main != nil {
		need = append(need, u.main)
	}
	for _, c := range cmds {
		st, _, err := u.stackFor(c.u.Name)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", c.line, err)
		}
		need = append(need, st)
	}
	// Each round locks at least one more stack; chains of symbolic refs
	// are at most maxSymrefDepth long.
	for range maxSymrefDepth + 1 {
		if err := u.lock(byStack, need); err != nil {
			return nil, err
		}
		if testHookLocked != nil {
			testHookLocked()
		}
		plan, err := u.routeLocked(cmds, byStack)
		if err != nil {
			return nil, err
		}
		need = need[:0]
		for _, r := range plan {
			if byStack[r.st] == nil {
				need = append(need, r.st)
			}
		}
		if len(need) > 0 {
			continue
		}
		for _, r := range plan {
			byStack[r.st].tx.Add(r.up)
		}
		order := make([]*stack.Stack, 0, len(byStack))
		for st := range byStack {
			order = append(order, st)
		}
		u.sortByDir(order)
		txs := make([]*stack.Transaction, len(order))
		for i, st := range order {
			txs[i] = byStack[st].tx
		}
		return txs, nil
	}
	return nil, fmt.Errorf("symbolic refs lead into more than %d stacks", maxSymrefDepth+1)
}

// lock takes the locks of the stacks of need not locked yet, in the order
// of their directories, each through its transaction (started if none).
func (u *updater) lock(byStack map[*stack.Stack]*lockedTx, need []*stack.Stack) error {
	need = slices.Clone(need)
	u.sortByDir(need)
	for _, st := range slices.Compact(need) {
		l := byStack[st]
		if l == nil {
			l = &lockedTx{tx: st.NewTransaction(u.who, u.policy)}
			if st != u.own {
				l.tx.SkipHEADLog()
			}
			byStack[st] = l
		}
		if l.snap != nil {
			continue
		}
		snap, err := l.tx.Lock(context.Background())
		if err != nil {
			return err
		}
		l.snap = snap
	}
	return nil
}

// sortByDir sorts stacks by their directories' absolute paths.
func (u *updater) sortByDir(stacks []*stack.Stack) {
	dirOf := func(st *stack.Stack) string {
		dir := ""
		switch {
		case st == u.own:
			dir = u.target.Dir
		case st == u.main:
			dir = u.target.MainDir
		default:
			for d, o := range u.others {
				if o == st {
					dir = d
				}
			}
		}
		if abs, err := filepath.Abs(dir); err == nil {
			return abs
		}
		return dir
	}
	slices.SortFunc(stacks, func(a, b *stack.Stack) int { return strings.Compare(dirOf(a), dirOf(b)) })
}

// routeLocked routes cmds reading the stacks as locked (others, not
// written, as they are now).
func (u *updater) routeLocked(cmds []updateCmd, byStack map[*stack.Stack]*lockedTx) ([]routed, error) {
	own := byStack[u.own].snap.Merged()
	var base refReader = own
	var main *reftable.Merged
	if u.main != nil {
		main = byStack[u.main].snap.Merged()
		base = worktreeView{wt: own, main: main}
	}
	r := &routedReader{refReader: base, t: u.target, own: own, main: main, byDir: map[string]*reftable.Merged{}}
	defer r.close()
	for dir, st := range u.others {
		if l := byStack[st]; l != nil {
			r.byDir[dir] = l.snap.Merged()
		}
	}
	return u.route(r, cmds)
}

// route returns the updates of cmds for their stacks, reading refs
// through r.
func (u *updater) route(r refReader, cmds []updateCmd) ([]routed, error) {
	var plan []routed
	add := func(up stack.Update) error {
		st, name, err := u.stackFor(up.Name)
		if err != nil {
			return err
		}
		up.Name = name
		plan = append(plan, routed{st, up})
		return nil
	}
	sameStack := func(a, b string) (bool, error) {
		sa, _, err := u.stackFor(a)
		if err != nil {
			return false, err
		}
		sb, _, err := u.stackFor(b)
		return sa == sb, err
	}
	headTarget := ""
	if h, err := r.Ref([]byte("HEAD")); err == nil && h.Type == reftable.RefSymref {
		headTarget = string(h.Target)
	}
	for _, c := range cmds {
		up := c.u
		var via []string
		if up.Deref {
			name, passed, err := followSymrefs(r, up.Name)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", c.line, err)
			}
			up.Name, via = name, passed
		}
		up.Deref = false
		if err := add(up); err != nil {
			return nil, fmt.Errorf("line %d: %w", c.line, err)
		}
		if up.Verify {
			continue
		}
		logged := up.Ref // what the refs passed (and HEAD) log
		logged.Name = ""
		if t := up.Target; t != "" {
			// A symbolic ref's stack cannot see a target in another
			// stack; its reflog entry records the target's id. (A
			// target in a worktree that does not exist dangles.)
			if same, err := sameStack(t, up.Name); err == nil && !same {
				if err := logSymref(r, up, add); err != nil {
					return nil, fmt.Errorf("line %d: %w", c.line, err)
				}
			}
			// The symbolic refs followed to it log the id the new
			// target resolves to, as git; nothing if it dangles.
			if len(via) == 0 {
				continue
			}
			var err error
			if logged, err = targetID(r, t); err != nil {
				return nil, fmt.Errorf("line %d: %w", c.line, err)
			}
			if logged.ID == nil {
				continue
			}
		} else if up.Name == headTarget && !slices.Contains(via, "HEAD") {
			same, err := sameStack(up.Name, "HEAD")
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", c.line, err)
			}
			if !same {
				via = append(via, "HEAD")
			}
		}
		if len(via) == 0 {
			continue
		}
		cur, err := targetID(r, up.Name)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", c.line, err)
		}
		for _, name := range via {
			if err := add(stack.Update{Ref: named(name, logged), Old: &cur, Message: up.Message, LogOnly: true}); err != nil {
				return nil, fmt.Errorf("line %d: %w", c.line, err)
			}
		}
	}
	return plan, nil
}

// logSymref adds the reflog entry of a symbolic ref update whose target
// lives in the other stack: from the ref's object id (none when it is
// symbolic) to the id its new target has, as git; none if it dangles.
func logSymref(r refReader, up stack.Update, add func(stack.Update) error) error {
	next, err := targetID(r, up.Target)
	if err != nil || next.ID == nil {
		return err
	}
	cur, err := targetID(r, up.Name)
	if err != nil {
		return err
	}
	return add(stack.Update{Ref: named(up.Name, next), Old: &cur, Message: up.Message, LogOnly: true})
}

// targetID returns the object id the ref target has, following symbolic
// refs (with its peeled id), none when it dangles: what a reflog entry
// records of a symbolic ref to target, or of target itself, as git.
func targetID(r refReader, target string) (stack.Ref, error) {
	name, _, err := followSymrefs(r, target)
	if err != nil {
		return stack.Ref{}, err
	}
	rec, err := r.Ref([]byte(name))
	if errors.Is(err, reftable.ErrNotFound) {
		return stack.Ref{}, nil
	} else if err != nil {
		return stack.Ref{}, err
	}
	v := stack.RefOf(&rec)
	if v.ID == nil {
		return stack.Ref{}, nil
	}
	return stack.Ref{ID: v.ID, Peeled: v.Peeled}, nil
}

// named returns v as the value of the ref name.
func named(name string, v stack.Ref) stack.Ref {
	v.Name = name
	return v
}

// followSymrefs follows symbolic refs from name to the ref they end at
// (which may not exist), returning the symbolic refs passed.
func followSymrefs(r refReader, name string) (string, []string, error) {
	var via []string
	for range maxSymrefDepth {
		rec, err := r.Ref([]byte(name))
		if errors.Is(err, reftable.ErrNotFound) || err == nil && rec.Type != reftable.RefSymref {
			return name, via, nil
		}
		if err != nil {
			return "", nil, err
		}
		via = append(via, name)
		name = string(rec.Target)
	}
	return "", nil, fmt.Errorf("%s: more than %d levels of symbolic refs", clip(via[0]), maxSymrefDepth)
}
