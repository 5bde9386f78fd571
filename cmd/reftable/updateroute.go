package main

import (
	"bytes"
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

// build turns the queued commands into transactions, one a stack (with
// the transaction already holding a single stack's commands), with symbolic
// refs followed through the stacks (as read before locking) and reflog
// entries where git writes them: a symbolic ref passed and the
// worktree's HEAD get their entries in their own stack, and no other
// stack logs its HEAD, which belongs to another worktree. Transactions
// come in the order of their stacks' directories.
func (u *updater) build(cmds []updateCmd) ([]*stack.Transaction, error) {
	byStack := map[*stack.Stack]*stack.Transaction{}
	if u.tx != nil {
		byStack[u.own] = u.tx
	}
	if len(cmds) > 0 {
		if err := u.route(cmds, byStack); err != nil {
			for st, tx := range byStack {
				if st != u.own || tx != u.tx {
					tx.Close()
				}
			}
			return nil, err
		}
	}
	// Sorted by directory, so that every process takes the locks of
	// the stacks it writes in the same order.
	type dirTx struct {
		dir string
		tx  *stack.Transaction
	}
	var order []dirTx
	add := func(st *stack.Stack, dir string) {
		if tx := byStack[st]; st != nil && tx != nil {
			if abs, err := filepath.Abs(dir); err == nil {
				dir = abs
			}
			order = append(order, dirTx{dir, tx})
		}
	}
	add(u.own, u.target.Dir)
	add(u.main, u.target.MainDir)
	for dir, st := range u.others {
		add(st, dir)
	}
	slices.SortFunc(order, func(a, b dirTx) int { return strings.Compare(a.dir, b.dir) })
	txs := make([]*stack.Transaction, len(order))
	for i, o := range order {
		txs[i] = o.tx
	}
	return txs, nil
}

// route adds the updates of cmds to the transactions of their stacks,
// starting those not in byStack.
func (u *updater) route(cmds []updateCmd, byStack map[*stack.Stack]*stack.Transaction) error {
	if err := u.openView(); err != nil {
		return err
	}
	add := func(up stack.Update) error {
		st, name, err := u.stackFor(up.Name)
		if err != nil {
			return err
		}
		tx := byStack[st]
		if tx == nil {
			tx = st.NewTransaction(u.who, u.policy)
			if st != u.own {
				tx.SkipHEADLog()
			}
			byStack[st] = tx
		}
		up.Name = name
		tx.Add(up)
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
	if h, err := u.view.Ref([]byte("HEAD")); err == nil && h.Type == reftable.RefSymref {
		headTarget = string(h.Target)
	}
	for _, c := range cmds {
		up := c.u
		var via []string
		if up.Deref {
			name, passed, err := followSymrefs(u.view, up.Name)
			if err != nil {
				return fmt.Errorf("line %d: %w", c.line, err)
			}
			up.Name, via = name, passed
		}
		up.Deref = false
		if err := add(up); err != nil {
			return fmt.Errorf("line %d: %w", c.line, err)
		}
		if up.Verify {
			continue
		}
		logged := up.New // what the refs passed (and HEAD) log
		if t := up.New.Target; t != "" {
			// A symbolic ref's stack cannot see a target in another
			// stack; its reflog entry records the target's id. (A
			// target in a worktree that does not exist dangles.)
			if same, err := sameStack(t, up.Name); err == nil && !same {
				if err := u.logSymref(up, add); err != nil {
					return fmt.Errorf("line %d: %w", c.line, err)
				}
			}
			// The symbolic refs followed to it log the id the new
			// target resolves to, as git; nothing if it dangles.
			if len(via) == 0 {
				continue
			}
			var err error
			if logged, err = u.targetID(t); err != nil {
				return fmt.Errorf("line %d: %w", c.line, err)
			}
			if logged.ID == nil {
				continue
			}
		} else if up.Name == headTarget && !slices.Contains(via, "HEAD") {
			same, err := sameStack(up.Name, "HEAD")
			if err != nil {
				return fmt.Errorf("line %d: %w", c.line, err)
			}
			if !same {
				via = append(via, "HEAD")
			}
		}
		if len(via) == 0 {
			continue
		}
		cur, err := u.targetID(up.Name)
		if err != nil {
			return fmt.Errorf("line %d: %w", c.line, err)
		}
		for _, name := range via {
			if err := add(stack.Update{Name: name, Old: &cur, New: logged, Message: up.Message, LogOnly: true}); err != nil {
				return fmt.Errorf("line %d: %w", c.line, err)
			}
		}
	}
	return nil
}

// logSymref adds the reflog entry of a symbolic ref update whose target
// lives in the other stack: from the ref's object id (none when it is
// symbolic) to the id its new target has, as git; none if it dangles.
func (u *updater) logSymref(up stack.Update, add func(stack.Update) error) error {
	next, err := u.targetID(up.New.Target)
	if err != nil || next.ID == nil {
		return err
	}
	cur, err := u.targetID(up.Name)
	if err != nil {
		return err
	}
	return add(stack.Update{Name: up.Name, Old: &cur, New: next, Message: up.Message, LogOnly: true})
}

// targetID returns the object id the ref target has, following symbolic
// refs (with its peeled id), none when it dangles: what a reflog entry
// records of a symbolic ref to target, or of target itself, as git.
func (u *updater) targetID(target string) (stack.Value, error) {
	name, _, err := followSymrefs(u.view, target)
	if err != nil {
		return stack.Missing, err
	}
	r, err := u.view.Ref([]byte(name))
	if errors.Is(err, reftable.ErrNotFound) {
		return stack.Missing, nil
	} else if err != nil {
		return stack.Missing, err
	}
	v := valueOf(&r)
	if v.ID == nil {
		return stack.Missing, nil
	}
	return v, nil
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

// valueOf returns the value a ref record holds.
func valueOf(r *reftable.RefRecord) stack.Value {
	switch r.Type {
	case reftable.RefVal1:
		return stack.Value{ID: bytes.Clone(r.Value)}
	case reftable.RefVal2:
		return stack.Value{ID: bytes.Clone(r.Value), Peeled: bytes.Clone(r.Peeled)}
	case reftable.RefSymref:
		return stack.Value{Target: string(r.Target)}
	}
	return stack.Missing
}
