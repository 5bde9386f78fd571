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

// mergedIter merges the cursors of several tables. On equal keys the
// newest table (highest position) wins and older entries are skipped.
type mergedIter struct {
	iters  []*tableIter // by table position, oldest first
	heap   []int        // positions of iterators holding a record
	winner int          // iterator whose record was returned last, or -1
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
	mi := &mergedIter{iters: make([]*tableIter, len(m.tables)), winner: -1, show: m.show}
	for i, t := range m.tables {
		mi.iters[i] = newTableIter(t, typ)
	}
	return mi
}

// less orders heap entries by key, then newest table first.
func (mi *mergedIter) less(a, b int) bool {
	c := bytes.Compare(mi.iters[a].key, mi.iters[b].key)
	return c < 0 || c == 0 && a > b
}

func (mi *mergedIter) push(i int) {
	h := append(mi.heap, i)
	for j := len(h) - 1; j > 0; {
		p := (j - 1) / 2
		if !mi.less(h[j], h[p]) {
			break
		}
		h[j], h[p] = h[p], h[j]
		j = p
	}
	mi.heap = h
}

// down restores the heap order below position j after the key of the
// iterator there grew.
func (mi *mergedIter) down(j int) {
	h := mi.heap
	n := len(h)
	for {
		l := 2*j + 1
		if l >= n {
			return
		}
		c := l
		if r := l + 1; r < n && mi.less(h[r], h[l]) {
			c = r
		}
		if !mi.less(h[c], h[j]) {
			return
		}
		h[j], h[c] = h[c], h[j]
		j = c
	}
}

// step advances the iterator at heap position j to its next record and
// restores the heap order, removing it when it is exhausted.
func (mi *mergedIter) step(j int) bool {
	it := mi.iters[mi.heap[j]]
	if it.next() {
		mi.down(j)
		return true
	}
	if it.err != nil {
		if mi.err == nil {
			mi.err = it.err
		}
		return false
	}
	n := len(mi.heap) - 1
	mi.heap[j] = mi.heap[n]
	mi.heap = mi.heap[:n]
	if j < n {
		// The moved entry can belong below or above j.
		mi.down(j)
		for j > 0 && mi.less(mi.heap[j], mi.heap[(j-1)/2]) {
			p := (j - 1) / 2
			mi.heap[j], mi.heap[p] = mi.heap[p], mi.heap[j]
			j = p
		}
	}
	return true
}

// advance moves iterator i to its next record and pushes it if it has one.
func (mi *mergedIter) advance(i int) bool {
	it := mi.iters[i]
	if it.next() {
		mi.push(i)
		return true
	}
	if it.err != nil && mi.err == nil {
		mi.err = it.err
	}
	return it.err == nil
}

// seek positions every table at the first key >= want.
func (mi *mergedIter) seek(want []byte) {
	mi.heap, mi.winner, mi.err = mi.heap[:0], -1, nil
	for i, it := range mi.iters {
		it.seek(want)
		if !mi.advance(i) {
			return
		}
	}
}

// next returns the iterator holding the next visible record, or nil. The
// iterator whose record was returned last stays at the top of the heap
// until the next call advances it in place.
func (mi *mergedIter) next() *tableIter {
	for mi.err == nil {
		if mi.winner >= 0 {
			mi.winner = -1
			if !mi.step(0) {
				return nil
			}
		}
		if len(mi.heap) == 0 {
			return nil
		}
		it := mi.iters[mi.heap[0]]
		// Older records of the same key are the smallest of the rest,
		// so they sit right below the top.
		for {
			c := 1
			if r := 2; r < len(mi.heap) && mi.less(mi.heap[r], mi.heap[c]) {
				c = r
			}
			if c >= len(mi.heap) || !bytes.Equal(mi.iters[mi.heap[c]].key, it.key) {
				break
			}
			if !mi.step(c) {
				return nil
			}
		}
		mi.winner = mi.heap[0]
		if mi.show || it.extra != 0 {
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
func (m *Merged) LookupRef(name []byte, dst *RefRecord) (bool, error) {
	var touched byte
	var offs [maxPrefetch]int64 // ref block of each table, newest first
	known := 0
	if len(m.tables) > 1 {
		touched, known = m.prefetchRefBlocks(name, &offs)
	}
	for i := len(m.tables) - 1; i >= 0; i-- {
		it := newTableIter(m.tables[i], blockTypeRef)
		it.sink = touched // keeps the prefetching loads
		if k := len(m.tables) - 1 - i; k < known {
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
	}
	return false, nil
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
// block that may hold want through their cached indexes (offs[k] for the
// k-th newest table, -1 when an index block on the way is not cached)
// and returns how many it looked at. It then touches the blocks of the
// tables held in memory in three rounds (block header, restart table,
// records at the restart points) across all tables at once. A lookup in
// a large table spends its time waiting for those cache lines one after
// the other; fetched together, the waits of all tables overlap and the
// lookups that follow find them in the cache. Touching is only a hint:
// it reads nothing outside the tables and changes no state.
func (m *Merged) prefetchRefBlocks(want []byte, offs *[maxPrefetch]int64) (byte, int) {
	var blocks [maxPrefetch][]byte
	n, known := 0, 0
	for i := len(m.tables) - 1; i >= 0 && known < maxPrefetch; i-- {
		t := m.tables[i]
		off, ok := t.refBlockOffset(want)
		if !ok {
			off = -1
		}
		offs[known] = off
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
	return x, known
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
