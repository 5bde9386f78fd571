package stack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack/storage"
)

// An addition adds tables to the stack: the protocol's writer, beneath
// Transaction and Stack.AddTable. It holds the stack's commit lock from
// newAddition until commit or close. close is always safe and removes
// what the addition wrote if it was not committed. An addition is not
// safe for concurrent use.
type addition struct {
	st *Stack
	c  storage.Commit
	// cleanup is the context the addition began with, without its
	// cancellation: close removes what the addition wrote with it, also
	// after the caller gave up.
	cleanup context.Context
	base    []string // the list the addition extends
	next    uint64
	// loads is the stack's count of loaded lists once it loaded base:
	// when another goroutine loaded one since, the list the commit
	// publishes may be older than the stack's, and finish reads the
	// list back instead of adopting it.
	loads  uint64
	added  []string            // tables written to the backend
	held   []heldTable         // tables kept in memory until the commit
	opened []*handle           // added tables fuse opened, one reference each
	probe  *reftable.RefRecord // a ref the addition sets, to find it after the commit (see lostCommit)
	closed bool
	// fused is the list addFused wrote the merged table for (not nil
	// then, maybe empty), fusedName that table and fusedReplaced the
	// tables it replaces: what fuse returns, for commit to publish.
	fused         []string
	fusedName     string
	fusedReplaced []string
	fuseErr       error // addFused failed to write the merged table
	// rebase, when not nil, tells whether the added tables are still
	// what the addition would write on the stack of snap (see
	// addition.rebase); nil: the addition is never rebased.
	rebase func(snap *Snapshot, tables [][]byte) (bool, error)
	stored [][]byte // the bytes of the added tables storeHeld wrote, for rebase
	// contended is set for a commit retried after lost swaps (see
	// contend): it does not fuse.
	contended bool
	lost      bool      // the swap was lost; the tables are kept for recommit
	stored0   time.Time // when storeHeld began writing the tables, for rebaseMaxAge
}

// rebaseMaxAge is the longest a commit's tables may have been stored
// when it rebases them; older ones are written again. It is objstore's
// MaxPublishDelay, which a Clean of an earlier version relied on.
const rebaseMaxAge = 10 * time.Minute

// rebaseGap is how many update indexes a commit retried after a lost
// swap leaves free below its own (see contend).
const rebaseGap = 3

// contend readies an addition that retries a commit which lost swaps of
// the list, before it writes its tables, for the race it is in: its
// tables take the update index rebaseGap above the next one, so that
// they can still be rebased (see rebaseOnce) after up to rebaseGap
// commits of other writers win the list first, and it does not merge
// listed tables (see fuse), which would make it impossible to rebase and
// its loss costlier. Update indexes only need to increase: the gap is
// harmless, and the writers that win the list at once, uncontended,
// compact. Only on backends without locks, whose commits can lose.
func (a *addition) contend() {
	if !lockFree(a.st.b) {
		return
	}
	a.contended = true
	a.next += rebaseGap
}

// heldTable is an added table the addition keeps in memory: when the
// commit's auto-compaction merges it away (see fuse) it is never written
// to the backend, else the commit writes it there before publishing.
type heldTable struct {
	data []byte
	min  uint64
	max  uint64
}

// memTable is a held table's bytes as a storage.TableFile.
type memTable struct{ *bytes.Reader }

func (memTable) Close() error { return nil }

