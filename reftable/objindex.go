package reftable

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math/bits"
	"slices"
)

// objChunk is how many object ids one chunk of an objIDs holds. Chunks of
// fixed size grow the collection without copying it, so that a writer of
// a large table never holds a doubled array of ids, or much garbage.
const objChunk = 1 << 14

// objIDs collects the object ids named by a table's refs with the ref
// blocks that name each, for the obj section: hashSize bytes and a block
// number (4 bytes) per entry, nothing allocated per id.
//
// Refs often share ids (branches at one commit): a small direct-mapped
// cache of recent ids finds the entry of an id seen before, which then
// only records the blocks it is named in, 8 bytes for each further block.
// The cache is lossy: an id evicted from it gets a second entry, which
// the obj section merges (all blocks of the first entry come before those
// of the second, since the first is never found again).
type objIDs struct {
	hashSize int
	n        int        // entries
	ids      [][]byte   // chunks of objChunk ids, one per entry
	blks     [][]uint32 // the last block number naming each entry, same chunking
	more     []objMore  // earlier blocks of entries named in several
	offsets  []uint64   // file offset of each block number
	recent   []uint64   // by hash of a recent id's head: its head's high half, then 1 + its entry
	shift    uint       // 64 - log2(len(recent))
}

// objMore records that entry i was named in block blk before the block
// its blks value holds.
type objMore struct{ i, blk uint32 }

// The cache of recent ids starts small (a commit writes tables of a few
// refs) and grows with the entries, to objRecent slots; growing it just
// starts it afresh.
const (
	objRecentMin = 1 << 8
	objRecent    = 1 << 12
)

// add records that the ref block at file offset off names id. Offsets
// must not decrease.
func (o *objIDs) add(id []byte, off uint64) {
	if len(o.offsets) == 0 || o.offsets[len(o.offsets)-1] != off {
		o.offsets = append(o.offsets, off)
	}
	blk := uint32(len(o.offsets) - 1)
	if n := len(o.recent); n < objRecent && o.n >= n/2 {
		n = max(objRecentMin, 4*n)
		o.recent, o.shift = make([]uint64, n), uint(64-bits.TrailingZeros(uint(n)))
	}
	head := headOf(id)
	slot := &o.recent[(head*0x9e3779b97f4a7c15)>>o.shift]
	// The tag (the head's high half) spares reading a different id,
	// likely a cache miss, to learn that it differs.
	if e := uint32(*slot); e != 0 && uint32(*slot>>32) == uint32(head>>32) && bytes.Equal(o.id(e-1), id) {
		last := &o.blks[(e-1)/objChunk][(e-1)%objChunk]
		if *last != blk {
			if len(o.more) == cap(o.more) {
				// Doubling: append grows large slices by a quarter,
				// which would allocate five times what they hold.
				o.more = append(make([]objMore, 0, max(2*len(o.more), 64)), o.more...)
			}
			o.more = append(o.more, objMore{i: e - 1, blk: *last})
			*last = blk
		}
		return
	}
	c := o.n / objChunk
	if c == len(o.ids) {
		// The first chunk grows as needed (a small table allocates
		// little); later ones are allocated whole.
		n := objChunk
		if c == 0 {
			n = 16
		}
		o.ids = append(o.ids, make([]byte, 0, n*o.hashSize))
		o.blks = append(o.blks, make([]uint32, 0, n))
	}
	o.ids[c] = append(o.ids[c], id...)
	o.blks[c] = append(o.blks[c], blk)
	o.n++
	*slot = head>>32<<32 | uint64(o.n)
}

// blocks appends to dst the block numbers naming entry e, in order: its
// earlier blocks from more, which must be sorted by entry (stably), then
// its last one.
func (o *objIDs) blocks(dst []uint32, e objEntry) []uint32 {
	k, _ := slices.BinarySearchFunc(o.more, e.i, func(m objMore, i uint32) int { return cmp.Compare(m.i, i) })
	for ; k < len(o.more) && o.more[k].i == e.i; k++ {
		dst = append(dst, o.more[k].blk)
	}
	return append(dst, e.blk)
}

