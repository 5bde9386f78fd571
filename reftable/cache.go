package reftable

import (
	"bytes"
	"encoding/binary"
	"maps"
	"sync"
	"sync/atomic"
)

// maxCachedIndex is how many bytes of index blocks, with their decoded
// entries (about four times the block), one table keeps in memory.
// Lookups descend through the same few index blocks every time; with
// 4 KiB blocks the index of a table of a million refs takes about a
// third of this, and a table with a larger index caches its upper levels
// and reads the rest.
const maxCachedIndex = 4 << 20

// indexCache holds the index blocks of a table that lookups have read,
// parsed, so that a lookup reads only the block holding its record, and
// the type of the blocks where index levels end (entries without data).
// It is safe for concurrent use: readers load an immutable map, writers
// copy it.
type indexCache struct {
	blocks atomic.Pointer[map[int64]*block]
	mu     sync.Mutex // serializes additions
	bytes  int
	// seen holds the offsets (plus one) of index blocks read once and
	// not cached, by a hash of the offset: a block is cached from its
	// second read on, so that a process looking up one name does not
	// decode, and allocate for, the index blocks on its way.
	seen [16]int64
}

// get returns the cached block at off, or nil.
func (c *indexCache) get(off int64) *block {
	if m := c.blocks.Load(); m != nil {
		return (*m)[off]
	}
	return nil
}

// add caches a copy of index block b, within the size budget.
func (c *indexCache) add(b *block) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.blocks.Load()
	if old != nil {
		if _, ok := (*old)[b.off]; ok {
			return
		}
	}
	if c.bytes+len(b.data)+64 > maxCachedIndex {
		return // full: decoding would be wasted
	}
	if b.data != nil {
		slot := &c.seen[uint64(b.off)*0x9e3779b97f4a7c15>>60]
		if *slot != b.off+1 {
			*slot = b.off + 1
			return
		}
	}
	// The block and its decoded entries share one allocation, so that a
	// seek finds them in neighbouring cache lines.
	c2 := &cachedIndex{b: *b}
	nb := &c2.b
	if b.data != nil && decodeIndex(&c2.e, b) {
		nb.idx = &c2.e
	}
	cost := len(b.data) + 64 + nb.idx.bytes()
	if c.bytes+cost > maxCachedIndex {
		return
	}
	var m map[int64]*block
	if old != nil {
		m = maps.Clone(*old)
	} else {
		m = map[int64]*block{}
	}
	nb.data = clone(b.data)
	m[b.off] = nb
	c.bytes += cost
	c.blocks.Store(&m)
}

// indexEntries is a cached index block decoded: its keys and child
// offsets, so that a seek binary-searches the keys instead of decoding
// records from a restart point. The keys of a block share a long prefix
// (refs/heads/branch-00…), so the search compares the 8 bytes after it,
// held in one small array, and the whole key only on a tie.
type indexEntries struct {
	plen   int      // length of the prefix all keys share
	pfx    [40]byte // the prefix, when at most 40 bytes long
	prefix []byte   // the prefix (pfx[:plen], or in keys)
	head   []uint64 // head[i]: the 8 bytes of key i after prefix, big-endian, zero-padded
	keys   []byte   // the keys, concatenated
	ends   []uint32 // ends[i] is where key i ends in keys
	child  []uint64 // child[i] is the offset of the block key i indexes
	next   []uint32 // next[i] is the offset in the block after record i
}

// decodeIndex decodes the records of index block b into e and reports
// whether they decode: if not, seeks take the checked path and report it.
func decodeIndex(e *indexEntries, b *block) bool {
	var key []byte
	pos := b.headerOff + 4
	for pos < b.restartOff {
		in := b.data[pos:b.restartOff]
		k, _, n, reason := decodeKey(in, key)
		if reason != "" {
			return false
		}
		child, m := readVarint(in[n:])
		if m <= 0 {
			return false
		}
		key = k
		pos += n + m
		e.keys = append(e.keys, key...)
		e.ends = append(e.ends, uint32(len(e.keys)))
		e.child = append(e.child, child)
		e.next = append(e.next, uint32(pos))
	}
	if len(e.child) == 0 {
		return true
	}
	// The prefix of the first and the last key is that of all keys in a
	// sorted block; a corrupt one need not be sorted.
	e.prefix = e.key(0)
	for i := range e.child {
		e.prefix = e.prefix[:commonPrefix(e.prefix, e.key(i))]
	}
	e.head = make([]uint64, len(e.child))
	for i := range e.head {
		e.head[i] = head8(e.key(i)[len(e.prefix):])
	}
	e.plen = len(e.prefix)
	if e.plen <= len(e.pfx) {
		copy(e.pfx[:], e.prefix)
		e.prefix = e.pfx[:e.plen]
	}
	return true
}

// cachedIndex is a cached index block with its decoded entries.
type cachedIndex struct {
	b block
	e indexEntries
}

// head8 returns the first 8 bytes of b as a big-endian number, zero-padded.
func head8(b []byte) uint64 {
	var buf [8]byte
	copy(buf[:], b)
	return binary.BigEndian.Uint64(buf[:])
}

// bytes returns the memory e holds, for the cache budget.
func (e *indexEntries) bytes() int {
	if e == nil {
		return 0
	}
	return cap(e.keys) + 4*cap(e.ends) + 8*cap(e.child) + 4*cap(e.next) + 8*cap(e.head)
}

// key returns key i.
func (e *indexEntries) key(i int) []byte {
	start := uint32(0)
	if i > 0 {
		start = e.ends[i-1]
	}
	return e.keys[start:e.ends[i]]
}

// search returns the index of the first key >= want, or the number of
// keys if there is none.
func (e *indexEntries) search(want []byte) int {
	n := len(e.child)
	if n == 0 {
		return 0
	}
	p := len(e.prefix)
	if len(want) < p {
		if bytes.Compare(want, e.prefix) <= 0 {
			return 0
		}
		return n
	}
	switch bytes.Compare(want[:p], e.prefix) {
	case -1:
		return 0
	case 1:
		return n
	}
	wh := head8(want[p:])
	lo, hi := 0, n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		h := e.head[mid]
		if h < wh || h == wh && bytes.Compare(e.key(mid), want) < 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// maxIndexDepth bounds the index levels refBlockOffset descends.
const maxIndexDepth = 8

// refBlockOffset returns the offset of the ref block that may hold want,
// found through the cached index alone: false when an index block on the
// way is not cached (or want is past the last key of the first block of
// the index's top level: seekLinear then looks further).
func (t *Table) refBlockOffset(want []byte) (int64, bool) {
	_, off, ok := t.section(blockTypeRef)
	if !ok || off == 0 {
		return 0, false
	}
	for range maxIndexDepth {
		c := t.index.get(off)
		if c == nil || c.idx == nil || c.typ != blockTypeIndex {
			return 0, false
		}
		i := c.idx.search(want)
		if i == len(c.idx.child) {
			return 0, false
		}
		child := int64(c.idx.child[i])
		if child >= off {
			return 0, false
		}
		if cc := t.index.get(child); cc == nil || cc.typ != blockTypeIndex {
			return child, true
		}
		off = child
	}
	return 0, false
}
