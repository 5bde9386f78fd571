package stack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"

	"github.com/refstore/refstore/reftable"
)

// LogExpiry selects reflog entries that a compaction drops. As git's
// reflog expire, a reflog whose every entry is dropped still exists: the
// compaction writes git's existence marker for it (see
// reftable.LogRecord.IsExistenceMarker), which readers never show, at the
// update index of its newest entry; a marker is never dropped.
type LogExpiry struct {
	// Time drops entries older than this Unix time (0: keep all).
	Time uint64
	// MinUpdateIndex drops entries with a lower update index (0: keep all).
	MinUpdateIndex uint64
}

func (e *LogExpiry) expired(l *reftable.LogRecord) bool {
	if e == nil || l.IsDeletion() || l.IsExistenceMarker() {
		return false
	}
	return e.MinUpdateIndex > 0 && l.UpdateIndex < e.MinUpdateIndex || e.Time > 0 && l.Time < e.Time
}

// An expiring writes a merge's log records to w but those expiry drops,
// and an existence marker for each reflog it empties (see LogExpiry).
type expiring struct {
	w      *reftable.Writer
	expiry *LogExpiry
	zero   []byte // the zero id
	// The reflog of the records seen last: its name (nil before the
	// first), whether one of its records was written, whether one was
	// dropped, and the update index of the newest dropped.
	name           []byte
	wrote, dropped bool
	index          uint64
}

// add writes l unless it expired, after the marker of the reflog before.
func (e *expiring) add(l *reftable.LogRecord) error {
	if e.name == nil || !bytes.Equal(e.name, l.RefName) {
		if err := e.flush(); err != nil {
			return err
		}
		e.name = append(e.name[:0], l.RefName...)
		e.wrote, e.dropped = false, false
	}
	if e.expiry.expired(l) {
		if !e.dropped {
			e.dropped, e.index = true, l.UpdateIndex // its newest: records come newest first
		}
		return nil
	}
	e.wrote = true
	return e.w.AddLog(l)
}

// flush writes the marker of the reflog seen last if each of its records
// was dropped. The marker is its only record, at the key of its newest.
func (e *expiring) flush() error {
	if e.name == nil || e.wrote || !e.dropped {
		return nil
	}
	m := reftable.LogRecord{RefName: e.name, UpdateIndex: e.index, Type: reftable.LogUpdate, Old: e.zero, New: e.zero}
	e.dropped = false
	return e.w.AddLog(&m)
}

// segment returns the range [start, end) of tables auto-compaction should
// merge, given their sizes oldest first: git's geometric policy, which
// keeps every table at least factor times larger than the next newer one.
func segment(sizes []uint64, factor uint64) (start, end int) {
	n := len(sizes)
	if n < 2 {
		return 0, 0
	}
	i := n - 1
	for ; i > 0; i-- {
		if sizes[i-1] < factor*sizes[i] {
			break
		}
	}
	if i == 0 {
		return 0, 0
	}
	end = i + 1
	start = i
	bytes := sizes[i]
	for j := i - 1; j >= 0; j-- {
		curr := bytes
		bytes += sizes[j]
		if sizes[j] < factor*curr {
			start = j
		}
	}
	return start, end
}

// tableSize is the size auto-compaction weighs a table by, as git does.
func tableSize(t *reftable.Table) uint64 {
	hs, fs := 24, 68
	if t.Version() == 2 {
		hs, fs = 28, 72
	}
	return uint64(t.Size()) - uint64(fs) - uint64(hs-1)
}

// CompactionRequired reports whether auto-compaction would merge tables.
func (st *Stack) CompactionRequired() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	s, e := st.segmentLocked()
	return e-s > 1
}

func (st *Stack) segmentLocked() (int, int) {
	tables := make([]*reftable.Table, len(st.tables))
	for i, h := range st.tables {
		tables[i] = h.t
	}
	return CompactionSegment(tables, st.opts.CompactionFactor)
}

// CompactionSegment returns the range [start, end) of tables (oldest
// first) that auto-compaction with the given geometric factor (0 means 2)
// merges next; start == end when the stack is geometric already.
func CompactionSegment(tables []*reftable.Table, factor int) (start, end int) {
	if factor <= 0 {
		factor = 2
	}
	sizes := make([]uint64, len(tables))
	for i, t := range tables {
		sizes[i] = tableSize(t)
	}
	return segment(sizes, uint64(factor))
}

// AutoCompact merges the tables git's geometric policy selects. Tables
// locked by a concurrent compaction are left out when at least two newer
// ones can still be merged.
func (st *Stack) AutoCompact(ctx context.Context) error {
	return st.compact(ctx, true, nil)
}

