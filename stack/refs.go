package stack

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/refstore/refstore/reftable"
)

// Identity is who makes a change and when, as recorded in reflogs.
type Identity struct {
	Name, Email string
	Time        time.Time // its zone is recorded too
}

// RefConflictError reports a ref whose value, read under the lock, is not
// the one the transaction expected. It matches ErrRefConflict.
type RefConflictError struct {
	Name     string
	Expected Ref // the value expected (Update.Old)
	Actual   Ref // the value found, missing if the ref does not exist
}

// Error implements error.
func (e *RefConflictError) Error() string {
	return fmt.Sprintf("ref %s: expected %s, found %s", e.Name, e.Expected.value(), e.Actual.value())
}

// Unwrap returns ErrRefConflict.
func (e *RefConflictError) Unwrap() error { return ErrRefConflict }

// Update is one change of a transaction: the ref Name set to the value
// of the embedded Ref.
type Update struct {
	// Ref is the ref to change, Name, and its new value; a missing
	// value deletes the ref (and its reflog, unless the ref is symbolic:
	// then, as git, its reflog logs the deletion). With Verify set
	// nothing is stored. As git, a new value that is the id the ref has
	// already (not symbolic), or a missing one for a missing ref, stores
	// and logs nothing for it; HEAD still logs it when it points at the
	// ref, as it logs the ref's deletion. A reflog entry records as old a
	// symbolic ref's target's id, and HEAD's entry for its branch made
	// symbolic records none as new. Its UpdateIndex is ignored.
	Ref
	// Old, when not nil, is the value the ref must have, checked under
	// the lock (its Name and UpdateIndex are ignored): &Ref{} requires
	// that the ref does not exist.
	Old *Ref
	// Verify only checks Old and changes nothing.
	Verify bool
	// Deref applies the update to the ref a symbolic ref points at, as
	// git does without --no-deref (HEAD updates the current branch). The
	// reflog entry is written for both.
	Deref bool
	// Message is the reflog message. As git, each run of whitespace in
	// it is logged as one space, none at either end, and it is cut at
	// half the block size.
	Message string
	// LogOnly writes only a reflog entry for Name, from Old (nil: a
	// missing ref) to the new value, and leaves the ref alone: git's
	// entry in a linked worktree's HEAD reflog for a change of a branch
	// that lives in the shared stack.
	LogOnly bool
}

// ReflogPolicy says which refs get reflog entries.
type ReflogPolicy int

// Reflog policies, as git's core.logAllRefUpdates.
const (
	// ReflogNormal logs HEAD, refs/heads/, refs/remotes/, refs/notes/
	// and refs that already have a reflog (git's default).
	ReflogNormal ReflogPolicy = iota
	// ReflogAlways logs every ref.
	ReflogAlways
	// ReflogNever writes no reflog entries.
	ReflogNever
	// ReflogExisting logs only refs that already have a reflog, as git
	// with core.logAllRefUpdates false (a bare repository's default).
	ReflogExisting
)

// Transaction changes several refs atomically. Build it with Add, then
// Commit, or Prepare and then Commit or Close; Lock, before or between the
// Adds, takes the lock early. It is not safe for concurrent use.
type Transaction struct {
	st      *Stack
	who     Identity
	policy  ReflogPolicy
	updates updateQueue
	done    bool // committed, closed, or failed
	noHEAD  bool // SkipHEADLog

	// Set by Lock until Prepare takes them over, or Close; locked stays
	// set.
	held     *addition
	heldSnap *Snapshot
	locked   bool

	// Set by Prepare until Commit or Close.
	a       *addition
	snap    *Snapshot
	changes []change
}

// NewTransaction starts a transaction whose reflog entries are made by
// who, logging refs according to policy.
func (st *Stack) NewTransaction(who Identity, policy ReflogPolicy) *Transaction {
	return &Transaction{st: st, who: who, policy: policy}
}

// SkipHEADLog stops the transaction from logging a change of the branch
// the stack's HEAD points at in HEAD's reflog. A linked worktree writing
// the shared stack needs this: the HEAD that counts is its own, in its own
// stack, which the caller logs with a LogOnly update there.
func (tx *Transaction) SkipHEADLog() { tx.noHEAD = true }