// newAddition locks the stack for writing, waiting up to the lock
// timeout, and brings it up to date under the lock: values read through
// the addition's snapshot are the ones the commit will build on. On an
// object store "up to date" is the list read last when that read is
// recent (see begin): the swap's condition refuses a stale one.
func (st *Stack) newAddition(ctx context.Context) (*addition, error) {
	c, err := st.begin(ctx, true)
	if err != nil {
		return nil, err
	}
	defer st.mu.Unlock()
	if st.closed {
		c.Release()
		return nil, ErrClosed
	}
	if err := st.loadLocked(ctx, c.Names()); err != nil {
		c.Release()
		if lockFree(st.b) && errors.Is(err, fs.ErrNotExist) {
			// Without a lock the list can change between reading it and
			// opening its tables: a compaction removed one, unless the
			// list is unchanged.
			err = st.missingTable(ctx, c.Names(), err, ErrConflict)
		}
		return nil, err
	}
	return &addition{st: st, c: c, cleanup: context.WithoutCancel(ctx), base: c.Names(), next: st.nextUpdateIndexLocked(), loads: st.loads}, nil
}

// snapshot returns the stack as locked by the addition.
func (a *addition) snapshot() *Snapshot {
	a.st.mu.Lock()
	defer a.st.mu.Unlock()
	return a.st.snapshotLocked()
}

// add writes one table through write, which receives a Writer whose
// limits are next..next; it may call SetLimits before adding records,
// with a minimum not below next. A table without records is not added.
func (a *addition) add(ctx context.Context, write func(w *reftable.Writer) error) error {
	if a.closed {
		return ErrClosed
	}
	if err := a.storeHeld(ctx); err != nil { // tables keep their order
		return err
	}
	name, err := a.st.b.CreateTable(ctx, func(out io.Writer) (uint64, uint64, bool, error) {
		return a.writeTable(out, write)
	})
	if err != nil {
		return err
	}
	if name != "" {
		a.added = append(a.added, name)
	}
	return nil
}

