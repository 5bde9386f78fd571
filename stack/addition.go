package stack

import (
	"errors"
	"fmt"
	"io"

	"github.com/refstore/refstore/reftable"
)

// Addition is a transaction that adds tables to the stack. It holds the
// stack's commit lock from NewAddition until Commit or Close. Close is
// always safe and removes what the addition wrote if it was not
// committed. An Addition is not safe for concurrent use.
type Addition struct {
	st     *Stack
	c      Commit
	base   []string // the list the addition extends
	next   uint64
	added  []string
	closed bool
}

// NewAddition locks the stack for writing, waiting up to the lock timeout,
// and brings it up to date under the lock: values read through the
// addition's Snapshot are the ones the commit will build on.
func (st *Stack) NewAddition() (*Addition, error) {
	c, err := st.b.Begin(st.opts.LockTimeout)
	if err != nil {
		return nil, fmt.Errorf("lock stack %s: %w", st.dir, err)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		c.Release()
		return nil, ErrClosed
	}
	if err := st.loadLocked(c.Names()); err != nil {
		c.Release()
		return nil, err
	}
	return &Addition{st: st, c: c, base: c.Names(), next: st.nextUpdateIndexLocked()}, nil
}

// NextUpdateIndex returns the lowest update index new tables may use.
func (a *Addition) NextUpdateIndex() uint64 { return a.next }

// Snapshot returns the stack as locked by the addition.
func (a *Addition) Snapshot() *Snapshot {
	a.st.mu.Lock()
	defer a.st.mu.Unlock()
	return a.st.snapshotLocked()
}

// Add writes one table through write, which receives a Writer whose
// limits are NextUpdateIndex..NextUpdateIndex; it may call SetLimits
// before adding records, with a minimum not below NextUpdateIndex. A
// table without records is not added.
func (a *Addition) Add(write func(w *reftable.Writer) error) error {
	if a.closed {
		return ErrClosed
	}
	opts := a.st.opts.Write
	opts.MinUpdateIndex, opts.MaxUpdateIndex = a.next, a.next
	name, err := a.st.b.CreateTable(func(out io.Writer) (uint64, uint64, bool, error) {
		w, err := reftable.NewWriter(out, opts)
		if err != nil {
			return 0, 0, false, err
		}
		if err := write(w); err != nil {
			return 0, 0, false, err
		}
		if err := w.Close(); err != nil {
			return 0, 0, false, err
		}
		min, max := w.Limits()
		if min < a.next {
			return 0, 0, false, fmt.Errorf("table starts at update index %d, below the next index %d: %w",
				min, a.next, reftable.ErrUpdateIndex)
		}
		s := w.Stats()
		return min, max, s.Refs+s.Logs > 0, nil
	})
	if err != nil {
		return err
	}
	if name != "" {
		a.added = append(a.added, name)
	}
	return nil
}

// Commit publishes the added tables and releases the lock; with no table
// added it only releases the lock. Unless disabled, auto-compaction runs
// afterwards; its errors go to Options.OnCompactionError, never to the
// caller, since the commit has happened.
func (a *Addition) Commit() error {
	if a.closed {
		return ErrClosed
	}
	if len(a.added) == 0 {
		return a.Close()
	}
	names := append(append([]string{}, a.base...), a.added...)
	perr := a.c.Publish(names)
	var committed *CommittedError
	if perr != nil && !errors.As(perr, &committed) {
		a.Close()
		return perr
	}
	a.closed = true
	st := a.st
	st.mu.Lock()
	st.stats.Commits++
	err := st.reloadLocked()
	st.mu.Unlock()
	if perr != nil || err != nil {
		// Committed; a later reload catches up. Auto-compaction waits.
		return perr
	}
	if !st.opts.DisableAutoCompaction && st.CompactionRequired() {
		if err := st.AutoCompact(); err != nil && !errors.Is(err, ErrLocked) && !errors.Is(err, ErrOutdated) {
			st.compactionFailed(err)
		}
	}
	return nil
}

// Close abandons the addition if it was not committed: it removes the
// tables it wrote and releases the lock. It is always safe to call.
func (a *Addition) Close() error {
	if a.closed {
		return nil
	}
	a.closed = true
	var errs []error
	for _, name := range a.added {
		errs = append(errs, a.st.b.RemoveTable(name))
	}
	errs = append(errs, a.c.Release())
	return errors.Join(errs...)
}

// Add is a convenience for one-table transactions: it locks the stack,
// writes one table through write, and commits.
func (st *Stack) Add(write func(w *reftable.Writer) error) error {
	a, err := st.NewAddition()
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Add(write); err != nil {
		return err
	}
	return a.Commit()
}