// Lock takes the stack's lock for the transaction now, waiting up to the
// lock timeout, and returns the stack as it is under the lock: what
// Prepare and Commit will check and build on. Updates may be added after
// Lock, until Prepare or Commit, which then keep the lock Lock took. A
// caller reads refs through the snapshot to decide what to write, knowing
// they cannot change before the commit: a linked worktree locks its own
// stack and the shared one, then follows its HEAD into the shared stack.
// The snapshot belongs to the transaction and is valid until Commit or
// Close. A failed Lock ends the transaction.
//
// On an object store, where nothing is locked, the snapshot is the newest
// list: a Commit that another writer beats to the list fails with
// ErrConflict instead of being redone, since the caller decided on what it
// read.
func (tx *Transaction) Lock(ctx context.Context) (*Snapshot, error) {
	if tx.done || tx.a != nil || tx.held != nil {
		return nil, ErrClosed
	}
	var a *addition
	err := tx.st.retryConflicts(ctx, func() (err error) {
		a, err = tx.st.newAddition(ctx)
		return err
	})
	if err != nil {
		tx.done = true
		return nil, err
	}
	tx.held, tx.heldSnap, tx.locked = a, a.snapshot(), true
	return tx.heldSnap, nil
}

// Add queues updates. Updates added after Prepare are not applied.
func (tx *Transaction) Add(us ...Update) {
	for _, u := range us {
		tx.updates.add(u)
	}
}

// Grow makes room for n more updates, so that adding them one by one
// allocates once.
func (tx *Transaction) Grow(n int) { tx.updates.grow(n) }

// updateQueue holds a transaction's updates in chunks, so that adding a
// million of them one by one copies none: a slice grown by doubling
// copies them about once more and leaves its old arrays to the collector.
type updateQueue struct {
	chunks [][]Update
	n      int
}

// maxChunk is the most updates a chunk that add allocates holds.
const maxChunk = 4096

func (q *updateQueue) add(u Update) {
	if len(q.chunks) == 0 || len(q.chunks[len(q.chunks)-1]) == cap(q.chunks[len(q.chunks)-1]) {
		q.grow(min(max(8, q.n), maxChunk))
	}
	last := &q.chunks[len(q.chunks)-1]
	*last = append(*last, u)
	q.n++
}

// grow makes room for n more updates in one chunk.
func (q *updateQueue) grow(n int) {
	if len(q.chunks) > 0 {
		if last := q.chunks[len(q.chunks)-1]; cap(last)-len(last) >= n {
			return
		}
	}
	q.chunks = append(q.chunks, make([]Update, 0, n))
}

// all yields the updates in order, with their positions.
func (q *updateQueue) all() iter.Seq2[int, *Update] {
	return func(yield func(int, *Update) bool) {
		i := 0
		for _, c := range q.chunks {
			for j := range c {
				if !yield(i, &c[j]) {
					return
				}
				i++
			}
		}
	}
}

// change is an update resolved under the lock. A bulk transaction holds
// one for each ref it changes, so it keeps of the old value only what the
// reflog and the checks need.
type change struct {
	name   string
	oldID  []byte   // the id the ref had; for a symbolic ref its target's
	u      *Update  // its new value and message (in the transaction's queue)
	oldSym bool     // the ref was a symbolic ref
	store  bool     // false for a LogOnly update and one that changes nothing
	toHEAD bool     // logFor ends with HEAD, which points at name
	logFor []string // refs whose reflog records this change
}

// oldMissing reports whether the ref did not exist.
func (c *change) oldMissing() bool { return c.oldID == nil && !c.oldSym }

