package stack

import "strings"

// How a transaction holds its updates and, once prepared, its changes.
//
// A bulk update queues a million updates and prepares as many changes, so
// both are held compactly: a queued update of the common form (a name,
// an object id or none, an expected old id or absence, a shared message)
// is 24 bytes, its name copied into chunks of names and its ids into one
// array of ids, where a whole Update is 120 bytes with a slice header
// for each id; any other update is kept whole beside them. A change is
// 16 bytes, naming its update by its position in the queue, its old id
// by its position in an array of ids, and what only some changes need
// (another name, when symbolic refs were followed; the reflogs of those
// refs; the entries of a deleted reflog; a symbolic ref's new target's
// id) in a changeExtra, of which most changes have none. Neither holds a
// pointer: the collector does not scan them.
//
// A transaction copies what it queues, strings too (the caller's may
// be views of memory it reuses, as update's input lines are).

// chunkLen is the number of entries or ids in every chunk of a queue or
// an id array but the first, which grows by appending up to it: a small
// transaction allocates little, a large one copies nothing.
const chunkLen = 1024

// A chunked holds values in chunks of chunkLen, so that appending copies
// none of them once there are more than chunkLen and a value is found by
// its position.
type chunked[T any] struct {
	chunks [][]T
	n      int
	src    chunkSource[T]
}

// add appends v and returns its position.
func (c *chunked[T]) add(v T) int {
	if c.n == len(c.chunks)*chunkLen {
		n := chunkLen
		if len(c.chunks) == 0 {
			n = 8
		}
		c.chunks = append(c.chunks, c.src.next(n))
	}
	last := &c.chunks[len(c.chunks)-1]
	*last = append(*last, v)
	c.n++
	return c.n - 1
}

// at returns the value at position i.
func (c *chunked[T]) at(i int) *T { return &c.chunks[i/chunkLen][i%chunkLen] }

// grow makes room in the list of chunks for n more values.
func (c *chunked[T]) grow(n int) {
	if need := (c.n+n)/chunkLen + 1; need > cap(c.chunks) {
		chunks := make([][]T, len(c.chunks), need)
		copy(chunks, c.chunks)
		c.chunks = chunks
	}
}

// An idArray holds object ids of one size, copied, each found by its
// position. Its zero value takes ids of size once set.
type idArray struct {
	size   int
	chunks [][]byte
	n      int
	src    chunkSource[byte]
}

// add copies id, of the array's size, and returns its position.
func (a *idArray) add(id []byte) uint32 {
	if a.n == len(a.chunks)*chunkLen {
		n := chunkLen
		if len(a.chunks) == 0 {
			n = 8
		}
		a.chunks = append(a.chunks, a.src.next(n*a.size))
	}
	last := &a.chunks[len(a.chunks)-1]
	*last = append(*last, id...)
	a.n++
	return uint32(a.n - 1)
}

// at returns the id at position i; it is not to be modified.
func (a *idArray) at(i uint32) []byte {
	c, j := int(i)/chunkLen, int(i)%chunkLen*a.size
	return a.chunks[c][j : j+a.size : j+a.size]
}

// A nameArena holds copies of strings in chunks shared by many. Its zero
// value is empty.
type nameArena struct {
	chunks []*strings.Builder // a Builder never changes what it wrote
	size   int                // bytes held
}

// add copies s and returns where it is: its chunk and its offset there.
func (a *nameArena) add(s string) (uint32, uint32) {
	n := len(a.chunks)
	if n == 0 || a.chunks[n-1].Cap()-a.chunks[n-1].Len() < len(s) {
		b := new(strings.Builder)
		b.Grow(max(len(s), min(64<<10, max(256, a.size))))
		a.chunks = append(a.chunks, b)
		n++
	}
	b := a.chunks[n-1]
	off := b.Len()
	b.WriteString(s)
	a.size += len(s)
	return uint32(n - 1), uint32(off)
}

// at returns the string of length n at offset off of chunk c.
func (a *nameArena) at(c, off, n uint32) string {
	return a.chunks[c].String()[off : off+n]
}