// CompactAll merges every table into one, dropping deletions, and
// expired reflog entries if expiry is not nil.
func (st *Stack) CompactAll(ctx context.Context, expiry *LogExpiry) error {
	return st.compact(ctx, false, expiry)
}

func (st *Stack) compactionFailed(err error) {
	if f := st.opts.OnCompactionError; f != nil {
		f(err)
	}
}

// compact runs one compaction: lock the list, pick the range, lock its
// tables newest first, release the list lock, merge, then lock the list
// again and replace exactly the merged run of tables wherever it now is.
func (st *Stack) compact(ctx context.Context, auto bool, expiry *LogExpiry) (err error) {
	defer func() {
		if err != nil {
			st.mu.Lock()
			st.stats.CompactionFailures++
			st.mu.Unlock()
		}
	}()
	c, err := st.begin(ctx, false)
	if err != nil {
		return fmt.Errorf("compact %s: %w", st.dir, err)
	}
	defer c.Release()
	if err := st.loadLocked(ctx, c.Names()); err != nil {
		st.mu.Unlock()
		if lockFree(st.b) && errors.Is(err, fs.ErrNotExist) {
			err = fmt.Errorf("compact %s: %w", st.dir, st.missingTable(ctx, c.Names(), err, ErrOutdated))
		}
		return err
	}
	first, end := 0, len(st.tables)
	if auto {
		first, end = st.segmentLocked()
	}
	if end-first < 1 || end-first == 1 && expiry == nil {
		st.mu.Unlock()
		return nil
	}
	snap := st.snapshotLocked()
	st.mu.Unlock()
	defer snap.Close()
	segment := snap.tables[first:end]
	names := snap.TableNames()[first:end]

	locked, unlock, err := st.b.LockTables(ctx, names)
	if err != nil {
		return fmt.Errorf("compact %s: %w", st.dir, err)
	}
	defer unlock()
	if locked < len(names) {
		if !auto || locked < 2 {
			return fmt.Errorf("compact %s: %d of %d tables are locked by another compaction: %w",
				st.dir, len(names)-locked, len(names), ErrLocked)
		}
		first = end - locked
		segment, names = segment[len(segment)-locked:], names[len(names)-locked:]
	}
	if err := c.Release(); err != nil { // let writers append while we merge
		return fmt.Errorf("compact %s: unlock: %w", st.dir, err)
	}

	tables := make([]*reftable.Table, len(segment))
	for i, h := range segment {
		tables[i] = h.t
	}
	// The merged table stays under a temporary name while no lock is
	// held: git removes unlisted tables under the commit lock, and so
	// would remove one published under its final name too early.
	staged, err := st.b.StageTable(ctx, st.compactedTable(tables, first == 0, expiry))
	if err != nil {
		if lockFree(st.b) && errors.Is(err, fs.ErrNotExist) {
			// Another compaction merged these tables and removed them,
			// unless the list is unchanged.
			st.forgetVanished(err)
			err = st.missingTable(ctx, c.Names(), err, ErrOutdated)
		}
		return fmt.Errorf("compact %s: %w", st.dir, err)
	}
	published := false
	defer func() {
		if !published && staged != nil {
			staged.Discard(context.WithoutCancel(ctx))
		}
	}()

	// Swap the merged run for the new table wherever the run now is,
	// naming the table under the lock, once checked to be the one
	// written: if it is gone, the compaction is abandoned and the
	// tables it merged stay. On an object store another writer may win
	// the list meanwhile (ErrConflict): then rebase, swapping again
	// against the new list without merging again, as long as the run is
	// still there.
	dropped := first == 0
	var perr error
	err = st.retryConflicts(ctx, func() error {
		c2, err := st.beginHeld(ctx)
		if err != nil {
			return fmt.Errorf("compact %s: %w", st.dir, err)
		}
		defer c2.Release()
		current := c2.Names()
		at := findRun(current, names)
		if at < 0 || dropped && at != 0 {
			return fmt.Errorf("compact %s: compacted tables no longer in the list: %w", st.dir, ErrOutdated)
		}
		list := append([]string{}, current[:at]...)
		if staged != nil {
			name, err := staged.Place(ctx)
			if err != nil {
				return fmt.Errorf("compact %s: %w", st.dir, err)
			}
			list = append(list, name)
		}
		list = append(list, current[at+len(names):]...)
		perr = c2.Publish(ctx, list)
		var committed *CommittedError
		if perr != nil && !errors.As(perr, &committed) {
			if errors.Is(perr, ErrCommitUncertain) {
				published = true // maybe listed: Clean decides later
			}
			return fmt.Errorf("compact %s: %w", st.dir, perr)
		}
		return nil
	})
	if err != nil {
		return err
	}
	published = true

	st.mu.Lock()
	st.stats.Compactions++
	// A failure here leaves the stack marked stale; the compaction is
	// done.
	rerr := st.reloadLocked(ctx)
	var relisted string
	for _, h := range st.tables {
		if rerr == nil && slices.Contains(names, h.name) {
			relisted = h.name
		}
	}
	st.mu.Unlock()
	if relisted != "" && lockFree(st.b) {
		// Another writer published a list built on the one the
		// compaction replaced: the merged tables are listed again and
		// must stay.
		err := fmt.Errorf("compact %s: table %s, which the compaction replaced, is listed again: %w", st.dir, relisted, ErrLostCommit)
		reportUnsafe(st.b, err)
		return err
	}
	if rerr == nil || !lockFree(st.b) {
		st.removeTables(context.WithoutCancel(ctx), names)
	}
	if perr != nil {
		return fmt.Errorf("compact %s: %w", st.dir, perr)
	}
	return nil
}