// Commit locks the stack, checks every expected old value against the
// current stack, checks names and directory/file conflicts, and writes one
// table with all the changes and their reflog entries. A lost
// compare-and-swap fails with a *RefConflictError; nothing is written
// then. After Prepare or Lock, Commit writes under the lock they took. On
// an object store, where nothing is locked, a commit that another writer
// beat to the list (ErrConflict) is redone against the new list, with its
// expected old values checked again, after a jittered backoff, a bounded
// number of times (not after Lock: see there); the table it wrote is
// published again, rebased, when the checks give the same table there.
func (tx *Transaction) Commit(ctx context.Context) error {
	if tx.a == nil {
		if err := tx.Prepare(ctx); err != nil {
			return err
		}
	}
	if tx.done {
		return ErrClosed
	}
	defer tx.Close()
	tx.done = true
	first := true
	attempt := func() error {
		if !first {
			// Rebase the table of the swap lost, when it is still
			// what the transaction writes; else start again.
			if done, err := tx.a.recommit(ctx); done || err != nil {
				return err
			}
			tx.release()
			if err := tx.prepareOnce(ctx); err != nil {
				return err
			}
			tx.a.contend()
		}
		first = false
		a, snap, changes := tx.a, tx.snap, tx.changes
		if len(changes) == 0 {
			return a.commit(ctx)
		}
		if !tx.locked {
			a.rebase = func(snap *Snapshot, tables [][]byte) (bool, error) {
				return tx.sameTable(a, snap, tables)
			}
		}
		write := func(w recordSink) error { return tx.write(w, snap, changes, a.next) }
		fused, err := a.addFused(ctx, refsSize(changes), write)
		if err != nil {
			return err
		}
		if !fused {
			if err := a.addHeld(ctx, changesSize(changes, tx.st.opts.Hash.Size()), func(w *reftable.Writer) error {
				return write(w)
			}); err != nil {
				return err
			}
		}
		return a.commit(ctx)
	}
	if tx.locked {
		return attempt() // what the caller read under Lock may be stale
	}
	return tx.st.retryConflicts(ctx, attempt)
}

// sameTable reports whether tables, the table a's commit lost the swap
// with, is the one the transaction writes on snap (see
// addition.rebaseOnce): its checks pass there, and give the same bytes
// at the same update index. A failed check is returned, as prepare
// returns it.
func (tx *Transaction) sameTable(a *addition, snap *Snapshot, tables [][]byte) (bool, error) {
	if len(tables) != 1 || len(a.added) != 1 {
		return false, nil // not kept in memory (see storeHeld)
	}
	changes, err := tx.resolve(snap)
	if err != nil {
		return false, err
	}
	var buf bytes.Buffer
	_, _, keep, err := a.writeTable(&buf, func(w *reftable.Writer) error {
		return tx.write(w, snap, changes, a.next)
	})
	return err == nil && keep && bytes.Equal(buf.Bytes(), tables[0]), err
}

// Prepare takes the stack's lock, waiting up to the lock timeout, and
// checks the transaction as Commit does, without writing. The lock is
// held until Commit or Close, so other writers wait or fail meanwhile and
// the checked values cannot change. A failed Prepare releases the lock
// and ends the transaction.
func (tx *Transaction) Prepare(ctx context.Context) error {
	if tx.done || tx.a != nil {
		return ErrClosed
	}
	prepare := func() error { return tx.prepareOnce(ctx) }
	var err error
	if tx.locked {
		err = prepare()
	} else {
		err = tx.st.retryConflicts(ctx, prepare)
	}
	if err != nil {
		tx.done = true
		tx.release() // the lock Lock took, if prepare failed before taking it over
		return err
	}
	return nil
}

// prepareOnce runs prepare and keeps what it returns.
func (tx *Transaction) prepareOnce(ctx context.Context) error {
	a, snap, changes, err := tx.prepare(ctx)
	if err != nil {
		return err
	}
	tx.a, tx.snap, tx.changes = a, snap, changes
	return nil
}

// Close abandons a transaction that was not committed, releasing the
// lock Prepare took. It is always safe to call.
func (tx *Transaction) Close() error {
	tx.done = true
	return tx.release()
}

// release lets go of what Lock or Prepare took.
func (tx *Transaction) release() error {
	var errs []error
	if tx.held != nil {
		errs = append(errs, tx.heldSnap.Close(), tx.held.close())
		tx.held, tx.heldSnap = nil, nil
	}
	if tx.a != nil {
		errs = append(errs, tx.snap.Close(), tx.a.close())
		tx.a, tx.snap, tx.changes = nil, nil, nil
	}
	return errors.Join(errs...)
}

// changesSize is about the size of the table of changes: a name, an id
// and some for each ref (prefix compression takes more off than varints
// and the index add), an id and some for each reflog entry (the rest
// compresses well), and a kilobyte for the header, footer and indexes.
func changesSize(changes []change, hashSize int) int {
	n := 1 << 10
	for _, c := range changes {
		n += len(c.name) + hashSize + 16 + len(c.logFor)*(hashSize+8)
	}
	return n
}