// queued is an update as a transaction's queue holds it.
type queued struct {
	// The name: its chunk, offset and length in the queue's names.
	chunk, off, nameLen uint32
	// ref is, for a whole update (qWhole), its position in the queue's
	// whole updates; else the position of its first id in the queue's
	// ids: the new id, if any, then the old one, if any.
	ref  uint32
	msg  uint32 // the position of its message in the queue's messages
	bits uint8
}

// The bits of a queued update.
const (
	qWhole  uint8 = 1 << iota // the update is kept whole
	qID                       // the new value is an id (else missing)
	qOld                      // Old is set
	qOldID                    // Old is an id (else missing)
	qDeref                    // Deref
	qVerify                   // Verify
)

// updateQueue holds a transaction's updates, in order (see above).
type updateQueue struct {
	entries chunked[queued]
	names   nameArena
	whole   []Update
	ids     idArray
	msgs    []string // the messages, each once where they repeat
	n       int
}

// add queues a copy of *u; hashSize is the size of the stack's ids.
func (q *updateQueue) add(u *Update, hashSize int) {
	q.n++
	var e queued
	old := u.Old
	plain := u.Target == "" && u.Peeled == nil && u.UpdateIndex == 0 && !u.LogOnly &&
		(u.ID == nil || len(u.ID) == hashSize) &&
		(old == nil || old.Name == "" && old.Target == "" && old.Peeled == nil && old.UpdateIndex == 0 &&
			(old.ID == nil || len(old.ID) == hashSize))
	if !plain {
		e.bits, e.ref = qWhole, uint32(len(q.whole))
		q.whole = append(q.whole, u.Clone())
		q.entries.add(e)
		return
	}
	e.chunk, e.off = q.names.add(u.Name)
	e.nameLen = uint32(len(u.Name))
	if len(q.msgs) == 0 || q.msgs[len(q.msgs)-1] != u.Message {
		q.msgs = append(q.msgs, strings.Clone(u.Message))
	}
	e.msg = uint32(len(q.msgs) - 1)
	q.ids.size = hashSize
	e.ref = uint32(q.ids.n)
	if u.ID != nil {
		e.bits |= qID
		q.ids.add(u.ID)
	}
	if old != nil {
		e.bits |= qOld
		if old.ID != nil {
			e.bits |= qOldID
			q.ids.add(old.ID)
		}
	}
	if u.Deref {
		e.bits |= qDeref
	}
	if u.Verify {
		e.bits |= qVerify
	}
	q.entries.add(e)
}

// grow makes room for n more updates.
func (q *updateQueue) grow(n int) { q.entries.grow(n) }

// get sets *u to the update at position i; its Old, if set, is old or
// points to memory of the update's. The ids are the queue's, not to be
// modified.
func (q *updateQueue) get(i int, u *Update, old *Ref) {
	e := q.entries.at(i)
	if e.bits&qWhole != 0 {
		*u = q.whole[e.ref]
		return
	}
	*u = Update{Ref: Ref{Name: q.names.at(e.chunk, e.off, e.nameLen)}, Message: q.msgs[e.msg], Deref: e.bits&qDeref != 0, Verify: e.bits&qVerify != 0}
	k := e.ref
	if e.bits&qID != 0 {
		u.ID = q.ids.at(k)
		k++
	}
	if e.bits&qOld != 0 {
		*old = Ref{}
		if e.bits&qOldID != 0 {
			old.ID = q.ids.at(k)
		}
		u.Old = old
	}
}

// value returns the new value of the update at position i: what write
// needs of it, without making the whole Update.
func (q *updateQueue) value(i int) (id, peeled []byte, target string) {
	e := q.entries.at(i)
	if e.bits&qWhole != 0 {
		u := &q.whole[e.ref]
		return u.ID, u.Peeled, u.Target
	}
	if e.bits&qID != 0 {
		id = q.ids.at(e.ref)
	}
	return id, nil, ""
}

// wholeAt returns the update at position i if the queue keeps it whole,
// else nil: then it has the form add keeps compactly, its ids of the
// stack's size and no target, and its name is name(i).
func (q *updateQueue) wholeAt(i int) *Update {
	if e := q.entries.at(i); e.bits&qWhole != 0 {
		return &q.whole[e.ref]
	}
	return nil
}

