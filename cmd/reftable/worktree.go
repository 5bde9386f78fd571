package main

import (
	"bytes"
	"errors"
	"fmt"
	"iter"
	"path/filepath"
	"strings"

	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack"
)

// A linked worktree keeps its per-worktree refs (HEAD and the other root
// refs, refs/bisect/, refs/worktree/, refs/rewritten/) in its own stack,
// .git/worktrees/<id>/reftable, and shares every other ref through the
// main stack, .git/reftable. Reading, git merges both: per-worktree names
// from the worktree's stack, shared names from the main stack (the main
// worktree's own HEAD and refs/bisect/ stay hidden). Writing, each ref goes
// to the stack its name belongs to.

// perWorktree reports whether name is a per-worktree ref, as git's
// parse_worktree_ref decides for the current worktree.
func perWorktree(name string) bool {
	if strings.HasPrefix(name, "refs/worktree/") || strings.HasPrefix(name, "refs/bisect/") ||
		strings.HasPrefix(name, "refs/rewritten/") {
		return true
	}
	for _, c := range []byte(name) {
		if !('A' <= c && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return name != ""
}

// A refGetter looks up one ref.
type refGetter interface {
	Ref(name []byte) (reftable.RefRecord, error)
}

// A refReader reads refs and reflogs: one stack's merged view, or a
// linked worktree's view of its own and the shared stack.
type refReader interface {
	Ref(name []byte) (reftable.RefRecord, error)
	Refs(prefix []byte) iter.Seq2[reftable.RefRecord, error]
	Logs(prefix []byte) iter.Seq2[reftable.LogRecord, error]
	LogsFor(name []byte) iter.Seq2[reftable.LogRecord, error]
}

// worktreeView is a linked worktree's view: wt is its own stack, main the
// shared one.
type worktreeView struct {
	wt, main *reftable.Merged
}

// stackFor returns the view holding name.
func (v worktreeView) stackFor(name []byte) *reftable.Merged {
	if perWorktree(string(name)) {
		return v.wt
	}
	return v.main
}

func (v worktreeView) Ref(name []byte) (reftable.RefRecord, error) {
	return v.stackFor(name).Ref(name)
}

func (v worktreeView) LogsFor(name []byte) iter.Seq2[reftable.LogRecord, error] {
	return v.stackFor(name).LogsFor(name)
}

func (v worktreeView) Refs(prefix []byte) iter.Seq2[reftable.RefRecord, error] {
	return mergeByName(v.wt.Refs(prefix), v.main.Refs(prefix), func(r *reftable.RefRecord) []byte { return r.Name })
}

func (v worktreeView) Logs(prefix []byte) iter.Seq2[reftable.LogRecord, error] {
	return mergeByName(v.wt.Logs(prefix), v.main.Logs(prefix), func(l *reftable.LogRecord) []byte { return l.RefName })
}

// routedReader reads, besides what its refReader reads, the refs and
// reflogs of other worktrees named with git's prefixes (see routeRef):
// the record keeps the name asked for. A worktree's stack is opened when
// first needed; a worktree without one has no such refs.
type routedReader struct {
	refReader
	t         *target
	own, main *reftable.Merged            // the target's stacks (main nil unless a linked worktree)
	byDir     map[string]*reftable.Merged // the stacks routed to by directory, nil if none
	closers   []func() error              // of the other worktrees' stacks opened
}

// stackOf returns the merged view holding name, and the name there; nil
// when name is not routed.
func (r *routedReader) stackOf(name []byte) (*reftable.Merged, []byte, error) {
	dir, bare, ok := r.t.routeRef(string(name))
	if !ok {
		return nil, nil, nil
	}
	if m, ok := r.byDir[dir]; ok {
		return m, []byte(bare), nil
	}
	var m *reftable.Merged
	switch {
	case sameDir(dir, r.t.Dir):
		m = r.own
	case r.main != nil && sameDir(dir, r.t.MainDir):
		m = r.main
	case exists(filepath.Join(dir, "tables.list")):
		snap, closeSnap, err := openSnapshot(stack.Open(dir, stack.Options{Hash: r.t.Hash, DisableAutoCompaction: true}))
		if err != nil {
			return nil, nil, err
		}
		m = snap.Merged()
		r.closers = append(r.closers, closeSnap)
	}
	r.byDir[dir] = m
	return m, []byte(bare), nil
}

func (r *routedReader) Ref(name []byte) (reftable.RefRecord, error) {
	m, bare, err := r.stackOf(name)
	if err != nil {
		return reftable.RefRecord{}, err
	}
	if bare == nil {
		return r.refReader.Ref(name)
	}
	if m == nil {
		return reftable.RefRecord{}, reftable.ErrNotFound
	}
	rec, err := m.Ref(bare)
	rec.Name = bytes.Clone(name)
	return rec, err
}

func (r *routedReader) LogsFor(name []byte) iter.Seq2[reftable.LogRecord, error] {
	m, bare, err := r.stackOf(name)
	if bare == nil && err == nil {
		return r.refReader.LogsFor(name)
	}
	return func(yield func(reftable.LogRecord, error) bool) {
		if err != nil {
			yield(reftable.LogRecord{}, err)
			return
		}
		if m == nil {
			return
		}
		for l, err := range m.LogsFor(bare) {
			l.RefName = bytes.Clone(name)
			if !yield(l, err) {
				return
			}
		}
	}
}

// close closes the other worktrees' stacks it opened.
func (r *routedReader) close() error {
	var errs []error
	for _, c := range r.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// mergeByName merges two sequences sorted by name: per-worktree names
// from wt, shared names from main. Each name comes from one side only, so
// the records of one name keep their order.
func mergeByName[R any](wt, main iter.Seq2[R, error], name func(*R) []byte) iter.Seq2[R, error] {
	return func(yield func(R, error) bool) {
		nextWT, stopWT := iter.Pull2(wt)
		defer stopWT()
		nextMain, stopMain := iter.Pull2(main)
		defer stopMain()
		// advance returns the next record of a side whose names belong
		// to it, or ok false at its end.
		advance := func(next func() (R, error, bool), want bool) (R, bool, error) {
			for {
				r, err, ok := next()
				if !ok || err != nil {
					return r, ok, err
				}
				if perWorktree(string(name(&r))) == want {
					return r, true, nil
				}
			}
		}
		a, okA, err := advance(nextWT, true)
		if err != nil {
			yield(a, err)
			return
		}
		b, okB, err := advance(nextMain, false)
		if err != nil {
			yield(b, err)
			return
		}
		for okA || okB {
			if okA && (!okB || bytes.Compare(name(&a), name(&b)) <= 0) {
				if !yield(a, nil) {
					return
				}
				if a, okA, err = advance(nextWT, true); err != nil {
					yield(a, fmt.Errorf("worktree stack: %w", err))
					return
				}
				continue
			}
			if !yield(b, nil) {
				return
			}
			if b, okB, err = advance(nextMain, false); err != nil {
				yield(b, fmt.Errorf("main stack: %w", err))
				return
			}
		}
	}
}
