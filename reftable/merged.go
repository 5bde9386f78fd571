package reftable

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"iter"
	"slices"
)

// MergedOptions configures a Merged view.
type MergedOptions struct {
	// ShowDeletions makes iterators and lookups return deletion records
	// (tombstones) instead of hiding the names they delete.
	ShowDeletions bool
}

// Merged is a read-only view over a stack of tables, oldest first: for
// every key the newest table that has it wins, and deletions hide older
// values. A Merged is safe for concurrent use; each iterator is not.
type Merged struct {
	tables []*Table
	hash   Hash
	show   bool
}

// NewMerged returns the merged view of tables, ordered oldest first. All
// tables must use the same hash function.
func NewMerged(tables []*Table, opts MergedOptions) (*Merged, error) {
	m := &Merged{tables: slices.Clone(tables), hash: SHA1, show: opts.ShowDeletions}
	for i, t := range tables {
		if i == 0 {
			m.hash = t.hash
		} else if t.hash != m.hash {
			return nil, fmt.Errorf("reftable: table %s uses %v, table %s uses %v: %w",
				tables[0].name, m.hash, t.name, t.hash, ErrHashMismatch)
		}
	}
	return m, nil
}

// Tables returns the tables of the view, oldest first.
func (m *Merged) Tables() []*Table { return slices.Clone(m.tables) }

// Hash returns the hash function of the tables (SHA1 for an empty view).
func (m *Merged) Hash() Hash { return m.hash }

// MinUpdateIndex returns the lowest minimum update index of the tables.
func (m *Merged) MinUpdateIndex() uint64 {
	var v uint64
	for i, t := range m.tables {
		if i == 0 || t.minIndex < v {
			v = t.minIndex
		}
	}
	return v
}

// MaxUpdateIndex returns the highest maximum update index of the tables.
func (m *Merged) MaxUpdateIndex() uint64 {
	var v uint64
	for _, t := range m.tables {
		v = max(v, t.maxIndex)
	}
	return v
}

// mergedIter merges the cursors of several tables with a tournament
// tree of losers: advancing the winner replays only the matches on its
// path to the root, ceil(log2 k) key comparisons for k tables whatever
// the shape of the keys. On equal keys the newest table (highest
// position) wins, and older records of the key it returned are skipped.
type mergedIter struct {
	iters  []*tableIter // by table position, oldest first
	done   []bool       // iterators without a record
	tree   []int        // tree[0] the winner; tree[1:] the loser of each match
	win    []int        // while seeking: the winner below each node
	winner int          // iterator whose record was returned last, or -1
	last   []byte       // key of the record returned last
	show   bool
	err    error
}

// close releases the pooled state of the iterators.
func (mi *mergedIter) close() {
	for _, it := range mi.iters {
		it.release()
	}
}

func (m *Merged) newIter(typ byte) *mergedIter {
	k := len(m.tables)
	mi := &mergedIter{iters: make([]*tableIter, k), done: make([]bool, k), tree: make([]int, max(k, 1)), win: make([]int, 2*k), winner: -1, show: m.show}
	for i, t := range m.tables {
		mi.iters[i] = newTableIter(t, typ)
	}
	return mi
}

// beats reports whether the record of iterator a comes before that of b:
// a smaller key, or the same key from a newer table. An iterator without
// a record beats none.
func (mi *mergedIter) beats(a, b int) bool {
	if mi.done[a] {
		return false
	}
	if mi.done[b] {
		return true
	}
	c := bytes.Compare(mi.iters[a].key, mi.iters[b].key)
	return c < 0 || c == 0 && a > b
}

// replay moves iterator i, whose record changed, up its path of matches:
// the leaf of iterator i is node k+i, the parent of node n is n/2.
func (mi *mergedIter) replay(i int) {
	cur := i
	for n := (len(mi.iters) + i) >> 1; n > 0; n >>= 1 {
		if l := mi.tree[n]; mi.beats(l, cur) {
			mi.tree[n], cur = cur, l
		}
	}
	mi.tree[0] = cur
}

