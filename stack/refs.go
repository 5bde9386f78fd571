package stack

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
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

// Clone returns a copy of u that shares no memory with u: its ids, its
// strings and Old are copied.
func (u Update) Clone() Update {
	u.Ref = u.Ref.clone()
	u.Message = strings.Clone(u.Message)
	if u.Old != nil {
		old := u.Old.clone()
		u.Old = &old
	}
	return u
}

// clone returns a copy of r that shares no memory with r.
func (r Ref) clone() Ref {
	r.Name, r.Target = strings.Clone(r.Name), strings.Clone(r.Target)
	r.ID, r.Peeled = bytes.Clone(r.ID), bytes.Clone(r.Peeled)
	return r
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
	a    *addition
	snap *Snapshot
	prep *prepared
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
// read. Other goroutines of the Stack wait for the transaction's commit
// meanwhile, as on disk (see Options.LockTimeout).
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

// Unlock lets go of the lock Lock took, and of its snapshot, keeping the
// updates queued: Lock may take it again. A caller that finds it needs
// another stack's lock, which comes before this one in the order its
// processes take them, lets go of this one rather than wait holding it.
func (tx *Transaction) Unlock() error {
	if tx.done || tx.a != nil {
		return ErrClosed
	}
	return tx.release()
}

// Add queues updates. Updates added after Prepare are not applied. The
// transaction keeps copies of them: the caller may reuse the memory of
// their ids and strings once Add returns (a bulk update decodes each
// command's ids into the same bytes, and its names are views of the
// input's buffer).
func (tx *Transaction) Add(us ...Update) {
	for i := range us {
		tx.updates.add(&us[i], tx.st.opts.Hash.Size())
	}
}

// Grow makes room for n more updates, so that adding them one by one
// allocates once.
func (tx *Transaction) Grow(n int) { tx.updates.grow(n) }

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
		a, p := tx.a, tx.prep
		if len(p.changes) == 0 {
			return a.commit(ctx)
		}
		if !tx.locked {
			a.rebase = func(snap *Snapshot, tables [][]byte) (bool, error) {
				return tx.sameTable(a, snap, tables)
			}
		}
		write := func(w recordSink) error { return tx.write(w, p, a.next) }
		fused, err := a.addFused(ctx, tx.refsSize(p), write)
		if err != nil {
			return err
		}
		if !fused {
			if err := a.addHeld(ctx, changesSize(p, tx.st.opts.Hash.Size()), func(w *reftable.Writer) error {
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
	p, err := tx.resolve(snap)
	if err != nil {
		return false, err
	}
	var buf bytes.Buffer
	_, _, keep, err := a.writeTable(&buf, func(w *reftable.Writer) error {
		return tx.write(w, p, a.next)
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
	a, snap, p, err := tx.prepare(ctx)
	if err != nil {
		return err
	}
	tx.a, tx.snap, tx.prep = a, snap, p
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
		tx.a, tx.snap, tx.prep = nil, nil, nil
	}
	return errors.Join(errs...)
}

// changesSize is about the size of the table of changes: a name, an id
// and some for each ref (prefix compression takes more off than varints
// and the index add), an id and some for each reflog entry (the rest
// compresses well), and a kilobyte for the header, footer and indexes.
func changesSize(p *prepared, hashSize int) int {
	n := 1 << 10
	var buf [1]string
	for i := range p.changes {
		c := &p.changes[i]
		n += len(p.name(c)) + hashSize + 16 + len(p.logFor(c, &buf))*(hashSize+8)
	}
	return n
}

// prepare locks the stack and resolves the updates into changes under
// the lock; on success the caller owns the addition and the snapshot.
// Everything write needs to know of the stack is decided here: write
// reads only what prepare returns.
func (tx *Transaction) prepare(ctx context.Context) (_ *addition, _ *Snapshot, _ *prepared, err error) {
	for i := range tx.updates.n {
		u := tx.updates.wholeAt(i)
		if u == nil {
			// A name, and ids of the stack's size.
			if err := CheckRefName(tx.updates.name(i)); err != nil {
				return nil, nil, nil, err
			}
			continue
		}
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
	p, err := tx.resolve(snap)
	if err != nil {
		return nil, nil, nil, err
	}
	return a, snap, p, nil
}

// resolve resolves the updates into changes against snap: their current
// values, checked against the expected ones, the reflogs that record
// them, the directory/file conflicts they would make, and all else
// write needs to know of snap (decideLogs).
func (tx *Transaction) resolve(snap *Snapshot) (*prepared, error) {
	// As git, a change of the branch HEAD points at is logged in HEAD's
	// reflog too.
	var sc lookupScratch
	var headTarget string
	if found, err := sc.lookupRef(snap, "HEAD"); err == nil && found && sc.rec.Type == reftable.RefSymref && !tx.noHEAD {
		headTarget = string(sc.rec.Target)
	}
	p, err := tx.resolveAll(snap, headTarget, &sc, true)
	if err == errUnordered {
		p, err = tx.resolveAll(snap, headTarget, &sc, false)
	}
	if err != nil {
		return nil, err
	}
	// Sorted by name for the table, and for checkDirFile to search.
	if !slices.IsSortedFunc(p.changes, p.byName) {
		slices.SortStableFunc(p.changes, p.byName)
	}
	if err := checkDirFile(snap, p, tx.st.opts.dirFileSplit); err != nil {
		return nil, err
	}
	if err := tx.decideLogs(snap, p, &sc); err != nil {
		return nil, err
	}
	return p, nil
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
func (tx *Transaction) resolveAll(snap *Snapshot, headTarget string, sc *lookupScratch, ordered bool) (*prepared, error) {
	var seen map[string]bool
	if !ordered {
		seen = make(map[string]bool, tx.updates.n)
	}
	var last string // the name resolved last, in ordered mode
	resolved := 0
	p := &prepared{q: &tx.updates, changes: make([]change, 0, tx.updates.n)}
	waitAt, wait := prefaultTail(p.changes)
	p.olds.size = tx.st.opts.Hash.Size()
	setOld := func(c *change, id []byte) {
		if id != nil {
			c.old = p.olds.add(id) + 1
		}
	}
	var u Update
	var uOld Ref
	walk := refWalker{snap: snap}
	defer walk.close()
	for i := range tx.updates.n {
		tx.updates.get(i, &u, &uOld)
		if u.LogOnly {
			c := change{u: uint32(i)}
			if u.Old != nil {
				setOld(&c, u.Old.ID)
				if u.Old.Target != "" {
					c.bits |= cOldSym
				}
			}
			if u.Missing() {
				c.bits |= cMissing
			}
			if len(p.changes) == waitAt {
				wait()
			}
			p.changes = append(p.changes, c)
			continue
		}
		name := u.Name
		var via []string
		var cur Ref
		var err error
		cur, err = walk.lookup(name)
		if err == nil && u.Deref && cur.Target != "" {
			// Follow reads name again: a ref that is not symbolic,
			// as most are, is resolved by the one read.
			name, via, cur, err = resolve(snap, u.Name, sc)
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
		c := change{u: uint32(i), bits: cStore}
		if name != u.Name {
			c.bits |= cRenamed
			p.extra(&c).name = name
		}
		if u.Missing() {
			c.bits |= cMissing
		}
		oldID := cur.ID
		if cur.Target != "" {
			c.bits |= cOldSym
			// A symbolic ref's reflog entry records as old the id its
			// target has, as git.
			_, _, v, err := resolve(snap, cur.Target, sc)
			if err != nil {
				return nil, err
			}
			oldID = v.ID
		}
		setOld(&c, oldID)
		// As git: an update that leaves a ref that is not symbolic at
		// the id it has (or a missing ref missing) writes nothing and
		// logs nothing for it; the symbolic refs passed and HEAD still
		// log it.
		noop := cur.Target == "" && u.Target == "" && bytes.Equal(cur.ID, u.ID)
		var logFor []string // nil: its own ref alone
		if via != nil {
			logFor = append(via, name)
		}
		if noop {
			c.bits &^= cStore
			if logFor == nil {
				logFor = []string{}
			} else {
				logFor = logFor[:len(logFor)-1]
			}
		}
		if name == headTarget && !slices.Contains(via, "HEAD") {
			if logFor == nil {
				logFor = []string{name}
			}
			logFor = append(logFor, "HEAD")
			c.bits |= cToHEAD
		}
		if logFor != nil && len(logFor) == 0 {
			continue // it logs nothing
		}
		if logFor != nil {
			p.extra(&c).logFor = logFor
		}
		if len(p.changes) == waitAt {
			wait()
		}
		p.changes = append(p.changes, c)
	}
	return p, nil
}

// decideLogs decides, for each change and each ref whose reflog records
// it, the reflog records write makes: whether the policy logs the ref,
// the reflog entries a deleted ref's tombstones delete, and the id a
// symbolic ref's entry records as new: its new target's now. Deciding
// here, under the lock, with the checks, makes write a pure function of
// the changes.
func (tx *Transaction) decideLogs(snap *Snapshot, p *prepared, sc *lookupScratch) error {
	var buf [1]string
	logs := logWalker{snap: snap}
	defer logs.close()
	for i := range p.changes {
		c := &p.changes[i]
		_, _, target := tx.updates.value(int(c.u))
		needTarget := false
		for k, name := range p.logFor(c, &buf) {
			if c.missing() && name == p.name(c) && c.store() && !c.oldSym() {
				// Deleting a ref deletes its reflog. (As git, a
				// deleted symbolic ref's reflog logs the deletion.)
				if p.tombAt == nil {
					p.tombAt = make([]uint32, len(p.changes)+1)
				}
				var err error
				if p.tombs, err = logs.indexes(name, p.tombs); err != nil {
					return err
				}
				continue
			}
			if !tx.logs(snap, name) {
				continue
			}
			c.logs |= 1 << k
			if target != "" && !(c.bits&cToHEAD != 0 && name == "HEAD") {
				needTarget = true
			}
		}
		if p.tombAt != nil {
			p.tombAt[i+1] = uint32(len(p.tombs))
		}
		if !needTarget {
			continue
		}
		// As git: a symbolic ref's entry records the id its new target
		// has now; none if it dangles.
		_, _, v, err := resolve(snap, target, sc)
		if err != nil {
			return err
		}
		if v.ID != nil {
			p.extra(c).target = v.ID
		}
	}
	return nil
}

// refWalker looks up names that mostly increase, as a bulk update's do,
// with a cursor that steps forward from where the last lookup left it (a
// few steps, else a seek), instead of a search for each name: a million
// lookups in a large stack each read blocks anew. The answers are those
// of Merged.LookupRef.
type refWalker struct {
	snap *Snapshot
	cur  *reftable.RefCursor
	rec  reftable.RefRecord // the cursor's current ref, if ok
	ok   bool
	key  []byte // the last name looked up: rec is the first ref not below it
	err  error
}

// lookup returns the current value of name, as the package's lookup.
func (w *refWalker) lookup(name string) (Ref, error) {
	if w.err != nil {
		return Ref{}, w.err
	}
	if w.cur == nil || compareStringBytes(name, w.key) < 0 {
		w.seek(name)
	} else {
		for n := 0; w.ok && compareStringBytes(name, w.rec.Name) > 0; n++ {
			if n == 8 {
				w.seek(name)
				break
			}
			w.next()
		}
	}
	w.key = append(w.key[:0], name...)
	if w.err != nil || !w.ok || compareStringBytes(name, w.rec.Name) != 0 {
		return Ref{}, w.err
	}
	r := Ref{UpdateIndex: w.rec.UpdateIndex}
	r.setValue(&w.rec, nil)
	return r, nil
}

// seek moves the cursor to the first ref not less than name.
func (w *refWalker) seek(name string) {
	if w.cur == nil {
		w.cur = w.snap.merged.RefCursor()
	}
	w.key = append(w.key[:0], name...)
	w.cur.Seek(w.key)
	w.next()
}

func (w *refWalker) next() {
	w.rec, w.ok, w.err = w.cur.Next()
	if w.err != nil {
		w.ok = false
	}
}

func (w *refWalker) close() {
	if w.cur != nil {
		w.cur.Close()
	}
}

// logWalker finds the reflog entries of names that mostly increase, as
// those of a bulk deletion do, with a cursor that steps forward from
// where the last search left it (a few steps, else a seek), as refWalker
// finds refs. The answers are those of Merged.LogsFor.
type logWalker struct {
	snap *Snapshot
	cur  *reftable.LogCursor
	rec  reftable.LogRecord // the cursor's current record, if ok
	ok   bool
	key  []byte // the last name searched: rec is the first record of a ref after it
	err  error
}

// indexes appends the update indexes of the reflog entries of name,
// newest first, to dst.
func (w *logWalker) indexes(name string, dst []uint64) ([]uint64, error) {
	if w.err != nil {
		return dst, w.err
	}
	if w.cur == nil || compareStringBytes(name, w.key) <= 0 {
		w.seek(name)
	} else {
		for n := 0; w.ok && compareStringBytes(name, w.rec.RefName) > 0; n++ {
			if n == 16 {
				w.seek(name)
				break
			}
			w.next()
		}
	}
	w.key = append(w.key[:0], name...)
	for w.ok && compareStringBytes(name, w.rec.RefName) == 0 {
		dst = append(dst, w.rec.UpdateIndex)
		w.next()
	}
	return dst, w.err
}

func (w *logWalker) seek(name string) {
	if w.cur == nil {
		w.cur = w.snap.merged.LogCursor()
	}
	w.key = append(w.key[:0], name...)
	w.cur.Seek(w.key)
	w.next()
}

func (w *logWalker) next() {
	w.rec, w.ok, w.err = w.cur.Next()
	if w.err != nil {
		w.ok = false
	}
}

func (w *logWalker) close() {
	if w.cur != nil {
		w.cur.Close()
	}
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
// directory of another (refs/a and refs/a/b). p's changes are sorted by
// name.
//
// A bulk transaction checks each of its names, so the checks move
// forward with the names rather than search afresh: the parents of a
// name are mostly those of the name before (a cache by depth), and the
// refs below name/, in the stack and in the transaction, are found by
// stepping a cursor and an index from where the previous name left them
// (a few steps, else a seek). The answers are those of searching.
func checkDirFile(snap *Snapshot, p *prepared, split int) error {
	changes := p.changes
	// The refs it leaves existing, sorted: positions in changes.
	live := make([]int32, 0, len(changes))
	for i := range changes {
		if c := &changes[i]; c.store() && !c.missing() {
			live = append(live, int32(i))
		}
	}
	// final reports whether the transaction creates or deletes name, and
	// whether name exists after it.
	final := func(name string) (exists, ok bool) {
		i, _ := slices.BinarySearchFunc(changes, name, func(c change, name string) int { return strings.Compare(p.name(&c), name) })
		for ; i < len(changes) && p.name(&changes[i]) == name; i++ {
			if changes[i].store() {
				return !changes[i].missing(), true
			}
		}
		return false, false
	}
	// check checks the changes at positions lo to hi. A bulk
	// transaction's two halves are checked at once, each from its own
	// cursors; the first error in the changes' order is the one
	// returned, as checking them in order would.
	check := func(lo, hi int) error {
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
		for i := lo; i < hi; i++ {
			c := &changes[i]
			if !c.store() || c.missing() || !c.oldMissing() {
				continue
			}
			cname := p.name(c)
			// A parent directory that is a ref.
			k := 0
			for i := strings.IndexByte(cname, '/'); i >= 0; i, k = next(cname, i), k+1 {
				dir := cname[:i]
				if k >= len(parents) || parents[k].name != dir {
					ok, err := exists(dir)
					if err != nil {
						return err
					}
					parents = append(parents[:k], parent{dir, ok})
				}
				if parents[k].exists {
					return fmt.Errorf("ref %s: conflicts with existing ref %s: %w", cname, dir, ErrRefName)
				}
			}
			// A ref below name/ that survives the transaction.
			prefix = append(append(prefix[:0], cname...), '/')
			name, err := below.first(prefix, func(name []byte) bool {
				v, ok := final(string(name))
				return ok && !v
			})
			if err != nil {
				return err
			}
			if name != nil {
				return fmt.Errorf("ref %s: conflicts with existing ref %s: %w", cname, name, ErrRefName)
			}
			// Names starting with prefix sort right after it.
			if lastPrefix == nil || bytes.Compare(prefix, lastPrefix) < 0 {
				j = 0
			}
			j = searchFrom(p, live, j, prefix)
			lastPrefix = append(lastPrefix[:0], prefix...)
			if j < len(live) {
				if l := p.name(&changes[live[j]]); len(l) >= len(prefix) && compareStringBytes(l[:len(prefix)], prefix) == 0 {
					return fmt.Errorf("ref %s: conflicts with ref %s in the same transaction: %w", cname, l, ErrRefName)
				}
			}
		}
		return nil
	}
	if split <= 0 {
		split = dirFileSplit
	}
	if len(changes) < split || runtime.GOMAXPROCS(0) < 2 {
		return check(0, len(changes))
	}
	mid := len(changes) / 2
	later := make(chan error, 1)
	go func() { later <- check(mid, len(changes)) }()
	err := check(0, mid)
	if err2 := <-later; err == nil {
		err = err2
	}
	return err
}

// dirFileSplit is the fewest changes whose directory/file conflicts
// checkDirFile checks in two halves at once, unless told otherwise.
const dirFileSplit = 1 << 15

// searchFrom returns the index of the first of the sorted names (of
// the changes at positions live) at or after from that is not less than
// key (all before from are less): a few steps from there, else a binary
// search of the rest.
func searchFrom(p *prepared, live []int32, from int, key []byte) int {
	for range 8 {
		if from == len(live) || compareStringBytes(p.name(&p.changes[live[from]]), key) >= 0 {
			return from
		}
		from++
	}
	i, _ := slices.BinarySearchFunc(live[from:], key, func(j int32, key []byte) int {
		return compareStringBytes(p.name(&p.changes[j]), key)
	})
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
// entries, and tombstones for the reflogs of deleted refs. It is a pure
// function of the prepared changes (sorted by name), the queue of
// updates and the transaction's settings: it reads nothing of the stack,
// since prepare decided, under the lock, everything that depends on it.
// A commit may call it twice (a fused write that fails, then the table
// alone), and gets the same records.
func (tx *Transaction) write(w recordSink, p *prepared, index uint64) error {
	changes := p.changes
	var name []byte // the name of each ref record in turn
	var r reftable.RefRecord
	var v Ref // the new value of each ref record
	for i := range changes {
		c := &changes[i]
		if !c.store() {
			continue
		}
		v.ID, v.Peeled, v.Target = tx.updates.value(int(c.u))
		name = append(name[:0], p.name(c)...)
		v.fill(&r, name, index)
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
			if m := tx.updates.message(int(c.u)); msg == nil || m != lastMsg {
				// As git: one line, at most half a block.
				b := reflogMessage(m)
				lastMsg, msg = m, b[:min(len(b), blockSize/2)]
			}
			lr = reftable.LogRecord{
				RefName: name, UpdateIndex: l.index, Type: reftable.LogUpdate,
				Old: idOr0(p.oldID(c)), New: idOr0(l.newID),
				Name: who, Email: email, Time: when, TZOffset: tz,
				Message: msg,
			}
		}
		return w.AddLog(&lr)
	}
	// When each change logs its own ref at most, the entries come in the
	// order of their keys, each key once (a deleted reflog's tombstones
	// newest first, as its entries are): they are written as they come,
	// rather than held, sorted and written (a bulk update would hold one
	// for each ref).
	stream := true
	var buf [1]string
	for i := range changes {
		c := &changes[i]
		logFor := p.logFor(c, &buf)
		own := len(logFor) == 1 && logFor[0] == p.name(c)
		if !own || i > 0 && p.name(&changes[i-1]) >= p.name(c) {
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
	for i := range changes {
		c := &changes[i]
		var x *changeExtra
		if c.x != 0 {
			x = &p.extras[c.x-1]
		}
		for k, name := range p.logFor(c, &buf) {
			if c.missing() && name == p.name(c) && c.store() && !c.oldSym() {
				// Deleting a ref deletes its reflog (see decideLogs).
				for _, t := range p.tombsOf(i) {
					if err := add(pendingLog{name: name, index: t, c: -1}); err != nil {
						return err
					}
				}
				continue
			}
			if c.logs&(1<<k) == 0 {
				continue
			}
			newID, _, target := tx.updates.value(int(c.u))
			switch {
			case target == "":
			case c.bits&cToHEAD != 0 && name == "HEAD":
				// As git: the branch HEAD points at made a symbolic
				// ref logs in HEAD's reflog an entry to no id.
			default:
				// As git: a symbolic ref's entry records the id its
				// new target had under the lock; none if it dangles.
				if x == nil || x.target == nil {
					continue
				}
				newID = x.target
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