// findRun returns where run occurs contiguously in list, or -1.
func findRun(list, run []string) int {
	for i := 0; i+len(run) <= len(list); i++ {
		if list[i] == run[0] {
			for j := range run {
				if list[i+j] != run[j] {
					return -1
				}
			}
			return i
		}
	}
	return -1
}

// compactedTable returns the function writing the merge of the tables,
// which first checks each of them (reftable.Table.Check) and refuses to
// merge a damaged one. Deletions are kept unless the segment starts at
// the oldest table (dropTombstones). Reflog messages are normalised as
// git's compaction normalises them, unless Options.Write.ExactLogMessage
// is set (see logmsg.go). On a backend without locks, a merge from the
// oldest table that leaves no record is kept as a table without records
// (see keepsIndexes).
func (st *Stack) compactedTable(tables []*reftable.Table, dropTombstones bool, expiry *LogExpiry) func(io.Writer) (uint64, uint64, bool, error) {
	keepEmpty := dropTombstones && st.keepsIndexes()
	opts := st.opts.Write
	opts.MinUpdateIndex = tables[0].MinUpdateIndex()
	opts.MaxUpdateIndex = tables[len(tables)-1].MaxUpdateIndex()
	return func(out io.Writer) (uint64, uint64, bool, error) {
		// A damaged table is not merged: the merge would read past
		// what is wrong (a restart point, an index, the obj section)
		// and write a table that checks clean, hiding the damage.
		for _, t := range tables {
			for err := range t.Check() {
				return 0, 0, false, fmt.Errorf("not compacting a damaged table: %w", err)
			}
		}
		m, err := reftable.NewMerged(tables, reftable.MergedOptions{ShowDeletions: !dropTombstones})
		if err != nil {
			return 0, 0, false, err
		}
		w, err := reftable.NewWriter(out, opts)
		if err != nil {
			return 0, 0, false, err
		}
		for r, err := range m.Refs(nil) {
			if err != nil {
				return 0, 0, false, err
			}
			if err := w.AddRef(&r); err != nil {
				return 0, 0, false, err
			}
		}
		e := expiring{w: w, expiry: expiry, zero: make([]byte, st.opts.Hash.Size())}
		for l, err := range m.Logs(nil) {
			if err != nil {
				return 0, 0, false, err
			}
			if !opts.ExactLogMessage {
				l.Message = oneLineMessage(l.Message) // see logmsg.go
			}
			if err := e.add(&l); err != nil {
				return 0, 0, false, err
			}
		}
		if err := e.flush(); err != nil {
			return 0, 0, false, err
		}
		if err := w.Close(); err != nil {
			return 0, 0, false, err
		}
		s := w.Stats()
		return opts.MinUpdateIndex, opts.MaxUpdateIndex, s.Refs+s.Logs > 0 || keepEmpty, nil
	}
}

// keepsIndexes reports whether the stack keeps a merge of its oldest
// tables that leaves no record as a table without records, spanning
// their update indexes, instead of dropping it: on a backend without
// locks, so that the highest update index of the list never goes down
// once a commit listed a table. Clean relies on it (see objstore's
// "Cleanup and readers"): it removes an unlisted table once a list it
// read has reached the table's update indexes, which then no list can
// take. Were the list emptied by compacting away every ref, the next
// commit would take update index 1 again, below what a Clean had read
// just before, and that Clean would remove the commit's table before
// the commit listed it. (git, on files, drops the empty table; there the
// lock keeps Clean and commits apart.)
func (st *Stack) keepsIndexes() bool { return lockFree(st.b) }