// addHeld is add for a table whose input the caller holds in memory (a
// transaction's updates): the table is written into memory and, when the
// commit may merge it with listed tables (see fuse), kept there until the
// commit needs it on the backend. Its memory is less than the input's.
// size is about what the table will take: the buffer starts with that
// capacity, so that a large table is not copied as it grows (pages
// reserved and not written cost no memory).
func (a *addition) addHeld(ctx context.Context, size int, write func(w *reftable.Writer) error) error {
	if a.closed {
		return ErrClosed
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	min, max, keep, err := a.writeTable(buf, write)
	if err != nil || !keep {
		return err
	}
	a.held = append(a.held, heldTable{data: buf.Bytes(), min: min, max: max})
	if a.probe == nil && lockFree(a.st.b) {
		a.probe = firstSet(buf.Bytes())
	}
	if a.mayFuse() {
		return nil
	}
	return a.storeHeld(ctx)
}

// storeHeld writes the held tables to the backend, in order, and adds
// them to the written ones. Each of at most maxFuse bytes is also kept
// open from memory for the commit's reload to take (see Stack.spare); a
// larger one the reload opens, so that the stack does not hold its bytes.
func (a *addition) storeHeld(ctx context.Context) error {
	if len(a.held) > 0 && a.stored0.IsZero() {
		a.stored0 = time.Now()
	}
	for len(a.held) > 0 {
		h := a.held[0]
		name, err := a.st.b.CreateTable(ctx, func(out io.Writer) (uint64, uint64, bool, error) {
			_, err := out.Write(h.data)
			return h.min, h.max, true, err
		})
		if err != nil {
			return err
		}
		a.added = append(a.added, name)
		a.held = a.held[1:]
		if len(h.data) > maxFuse {
			continue
		}
		a.stored = append(a.stored, h.data)
		t, err := reftable.NewTableBytes(h.data, name)
		if err != nil {
			continue // the reload opens it and reports the problem
		}
		a.opened = append(a.opened, newHandle(name, memTable{bytes.NewReader(h.data)}, t))
	}
	a.held = nil
	return nil
}

// keptTable keeps the bytes of a table a commit writes while they are
// at most maxFuse, on a backend without locks: the commit's reload then
// takes the table from memory (see openKept) instead of reading it back
// from the store, a request. Its zero value keeps nothing.
type keptTable struct {
	buf  []byte
	over bool
}

// keepWritten returns a keptTable for a table the addition is about to
// write: nil (keeping nothing) on a backend with locks, whose reload
// opens a local file.
func (a *addition) keepWritten() *keptTable {
	if !lockFree(a.st.b) {
		return nil
	}
	return &keptTable{}
}

// wrap returns write with what it writes also kept by k (a nil k keeps
// nothing). Each call of the result starts afresh.
func (k *keptTable) wrap(write func(io.Writer) (uint64, uint64, bool, error)) func(io.Writer) (uint64, uint64, bool, error) {
	if k == nil {
		return write
	}
	return func(out io.Writer) (uint64, uint64, bool, error) {
		k.buf, k.over = k.buf[:0], false
		return write(io.MultiWriter(out, k))
	}
}

// Write keeps p unless the table grew past maxFuse.
func (k *keptTable) Write(p []byte) (int, error) {
	if !k.over && len(k.buf)+len(p) > maxFuse {
		k.buf, k.over = nil, true
	}
	if !k.over {
		k.buf = append(k.buf, p...)
	}
	return len(p), nil
}

// openKept opens the table stored as name from the bytes k kept, for
// the commit's reload to take; it does nothing when k kept nothing.
func (a *addition) openKept(name string, k *keptTable) {
	if k == nil || k.over || name == "" || len(k.buf) == 0 {
		return
	}
	t, err := reftable.NewTableBytes(k.buf, name)
	if err != nil {
		return // the reload opens it and reports the problem
	}
	a.opened = append(a.opened, newHandle(name, memTable{bytes.NewReader(k.buf)}, t))
}

// mayFuse reports whether the commit may merge its tables with newer
// listed ones under its lock (see fuse).
func (a *addition) mayFuse() bool {
	st := a.st
	if st.opts.DisableAutoCompaction || st.opts.noFuse || a.contended {
		return false
	}
	_, prober := st.b.(tableLockProber)
	return prober || lockFree(st.b)
}

// writeTable writes one table of the addition to out through write and
// returns its update index limits and whether it has records.
func (a *addition) writeTable(out io.Writer, write func(w *reftable.Writer) error) (uint64, uint64, bool, error) {
	opts := a.st.opts.Write
	opts.MinUpdateIndex, opts.MaxUpdateIndex = a.next, a.next
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
}

// commit publishes the added tables and releases the lock; with no table
// added it only releases the lock. Unless disabled, auto-compaction runs
// afterwards; its errors go to Options.OnCompactionError, never to the
// caller, since the commit has happened.
//
// On an object store another writer may have published since
// newAddition: commit then fails with ErrConflict and removes the
// addition's tables; the caller starts a new addition, which sees the
// other writer's changes, and redoes its work (Transaction.Commit and
// Stack.AddTable do this themselves). An addition that can be rebased
// (a.rebase, set by a transaction) and merged no listed tables keeps
// its tables instead, lost, for the caller to recommit or close.
func (a *addition) commit(ctx context.Context) error {
	if a.closed {
		return ErrClosed
	}
	if len(a.added)+len(a.held) == 0 && a.fused == nil {
		return a.close()
	}
	st := a.st
	fused, merged, replaced, ferr := a.fused, a.fusedName, a.fusedReplaced, error(nil)
	switch {
	case a.fuseErr != nil:
		ferr = a.fuseErr
	case fused == nil:
		fused, merged, replaced, ferr = a.fuse(ctx)
	}
	if ferr != nil {
		// The commit does not depend on its compaction: it publishes
		// its tables as without fusing, the failure is reported as an
		// auto-compaction's is, and no second attempt follows.
		st.mu.Lock()
		st.stats.CompactionFailures++
		st.mu.Unlock()
		st.compactionFailed(fmt.Errorf("compact %s: %w", st.dir, ferr))
	}
	names := fused
	if names == nil {
		if err := a.storeHeld(ctx); err != nil {
			a.close()
			return err
		}
		names = append(append([]string{}, a.base...), a.added...)
	}
	perr := a.c.Publish(ctx, names)
	if errors.Is(perr, ErrConflict) && fused == nil && a.rebase != nil && lockFree(st.b) {
		// Keep the tables: the caller may rebase them (recommit).
		a.lost = true
		return perr
	}
	return a.finish(ctx, names, fused, merged, replaced, ferr, perr)
}

// recommit commits again an addition whose swap was lost (a.lost), after
// the caller's backoff, by rebasing its tables (see rebaseOnce). done is
// false when they cannot be rebased: the caller then closes the addition
// and, unless err is set, starts again; a swap lost again leaves the
// addition lost, with done set and ErrConflict.
func (a *addition) recommit(ctx context.Context) (done bool, err error) {
	if a == nil || a.closed || !a.lost {
		return false, nil
	}
	names, ok, perr := a.rebaseOnce(ctx)
	if !ok {
		return false, perr
	}
	if errors.Is(perr, ErrConflict) {
		return true, perr
	}
	a.lost = false
	a.st.mu.Lock()
	a.st.stats.Rebases++
	a.st.mu.Unlock()
	return true, a.finish(ctx, names, nil, "", nil, nil, perr)
}

// finish ends a commit after the swap of the list: perr is Publish's
// error, and names the list published, fused (with the table merged and
// the tables it replaced) when the commit merged listed tables, ferr what
// failed merging them.
func (a *addition) finish(ctx context.Context, names, fused []string, merged string, replaced []string, ferr, perr error) error {
	st := a.st
	var committed *CommittedError
	if perr != nil && !errors.As(perr, &committed) {
		if errors.Is(perr, ErrCommitUncertain) {
			a.added = nil // maybe listed now: Clean decides later
		} else if merged != "" {
			st.b.RemoveTable(a.cleanup, merged)
		}
		a.fusedName = "" // removed, or maybe listed
		a.close()
		return perr
	}
	a.closed = true
	st.mu.Lock()
	st.stats.Commits++
	if fused != nil {
		st.stats.Compactions++
	}
	// The reload takes the added tables fuse opened instead of opening
	// them again; the addition's references go before the replaced
	// tables do (Windows cannot remove an open file).
	st.spare = a.opened
	// The commit takes the list it published as the stack's, where the
	// backend can (an object store: no request). The tables it replaced
	// are then removed once a list read later shows that the store kept
	// its list (see checkPublishedLocked); the file backend, which
	// adopts only lists that replaced nothing, reads the list back
	// first. A stack that loaded a list since the commit loaded its base
	// reads it back too: another goroutine's commit, published after
	// this one and built on it, may have been adopted first, and
	// adopting this one's list would take the stack back past it.
	var err error
	adopted := false
	if perr == nil && (len(replaced) == 0 || lockFree(st.b)) && st.loads == a.loads {
		if ad, ok := a.c.(storage.ListAdopter); ok && ad.Adopt() {
			adopted = true
			err = st.loadLocked(ctx, names)
			st.stale = err != nil
		}
	}
	if !adopted {
		err = st.reloadLocked(ctx)
	}
	st.spare = nil
	var lost error
	switch {
	case err != nil || !lockFree(st.b):
	case adopted:
		// The list was not read back: the next list the stack loads
		// is checked to continue it (see checkPublishedLocked).
		own := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return slices.Contains(a.base, n) })
		st.published = &publishedCommit{names: names, own: own, probe: a.probe, replaced: replaced, cleanup: a.cleanup}
	default:
		lost = a.lostCommit(names, replaced)
	}
	st.mu.Unlock()
	a.release()
	if lost != nil {
		// The tables the commit replaced are listed again: keep them.
		reportUnsafe(st.b, lost)
		return fmt.Errorf("commit %s: %w", st.dir, lost)
	}
	if !adopted && (err == nil || !lockFree(st.b)) {
		st.removeTables(a.cleanup, replaced)
	}
	if perr != nil || err != nil {
		// Committed; a later reload catches up. Auto-compaction waits.
		return perr
	}
	if fused == nil && ferr == nil && !a.contended && !st.opts.DisableAutoCompaction && st.CompactionRequired() {
		if err := st.AutoCompact(ctx); err != nil && !errors.Is(err, ErrLocked) && !errors.Is(err, ErrOutdated) {
			st.compactionFailed(err)
		}
	}
	return nil
}