// name returns the name of the update at position i.
func (q *updateQueue) name(i int) string {
	e := q.entries.at(i)
	if e.bits&qWhole != 0 {
		return q.whole[e.ref].Name
	}
	return q.names.at(e.chunk, e.off, e.nameLen)
}

// message returns the message of the update at position i.
func (q *updateQueue) message(i int) string {
	e := q.entries.at(i)
	if e.bits&qWhole != 0 {
		return q.whole[e.ref].Message
	}
	return q.msgs[e.msg]
}

// A change is an update resolved under the lock, as prepare leaves it
// for write (see above). Its name is its update's (prepared.name).
type change struct {
	u uint32 // the position of its update in the queue
	// old is 1 + the position in prepared.olds of the id the ref had,
	// for a symbolic ref its target's; 0 for none.
	old uint32
	// x is 1 + the position of its changeExtra in prepared.extras; 0
	// when it has none: it logs its own ref alone.
	x    uint32
	bits uint8
	// logs has bit k set when the reflog of the change's k-th ref to log
	// (see prepared.logFor) gets an entry for it: the policy logs the
	// ref, and a symbolic ref's new target, when the entry records its
	// id, exists.
	logs uint8
}

// The bits of a change.
const (
	cOldSym  uint8 = 1 << iota // the ref was a symbolic ref
	cStore                     // the ref is written: not for a LogOnly update or one that changes nothing
	cToHEAD                    // it logs to HEAD, last, which points at the ref
	cMissing                   // the new value is missing: a deletion
	cRenamed                   // its name is not its update's: changeExtra.name
)

func (c *change) store() bool   { return c.bits&cStore != 0 }
func (c *change) oldSym() bool  { return c.bits&cOldSym != 0 }
func (c *change) missing() bool { return c.bits&cMissing != 0 }

// oldMissing reports whether the ref did not exist.
func (c *change) oldMissing() bool { return c.old == 0 && !c.oldSym() }

// changeExtra is what some changes need besides a change.
type changeExtra struct {
	name   string   // the ref changed, when symbolic refs were followed to it
	logFor []string // refs whose reflog records the change, when not just its own
	target []byte   // the id of a symbolic ref's new target, if its entries record it
}

// prepared is a transaction resolved under the lock: all that write
// needs besides the queue of updates and the transaction's settings.
type prepared struct {
	q       *updateQueue // the transaction's, for the changes' names
	changes []change
	extras  []changeExtra
	olds    idArray
	// The update indexes of the reflog entries deletions delete, the
	// changes' one after another, newest first: those of the i-th
	// change from tombAt[i] to tombAt[i+1]. tombAt is nil without any.
	tombs  []uint64
	tombAt []uint32
}

// tombsOf returns the update indexes of the reflog entries the i-th
// change deletes.
func (p *prepared) tombsOf(i int) []uint64 {
	if p.tombAt == nil {
		return nil
	}
	return p.tombs[p.tombAt[i]:p.tombAt[i+1]]
}

// name returns the name of the ref c changes.
func (p *prepared) name(c *change) string {
	if c.bits&cRenamed != 0 {
		return p.extras[c.x-1].name
	}
	return p.q.name(int(c.u))
}

// byName orders changes by ref name.
func (p *prepared) byName(a, b change) int { return strings.Compare(p.name(&a), p.name(&b)) }

// logFor returns the refs whose reflogs record c (buf holds c's name
// when that is all).
func (p *prepared) logFor(c *change, buf *[1]string) []string {
	if c.x != 0 && p.extras[c.x-1].logFor != nil {
		return p.extras[c.x-1].logFor
	}
	buf[0] = p.name(c)
	return buf[:]
}

// extra returns c's changeExtra, making one if it has none.
func (p *prepared) extra(c *change) *changeExtra {
	if c.x == 0 {
		p.extras = append(p.extras, changeExtra{})
		c.x = uint32(len(p.extras))
	}
	return &p.extras[c.x-1]
}

// oldID returns the id c's ref had (for a symbolic ref its target's), or
// nil.
func (p *prepared) oldID(c *change) []byte {
	if c.old == 0 {
		return nil
	}
	return p.olds.at(c.old - 1)
}
