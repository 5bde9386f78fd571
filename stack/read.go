package stack

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"slices"
	"sync/atomic"

	"github.com/refstore/refstore/reftable"
)

// Snapshot is a consistent view of the stack at one moment. It stays
// valid, with its tables open, until Close, whatever happens to the stack
// meanwhile; but on an object store (package objstore), where a table is
// read block by block and a compaction deletes the tables it replaced
// once its list is published, a read can fail with a *reftable.IOError
// matching fs.ErrNotExist: take a new Snapshot and read again, as
// Stack.Refs and Stack.Reflog do. A Snapshot is safe for concurrent use;
// Close it once.
//
// Its reads take no context: they read tables that are open already,
// through io.ReaderAt (a backend on a network store bounds them itself;
// see package objstore).
type Snapshot struct {
	merged *reftable.Merged
	tables []*handle
	closed atomic.Bool
}

// Snapshot reloads the stack and returns a view of it.
func (st *Stack) Snapshot(ctx context.Context) (*Snapshot, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := st.reloadLocked(ctx); err != nil {
		return nil, err
	}
	return st.snapshotLocked(), nil
}

func (st *Stack) snapshotLocked() *Snapshot {
	for _, h := range st.tables {
		h.incref()
	}
	return &Snapshot{merged: st.merged, tables: slices.Clone(st.tables)}
}

// Close releases the snapshot's tables.
func (s *Snapshot) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	for _, h := range s.tables {
		h.decref()
	}
	return nil
}

// TableNames returns the names of the snapshot's tables, oldest first.
func (s *Snapshot) TableNames() []string {
	names := make([]string, len(s.tables))
	for i, h := range s.tables {
		names[i] = h.name
	}
	return names
}

// Merged returns the merged view of the snapshot's tables, for access at
// the level of the format: the tables themselves (Merged.Tables), their
// records with types and update indexes, every reflog record including
// existence markers. Tools that dump, verify or measure a stack use it;
// the other methods of Snapshot are what reading refs needs. The view is
// valid until Close, and safe for concurrent use as the snapshot is.
func (s *Snapshot) Merged() *reftable.Merged { return s.merged }

// Ref returns the ref named name, or an error matching
// reftable.ErrNotFound. A symbolic ref is returned as it is, not
// followed (see Resolve).
func (s *Snapshot) Ref(name string) (Ref, error) {
	var sc lookupScratch
	found, err := sc.lookupRef(s, name)
	if err != nil {
		return Ref{}, err
	}
	if !found {
		return Ref{}, fmt.Errorf("%s: %w", name, reftable.ErrNotFound)
	}
	return RefOf(&sc.rec), nil
}

// Resolve follows symbolic refs from name, as git resolves a ref to
// read it, and returns the ref they end at with the symbolic refs passed,
// in order (none when name is not symbolic). The ref returned may be
// missing: name does not exist, or the last symbolic ref dangles. Like
// git it reads at most five refs: a longer chain fails with an error
// matching ErrRefName.
func (s *Snapshot) Resolve(name string) (Ref, []string, error) {
	var sc lookupScratch
	end, via, r, err := resolve(s, name, &sc)
	if err != nil {
		return Ref{}, nil, err
	}
	r.Name = end
	return r, via, nil
}

// Refs iterates the live refs whose names start with prefix, in name
// order. The Refs yielded are the caller's to keep.
func (s *Snapshot) Refs(prefix string) iter.Seq2[Ref, error] {
	return func(yield func(Ref, error) bool) {
		var slab []byte // ids of the refs yielded, many to an allocation
		for r, err := range s.merged.Refs([]byte(prefix)) {
			if err != nil {
				yield(Ref{}, err)
				return
			}
			ref := Ref{Name: string(r.Name), UpdateIndex: r.UpdateIndex}
			if len(slab) < len(r.Value)+len(r.Peeled) {
				slab = make([]byte, refSlab)
			}
			slab = ref.setValue(&r, slab)
			if !yield(ref, nil) {
				return
			}
		}
	}
}

// refSlab is the size of the blocks the ids of iterated refs are copied
// into: tens of ids to an allocation.
const refSlab = 2 << 10

// Reflog iterates the reflog entries of the ref name, newest first.
// git's reflog existence markers (see reftable.LogRecord.IsExistenceMarker)
// are left out, as git reflog leaves them out; Merged().LogsFor shows
// them. A record yielded is valid until the next iteration step (Clone
// keeps one).
func (s *Snapshot) Reflog(name string) iter.Seq2[reftable.LogRecord, error] {
	return func(yield func(reftable.LogRecord, error) bool) {
		for l, err := range s.merged.LogsFor([]byte(name)) {
			if err == nil && l.IsExistenceMarker() {
				continue
			}
			if !yield(l, err) || err != nil {
				return
			}
		}
	}
}