// lostCommit checks, on a backend without locks, that the list the
// stack reloaded right after the commit published names continues it:
// the tables the commit replaced (replaced) are gone from it, and, unless
// the commit's tables are listed as they are, the ref the commit set
// (a.probe) has a record of its update index or a later one. A store
// that honours conditional writes only ever replaces a list with one
// built on it, so this never fails there; on a store that checks
// conditions non-atomically another writer may have published a list
// built on the one this commit replaced, and the commit is gone:
// ErrLostCommit. It cannot tell when a later commit deleted the ref and
// a compaction of the oldest tables dropped the deletion before the
// reload. st.mu is held.
func (a *addition) lostCommit(names, replaced []string) error {
	own := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return slices.Contains(a.base, n) })
	return lostCommit(a.st.tables, own, replaced, a.probe)
}

// lostCommit tells whether tables, a list loaded after a commit, lost
// it: the tables the commit replaced are listed again, or one of its own
// tables is not listed and the ref probe, which it set, has no record
// of its update index or a later one (see addition.lostCommit).
func lostCommit(tables []*handle, own, replaced []string, probe *reftable.RefRecord) error {
	listed := map[string]bool{}
	for _, h := range tables {
		listed[h.name] = true
	}
	for _, n := range replaced {
		if listed[n] {
			return fmt.Errorf("table %s, which the commit replaced, is listed again: %w", n, ErrLostCommit)
		}
	}
	if probe == nil || !slices.ContainsFunc(own, func(n string) bool { return !listed[n] }) {
		return nil
	}
	// Every list built on this commit's has a record of the ref at its
	// update index or a later one (a deletion, too), but for a
	// compaction of the oldest tables, which drops deletions.
	p := probe
	rts := make([]*reftable.Table, len(tables))
	for i, h := range tables {
		rts[i] = h.t
	}
	m, err := reftable.NewMerged(rts, reftable.MergedOptions{ShowDeletions: true})
	if err != nil {
		return nil // not known
	}
	var r reftable.RefRecord
	found, err := m.LookupRef(p.Name, &r)
	switch {
	case err != nil:
		return nil
	case found && r.UpdateIndex >= p.UpdateIndex:
		return nil
	case found:
		return fmt.Errorf("ref %s set at update index %d has the record of update index %d: %w", p.Name, p.UpdateIndex, r.UpdateIndex, ErrLostCommit)
	case len(rts) > 0 && rts[0].MaxUpdateIndex() > p.UpdateIndex:
		// The oldest table holds the commit's update index and later
		// ones: it may have dropped the deletion of the ref.
		return nil
	}
	return fmt.Errorf("ref %s set at update index %d has no record: %w", p.Name, p.UpdateIndex, ErrLostCommit)
}