// prepare locks the stack and resolves the updates into changes under
// the lock; on success the caller owns the addition and the snapshot.
func (tx *Transaction) prepare(ctx context.Context) (_ *addition, _ *Snapshot, _ []change, err error) {
	for _, u := range tx.updates.all() {
		if err := CheckRefName(u.Name); err != nil {
			return nil, nil, nil, err
		}
		if u.Target != "" {
			if err := CheckRefName(u.Target); err != nil {
				return nil, nil, nil, fmt.Errorf("symref %s: target %w", u.Name, err)
			}
		}
		if u.ID != nil && len(u.ID) != tx.st.opts.Hash.Size() {
			return nil, nil, nil, fmt.Errorf("ref %s: object id of %d bytes for %v: %w", u.Name, len(u.ID), tx.st.opts.Hash, reftable.ErrHashMismatch)
		}
	}
	a, snap := tx.held, tx.heldSnap // after Lock
	tx.held, tx.heldSnap = nil, nil
	if a == nil {
		if a, err = tx.st.newAddition(ctx); err != nil {
			return nil, nil, nil, err
		}
		snap = a.snapshot()
	}
	defer func() {
		if err != nil {
			snap.Close()
			a.close()
		}
	}()
	changes, err := tx.resolve(snap)
	if err != nil {
		return nil, nil, nil, err
	}
	return a, snap, changes, nil
}

// resolve resolves the updates into changes against snap: their current
// values, checked against the expected ones, the reflogs that record
// them, and the directory/file conflicts they would make.
func (tx *Transaction) resolve(snap *Snapshot) ([]change, error) {
	// As git, a change of the branch HEAD points at is logged in HEAD's
	// reflog too.
	var sc lookupScratch
	var headTarget string
	if found, err := sc.lookupRef(snap, "HEAD"); err == nil && found && sc.rec.Type == reftable.RefSymref && !tx.noHEAD {
		headTarget = string(sc.rec.Target)
	}
	changes, err := tx.resolveAll(snap, headTarget, &sc, true)
	if err == errUnordered {
		changes, err = tx.resolveAll(snap, headTarget, &sc, false)
	}
	if err != nil {
		return nil, err
	}
	// Sorted by name for the table, and for checkDirFile to search.
	if !slices.IsSortedFunc(changes, byName) {
		slices.SortStableFunc(changes, byName)
	}
	if err := checkDirFile(snap, changes); err != nil {
		return nil, err
	}
	return changes, nil
}

// errUnordered stops resolveAll in ordered mode at a name that is not
// greater than the one before.
var errUnordered = errors.New("names not in increasing order")

