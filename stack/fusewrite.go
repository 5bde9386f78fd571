package stack

import (
	"bytes"
	"context"
	"io"
	"iter"
	"slices"

	"github.com/refstore/refstore/reftable"
)

// The fused write: a transaction whose commit would fuse its table with
// the listed ones (see addition.fuse) writes the merged table directly,
// merging its records, as it produces them, with those of the listed
// tables, instead of writing its table into memory, opening it, checking
// it and merging it. The result is byte for byte the table fuse writes.
//
// Only the listed tables are checked (reftable.Table.Check) before the
// merge, as fuse checks them: the check is there so that a merge does not
// read past damage on storage and hide it in a table that checks clean.
// The transaction's records never were on storage; checking the table
// fuse would have made of them would only test this package's writer,
// which the writer's own tests do. A 100,000-ref transaction spent a
// fifth of its time writing, reopening and checking that table.

// A recordSink takes a table's records in order: a reftable.Writer, or a
// fuseSink merging them with listed tables.
type recordSink interface {
	AddRef(r *reftable.RefRecord) error
	AddLog(l *reftable.LogRecord) error
}

// refsSize returns a size that the table of the changes, as
// auto-compaction weighs it (tableSize), is at least: a ref record takes
// at least a byte for its prefix length, one for its suffix length and
// type, one for its update index, and its value; the table at least one
// more. Reflog records, restart points and indexes only add to it.
func (tx *Transaction) refsSize(p *prepared) uint64 {
	n := uint64(1)
	for i := range p.changes {
		if c := &p.changes[i]; c.store() {
			id, peeled, target := tx.updates.value(int(c.u))
			n += 3 + uint64(len(id)+len(peeled)+len(target))
		}
	}
	return n
}

// addFused writes the transaction's table merged with every listed table
// when the commit is sure to fuse them all: when auto-compaction would
// merge the whole stack even if the new table had only low bytes (a
// larger table merges no fewer), on the conditions fuse has (see there).
// It reports whether it wrote; if not, the caller adds the table itself
// and the commit fuses or not as usual. An error of write is returned;
// any other failure (a damaged listed table) also leaves the table to the
// caller, whose commit then meets and reports it as fuse does; a failure
// to write the merged table is reported by the commit, which then
// publishes the caller's table alone, without fusing again.
func (a *addition) addFused(ctx context.Context, low uint64, write func(w recordSink) error) (bool, error) {
	st := a.st
	if a.closed {
		return false, ErrClosed
	}
	if !a.mayFuse() || st.opts.noFusedWrite || len(a.added)+len(a.held) > 0 || len(a.base) == 0 {
		return false, nil
	}
	st.mu.Lock()
	snap := st.snapshotLocked()
	st.mu.Unlock()
	defer snap.Close()
	if !slices.Equal(snap.TableNames(), a.base) {
		return false, nil
	}
	tables := make([]*reftable.Table, len(snap.tables))
	sizes := make([]uint64, 0, len(snap.tables)+1)
	var size uint64
	for i, h := range snap.tables {
		tables[i] = h.t
		sizes = append(sizes, tableSize(h.t))
		size += tableSize(h.t)
	}
	if start, end := segment(append(sizes, low), uint64(st.opts.CompactionFactor)); start != 0 || end != len(sizes)+1 {
		return false, nil
	}
	if size > maxFuse {
		return false, nil
	}
	if prober, ok := st.b.(tableLockProber); ok {
		for _, name := range a.base {
			locked, err := prober.TableLocked(name)
			if err != nil || locked {
				return false, nil
			}
		}
	}
	for _, t := range tables {
		for range t.Check() {
			return false, nil
		}
	}
	base, err := reftable.NewMerged(tables, reftable.MergedOptions{})
	if err != nil {
		return false, nil
	}
	opts := st.opts.Write
	opts.MinUpdateIndex, opts.MaxUpdateIndex = tables[0].MinUpdateIndex(), a.next
	var s *fuseSink
	var werr error // write's own error, not the merge's
	keep := a.keepWritten()
	name, err := st.b.CreateTable(ctx, keep.wrap(func(out io.Writer) (uint64, uint64, bool, error) {
		w, err := reftable.NewWriter(out, opts)
		if err != nil {
			return 0, 0, false, err
		}
		s = newFuseSink(w, base, !opts.ExactLogMessage)
		defer s.stop()
		if werr = write(s); werr != nil {
			return 0, 0, false, werr
		}
		if err := s.finish(); err != nil {
			return 0, 0, false, err
		}
		if s.ours == 0 {
			return 0, 0, false, nil // an empty table is not added
		}
		if err := w.Close(); err != nil {
			return 0, 0, false, err
		}
		ws := w.Stats()
		return opts.MinUpdateIndex, opts.MaxUpdateIndex, ws.Refs+ws.Logs > 0 || st.keepsIndexes(), nil
	}))
	switch {
	case werr != nil:
		return false, werr
	case err != nil:
		// As when fuse fails: the commit publishes the table alone
		// and reports the failure as an auto-compaction's.
		a.fuseErr = err
		return false, nil
	case s.ours == 0:
		return true, nil
	}
	a.openKept(name, keep)
	if lockFree(st.b) {
		a.probe = s.first
	}
	a.fused = []string{}
	if name != "" {
		a.fused = append(a.fused, name)
	}
	a.fusedName, a.fusedReplaced = name, slices.Clone(a.base)
	st.mu.Lock()
	st.fusedWrites++
	st.mu.Unlock()
	return true, nil
}