// rebaseOnce reads the list again after a lost swap and publishes it with
// the added tables appended, when that list is the state the tables were
// written for:
//
//   - it still names a table of the list the addition extended, so no
//     list in between was empty; as the highest update index of a
//     list that is not empty never decreases, it is at least the one of
//     the list extended;
//   - its highest update index is below the added tables' (a.next), so
//     that they keep the stack's update indexes increasing: only
//     compactions came in between, or commits that took fewer indexes
//     than the addition left free (see contend);
//   - a.rebase finds the tables are what the addition would write on it
//     (a transaction's checks pass there and give the same bytes: what
//     came in between changed nothing the tables depend on);
//   - they were stored at most rebaseMaxAge ago.
//
// Clean removes an unlisted table only once the highest update index of
// a list it read reaches the table's (see Stack.Clean); by the first two
// conditions every list from the one extended to the one rebased on had
// a lower one, so Clean never judged a table rebased removable.
//
// ok is false when it did not publish: err is then nil when the caller
// should start again (ErrConflict), or what failed.
func (a *addition) rebaseOnce(ctx context.Context) (names []string, ok bool, err error) {
	st := a.st
	if a.stored0.IsZero() || time.Since(a.stored0) > rebaseMaxAge {
		return nil, false, nil
	}
	c, err := st.begin(ctx, false)
	if err != nil {
		if errors.Is(err, ErrConflict) {
			err = nil // start again
		}
		return nil, false, err
	}
	cur := c.Names()
	if !slices.ContainsFunc(cur, func(n string) bool { return slices.Contains(a.base, n) }) {
		st.mu.Unlock()
		c.Release()
		return nil, false, nil
	}
	err = st.loadLocked(ctx, cur)
	var snap *Snapshot
	if err == nil {
		snap = st.snapshotLocked()
	}
	next, loads := st.nextUpdateIndexLocked(), st.loads
	st.mu.Unlock()
	if err != nil {
		c.Release()
		if errors.Is(err, fs.ErrNotExist) {
			return nil, false, nil // a compaction removed a table: start again
		}
		return nil, false, err
	}
	defer snap.Close()
	if next > a.next {
		c.Release()
		return nil, false, nil
	}
	same, err := a.rebase(snap, a.stored)
	if err != nil || !same {
		c.Release()
		return nil, false, err
	}
	a.c.Release()
	a.c, a.base, a.loads = c, cur, loads
	names = append(slices.Clone(cur), a.added...)
	return names, true, c.Publish(ctx, names)
}

