package stack

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack/storage"
	"github.com/refstore/refstore/stat"
	"github.com/refstore/refstore/vfs"
)

// Leftovers describes files of a stack that its list does not reference.
type Leftovers struct {
	Removed []string // files Clean removed
	Kept    []string // unreferenced files kept, and why
}

// Clean removes files no list references and no writer can still be
// using, and reports what it removed and what it kept:
//
//   - an unlisted table is removed when its update indexes are all at or
//     below the stack's highest (so no addition can be about to publish
//     it) and no listed table in its range is locked (so no compaction
//     is about to publish it); on a backend without table locks
//     (storage.NoTableLocks, an object store) when no run of listed tables spans
//     exactly its update indexes (so no compaction can publish it: see
//     below), and it is older than grace;
//   - a temporary file is removed when it is older than grace, or at
//     once when no process holds it open with its advisory lock (its
//     writer ended before it placed its table);
//   - the holder file of a lock (see BreakStaleLock) that is not linked
//     to its lock any more is removed when it is older than grace, or at
//     once when its process, of this host, is gone;
//   - a table's lock whose holder is provably gone is removed, as a
//     writer waiting for it would remove it (see BreakStaleLock);
//   - files that do not parse as tables, and other lock files, are kept.
//
// Clean holds tables.list.lock while it works, so it waits for writers
// like a commit does.
//
// On a backend without table locks nothing stops a compaction while
// Clean runs, and no clock can bound how long a writer takes between
// checking that its table is still there and the request that
// publishes it (a process may be suspended in between, for an hour).
// So Clean does not judge tables by age there but by what can still be
// published. A writer publishes a list only with If-Match on the list it
// read, and names in it only tables of that list and tables it wrote;
// a name that left the list never returns. An addition's table has
// update indexes above those of the list it extends, so once the stack's
// highest index reaches them that list is gone for good, and so is
// every chance of publishing the table. A compaction's table replaces a
// run of tables with exactly its update indexes, and is published only
// with If-Match on a list that still holds that run; once a list holds
// no run spanning its indexes, it never will again. Both are decided
// against one list read by Clean: whatever Clean removes could not be
// published after that read, whatever the timing. The grace period
// then only keeps the leftovers of failed writers for a while; any
// value is safe.
func (st *Stack) Clean(ctx context.Context, grace time.Duration) (Leftovers, error) {
	if !lockFree(st.b) {
		return st.clean(ctx, grace)
	}
	// Without locks, the list Clean reads may name a table a
	// compaction removed meanwhile: read it again.
	var res Leftovers
	err := st.retryConflicts(ctx, func() error {
		var err error
		res, err = st.clean(ctx, grace)
		return err
	})
	return res, err
}

func (st *Stack) clean(ctx context.Context, grace time.Duration) (Leftovers, error) {
	var res Leftovers
	c, err := st.begin(ctx, false)
	if err != nil {
		return res, fmt.Errorf("clean %s: %w", st.dir, err)
	}
	defer c.Release()
	err = st.loadLocked(ctx, c.Names())
	snap := st.snapshotLocked()
	st.mu.Unlock()
	defer snap.Close()
	if lockFree(st.b) {
		// Nothing is locked: the stack's goroutines need not wait for
		// the listing and the deletions to commit (see begin); what is
		// removed is judged by its age, not by a lock.
		c.Release()
	}
	if err != nil {
		if lockFree(st.b) && errors.Is(err, fs.ErrNotExist) {
			err = st.missingTable(ctx, c.Names(), err, ErrConflict)
		}
		return res, err
	}
	files, err := st.b.ListFiles(ctx)
	if err != nil {
		return res, fmt.Errorf("clean %s: %w", st.dir, err)
	}
	if broken := st.breakStaleLocks(files); len(broken) > 0 {
		res.Removed = append(res.Removed, broken...)
		if files, err = st.b.ListFiles(ctx); err != nil {
			return res, fmt.Errorf("clean %s: %w", st.dir, err)
		}
	}
	listed := map[string]*reftable.Table{}
	var maxIndex uint64
	for _, h := range snap.tables {
		listed[h.name] = h.t
		maxIndex = max(maxIndex, h.t.MaxUpdateIndex())
	}
	var locked []span
	for _, f := range files {
		if t, ok := listed[strings.TrimSuffix(f.Name, ".lock")]; ok && strings.HasSuffix(f.Name, ".lock") {
			locked = append(locked, span{t.MinUpdateIndex(), t.MaxUpdateIndex()})
		}
	}
	keep := func(name, why string) { res.Kept = append(res.Kept, name+": "+why) }
	var errs []error // what failed: Clean goes on and reports them all
	remove := func(name string) {
		if err := st.b.RemoveTable(ctx, name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			keep(name, err.Error())
			errs = append(errs, err)
			return
		}
		res.Removed = append(res.Removed, name)
	}
	now := time.Now()
	for _, f := range files {
		switch {
		case listed[f.Name] != nil || f.Name == "tables.list" || f.Name == "tables.list.lock" || f.Name == "tables.list"+pidSuffix:
			// The list, and the lock Clean holds.
		case strings.HasSuffix(f.Name, ".temp"):
			if now.Sub(f.ModTime) < grace && !st.tempAbandoned(f.Name) {
				keep(f.Name, "temporary file younger than the grace period")
			} else {
				remove(f.Name)
			}
		case strings.HasSuffix(f.Name, ".ref"):
			min, max, err := st.tableRange(ctx, f.Name)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				// Removed meanwhile.
			case errors.Is(err, reftable.ErrFormat):
				keep(f.Name, "not a readable table")
			case errors.Is(err, vfs.ErrNotRegular):
				keep(f.Name, "not a regular file")
			case err != nil:
				keep(f.Name, err.Error())
				errs = append(errs, err)
			case max > maxIndex:
				keep(f.Name, "update indexes above the stack's: an unpublished addition")
			case overlaps(locked, min, max):
				keep(f.Name, "a compaction of its tables is running")
			case lockFree(st.b) && spansRun(snap.tables, min, max):
				keep(f.Name, "a compaction of the listed tables it spans may still publish it")
			case lockFree(st.b) && now.Sub(f.ModTime) < grace:
				keep(f.Name, "table younger than the grace period")
			default:
				remove(f.Name)
			}
		case strings.HasSuffix(f.Name, holderSuffix):
			_, ofList := isHolderOf("tables.list.lock", f.Name)
			switch {
			case ofList && st.holderOfLock(f.Name, files):
				// The holder of the lock Clean holds.
			case st.holderOfLock(f.Name, files):
				keep(f.Name, "holder of a lock")
			case holderGone(f.Name, f.ModTime):
				remove(f.Name)
			case now.Sub(f.ModTime) < grace:
				keep(f.Name, "holder file younger than the grace period")
			default:
				remove(f.Name)
			}
		case strings.HasSuffix(f.Name, ".lock"):
			keep(f.Name, "lock file")
		default:
			keep(f.Name, "not a stack file")
		}
	}
	if len(errs) > 0 {
		return res, fmt.Errorf("clean %s: %w", st.dir, errors.Join(errs...))
	}
	return res, nil
}

