package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"

	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack"
)

// Snapshot is a view of a repository's refs as git reads them in the
// worktree the repository was opened at: the worktree's own stack and
// the shared one each as they were at one moment (the same stack but in
// a linked worktree), and the stacks of other worktrees, which names with
// git's worktree prefixes reach, as they are when first read. A Snapshot
// is safe for concurrent use; Close it once.
//
// Its reads take no context: they read tables that are open already
// (the stacks of a repository are directories).
type Snapshot struct {
	r           *Repository
	own, shared *stack.Snapshot
	borrowed    map[*stack.Snapshot]bool // not the Snapshot's to close

	mu     sync.Mutex
	others map[*stack.Stack]*stack.Snapshot // of other worktrees, taken when first needed
}

// Snapshot returns a view of the repository's refs.
func (r *Repository) Snapshot(ctx context.Context) (*Snapshot, error) {
	ownStack, sharedStack, err := r.stacks()
	if err != nil {
		return nil, err
	}
	own, err := ownStack.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	s := &Snapshot{r: r, own: own, shared: own}
	if sharedStack != ownStack {
		if s.shared, err = sharedStack.Snapshot(ctx); err != nil {
			own.Close()
			return nil, err
		}
	}
	return s, nil
}

// lockedSnapshot returns a view of the repository in which the stacks
// of snaps are as snaps show them (locked by a transaction, which owns
// them), and the others as they are when first read.
func (r *Repository) lockedSnapshot(own, shared *stack.Stack, snaps map[*stack.Stack]*stack.Snapshot) *Snapshot {
	s := &Snapshot{r: r, own: snaps[own], shared: snaps[shared], borrowed: map[*stack.Snapshot]bool{}, others: map[*stack.Stack]*stack.Snapshot{}}
	for st, snap := range snaps {
		s.borrowed[snap] = true
		if st != own && st != shared {
			s.others[st] = snap
		}
	}
	return s
}

// Close releases the snapshot's tables.
func (s *Snapshot) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	closeOne := func(snap *stack.Snapshot) {
		if snap != nil && !s.borrowed[snap] {
			errs = append(errs, snap.Close())
		}
	}
	closeOne(s.own)
	if s.shared != s.own {
		closeOne(s.shared)
	}
	for _, snap := range s.others {
		closeOne(snap)
	}
	s.others = nil
	return errors.Join(errs...)
}

