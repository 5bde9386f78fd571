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
// block that names each, for the obj section: hashSize bytes and a block
// number (4 bytes) per id, nothing allocated per id.
type objIDs struct {
	hashSize int
	n        int
	ids      [][]byte   // chunks of objChunk ids
	blks     [][]uint32 // block number of each id, same chunking
	offsets  []uint64   // file offset of each block number
}

// add records that the ref block at file offset off names id. Offsets
// must not decrease.
func (o *objIDs) add(id []byte, off uint64) {
	if len(o.offsets) == 0 || o.offsets[len(o.offsets)-1] != off {
		o.offsets = append(o.offsets, off)
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
	o.blks[c] = append(o.blks[c], uint32(len(o.offsets)-1))
	o.n++
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
	o.blks = nil
	o.sortEntries(es, 56)
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
