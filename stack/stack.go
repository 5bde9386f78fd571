package stack

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack/storage"
)

// Stack is a reftable stack: immutable tables, oldest first, named by a
// list that writers replace atomically. A Stack is safe for concurrent use
// by several goroutines, whose commits take turns within the process (see
// Options.LockTimeout); several processes may open the same stack.
type Stack struct {
	opts   Options
	b      storage.Backend
	dir    string
	mu     sync.Mutex // guards the fields below and serializes reloads
	tables []*handle  // current tables, oldest first
	merged *reftable.Merged
	loaded bool
	stale  bool // the last reload failed after reading the list
	closed bool
	stats  Stats
	// fusedWrites counts the commits addFused wrote, for tests.
	fusedWrites int
	spare       []*handle // tables a commit opened already, for its reload to take
	// kept holds, during a reload, the tables a failed try opened, one
	// reference each, for the next try to take: a name denotes the same
	// bytes forever, so only the tables new in the next list are opened.
	kept    []*handle
	keeping bool
	// vanished names tables whose reads found them missing: the next
	// load opens them again rather than reuse their handles.
	vanished map[string]bool
	// published is the last commit whose list the stack took without
	// reading it back (storage.ListAdopter), until a list loaded after
	// it shows it was not lost (see checkPublishedLocked).
	published *publishedCommit
	// loads counts the lists loaded, for begin to tell whether another
	// goroutine loaded one while it read its own.
	loads uint64

	// slot is the stack's commit slot: a goroutine holds it while it
	// holds the lock (see beginHeld), or on a backend without locks from
	// its read of the list to its swap (see begin), so that goroutines
	// of one process queue for the lock instead of polling it, and for
	// the list instead of racing for it.
	slot chan struct{}
	// turns counts the times the slot was given back (see takeSlot).
	turns atomic.Uint64
}

// publishedCommit is a commit whose list the stack adopted: the list it
// published, the tables it added and a ref it set.
type publishedCommit struct {
	names []string
	own   []string
	probe *reftable.RefRecord
	// replaced are the tables the commit's list replaced, to remove
	// once a list read later shows the store kept the commit (see
	// checkPublishedLocked), with cleanup's context.
	replaced []string
	cleanup  context.Context
}

// Stats counts what a Stack did.
type Stats struct {
	Reloads            int // reloads that read tables.list
	Commits            int
	Compactions        int // compactions committed
	Rebases            int // commits that published their tables on a list another writer changed after losing its swap
	CompactionFailures int // auto-compactions that could not run
}

// handle is an open table shared by the snapshots that use it; it is
// closed when the last one lets go.
type handle struct {
	name string
	f    storage.TableFile
	t    *reftable.Table
	refs atomic.Int32
}

// newHandle returns a handle of the open table t, with one reference.
func newHandle(name string, f storage.TableFile, t *reftable.Table) *handle {
	h := &handle{name: name, f: f, t: t}
	h.incref()
	return h
}

func (h *handle) incref() { h.refs.Add(1) }

func (h *handle) decref() {
	if h.refs.Add(-1) == 0 {
		h.f.Close()
	}
}

// Open opens the stack in directory dir, creating nothing: a directory
// without tables.list is an empty stack. It takes no context: calls on
// a file system cannot be cancelled, and opening reads one small file
// (the calls of the Stack that wait take a context, for the time they
// wait for locks).
func Open(dir string, opts Options) (*Stack, error) {
	o := opts.withDefaults()
	return OpenBackend(context.Background(), newDirBackend(dir, o), dir, opts)
}

// OpenBackend opens a stack stored in b, reading its list; name is used
// in errors. The Stack owns b from then on, also when opening fails.
func OpenBackend(ctx context.Context, b storage.Backend, name string, opts Options) (*Stack, error) {
	st := &Stack{opts: opts.withDefaults(), b: b, dir: name, slot: make(chan struct{}, 1)}
	if err := st.Reload(ctx); err != nil {
		b.Close()
		return nil, err
	}
	return st, nil
}

// closeCleanupTime bounds what Close spends removing the tables the last
// commit replaced.
const closeCleanupTime = 10 * time.Second