// advance moves iterator i to its next record, marking it done at the
// end of its section or on an error, which it records.
func (mi *mergedIter) advance(i int) {
	it := mi.iters[i]
	if it.next() {
		return
	}
	mi.done[i] = true
	if it.err != nil && mi.err == nil {
		mi.err = it.err
	}
}

// seek positions every table at the first key >= want and plays the
// whole tournament.
func (mi *mergedIter) seek(want []byte) {
	mi.winner, mi.err = -1, nil
	for i, it := range mi.iters {
		mi.done[i] = false
		it.seek(want)
		mi.advance(i)
	}
	k := len(mi.iters)
	if k == 0 || mi.err != nil {
		return
	}
	// win[n] is the winner of the subtree under node n; leaves are k..2k-1.
	win := mi.win
	for i := range k {
		win[k+i] = i
	}
	for n := k - 1; n > 0; n-- {
		a, b := win[2*n], win[2*n+1]
		if mi.beats(b, a) {
			a, b = b, a
		}
		win[n], mi.tree[n] = a, b
	}
	mi.tree[0] = win[1]
}

// next returns the iterator holding the next visible record, or nil. The
// iterator whose record was returned last keeps it until the next call
// advances it and skips the older records of its key.
func (mi *mergedIter) next() *tableIter {
	for mi.err == nil && len(mi.iters) > 0 {
		if w := mi.winner; w >= 0 {
			mi.winner = -1
			mi.last = append(mi.last[:0], mi.iters[w].key...)
			mi.advance(w)
			mi.replay(w)
			for o := mi.tree[0]; mi.err == nil && !mi.done[o] && bytes.Equal(mi.iters[o].key, mi.last); o = mi.tree[0] {
				mi.advance(o)
				mi.replay(o)
			}
			if mi.err != nil {
				return nil
			}
		}
		w := mi.tree[0]
		if mi.done[w] {
			return nil
		}
		mi.winner = w
		if it := mi.iters[w]; mi.show || it.extra != 0 {
			return it
		}
	}
	return nil
}

// Refs returns the refs whose names start with prefix (all refs for an
// empty prefix), in name order. Each record is valid until the next
// iteration step.
func (m *Merged) Refs(prefix []byte) iter.Seq2[RefRecord, error] {
	return func(yield func(RefRecord, error) bool) {
		mi := m.newIter(blockTypeRef)
		defer mi.close()
		mi.seek(prefix)
		for it := mi.next(); it != nil; it = mi.next() {
			if !bytes.HasPrefix(it.ref.Name, prefix) {
				return
			}
			if !yield(it.ref, nil) {
				return
			}
		}
		if mi.err != nil {
			yield(RefRecord{}, mi.err)
		}
	}
}

// Ref returns the ref named name, or an error matching ErrNotFound. The
// record is a copy owned by the caller.
func (m *Merged) Ref(name []byte) (RefRecord, error) {
	var r RefRecord
	found, err := m.LookupRef(name, &r)
	if err == nil && !found {
		err = notFound(name)
	}
	if err != nil {
		return RefRecord{}, err
	}
	return r, nil
}

// LookupRef looks up the ref named name and copies it into dst, reusing
// the memory of dst's slices: a caller that passes the same dst to every
// lookup allocates nothing. Fields the record does not hold are set to
// empty slices. It reports whether the ref exists (a deletion counts only
// when the view shows deletions); dst is unchanged when it does not.
//
// It searches the tables newest first and skips those whose filter of
// ref names rules the name out. A table gets its filter in the lookup
// that searches it in vain a number of times proportional to its size
// (its ref section's bytes over 640): that lookup decodes the table's
// refs, about 1.4 ns a byte, up to about 45 ms for the largest tables
// that get one; concurrent lookups do not wait for it.
func (m *Merged) LookupRef(name []byte, dst *RefRecord) (bool, error) {
	var touched byte
	var offs [maxPrefetch]int64 // ref block of each table, newest first
	var skip uint32             // bit k: the k-th newest table lacks name
	known := 0
	nh := nameHash{name: name}
	if len(m.tables) > 1 {
		touched, known, skip = m.prefetchRefBlocks(&nh, &offs)
	}
	for i := len(m.tables) - 1; i >= 0; i-- {
		t := m.tables[i]
		k := len(m.tables) - 1 - i
		if k < known && skip&(1<<k) != 0 || k >= known && nh.excludes(t) {
			continue
		}
		it := newTableIter(t, blockTypeRef)
		it.sink = touched // keeps the prefetching loads
		if k < known {
			it.seekRefAt(name, offs[k])
		} else {
			it.seekRef(name)
		}
		found := it.next() && bytes.Equal(it.key, name)
		err := it.err
		visible := found && (m.show || it.ref.Type != RefDeletion)
		if visible {
			it.ref.copyTo(dst)
		}
		it.release()
		if err != nil || visible {
			return visible, err
		}
		if found {
			break // deleted
		}
		if t.filt.counting() {
			t.noteMiss()
		}
	}
	return false, nil
}