// breakStaleLocks removes the table locks among files whose holders are
// provably gone, as a writer waiting for them would (see breakLock), and
// returns their names.
func (st *Stack) breakStaleLocks(files []storage.FileInfo) []string {
	b, ok := st.b.(*dirBackend)
	if !ok {
		return nil
	}
	var broken []string
	for _, f := range files {
		if !strings.HasSuffix(f.Name, ".ref.lock") {
			continue
		}
		if err := breakLock(b.fsys, b.path(f.Name), true); err == nil {
			broken = append(broken, f.Name)
		}
	}
	return broken
}

// tempAbandoned reports whether the temporary table name is open with
// its advisory lock nowhere: its writer, which holds it until it places
// or discards the table (see dirBackend.stage), ended first. An addition
// writes and places its table under the list lock, which Clean holds; a
// compaction whose table Clean removes finds it gone and gives up,
// leaving the tables it merged (where advisory locks are not shared
// between hosts, a compaction on another host may so lose its work).
func (st *Stack) tempAbandoned(name string) bool {
	b, ok := st.b.(*dirBackend)
	if !ok {
		return false
	}
	free, known := advisoryFree(b.fsys, b.path(name))
	return known && free
}

// holderGone reports whether the holder file name, not linked to a lock,
// was made by a process of this host that is gone: it will never link
// it.
func holderGone(name string, modTime time.Time) bool {
	lockName := "tables.list.lock"
	if !strings.HasPrefix(name, "tables.list.") {
		i := strings.Index(name, ".ref.")
		if i < 0 {
			return false
		}
		lockName = name[:i+len(".ref")] + ".lock"
	}
	h, ok := isHolderOf(lockName, name)
	return ok && h.host == fileHost() && liveness(h.pid, h.start, modTime) == HolderGone
}

// lockFree reports whether b locks no tables (storage.NoTableLocks).
func lockFree(b storage.Backend) bool {
	_, ok := b.(storage.NoTableLocks)
	return ok
}

// holderOfLock reports whether the holder file name is still linked to
// one of the lock files among files.
func (st *Stack) holderOfLock(name string, files []storage.FileInfo) bool {
	b, ok := st.b.(*dirBackend)
	if !ok {
		return false
	}
	hi, err := b.fsys.Stat(b.path(name))
	if err != nil {
		return false
	}
	for _, f := range files {
		if _, ok := isHolderOf(f.Name, name); ok && strings.HasSuffix(f.Name, ".lock") {
			if li, err := b.fsys.Stat(b.path(f.Name)); err == nil && sameInode(stat.Of(li), stat.Of(hi)) {
				return true
			}
		}
	}
	return false
}

// tableRange reads the update index range of an unlisted table. A file
// that is not a table fails with an error matching reftable.ErrFormat.
func (st *Stack) tableRange(ctx context.Context, name string) (min, max uint64, err error) {
	f, err := st.b.OpenTable(ctx, name)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	t, err := reftable.NewTable(f, f.Size(), name)
	if err != nil {
		return 0, 0, err
	}
	return t.MinUpdateIndex(), t.MaxUpdateIndex(), nil
}

// spansRun reports whether a run of consecutive tables (oldest first)
// covers exactly the update indexes min..max.
func spansRun(tables []*handle, min, max uint64) bool {
	for i, h := range tables {
		if h.t.MinUpdateIndex() != min {
			continue
		}
		for _, g := range tables[i:] {
			if g.t.MaxUpdateIndex() == max {
				return true
			}
		}
	}
	return false
}

// span is a range of update indexes.
type span struct{ min, max uint64 }

func overlaps(spans []span, min, max uint64) bool {
	for _, s := range spans {
		if s.min <= max && min <= s.max {
			return true
		}
	}
	return false
}