// Close releases the stack's tables; snapshots still open keep theirs.
// On an object store, when the last commit replaced tables (an
// auto-compaction merged them), Close first reads the list, with that
// commit's context, and removes them if the list shows the commit stood
// (see objstore's documentation), spending at most ten seconds on it.
func (st *Stack) Close() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return nil
	}
	if p := st.published; p != nil && len(p.replaced) > 0 {
		// The tables the last commit replaced wait for a read of the
		// list that shows the commit stood (see checkPublishedLocked):
		// one conditional request, with that commit's context, instead
		// of leaving them to Clean. Best effort, and bounded: a store
		// out of reach leaves them to Clean.
		ctx, cancel := context.WithTimeout(p.cleanup, closeCleanupTime)
		st.reloadLocked(ctx)
		cancel()
	}
	st.closed = true
	for _, h := range st.tables {
		h.decref()
	}
	st.tables, st.merged = nil, nil
	return st.b.Close()
}

// Reload brings the stack up to date with its list. It costs one stat call
// when nothing changed. When a listed table is missing because a
// concurrent compaction removed it after the list was read, Reload reads
// the list again and retries, as long as the list keeps changing, for up
// to reloadTime; a listed table missing while the list has not changed
// is damage, ErrCorrupt. On failure the stack keeps serving its previous
// tables.
func (st *Stack) Reload(ctx context.Context) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.reloadLocked(ctx)
}

// reloadTime bounds how long a reload retries while every list it reads
// names a table removed before it could be opened (a stack compacted
// faster than its tables open): it then fails, without ErrCorrupt.
const reloadTime = 30 * time.Second