// nameHash is a name to look up and its hash for filters, computed when
// the first filter needs it.
type nameHash struct {
	name   []byte
	h      uint64
	hashed bool
}

// excludes reports whether the filter of t shows that t lacks the name.
func (nh *nameHash) excludes(t *Table) bool {
	f := t.filter()
	if f == nil {
		return false
	}
	if !nh.hashed {
		nh.h, nh.hashed = hashName(nh.name), true
	}
	return !f.mayContain(nh.h)
}

// Logs returns the log records of refs whose names start with prefix, by
// ref name and newest first within a ref. Each record is valid until the
// next iteration step.
func (m *Merged) Logs(prefix []byte) iter.Seq2[LogRecord, error] {
	return m.logs(prefix, false)
}

// LogsFor returns the reflog of the ref named name, newest first.
func (m *Merged) LogsFor(name []byte) iter.Seq2[LogRecord, error] {
	return m.logs(append(name[:len(name):len(name)], 0), true)
}

func (m *Merged) logs(prefix []byte, exact bool) iter.Seq2[LogRecord, error] {
	return func(yield func(LogRecord, error) bool) {
		mi := m.newIter(blockTypeLog)
		defer mi.close()
		mi.seek(prefix)
		for it := mi.next(); it != nil; it = mi.next() {
			if !logKeyIn(it.key, prefix, exact) || !yield(it.log, nil) {
				return
			}
		}
		if mi.err != nil {
			yield(LogRecord{}, mi.err)
		}
	}
}

// logKeyIn reports whether the log key key is in the range that logs
// iterates for prefix: the keys that start with it, and with exact only
// those of the ref it names (prefix is then the name and a NUL).
func logKeyIn(key, prefix []byte, exact bool) bool {
	return bytes.HasPrefix(key, prefix) && (!exact || len(key) == len(prefix)+logKeySuffix-1)
}

// RefsFor returns the refs whose value or peeled value is the object id
// id, in name order. It uses the tables' object indexes where they have
// one.
func (m *Merged) RefsFor(id []byte) iter.Seq2[RefRecord, error] {
	return func(yield func(RefRecord, error) bool) {
		var names [][]byte
		for _, t := range m.tables {
			for r, err := range t.refsFor(id) {
				if err != nil {
					yield(RefRecord{}, err)
					return
				}
				names = append(names, clone(r.Name))
			}
		}
		slices.SortFunc(names, bytes.Compare)
		names = slices.CompactFunc(names, bytes.Equal)
		for _, name := range names {
			r, err := m.Ref(name)
			if err != nil {
				if isNotFound(err) {
					continue
				}
				yield(RefRecord{}, err)
				return
			}
			if pointsAt(&r, id) && !yield(r, nil) {
				return
			}
		}
	}
}

func pointsAt(r *RefRecord, id []byte) bool {
	switch r.Type {
	case RefVal1:
		return bytes.Equal(r.Value, id)
	case RefVal2:
		return bytes.Equal(r.Value, id) || bytes.Equal(r.Peeled, id)
	}
	return false
}

// maxPrefetch bounds how many tables a merged lookup prefetches.
const maxPrefetch = 32