// firstSet returns the first ref a table sets (not a deletion), or nil.
func firstSet(data []byte) *reftable.RefRecord {
	t, err := reftable.NewTableBytes(data, "new table")
	if err != nil {
		return nil
	}
	for r, err := range t.Refs(nil) {
		if err != nil {
			return nil
		}
		if r.Type != reftable.RefDeletion {
			r.Name = bytes.Clone(r.Name)
			r.Value, r.Peeled, r.Target = nil, nil, nil
			return &r
		}
	}
	return nil
}

// reportUnsafe tells b, if it wants to know, that a commit found the
// store overwrote it (ErrLostCommit).
func reportUnsafe(b storage.Backend, err error) {
	if r, ok := b.(storage.UnsafeStoreReporter); ok {
		r.StoreUnsafe(err)
	}
}

// maxFuse is the most bytes of listed tables a commit merges with its own
// while it holds the commit lock (see fuse); larger auto-compactions run
// after the commit, without the lock. The commit's own tables do not
// count: it writes their records once either way.
const maxFuse = 1 << 20

// tableLockProber is implemented by backends whose table locks can be
// checked: under the commit lock no compaction can take new ones, so a
// table without a lock then is not being compacted.
type tableLockProber interface {
	TableLocked(name string) (bool, error)
}