func (st *Stack) reloadLocked(ctx context.Context) error {
	if st.closed {
		return ErrClosed
	}
	if st.loaded && !st.stale {
		changed, err := st.b.ListChanged(ctx)
		if err != nil {
			return fmt.Errorf("reload %s: %w", st.dir, err)
		}
		if !changed {
			st.removeReplaced(st.published)
			return nil
		}
	}
	st.keeping = true
	defer st.dropKept()
	deadline := time.Now().Add(reloadTime)
	delay := time.Millisecond
	for try := 1; ; try++ {
		names, err := st.b.ReadList(ctx)
		if err != nil {
			return fmt.Errorf("reload %s: %w", st.dir, err)
		}
		err = st.loadLocked(ctx, names)
		// The backend now remembers a list version the stack failed to
		// load: until a load succeeds, every reload must read again.
		st.stale = err != nil
		if err == nil || !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		changed, cerr := st.b.ListChanged(ctx)
		switch {
		case cerr != nil:
			return fmt.Errorf("%w (reading %s again: %w)", err, st.dir, cerr)
		case !changed:
			// Listed, missing, and still listed: no compaction removed
			// it, the stack is damaged.
			return fmt.Errorf("%w: %w", err, ErrCorrupt)
		case time.Now().After(deadline):
			return fmt.Errorf("%w (the list changed %d times while its tables were opened, for %v; tables vanish faster than they open)",
				err, try, reloadTime)
		}
		if err := pause(ctx, delay/2+rand.N(delay/2+1)); err != nil {
			return fmt.Errorf("reload %s: %w", st.dir, err)
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// pause waits for d, or until ctx is done: then it returns ctx's error.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// missingTable tells, on a backend without locks, why a table of the list
// names was missing (err, matching fs.ErrNotExist): when the list read
// again still names the same tables, nothing replaced it and the stack
// is damaged (ErrCorrupt); otherwise a compaction removed it after the
// list was read, and err is returned wrapped in retry (ErrConflict or
// ErrOutdated).
func (st *Stack) missingTable(ctx context.Context, names []string, err, retry error) error {
	c, berr := st.b.Begin(ctx, st.opts.LockTimeout)
	if berr != nil {
		return fmt.Errorf("%w: %w", retry, err)
	}
	defer c.Release()
	if slices.Equal(c.Names(), names) {
		return fmt.Errorf("%w: %w", err, ErrCorrupt)
	}
	return fmt.Errorf("%w: %w", retry, err)
}

// staleBegins bounds how many times in a row begin reads the list again
// because the stack loaded another while it read it.
const staleBegins = 8

// begin calls the backend's Begin in the stack's commit slot (see
// beginHeld; on a backend without locks the turn is awaited as long as
// lost swaps are retried, max(LockTimeout, conflictTime)) and returns
// holding st.mu, the list the commit read no older than the stack's
// tables: the caller loads it.
// On a backend without locks another goroutine of the stack may load a
// list while Begin reads one (a commit adopting the list it published,
// a reload), and Begin's may be the older: loading it would take the
// stack back past that list, and past the commit that published it,
// which the check for lost commits would read as the store overwriting
// it. Begin then reads again (a conditional GET, as the backend knows
// the newer list), and after staleBegins such reads the commit is
// retried as if it lost its swap (ErrConflict). On the file backend
// Begin reads the list under the lock, so no other can be newer.
//
// A commit begins fresh: on a backend that can (storage.FreshBeginner),
// on the list the stack read last if that read is recent and unused.
func (st *Stack) begin(ctx context.Context, fresh bool) (storage.Commit, error) {
	if !lockFree(st.b) {
		c, err := st.beginHeld(ctx)
		if err != nil {
			return nil, fmt.Errorf("lock stack %s: %w", st.dir, err)
		}
		st.mu.Lock()
		return c, nil
	}
	// Goroutines of the stack commit in turn here too: racing one
	// another for the list, all but one would lose the swap, each loss
	// an upload, a refused swap and a backoff. The turn is awaited as
	// long as lost swaps are retried (see retryConflicts).
	wait := st.opts.LockTimeout
	if wait >= 0 {
		wait = max(wait, conflictTime)
	}
	if _, err := st.takeSlot(ctx, wait); err != nil {
		return nil, fmt.Errorf("lock stack %s: %w", st.dir, err)
	}
	free := st.freeSlot
	for range staleBegins {
		st.mu.Lock()
		loads := st.loads
		st.mu.Unlock()
		var c storage.Commit
		var err error
		if fb, ok := st.b.(storage.FreshBeginner); ok && fresh {
			c, err = fb.BeginFresh(ctx, st.opts.LockTimeout)
		} else {
			c, err = st.b.Begin(ctx, st.opts.LockTimeout)
		}
		if err != nil {
			free()
			return nil, fmt.Errorf("lock stack %s: %w", st.dir, err)
		}
		st.mu.Lock()
		if st.loads == loads {
			return &slotCommit{Commit: c, free: free}, nil
		}
		st.mu.Unlock()
		c.Release()
	}
	free()
	return nil, fmt.Errorf("stack %s: the list changed %d times while it was read: %w", st.dir, staleBegins, ErrConflict)
}

// beginHeld calls the backend's Begin, on a backend with locks first
// taking the stack's commit slot, which the Commit returned frees when
// it is released or published: goroutines of the stack wait their turn
// in the process, woken in order as each commit ends, and only the lock
// of another process is polled (with git's backoff). Before, goroutines
// of one stack polled the lock file for one another, and eight of them
// committing at once failed with ErrLocked after git's 100 ms. The wait
// for one goroutine's turn counts against the lock timeout, as the wait
// for the lock did (see takeSlot): a goroutine holding a transaction
// locked still makes another's commit fail with ErrLocked rather than
// wait for ever, unless the timeout is negative; a queue that moves is
// waited for.
func (st *Stack) beginHeld(ctx context.Context) (storage.Commit, error) {
	timeout := st.opts.LockTimeout
	if lockFree(st.b) {
		return st.b.Begin(ctx, timeout)
	}
	since, err := st.takeSlot(ctx, timeout)
	if err != nil {
		return nil, err
	}
	if timeout > NoWait {
		timeout = max(timeout-time.Since(since), NoWait)
	}
	c, err := st.b.Begin(ctx, timeout)
	if err != nil {
		st.freeSlot()
		return nil, err
	}
	return &slotCommit{Commit: c, free: st.freeSlot}, nil
}

// takeSlot takes the stack's commit slot, waiting up to timeout for the
// goroutine holding it (NoWait: not at all; negative: until ctx is done).
// The timeout runs again each time the slot changes hands: goroutines
// queued behind others that commit in turn wait as long as the queue
// moves, and fail only when one holds the slot for timeout (a locked
// transaction, say). It returns when the slot last changed hands (or
// the wait began), for the lock's own timeout to count from.
func (st *Stack) takeSlot(ctx context.Context, timeout time.Duration) (time.Time, error) {
	since := time.Now()
	select {
	case st.slot <- struct{}{}:
		return since, nil
	default:
	}
	busy := fmt.Errorf("another goroutine of this process holds it: %w", ErrLocked)
	if timeout >= 0 && timeout <= NoWait {
		return since, busy
	}
	var expired <-chan time.Time
	var t *time.Timer
	if timeout > 0 {
		t = time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	turns := st.turns.Load()
	for {
		select {
		case st.slot <- struct{}{}:
			return since, nil
		case <-expired:
			if now := st.turns.Load(); now != turns {
				// The queue moved: wait a timeout again.
				turns, since = now, time.Now()
				t.Reset(timeout)
				continue
			}
			return since, fmt.Errorf("%w (waited %v)", busy, time.Since(since))
		case <-ctx.Done():
			return since, fmt.Errorf("%w (stopped waiting: %w)", busy, context.Cause(ctx))
		}
	}
}

// freeSlot gives the stack's commit slot back.
func (st *Stack) freeSlot() {
	st.turns.Add(1)
	<-st.slot
}

// slotCommit is a Commit holding the stack's commit slot (see
// beginHeld), freed once the commit has ended.
type slotCommit struct {
	storage.Commit
	once sync.Once
	free func()
}

func (c *slotCommit) Publish(ctx context.Context, names []string) error {
	defer c.once.Do(c.free)
	return c.Commit.Publish(ctx, names)
}

func (c *slotCommit) Release() error {
	defer c.once.Do(c.free)
	return c.Commit.Release()
}

// Adopt implements storage.ListAdopter when the backend's Commit does.
func (c *slotCommit) Adopt() bool {
	ad, ok := c.Commit.(storage.ListAdopter)
	return ok && ad.Adopt()
}

// dropKept ends a reload: the tables its failed tries opened that the
// stack did not take are closed.
func (st *Stack) dropKept() {
	for _, h := range st.kept {
		h.decref()
	}
	st.kept, st.keeping = nil, false
}

// parallelRequests bounds the requests a stack on a backend without
// locks sends at once: the tables loadLocked opens, the tables
// removeTables removes.
const parallelRequests = 8

// eachAtOnce calls f for each of items, up to parallelRequests at a
// time, and returns when all calls have.
func eachAtOnce[T any](items []T, f func(T)) {
	var wg sync.WaitGroup
	limit := make(chan struct{}, parallelRequests)
	for _, it := range items {
		limit <- struct{}{}
		wg.Go(func() {
			defer func() { <-limit }()
			f(it)
		})
	}
	wg.Wait()
}

// removeTables removes the tables names, best effort (Clean removes
// what is left): on a backend without locks at once, where each removal
// is a request, one by one on disk.
func (st *Stack) removeTables(ctx context.Context, names []string) {
	remove := func(name string) { st.b.RemoveTable(ctx, name) }
	if len(names) > 1 && lockFree(st.b) {
		eachAtOnce(names, remove)
		return
	}
	for _, n := range names {
		remove(n)
	}
}

// loadLocked makes names the current tables, reusing open ones. On
// failure nothing changes.
func (st *Stack) loadLocked(ctx context.Context, names []string) error {
	old := map[string]*handle{}
	for _, h := range st.tables {
		old[h.name] = h
	}
	var fresh, opened []*handle // taken from spare or kept; opened here
	tables := make([]*handle, 0, len(names))
	var need []int // where tables must be opened
	fail := func(err error) error {
		for _, h := range fresh {
			h.decref()
		}
		if st.keeping {
			st.kept = append(st.kept, opened...)
		} else {
			for _, h := range opened {
				h.decref()
			}
		}
		return err
	}
	byName := func(name string) func(*handle) bool { return func(h *handle) bool { return h.name == name } }
	for _, name := range names {
		if h, ok := old[name]; ok && !st.vanished[name] {
			tables = append(tables, h)
			continue
		}
		if i := slices.IndexFunc(st.spare, byName(name)); i >= 0 {
			h := st.spare[i]
			h.incref()
			fresh = append(fresh, h)
			tables = append(tables, h)
			continue
		}
		if i := slices.IndexFunc(st.kept, byName(name)); i >= 0 {
			h := st.kept[i]
			h.incref()
			fresh = append(fresh, h)
			tables = append(tables, h)
			continue
		}
		need = append(need, len(tables))
		tables = append(tables, nil)
	}
	// Tables are opened at once on a backend without locks (an object
	// store, where each open is a request or two), one by one on disk.
	var errs []error
	if len(need) > 0 {
		errs = make([]error, len(tables))
	}
	open := func(i int) {
		name := names[i]
		f, err := st.b.OpenTable(ctx, name)
		if err != nil {
			errs[i] = fmt.Errorf("open table %s in %s: %w", name, st.dir, err)
			return
		}
		t, err := reftable.NewTable(f, f.Size(), name)
		if err != nil {
			f.Close()
			errs[i] = fmt.Errorf("stack %s: %w", st.dir, err)
			return
		}
		tables[i] = newHandle(name, f, t)
	}
	if len(need) > 1 && lockFree(st.b) {
		eachAtOnce(need, open)
	} else {
		for _, i := range need {
			if open(i); errs[i] != nil {
				break
			}
		}
	}
	for _, i := range need {
		if tables[i] != nil {
			opened = append(opened, tables[i])
		}
	}
	if err := cmp.Or(errs...); err != nil {
		return fail(err)
	}
	rts := make([]*reftable.Table, len(tables))
	for i, h := range tables {
		rts[i] = h.t
		if h.t.Hash() != st.opts.Hash {
			return fail(fmt.Errorf("stack %s: table %s uses %v, the stack %v: %w",
				st.dir, h.name, h.t.Hash(), st.opts.Hash, reftable.ErrHashMismatch))
		}
	}
	m, err := reftable.NewMerged(rts, reftable.MergedOptions{})
	if err != nil {
		return fail(err)
	}
	keep := map[*handle]bool{}
	for _, h := range tables {
		keep[h] = true
	}
	for _, h := range st.tables {
		if !keep[h] {
			h.decref()
		}
	}
	st.tables, st.merged, st.loaded = tables, m, true
	st.vanished = nil
	st.loads++
	st.stats.Reloads++
	return st.checkPublishedLocked(names)
}

// checkPublishedLocked checks, once the stack loaded names, a list other
// than the one its last adopted commit published, that the list
// continues that commit (see lostCommit): a commit adopting its list
// did not read it back, so a store that let another writer overwrite it
// is found by the next list the stack loads, and the operation loading
// it fails with ErrLostCommit (the tables are loaded: the stack is as
// the store has it). The store is reported unsafe. The tables that
// commit replaced are removed once names is its list or continues it,
// and kept when the commit was lost.
func (st *Stack) checkPublishedLocked(names []string) error {
	p := st.published
	if p == nil {
		return nil
	}
	if slices.Equal(names, p.names) {
		st.removeReplaced(p)
		return nil
	}
	st.published = nil
	if err := lostCommit(st.tables, p.own, p.replaced, p.probe); err != nil {
		err = fmt.Errorf("stack %s: an earlier commit of this stack: %w", st.dir, err)
		reportUnsafe(st.b, err)
		return err // the tables it replaced are kept
	}
	st.removeReplaced(p)
	return nil
}

// removeReplaced removes the tables that p, an adopted commit, replaced,
// once a list read from the backend was p's list or one continuing it:
// no list a writer builds on from then on names them (best effort:
// Clean removes what is left, as it does when the stack is closed
// first). p may be nil.
func (st *Stack) removeReplaced(p *publishedCommit) {
	if p == nil {
		return
	}
	st.removeTables(p.cleanup, p.replaced)
	p.replaced = nil
}

// forgetVanished makes the next load open the table that err, a read
// that found it missing, names, instead of reusing its handle, and read
// the list again: if the list still names it, the load says so.
func (st *Stack) forgetVanished(err error) {
	var ioe *reftable.IOError
	if !errors.As(err, &ioe) || !errors.Is(err, fs.ErrNotExist) {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.vanished == nil {
		st.vanished = map[string]bool{}
	}
	st.vanished[ioe.Table] = true
	st.stale = true
}

// Stats returns counters of what the stack did.
func (st *Stack) Stats() Stats {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.stats
}

// NextUpdateIndex returns the update index the next commit will use.
func (st *Stack) nextUpdateIndexLocked() uint64 {
	if len(st.tables) == 0 {
		return 1
	}
	return st.tables[len(st.tables)-1].t.MaxUpdateIndex() + 1
}