// resolveAll resolves the updates under the lock into the changes to write,
// in the order of the updates, checking their expected old values. Each
// ref may be updated once: with ordered set, resolveAll takes the names to
// come in increasing order, as a bulk update's do, which needs no set of
// them, and returns errUnordered at the first that does not, for the
// caller to start again without ordered. The errors are the same either
// way: the names before the first out of order are all different.
func (tx *Transaction) resolveAll(snap *Snapshot, headTarget string, sc *lookupScratch, ordered bool) ([]change, error) {
	var seen map[string]bool
	if !ordered {
		seen = make(map[string]bool, tx.updates.n)
	}
	var last string // the name resolved last, in ordered mode
	resolved := 0
	changes := make([]change, 0, tx.updates.n)
	// The reflog names of the changes, one each unless symbolic refs or
	// HEAD add more (then append copies).
	own := make([]string, tx.updates.n)
	for i, u := range tx.updates.all() {
		if u.LogOnly {
			c := change{name: u.Name, u: u, logFor: []string{u.Name}}
			if u.Old != nil {
				c.oldID, c.oldSym = u.Old.ID, u.Old.Target != ""
			}
			changes = append(changes, c)
			continue
		}
		name := u.Name
		var via []string
		var cur Ref
		var err error
		if u.Deref {
			name, via, cur, err = resolve(snap, u.Name, sc)
		} else {
			cur, err = lookup(snap, name, sc)
		}
		if err != nil {
			return nil, err
		}
		if ordered {
			// Names in increasing order cannot repeat an earlier one.
			if resolved > 0 && name <= last {
				if name < last {
					return nil, errUnordered
				}
				return nil, fmt.Errorf("ref %s: updated twice in one transaction: %w", name, ErrRefName)
			}
			last = name
		} else {
			if seen[name] {
				return nil, fmt.Errorf("ref %s: updated twice in one transaction: %w", name, ErrRefName)
			}
			seen[name] = true
		}
		resolved++
		if u.Old != nil && !u.Old.sameValue(cur) {
			return nil, &RefConflictError{Name: name, Expected: *u.Old, Actual: cur}
		}
		if u.Verify {
			continue
		}
		c := change{name: name, oldID: cur.ID, oldSym: cur.Target != "", u: u, store: true}
		if cur.Target != "" {
			// A symbolic ref's reflog entry records as old the id its
			// target has, as git.
			_, _, v, err := resolve(snap, cur.Target, sc)
			if err != nil {
				return nil, err
			}
			c.oldID = v.ID
		}
		// As git: an update that leaves a ref that is not symbolic at
		// the id it has (or a missing ref missing) writes nothing and
		// logs nothing for it; the symbolic refs passed and HEAD still
		// log it.
		noop := cur.Target == "" && u.Target == "" && bytes.Equal(cur.ID, u.ID)
		if via == nil {
			own[i] = name
			c.logFor = own[i : i+1 : i+1]
		} else {
			c.logFor = append(via, name)
		}
		if noop {
			c.store, c.logFor = false, c.logFor[:len(c.logFor)-1]
		}
		if name == headTarget && !slices.Contains(via, "HEAD") {
			c.logFor = append(c.logFor, "HEAD")
			c.toHEAD = true
		}
		if len(c.logFor) > 0 {
			changes = append(changes, c)
		}
	}
	return changes, nil
}

// lookupScratch is the memory a transaction's lookups reuse.
type lookupScratch struct {
	rec reftable.RefRecord
	key []byte
	// look looks names up in lookIn, for Follow.
	look   func(name string) (Ref, error)
	lookIn *Snapshot
}

// lookupRef looks name up in snap into s.rec.
func (s *lookupScratch) lookupRef(snap *Snapshot, name string) (bool, error) {
	s.key = append(s.key[:0], name...)
	return snap.merged.LookupRef(s.key, &s.rec)
}

// resolve follows symbolic refs from name to the ref they end at (which
// may not exist), returning its name, the symbolic refs passed and its
// value (see Follow).
func resolve(snap *Snapshot, name string, sc *lookupScratch) (string, []string, Ref, error) {
	if sc.lookIn != snap {
		// One closure for all the lookups in snap: a bulk transaction
		// resolves every name it updates.
		sc.lookIn = snap
		sc.look = func(name string) (Ref, error) { return lookup(snap, name, sc) }
	}
	r, via, err := Follow(name, sc.look)
	return r.Name, via, r, err
}

// Follow follows symbolic refs from name as git resolves a ref to read
// it: it reads name with lookup and, while the ref read is symbolic, the
// ref it points at, at most five refs in all (git's SYMREF_MAXDEPTH). It
// returns the last ref read, under its name, and the symbolic refs
// passed, in order. lookup returns a missing Ref, and no error, for a
// ref that does not exist: the ref returned is then missing, named. A
// longer chain fails with an error matching ErrRefName.
//
// Snapshot.Resolve follows refs within a stack with it, and package repo
// through the stacks of a linked worktree: it is git's rule, written
// once.
func Follow(name string, lookup func(name string) (Ref, error)) (Ref, []string, error) {
	var via []string
	for range maxSymrefDepth {
		r, err := lookup(name)
		if err != nil {
			return Ref{}, nil, err
		}
		if !r.Symbolic() {
			r.Name = name
			return r, via, nil
		}
		via = append(via, name)
		name = r.Target
	}
	return Ref{}, nil, fmt.Errorf("ref %s: more than %d levels of symbolic refs: %w", via[0], maxSymrefDepth-1, ErrRefName)
}

// maxSymrefDepth is how many refs git reads following symbolic refs
// (SYMREF_MAXDEPTH): a chain of at most four symbolic refs.
const maxSymrefDepth = 5