// fuse does the auto-compaction the commit would trigger before the
// commit instead of after it, while the addition holds the commit lock,
// when it merges the added tables with newer listed ones of at most
// maxFuse bytes: it writes the merged table and returns the list to publish
// with the merged table's name (empty when nothing is left), and the
// tables that list replaces, to remove once published. It
// returns a nil list when there is nothing to fuse, or when a table of
// the run is locked by a running compaction (or the backend cannot tell):
// the commit then publishes the added tables and compacts after.
//
// The result is what publishing and then compacting gives, in one
// publication: no intermediate list, no table locks, no second round on
// the commit lock.
func (a *addition) fuse(ctx context.Context) (list []string, merged string, replaced []string, err error) {
	st := a.st
	if !a.mayFuse() || len(a.added)+len(a.held) == 0 {
		return nil, "", nil, nil
	}
	prober, _ := st.b.(tableLockProber)
	st.mu.Lock()
	snap := st.snapshotLocked()
	st.mu.Unlock()
	defer snap.Close()
	if !slices.Equal(snap.TableNames(), a.base) {
		return nil, "", nil, nil
	}
	tables := make([]*reftable.Table, 0, len(a.base)+len(a.added)+len(a.held))
	for _, h := range snap.tables {
		tables = append(tables, h.t)
	}
	for _, name := range a.added {
		f, err := st.b.OpenTable(ctx, name)
		if err != nil {
			return nil, "", nil, err
		}
		t, err := reftable.NewTable(f, f.Size(), name)
		if err != nil {
			f.Close()
			return nil, "", nil, err
		}
		a.opened = append(a.opened, newHandle(name, f, t))
		tables = append(tables, t)
	}
	for _, h := range a.held {
		t, err := reftable.NewTableBytes(h.data, "new table")
		if err != nil {
			return nil, "", nil, err
		}
		tables = append(tables, t)
	}
	start, end := CompactionSegment(tables, st.opts.CompactionFactor)
	if end != len(tables) || start >= len(a.base) {
		return nil, "", nil, nil // the run leaves the added tables alone
	}
	var size uint64
	for _, t := range tables[start:len(a.base)] {
		size += tableSize(t)
	}
	if size > maxFuse {
		return nil, "", nil, nil
	}
	if prober != nil {
		for _, name := range a.base[start:] {
			locked, err := prober.TableLocked(name)
			if err != nil || locked {
				return nil, "", nil, nil
			}
		}
	}
	keep := a.keepWritten()
	name, err := st.b.CreateTable(ctx, keep.wrap(st.compactedTable(tables[start:], start == 0, nil)))
	if err != nil {
		return nil, "", nil, err
	}
	a.openKept(name, keep)
	list = append([]string{}, a.base[:start]...)
	if name != "" {
		list = append(list, name)
	}
	replaced = append(append([]string{}, a.base[start:]...), a.added...)
	return list, name, replaced, nil
}

// close abandons the addition if it was not committed: it removes the
// tables it wrote and releases the lock. It is always safe to call.
func (a *addition) close() error {
	if a.closed {
		return nil
	}
	a.closed = true
	a.release()
	a.held = nil
	var errs []error
	for _, name := range a.added {
		errs = append(errs, a.st.b.RemoveTable(a.cleanup, name))
	}
	if a.fusedName != "" {
		errs = append(errs, a.st.b.RemoveTable(a.cleanup, a.fusedName))
	}
	errs = append(errs, a.c.Release())
	return errors.Join(errs...)
}

// release drops the addition's references to the tables fuse opened.
func (a *addition) release() {
	for _, h := range a.opened {
		h.decref()
	}
	a.opened = nil
}

// AddTable adds one table of records written as they are, the raw
// addition importers use (a Transaction is the way to change refs: it
// checks names and old values and writes reflogs). It locks the stack,
// calls write with a Writer whose update index limits are the next
// index of the stack, both ends (write may widen them with SetLimits,
// the minimum not below the next index: Writer.Limits tells it), and
// commits the table; a table without records is not added.
// Auto-compaction follows as after any commit.
//
// On an object store, when another writer publishes first (ErrConflict),
// AddTable retries with a new table like Transaction.Commit, calling
// write again: write must then produce the same records given the new
// Writer (whose update index limits may be higher), so it must not
// consume its input.
func (st *Stack) AddTable(ctx context.Context, write func(w *reftable.Writer) error) error {
	return st.retryConflicts(ctx, func() error {
		a, err := st.newAddition(ctx)
		if err != nil {
			return err
		}
		defer a.close()
		if err := a.add(ctx, write); err != nil {
			return err
		}
		return a.commit(ctx)
	})
}