// A fuseSink writes a transaction's records to w merged with those of the
// listed tables base, as compacting the listed tables and the table of
// the records together would: a record of the transaction hides the
// listed one of the same key, and deletions are dropped, since the merge
// starts at the oldest table. Reflog messages are made one line, as
// compactedTable makes them, unless exact is false.
type fuseSink struct {
	w     *reftable.Writer
	base  *reftable.Merged
	oneLn bool

	nextRef func() (reftable.RefRecord, error, bool)
	stopRef func()
	ref     reftable.RefRecord // the next listed ref, valid until nextRef
	refOK   bool

	nextLog func() (reftable.LogRecord, error, bool)
	stopLog func()
	log     reftable.LogRecord
	logOK   bool
	logs    bool // the listed logs are being merged: the refs are done

	err   error // the listed tables' first
	ours  int   // records of the transaction added
	first *reftable.RefRecord
}

func newFuseSink(w *reftable.Writer, base *reftable.Merged, oneLine bool) *fuseSink {
	s := &fuseSink{w: w, base: base, oneLn: oneLine}
	s.nextRef, s.stopRef = iter.Pull2(base.Refs(nil))
	s.advanceRef()
	return s
}

func (s *fuseSink) advanceRef() {
	var err error
	s.ref, err, s.refOK = s.nextRef()
	if err != nil {
		s.err, s.refOK = err, false
	}
}

func (s *fuseSink) advanceLog() {
	var err error
	s.log, err, s.logOK = s.nextLog()
	if err != nil {
		s.err, s.logOK = err, false
	}
}

// stop releases the iterators.
func (s *fuseSink) stop() {
	s.stopRef()
	if s.stopLog != nil {
		s.stopLog()
	}
}

// AddRef adds the listed refs before r, and r unless it is a deletion.
func (s *fuseSink) AddRef(r *reftable.RefRecord) error {
	s.ours++
	for s.refOK {
		c := bytes.Compare(s.ref.Name, r.Name)
		if c > 0 {
			break
		}
		if c < 0 {
			if err := s.w.AddRef(&s.ref); err != nil {
				return err
			}
		}
		s.advanceRef()
	}
	if s.err != nil {
		return s.err
	}
	if r.Type == reftable.RefDeletion {
		return nil
	}
	if s.first == nil {
		s.first = &reftable.RefRecord{Name: bytes.Clone(r.Name), UpdateIndex: r.UpdateIndex, Type: r.Type}
	}
	return s.w.AddRef(r)
}

// flushRefs adds the listed refs not added yet and moves on to the logs.
func (s *fuseSink) flushRefs() error {
	if s.logs {
		return nil
	}
	for ; s.refOK; s.advanceRef() {
		if err := s.w.AddRef(&s.ref); err != nil {
			return err
		}
	}
	if s.err != nil {
		return s.err
	}
	s.logs = true
	s.nextLog, s.stopLog = iter.Pull2(s.base.Logs(nil))
	s.advanceLog()
	return nil
}

// logBefore orders log records by key: ref name, then newest first.
func logBefore(a, b *reftable.LogRecord) int {
	if c := bytes.Compare(a.RefName, b.RefName); c != 0 {
		return c
	}
	return cmpDesc(a.UpdateIndex, b.UpdateIndex)
}

func cmpDesc(a, b uint64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// AddLog adds the listed logs before l, and l unless it is a deletion.
func (s *fuseSink) AddLog(l *reftable.LogRecord) error {
	s.ours++
	if err := s.flushRefs(); err != nil {
		return err
	}
	for s.logOK {
		c := logBefore(&s.log, l)
		if c > 0 {
			break
		}
		if c < 0 {
			if err := s.addLog(&s.log); err != nil {
				return err
			}
		}
		s.advanceLog()
	}
	if s.err != nil {
		return s.err
	}
	if l.IsDeletion() {
		return nil
	}
	return s.addLog(l)
}

func (s *fuseSink) addLog(l *reftable.LogRecord) error {
	if s.oneLn {
		l.Message = oneLineMessage(l.Message)
	}
	return s.w.AddLog(l)
}

// finish adds the listed records left.
func (s *fuseSink) finish() error {
	if err := s.flushRefs(); err != nil {
		return err
	}
	if s.err != nil {
		return s.err
	}
	for ; s.logOK; s.advanceLog() {
		if err := s.addLog(&s.log); err != nil {
			return err
		}
	}
	return s.err
}