// lookup returns the current value of name.
func lookup(snap *Snapshot, name string, sc *lookupScratch) (Ref, error) {
	found, err := sc.lookupRef(snap, name)
	if err != nil || !found {
		return Ref{}, err
	}
	r := Ref{UpdateIndex: sc.rec.UpdateIndex}
	r.setValue(&sc.rec, nil)
	return r, nil
}

// checkDirFile rejects a transaction after which one ref would be a
// directory of another (refs/a and refs/a/b). changes are sorted by name.
//
// A bulk transaction checks each of its names, so the checks move
// forward with the names rather than search afresh: the parents of a
// name are mostly those of the name before (a cache by depth), and the
// refs below name/, in the stack and in the transaction, are found by
// stepping a cursor and an index from where the previous name left them
// (a few steps, else a seek). The answers are those of searching.
func checkDirFile(snap *Snapshot, changes []change) error {
	live := make([]string, 0, len(changes)) // the refs it leaves existing, sorted
	for _, c := range changes {
		if c.store && !c.u.Missing() {
			live = append(live, c.name)
		}
	}
	// final reports whether the transaction creates or deletes name, and
	// whether name exists after it.
	final := func(name string) (exists, ok bool) {
		i, _ := slices.BinarySearchFunc(changes, name, func(c change, name string) int { return strings.Compare(c.name, name) })
		for ; i < len(changes) && changes[i].name == name; i++ {
			if changes[i].store {
				return !changes[i].u.Missing(), true
			}
		}
		return false, false
	}
	var sc lookupScratch
	exists := func(name string) (bool, error) {
		if v, ok := final(name); ok {
			return v, nil
		}
		return sc.lookupRef(snap, name)
	}
	// parents[k] is the parent name of depth k of the name checked
	// last, and whether it exists.
	type parent struct {
		name   string
		exists bool
	}
	var parents []parent
	var below refsBelow
	defer below.close()
	below.snap = snap
	var prefix []byte // name/ of the change checked
	var lastPrefix []byte
	j := 0 // where the refs of live below lastPrefix start
	for _, c := range changes {
		if !c.store || c.u.Missing() || !c.oldMissing() {
			continue
		}
		// A parent directory that is a ref.
		k := 0
		for i := strings.IndexByte(c.name, '/'); i >= 0; i, k = next(c.name, i), k+1 {
			dir := c.name[:i]
			if k >= len(parents) || parents[k].name != dir {
				ok, err := exists(dir)
				if err != nil {
					return err
				}
				parents = append(parents[:k], parent{dir, ok})
			}
			if parents[k].exists {
				return fmt.Errorf("ref %s: conflicts with existing ref %s: %w", c.name, dir, ErrRefName)
			}
		}
		// A ref below name/ that survives the transaction.
		prefix = append(append(prefix[:0], c.name...), '/')
		name, err := below.first(prefix, func(name []byte) bool {
			v, ok := final(string(name))
			return ok && !v
		})
		if err != nil {
			return err
		}
		if name != nil {
			return fmt.Errorf("ref %s: conflicts with existing ref %s: %w", c.name, name, ErrRefName)
		}
		// Names starting with prefix sort right after it.
		if lastPrefix == nil || bytes.Compare(prefix, lastPrefix) < 0 {
			j = 0
		}
		j = searchFrom(live, j, prefix)
		lastPrefix = append(lastPrefix[:0], prefix...)
		if j < len(live) && len(live[j]) >= len(prefix) && compareStringBytes(live[j][:len(prefix)], prefix) == 0 {
			return fmt.Errorf("ref %s: conflicts with ref %s in the same transaction: %w", c.name, live[j], ErrRefName)
		}
	}
	return nil
}

// searchFrom returns the index of the first of the sorted names at or
// after from that is not less than key (all before from are less): a few
// steps from there, else a binary search of the rest.
func searchFrom(names []string, from int, key []byte) int {
	for range 8 {
		if from == len(names) || compareStringBytes(names[from], key) >= 0 {
			return from
		}
		from++
	}
	i, _ := slices.BinarySearchFunc(names[from:], key, compareStringBytes)
	return from + i
}