// Limits of the retries after a lost compare-and-swap of the list.
const (
	conflictAttempts = 100
	conflictTime     = 10 * time.Second // or the lock timeout, if longer
	conflictMaxDelay = 100 * time.Millisecond
	// conflictBackoff times the duration of an attempt that lost is the
	// least delay before the next (see retryConflicts).
	conflictBackoff = 4
)

// retryConflicts runs attempt again while it fails with ErrConflict
// (another writer won the list), sleeping a jittered, doubling delay in
// between, for at most conflictAttempts attempts and conflictTime (or the
// lock timeout if longer; forever if it is negative). The file backend
// never conflicts, so its commits run once.
//
// The delay is at least conflictBackoff times as long as the attempt
// that lost took: the writer that won commits again meanwhile, finding
// the list it knows current, without contention. A retry sooner mostly
// races those commits and loses again, each lost attempt costing the
// store an upload, a refused swap and a deletion (8 writers on
// versitygw made 18 requests a commit with the delay starting at a
// millisecond, 12 so); on a local store, where attempts take
// microseconds, it changes nothing. On a backend without locks it then
// listens before it writes: it reads the list after each pause and
// pauses again, up to conflictQuiet times, while the list changed since
// the last read (8 writers on versitygw: 8 requests a commit instead of
// 12 to 14).
func (st *Stack) retryConflicts(ctx context.Context, attempt func() error) error {
	deadline := time.Now().Add(max(conflictTime, st.opts.LockTimeout))
	delay := time.Millisecond
	for n := 1; ; n++ {
		start := time.Now()
		err := attempt()
		if lockFree(st.b) && errors.Is(err, fs.ErrNotExist) && !errors.Is(err, ErrConflict) && !errors.Is(err, ErrCorrupt) {
			st.forgetVanished(err)
			// A table vanished between reading the list and reading the
			// table: a concurrent compaction removed it.
			err = fmt.Errorf("%w: %w", ErrConflict, err)
		}
		if !errors.Is(err, ErrConflict) {
			return err
		}
		if st.opts.LockTimeout >= 0 && (n >= conflictAttempts || time.Now().After(deadline)) {
			return fmt.Errorf("%w (gave up after %d attempts)", err, n)
		}
		delay = min(max(delay, conflictBackoff*time.Since(start)), conflictMaxDelay)
		var seen []string // the list after the last pause
		for quiet := 0; ; quiet++ {
			if serr := pause(ctx, delay/2+rand.N(delay/2+1)); serr != nil {
				return fmt.Errorf("%w (gave up after %d attempts: %w)", err, n, serr)
			}
			delay = min(2*delay, conflictMaxDelay)
			if quiet == conflictQuiet || !lockFree(st.b) || st.opts.LockTimeout >= 0 && time.Now().After(deadline) {
				break
			}
			// Listen before writing: while the list keeps changing,
			// another writer is committing; attempting now would most
			// likely lose, at the cost of an upload, a refused swap
			// and a deletion, where reading the list costs one request.
			names, ok := st.peekList(ctx)
			if !ok || quiet > 0 && slices.Equal(names, seen) {
				break
			}
			seen = names
		}
	}
}

// conflictQuiet bounds how many times in a row a retry after a lost swap
// waits again because the list changed while it waited.
const conflictQuiet = 3

// peekList reads the backend's list without loading it: on an object
// store a conditional GET, answered "not modified" when it is the list
// read last. ok is false when it could not be read.
func (st *Stack) peekList(ctx context.Context) ([]string, bool) {
	c, err := st.b.Begin(ctx, st.opts.LockTimeout)
	if err != nil {
		return nil, false
	}
	defer c.Release()
	return c.Names(), true
}