// prefetchRefBlocks finds, in the newest maxPrefetch tables, the ref
// block that may hold the name through their cached indexes (offs[k] for
// the k-th newest table, -1 when an index block on the way is not cached)
// and returns how many it looked at, and as bit k of skip the tables
// whose filters show they lack the name (which it neither searches nor
// touches). It then touches the blocks of the tables held in memory in
// three rounds (block header, restart table, records at the restart
// points) across all tables at once. A lookup in a large table spends
// its time waiting for those cache lines one after the other; fetched
// together, the waits of all tables overlap and the lookups that follow
// find them in the cache. Touching is only a hint: it reads nothing
// outside the tables and changes no state.
func (m *Merged) prefetchRefBlocks(nh *nameHash, offs *[maxPrefetch]int64) (touched byte, known int, skip uint32) {
	var blocks [maxPrefetch][]byte
	n := 0
	for i := len(m.tables) - 1; i >= 0 && known < maxPrefetch; i-- {
		t := m.tables[i]
		offs[known] = -1
		if nh.excludes(t) {
			skip |= 1 << known
			known++
			continue
		}
		off, ok := t.refBlockOffset(nh.name)
		if ok {
			offs[known] = off
		}
		known++
		// The first block starts with the file header.
		if t.mem != nil && off > 0 && off+6 <= int64(len(t.mem)) {
			blocks[n] = t.mem[off:]
			n++
		}
	}
	var x byte
	for _, b := range blocks[:n] {
		x ^= b[0]
	}
	for i, b := range blocks[:n] {
		blen := int(uint24(b[1:]))
		if blen < 6 || blen > len(b) {
			blocks[i] = nil
			continue
		}
		blocks[i] = b[:blen]
		x ^= b[blen-2]
	}
	for _, b := range blocks[:n] {
		if b == nil {
			continue
		}
		nr := int(binary.BigEndian.Uint16(b[len(b)-2:]))
		if restarts := len(b) - 2 - 3*nr; restarts >= 4 {
			x ^= touchRestartRecords(b, restarts)
		}
	}
	return x, known, skip
}

// RefCursor steps through the refs of a merged view from positions Seek
// chooses, reusing its state: many short scans (a seek and a few steps
// each, as a check for refs below a name does) allocate nothing after
// the first. It is not safe for concurrent use; Close releases it.
type RefCursor struct {
	mi *mergedIter
}

// RefCursor returns a cursor over the refs of m, positioned at the first.
func (m *Merged) RefCursor() *RefCursor {
	c := &RefCursor{mi: m.newIter(blockTypeRef)}
	c.mi.seek(nil)
	return c
}

// Seek positions the cursor at the first ref whose name is >= name.
func (c *RefCursor) Seek(name []byte) { c.mi.seek(name) }

// Next returns the next ref, or false at the end. The record is valid
// until the next call.
func (c *RefCursor) Next() (RefRecord, bool, error) {
	it := c.mi.next()
	if it == nil {
		return RefRecord{}, false, c.mi.err
	}
	return it.ref, true, nil
}

// Close releases the cursor's pooled state.
func (c *RefCursor) Close() { c.mi.close() }

// LogCursor steps through the log records of a merged view, by ref name
// and newest first within a ref, from positions Seek chooses, reusing
// its state, as RefCursor does for refs. It is not safe for concurrent
// use; Close releases it.
type LogCursor struct {
	mi  *mergedIter
	key []byte
}

// LogCursor returns a cursor over the log records of m, positioned at
// the first.
func (m *Merged) LogCursor() *LogCursor {
	c := &LogCursor{mi: m.newIter(blockTypeLog)}
	c.mi.seek(nil)
	return c
}

// Seek positions the cursor at the newest log record of the ref named
// name, or, if it has none, at the first record of the refs after it.
func (c *LogCursor) Seek(name []byte) {
	c.key = append(append(c.key[:0], name...), 0)
	c.mi.seek(c.key)
}

// Next returns the next log record, or false at the end. The record is
// valid until the next call.
func (c *LogCursor) Next() (LogRecord, bool, error) {
	it := c.mi.next()
	if it == nil {
		return LogRecord{}, false, c.mi.err
	}
	return it.log, true, nil
}

// Close releases the cursor's pooled state.
func (c *LogCursor) Close() { c.mi.close() }