// refsBelow finds, for keys that mostly increase, the first ref of a
// snapshot under a key (a name and a slash) that a transaction leaves:
// its cursor stays where the last search stopped, and a key not less
// than the last one steps on from there.
type refsBelow struct {
	snap *Snapshot
	cur  *reftable.RefCursor
	rec  reftable.RefRecord // the cursor's current ref, if ok
	ok   bool
	// key is the last key searched: every ref from it up to rec is
	// under a key searched and deleted by the transaction.
	key []byte
}

// first returns the name of the first ref under key that gone does not
// say the transaction deletes, or nil. The name is valid until the next
// call.
func (b *refsBelow) first(key []byte, gone func(name []byte) bool) ([]byte, error) {
	if err := b.seek(key); err != nil {
		return nil, err
	}
	for b.ok && bytes.HasPrefix(b.rec.Name, key) {
		if !gone(b.rec.Name) {
			return b.rec.Name, nil
		}
		if err := b.next(); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// seek moves the cursor to the first ref not less than key.
func (b *refsBelow) seek(key []byte) error {
	if b.cur != nil && bytes.Compare(key, b.key) >= 0 {
		for range 8 {
			if !b.ok || bytes.Compare(b.rec.Name, key) >= 0 {
				b.key = append(b.key[:0], key...)
				return nil
			}
			if err := b.next(); err != nil {
				return err
			}
		}
	}
	if b.cur == nil {
		b.cur = b.snap.merged.RefCursor()
	}
	b.cur.Seek(key)
	b.key = append(b.key[:0], key...)
	return b.next()
}

func (b *refsBelow) next() error {
	r, ok, err := b.cur.Next()
	b.rec, b.ok = r, ok
	return err
}

func (b *refsBelow) close() {
	if b.cur != nil {
		b.cur.Close()
	}
}

func next(s string, i int) int {
	j := strings.IndexByte(s[i+1:], '/')
	if j < 0 {
		return -1
	}
	return i + 1 + j
}

// logs reports whether the policy logs changes of name.
func (tx *Transaction) logs(snap *Snapshot, name string) bool {
	switch tx.policy {
	case ReflogAlways:
		return true
	case ReflogNever:
		return false
	}
	if tx.policy == ReflogNormal && (name == "HEAD" || strings.HasPrefix(name, "refs/heads/") ||
		strings.HasPrefix(name, "refs/remotes/") || strings.HasPrefix(name, "refs/notes/")) {
		return true
	}
	for range snap.merged.LogsFor([]byte(name)) {
		return true
	}
	return false
}

// reflogMessage returns m as git logs it: each run of whitespace
// (space, tab, CR, LF) one space, none at either end.
func reflogMessage(m string) []byte {
	out := make([]byte, 0, len(m))
	space := true // at the start, or after whitespace
	for i := 0; i < len(m); i++ {
		c := m[i]
		white := c == ' ' || c == '\t' || c == '\n' || c == '\r'
		if white && space {
			continue
		}
		space = white
		if white {
			c = ' '
		}
		out = append(out, c)
	}
	if len(out) > 0 && out[len(out)-1] == ' ' {
		out = out[:len(out)-1]
	}
	return out
}

// tzOffset returns the zone of t as git stores it: +0530 as 530.
func tzOffset(t time.Time) int16 {
	_, secs := t.Zone()
	sign := int16(1)
	if secs < 0 {
		sign, secs = -1, -secs
	}
	return sign * int16(secs/3600*100+secs%3600/60)
}

// write writes the transaction's table: the new refs, then the reflog
// entries, and tombstones for the reflogs of deleted refs. changes are
// sorted by name (prepare sorts them).
func (tx *Transaction) write(w recordSink, snap *Snapshot, changes []change, index uint64) error {
	var name []byte // the name of each ref record in turn
	var r reftable.RefRecord
	for _, c := range changes {
		if !c.store {
			continue
		}
		name = append(name[:0], c.name...)
		c.u.fill(&r, name, index)
		if err := w.AddRef(&r); err != nil {
			return err
		}
	}
	zero := make([]byte, tx.st.opts.Hash.Size()) // shared, never written
	idOr0 := func(id []byte) []byte {
		if id == nil {
			return zero
		}
		return id
	}
	// The log records, as small entries until they are sorted: a bulk
	// transaction would otherwise hold a whole record for every change.
	type pendingLog struct {
		name  string // the ref logged
		index uint64 // the record's update index
		c     int    // the change recorded; -1 for the tombstone of an old record
		newID []byte // the id logged as new (a symbolic ref's: its target's)
	}
	who, email := []byte(tx.who.Name), []byte(tx.who.Email)
	when, tz := uint64(max(tx.who.Time.Unix(), 0)), tzOffset(tx.who.Time)
	blockSize := tx.st.opts.Write.BlockSize
	if blockSize == 0 {
		blockSize = reftable.DefaultBlockSize
	}
	var lastMsg string // the message of the previous change, and as logged
	var msg []byte
	var lr reftable.LogRecord
	emit := func(l pendingLog) error {
		name = append(name[:0], l.name...)
		if l.c < 0 {
			lr = reftable.LogRecord{RefName: name, UpdateIndex: l.index, Type: reftable.LogDeletion}
		} else {
			c := &changes[l.c]
			if msg == nil || c.u.Message != lastMsg {
				// As git: one line, at most half a block.
				m := reflogMessage(c.u.Message)
				lastMsg, msg = c.u.Message, m[:min(len(m), blockSize/2)]
			}
			lr = reftable.LogRecord{
				RefName: name, UpdateIndex: l.index, Type: reftable.LogUpdate,
				Old: idOr0(c.oldID), New: idOr0(l.newID),
				Name: who, Email: email, Time: when, TZOffset: tz,
				Message: msg,
			}
		}
		return w.AddLog(&lr)
	}
	// When each change logs its own ref at most, and deletes no reflog,
	// the entries come in the order of their keys, each key once: they
	// are written as they come, rather than held, sorted and written (a
	// bulk update would hold one for each ref).
	stream := true
	for i, c := range changes {
		own := len(c.logFor) == 0 || len(c.logFor) == 1 && c.logFor[0] == c.name
		if !own || c.u.Missing() && c.store || i > 0 && changes[i-1].name >= c.name {
			stream = false
			break
		}
	}
	var logs []pendingLog
	if !stream {
		logs = make([]pendingLog, 0, len(changes))
	}
	add := func(l pendingLog) error {
		if stream {
			return emit(l)
		}
		logs = append(logs, l)
		return nil
	}
	var sc lookupScratch
	for i, c := range changes {
		for _, name := range c.logFor {
			if c.u.Missing() && name == c.name && c.store && !c.oldSym {
				// Deleting a ref deletes its reflog. (As git, a
				// deleted symbolic ref's reflog logs the deletion.)
				for l, err := range snap.merged.LogsFor([]byte(name)) {
					if err != nil {
						return err
					}
					if err := add(pendingLog{name: name, index: l.UpdateIndex, c: -1}); err != nil {
						return err
					}
				}
				continue
			}
			if !tx.logs(snap, name) {
				continue
			}
			newID := c.u.ID
			switch {
			case c.u.Target == "":
			case c.toHEAD && name == "HEAD":
				// As git: the branch HEAD points at made a symbolic
				// ref logs in HEAD's reflog an entry to no id.
			default:
				// As git: a symbolic ref's entry records the id its
				// new target has now; none if it dangles.
				_, _, v, err := resolve(snap, c.u.Target, &sc)
				if err != nil {
					return err
				}
				if v.ID == nil {
					continue
				}
				newID = v.ID
			}
			if err := add(pendingLog{name: name, index: index, c: i, newID: newID}); err != nil {
				return err
			}
		}
	}
	if stream {
		return nil
	}
	byKey := func(a, b pendingLog) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return cmp.Compare(b.index, a.index)
	}
	if !slices.IsSortedFunc(logs, byKey) {
		slices.SortStableFunc(logs, byKey)
	}
	for i, l := range logs {
		if i > 0 && byKey(logs[i-1], l) == 0 {
			continue // one record a key: the first change's
		}
		if err := emit(l); err != nil {
			return err
		}
	}
	return nil
}

// byName orders changes by ref name.
func byName(a, b change) int { return strings.Compare(a.name, b.name) }

// compareStringBytes compares s and b as strings.Compare would, without
// converting either.
func compareStringBytes(s string, b []byte) int {
	for i := range min(len(s), len(b)) {
		if s[i] != b[i] {
			return cmp.Compare(s[i], b[i])
		}
	}
	return cmp.Compare(len(s), len(b))
}