// readRetries bounds how often a read whose table vanished (removed by
// a compaction after the list was read: object stores, where an open
// table does not keep its bytes) reloads and tries again.
const readRetries = 3

// read runs f on a snapshot of the reloaded stack; when f fails because
// a table vanished, it reloads and runs f again, up to readRetries times.
func (st *Stack) read(ctx context.Context, f func(s *Snapshot) error) error {
	for try := 1; ; try++ {
		s, err := st.Snapshot(ctx)
		if err != nil {
			return err
		}
		err = f(s)
		s.Close()
		if try < readRetries && errors.Is(err, fs.ErrNotExist) {
			st.forgetVanished(err)
			continue
		}
		return err
	}
}

// Ref reloads the stack and returns the ref named name, or an error
// matching reftable.ErrNotFound (see Snapshot.Ref).
func (st *Stack) Ref(ctx context.Context, name string) (Ref, error) {
	var r Ref
	err := st.read(ctx, func(s *Snapshot) (err error) {
		r, err = s.Ref(name)
		return err
	})
	return r, err
}

// Resolve reloads the stack and follows symbolic refs from name (see
// Snapshot.Resolve).
func (st *Stack) Resolve(ctx context.Context, name string) (Ref, []string, error) {
	var r Ref
	var via []string
	err := st.read(ctx, func(s *Snapshot) (err error) {
		r, via, err = s.Resolve(name)
		return err
	})
	return r, via, err
}

// Refs reloads the stack and iterates the live refs whose names start
// with prefix, in name order (see Snapshot.Refs). If a table vanishes
// under the iteration (a compaction on an object store removed it), it
// goes on after the last name yielded in the reloaded stack.
func (st *Stack) Refs(ctx context.Context, prefix string) iter.Seq2[Ref, error] {
	return func(yield func(Ref, error) bool) {
		last, started := "", false
		skip := func(r *Ref) bool { return started && r.Name <= last }
		for try := 1; ; try++ {
			retry, ok := resume(ctx, st, try < readRetries, func(s *Snapshot) iter.Seq2[Ref, error] { return s.Refs(prefix) }, skip,
				func(r Ref, err error) bool {
					if err == nil {
						last, started = r.Name, true
					}
					return yield(r, err)
				})
			if !ok || !retry {
				return
			}
		}
	}
}

// Reflog reloads the stack and iterates the reflog entries of the ref
// name, newest first, without git's existence markers (see
// Snapshot.Reflog). If a table vanishes under the iteration, it goes on
// after the last entry yielded in the reloaded stack.
func (st *Stack) Reflog(ctx context.Context, name string) iter.Seq2[reftable.LogRecord, error] {
	return func(yield func(reftable.LogRecord, error) bool) {
		var last uint64 // the update index of the last entry yielded
		started := false
		skip := func(l *reftable.LogRecord) bool { return started && l.UpdateIndex >= last }
		for try := 1; ; try++ {
			retry, ok := resume(ctx, st, try < readRetries, func(s *Snapshot) iter.Seq2[reftable.LogRecord, error] { return s.Reflog(name) }, skip,
				func(l reftable.LogRecord, err error) bool {
					if err == nil {
						last, started = l.UpdateIndex, true
					}
					return yield(l, err)
				})
			if !ok || !retry {
				return
			}
		}
	}
}

// resume yields the records of one snapshot that seq gives, leaving out
// those skip reports as yielded already. When mayRetry is set and a
// table vanished under the iteration, it stops and reports retry; ok
// reports whether the caller still wants more.
func resume[R any](ctx context.Context, st *Stack, mayRetry bool, seq func(*Snapshot) iter.Seq2[R, error], skip func(*R) bool, yield func(R, error) bool) (retry, ok bool) {
	s, err := st.Snapshot(ctx)
	if err != nil {
		var zero R
		return false, yield(zero, err)
	}
	defer s.Close()
	for r, err := range seq(s) {
		if mayRetry && errors.Is(err, fs.ErrNotExist) {
			st.forgetVanished(err)
			return true, true
		}
		if err == nil && skip(&r) {
			continue
		}
		if !yield(r, err) {
			return false, false
		}
	}
	return false, true
}