// of returns the view of the ref name: the snapshot of the stack holding
// it and its name there; a nil snapshot when name is routed to a
// worktree without a stack.
func (s *Snapshot) of(name string) (*stack.Snapshot, string, error) {
	st, bare, err := s.r.stackFor(name)
	if err != nil || st == nil {
		return nil, bare, err
	}
	own, shared, err := s.r.stacks()
	if err != nil {
		return nil, bare, err
	}
	switch st {
	case own:
		return s.own, bare, nil
	case shared:
		return s.shared, bare, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if snap, ok := s.others[st]; ok {
		return snap, bare, nil
	}
	// A directory stack: its reads wait for nothing.
	snap, err := st.Snapshot(context.Background())
	if err != nil {
		return nil, bare, err
	}
	if s.others == nil {
		s.others = map[*stack.Stack]*stack.Snapshot{}
	}
	s.others[st] = snap
	return snap, bare, nil
}

// Ref returns the ref named name, or an error matching
// reftable.ErrNotFound: a per-worktree ref (HEAD, refs/bisect/...) of
// this worktree, a shared ref, or another worktree's per-worktree ref
// named main-worktree/X or worktrees/<id>/X. The Ref has the name asked
// for. A symbolic ref is returned as it is (see Resolve).
func (s *Snapshot) Ref(name string) (stack.Ref, error) {
	snap, bare, err := s.of(name)
	if err != nil {
		return stack.Ref{}, err
	}
	if snap == nil {
		return stack.Ref{}, fmt.Errorf("%s: %w", name, reftable.ErrNotFound)
	}
	r, err := snap.Ref(bare)
	r.Name = name
	return r, err
}

// lookup reads name for stack.Follow: a missing ref is no error.
func (s *Snapshot) lookup(name string) (stack.Ref, error) {
	r, err := s.Ref(name)
	if errors.Is(err, reftable.ErrNotFound) {
		return stack.Ref{}, nil
	}
	return r, err
}

// Resolve follows symbolic refs from name as git does (stack.Follow),
// each ref read from the stack its name belongs to (HEAD in a linked
// worktree is its own, the branch it points at shared), and returns the
// ref they end at, which may be missing, with the symbolic refs passed.
func (s *Snapshot) Resolve(name string) (stack.Ref, []string, error) {
	return stack.Follow(name, s.lookup)
}

// Refs iterates the live refs whose names start with prefix, in name
// order: in a linked worktree its own per-worktree refs and the shared
// refs (not the main worktree's HEAD or refs/bisect/), as git lists
// them. The Refs yielded are the caller's to keep.
func (s *Snapshot) Refs(prefix string) iter.Seq2[stack.Ref, error] {
	if s.shared == s.own {
		return s.own.Refs(prefix)
	}
	return mergeByName(s.own.Refs(prefix), s.shared.Refs(prefix),
		func(r *stack.Ref) bool { return perWorktree(r.Name) },
		func(a, b *stack.Ref) bool { return a.Name <= b.Name })
}

// RefRecords iterates the records of the live refs whose names start
// with prefix as Refs does, at the level of the format: each record is
// valid until the next iteration step (Clone keeps one), and nothing is
// copied. Tools that print or hash many refs without keeping them use
// it; Refs is what keeps them.
func (s *Snapshot) RefRecords(prefix string) iter.Seq2[reftable.RefRecord, error] {
	own := s.own.Merged().Refs([]byte(prefix))
	if s.shared == s.own {
		return own
	}
	return mergeByName(own, s.shared.Merged().Refs([]byte(prefix)),
		func(r *reftable.RefRecord) bool { return perWorktree(string(r.Name)) },
		func(a, b *reftable.RefRecord) bool { return bytes.Compare(a.Name, b.Name) <= 0 })
}

// Reflog iterates the reflog entries of the ref name, newest first,
// without git's existence markers (see stack.Snapshot.Reflog), read from
// the stack holding name; the records carry the name asked for. A
// record yielded is valid until the next iteration step.
func (s *Snapshot) Reflog(name string) iter.Seq2[reftable.LogRecord, error] {
	return func(yield func(reftable.LogRecord, error) bool) {
		snap, bare, err := s.of(name)
		if err != nil {
			yield(reftable.LogRecord{}, err)
			return
		}
		if snap == nil {
			return
		}
		for l, err := range snap.Reflog(bare) {
			if err == nil && bare != name {
				l.RefName = []byte(name)
			}
			if !yield(l, err) || err != nil {
				return
			}
		}
	}
}

// Logs iterates every reflog record of the refs whose names start with
// prefix as stored, existence markers included (IsExistenceMarker tells
// them): refs in name order, each newest first, from the worktree's own
// and the shared stack as Refs merges them. A prefix naming into another
// worktree's per-worktree refs (main-worktree/HEAD) reads that worktree's
// stack, and the records carry the names asked for. A record yielded is
// valid until the next iteration step.
func (s *Snapshot) Logs(prefix string) iter.Seq2[reftable.LogRecord, error] {
	if _, bare, ok := s.r.routeRef(prefix); ok {
		return s.routedLogs(prefix, bare)
	}
	own := s.own.Merged().Logs([]byte(prefix))
	if s.shared == s.own {
		return own
	}
	return mergeByName(own, s.shared.Merged().Logs([]byte(prefix)),
		func(l *reftable.LogRecord) bool { return perWorktree(string(l.RefName)) },
		func(a, b *reftable.LogRecord) bool { return bytes.Compare(a.RefName, b.RefName) <= 0 })
}

// routedLogs yields the log records of the refs starting with bare in the
// stack prefix is routed to, named as prefix names them.
func (s *Snapshot) routedLogs(prefix, bare string) iter.Seq2[reftable.LogRecord, error] {
	return func(yield func(reftable.LogRecord, error) bool) {
		snap, _, err := s.of(prefix)
		if err != nil {
			yield(reftable.LogRecord{}, err)
			return
		}
		if snap == nil {
			return
		}
		route := prefix[:len(prefix)-len(bare)]
		var name []byte
		for l, err := range snap.Merged().Logs([]byte(bare)) {
			if err == nil {
				name = append(append(name[:0], route...), l.RefName...)
				l.RefName = name
			}
			if !yield(l, err) || err != nil {
				return
			}
		}
	}
}

// mergeByName merges two sequences sorted by name: per-worktree names
// (isWT) from wt, shared names from shared; inOrder reports whether a
// comes no later than b. Each name comes from one side only, so the
// records of one name keep their order.
func mergeByName[R any](wt, shared iter.Seq2[R, error], isWT func(*R) bool, inOrder func(a, b *R) bool) iter.Seq2[R, error] {
	return func(yield func(R, error) bool) {
		nextWT, stopWT := iter.Pull2(wt)
		defer stopWT()
		nextShared, stopShared := iter.Pull2(shared)
		defer stopShared()
		// advance returns the next record of a side whose names belong
		// to it, or ok false at its end.
		advance := func(next func() (R, error, bool), want bool) (R, bool, error) {
			for {
				r, err, ok := next()
				if !ok || err != nil {
					return r, ok, err
				}
				if isWT(&r) == want {
					return r, true, nil
				}
			}
		}
		a, okA, err := advance(nextWT, true)
		if err != nil {
			yield(a, fmt.Errorf("worktree stack: %w", err))
			return
		}
		b, okB, err := advance(nextShared, false)
		if err != nil {
			yield(b, fmt.Errorf("main stack: %w", err))
			return
		}
		for okA || okB {
			if okA && (!okB || inOrder(&a, &b)) {
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
			if b, okB, err = advance(nextShared, false); err != nil {
				yield(b, fmt.Errorf("main stack: %w", err))
				return
			}
		}
	}
}