// id returns the i-th id added.
func (o *objIDs) id(i uint32) []byte {
	c, j := int(i/objChunk), int(i%objChunk)*o.hashSize
	return o.ids[c][j : j+o.hashSize]
}

// objEntry is an id to sort: its first 8 bytes as an integer (most ids
// differ there, and integers compare and move fast), its position among
// the ids added and the number of the block naming it.
type objEntry struct {
	head uint64
	i    uint32
	blk  uint32
}

// sorted returns the ids ordered by id, and by position among equal ids
// (so that the block offsets of one id do not decrease), by an in-place
// radix sort (American flag sort). The collection keeps only the ids
// afterwards.
func (o *objIDs) sorted() []objEntry {
	es := make([]objEntry, o.n)
	for i := range es {
		id := o.id(uint32(i))
		es[i] = objEntry{head: headOf(id), i: uint32(i), blk: o.blks[i/objChunk][i%objChunk]}
	}
	o.blks, o.recent = nil, nil
	o.sortEntries(es, 56)
	slices.SortStableFunc(o.more, func(a, b objMore) int { return cmp.Compare(a.i, b.i) })
	return es
}

// sortEntries sorts es, whose heads agree above bit shift+8, by
// distributing them in place on the byte of their heads at shift (256
// buckets keep the distribution's reads and writes cache-friendly) and
// sorting each bucket likewise with the next byte.
func (o *objIDs) sortEntries(es []objEntry, shift int) {
	if len(es) <= 24 {
		for i := 1; i < len(es); i++ { // insertion sort
			for j := i; j > 0 && o.compare(es[j-1], es[j]) > 0; j-- {
				es[j-1], es[j] = es[j], es[j-1]
			}
		}
		return
	}
	if shift < 0 { // equal heads: only the tails and positions differ
		slices.SortFunc(es, o.compare)
		return
	}
	var ends, next [256]int
	for i := range es {
		ends[byte(es[i].head>>shift)]++
	}
	for b := 1; b < 256; b++ {
		ends[b] += ends[b-1]
	}
	for b := 1; b < 256; b++ {
		next[b] = ends[b-1]
	}
	for b := range 256 {
		for next[b] < ends[b] {
			e := es[next[b]]
			for k := int(byte(e.head >> shift)); k != b; k = int(byte(e.head >> shift)) {
				e, es[next[k]] = es[next[k]], e
				next[k]++
			}
			es[next[b]] = e
			next[b]++
		}
	}
	start := 0
	for _, end := range ends {
		o.sortEntries(es[start:end], shift-8)
		start = end
	}
}

// compare orders entries by id, then by position.
func (o *objIDs) compare(a, b objEntry) int {
	if a.head != b.head {
		return cmp.Compare(a.head, b.head)
	}
	if c := bytes.Compare(o.id(a.i)[8:], o.id(b.i)[8:]); c != 0 {
		return c
	}
	return cmp.Compare(a.i, b.i)
}

// same reports whether two entries hold the same id.
func (o *objIDs) same(a, b objEntry) bool {
	return a.head == b.head && bytes.Equal(o.id(a.i)[8:], o.id(b.i)[8:])
}

// commonLen returns the length of the common prefix of two entries' ids.
func (o *objIDs) commonLen(a, b objEntry) int {
	if x := a.head ^ b.head; x != 0 {
		return bits.LeadingZeros64(x) / 8
	}
	return 8 + commonPrefix(o.id(a.i)[8:], o.id(b.i)[8:])
}

// Ids are at least 20 bytes long (SHA-1); the integer heads cover the
// first 8.

// headOf returns the first 8 bytes of id as a big-endian integer.
func headOf(id []byte) uint64 { return binary.BigEndian.Uint64(id) }
