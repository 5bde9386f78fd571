package reftable

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math/bits"
	"slices"
)

// objIDs collects the object ids named by a table's refs with the ref
// blocks that name each, for the obj section. It keeps one entry per id:
// the id and the last block number naming it (4 bytes), nothing else
// allocated per id.
//
// Entries are partitioned by the first 4 bits of their ids into 16
// buckets as they are added, so that sorting needs scratch space for one
// bucket at a time (a sixteenth of the ids), not an array over all ids:
// each bucket is sorted in place, and ids of different buckets share no
// prefix. More buckets would need less scratch space, but would cost a
// small table more (each bucket's first chunk and header), and adding
// would write to more places at once.
//
// Refs often share ids (branches at one commit): a small direct-mapped
// cache of recent ids finds the entry of an id seen before, which then
// only records the blocks it is named in, 8 bytes for each further block.
// The cache is lossy: an id evicted from it gets a second entry, which
// the obj section merges (all blocks of the first entry come before those
// of the second, since the first is never found again).
type objIDs struct {
	hashSize int
	n        int                    // entries
	buckets  [objBuckets]*objBucket // by the first bits of their ids, nil until the first
	offsets  []uint64               // file offset of each block number
	// recent holds, by hash of a recent id's head, its head's high half
	// (whose first bits name the bucket), then 1 + its entry's index in
	// the bucket.
	recent []uint64
	shift  uint // 64 - log2(len(recent))
}

// objBucket holds the entries of the ids alike in their first 4 bits,
// each an id followed by the last block number naming it (4 bytes, little
// endian), in chunks of objChunk entries. The first chunk starts with
// room for 2 entries and doubles (a commit writes tables of a few refs,
// each in its own bucket); later ones are allocated whole, so that a
// large bucket grows without copying, and the room left unused in the
// last chunks of the buckets stays under 600 KiB.
type objBucket struct {
	chunks [][]byte
	n      uint32    // entries
	more   []objMore // earlier blocks of entries named in several
}

// objBuckets is the number of buckets, objBucketShift what shifts an id's
// first byte to its bucket, and objChunk how many entries one chunk of a
// bucket holds.
const (
	objBuckets     = 16
	objBucketShift = 4
	objChunk       = 1024
)

// objMore records that entry i of a bucket was named in block blk before
// the block its entry holds.
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
	// likely a cache miss, to learn that it differs; it also names the
	// bucket, which exists since an entry was added to it.
	if e := uint32(*slot); e != 0 && uint32(*slot>>32) == uint32(head>>32) {
		b := o.bucket(id[0])
		if r := o.entry(b, e-1); bytes.Equal(r[:o.hashSize], id) {
			last := r[o.hashSize:]
			if prev := binary.LittleEndian.Uint32(last); prev != blk {
				if len(b.more) == cap(b.more) {
					// Doubling: append grows large slices by a
					// quarter, which would allocate five times what
					// they hold.
					b.more = append(make([]objMore, 0, max(2*len(b.more), 8)), b.more...)
				}
				b.more = append(b.more, objMore{i: e - 1, blk: prev})
				binary.LittleEndian.PutUint32(last, blk)
			}
			return
		}
	}
	b := o.bucket(id[0])
	if b == nil {
		b = new(objBucket)
		o.buckets[id[0]>>objBucketShift] = b
	}
	o.push(b, id, blk)
	o.n++
	*slot = head>>32<<32 | uint64(b.n)
}

// bucket returns the bucket of ids starting with byte c, nil if none.
func (o *objIDs) bucket(c byte) *objBucket { return o.buckets[c>>objBucketShift] }

// push appends an entry to bucket b.
func (o *objIDs) push(b *objBucket, id []byte, blk uint32) {
	size := o.hashSize + 4
	c, j := int(b.n/objChunk), int(b.n%objChunk)*size
	switch {
	case c == len(b.chunks):
		n := objChunk
		if c == 0 {
			n = 2
		}
		b.chunks = append(b.chunks, make([]byte, n*size))
	case j == len(b.chunks[c]): // the first chunk, not full size
		grown := make([]byte, 2*j)
		copy(grown, b.chunks[c])
		b.chunks[c] = grown
	}
	e := b.chunks[c][j : j+size]
	copy(e, id)
	binary.LittleEndian.PutUint32(e[o.hashSize:], blk)
	b.n++
}

// entry returns entry i of bucket b: its id, then its block number.
func (o *objIDs) entry(b *objBucket, i uint32) []byte {
	size := o.hashSize + 4
	j := int(i%objChunk) * size
	return b.chunks[i/objChunk][j : j+size]
}

// objEntry is an entry to sort: the first 8 bytes of its id as an integer
// (most ids differ there, and integers compare and move fast) and its
// index in its bucket.
type objEntry struct {
	head uint64
	i    uint32
}

// sort orders the entries of each bucket by id, and entries of one id by
// their order of addition (so that the block offsets of one id do not
// decrease), and returns the length of the longest prefix two different
// ids share. It sorts a scratch array of the bucket's entries, copies the
// entries in that order to a scratch buffer (reading them in any order,
// but independently: moving them in place, cycle by cycle, chains one
// cache miss to the next) and back. A bucket holding much more than its
// share of the ids (ids alike in their first bits) is permuted in place
// instead, so that the buffer stays small. add must not be called
// afterwards.
func (o *objIDs) sort() int {
	o.recent = nil
	limit := uint32(max(o.n/8, 4096)) // the most entries gathered in buf
	var largest, gathered uint32
	for _, b := range o.buckets {
		if b != nil {
			largest = max(largest, b.n)
			if b.n <= limit {
				gathered = max(gathered, b.n)
			}
		}
	}
	size := o.hashSize + 4
	scratch := make([]objEntry, largest)
	var pos []uint32 // each entry's place in the order, for the more entries
	buf := make([]byte, int(gathered)*size)
	common := 0
	for _, b := range o.buckets {
		if b == nil {
			continue
		}
		es := scratch[:b.n]
		for i := range es {
			es[i] = objEntry{head: headOf(o.entry(b, uint32(i))), i: uint32(i)}
		}
		o.sortEntries(b, es, 56)
		for j := 1; j < len(es); j++ {
			if p := o.commonLen(b, es[j-1], es[j]); p < o.hashSize {
				common = max(common, p)
			}
		}
		if len(b.more) > 0 {
			if pos == nil {
				pos = make([]uint32, largest)
			}
			for j, e := range es {
				pos[e.i] = uint32(j)
			}
		}
		if b.n <= limit {
			for j, e := range es {
				copy(buf[j*size:(j+1)*size], o.entry(b, e.i))
			}
			rest := buf[:len(es)*size]
			for _, c := range b.chunks {
				rest = rest[copy(c, rest):]
			}
		} else {
			o.permute(b, es)
		}
		if len(b.more) > 0 {
			// The more entries follow theirs, keeping their order.
			for m := range b.more {
				b.more[m].i = pos[b.more[m].i]
			}
			slices.SortStableFunc(b.more, func(x, y objMore) int { return cmp.Compare(x.i, y.i) })
		}
	}
	return common
}

// permute moves entry es[j].i of bucket b to j, cycle by cycle, and sets
// es[j].i to j.
func (o *objIDs) permute(b *objBucket, es []objEntry) {
	tmp := make([]byte, o.hashSize+4)
	for j := range es {
		if es[j].i == uint32(j) {
			continue
		}
		copy(tmp, o.entry(b, uint32(j)))
		for k := uint32(j); ; {
			src := es[k].i
			es[k].i = k
			if src == uint32(j) {
				copy(o.entry(b, k), tmp)
				break
			}
			copy(o.entry(b, k), o.entry(b, src))
			k = src
		}
	}
}

// each calls f with each id, in increasing order, and the offsets of the
// ref blocks naming it, increasing, until f fails; sort must have been
// called. The id and offsets are valid until f returns. Each bucket is dropped
// once done.
func (o *objIDs) each(f func(id []byte, offsets []uint64) error) error {
	var offsets []uint64
	add := func(blk uint32) {
		if pos := o.offsets[blk]; len(offsets) == 0 || offsets[len(offsets)-1] != pos {
			offsets = append(offsets, pos)
		}
	}
	for k, b := range o.buckets {
		if b == nil {
			continue
		}
		m := 0 // the next of b.more
		for i := uint32(0); i < b.n; {
			id := o.entry(b, i)[:o.hashSize]
			offsets = offsets[:0]
			for ; i < b.n; i++ {
				e := o.entry(b, i)
				if !bytes.Equal(e[:o.hashSize], id) {
					break
				}
				for ; m < len(b.more) && b.more[m].i == i; m++ {
					add(b.more[m].blk)
				}
				add(binary.LittleEndian.Uint32(e[o.hashSize:]))
			}
			if err := f(id, offsets); err != nil {
				return err
			}
		}
		o.buckets[k] = nil
	}
	return nil
}

// sortEntries sorts es, entries of bucket b whose heads agree above bit
// shift+8, by distributing them in place on the byte of their heads at
// shift (256 buckets keep the distribution's reads and writes
// cache-friendly) and sorting each part likewise with the next byte.
func (o *objIDs) sortEntries(b *objBucket, es []objEntry, shift int) {
	if len(es) <= 24 {
		for i := 1; i < len(es); i++ { // insertion sort
			for j := i; j > 0 && o.compare(b, es[j-1], es[j]) > 0; j-- {
				es[j-1], es[j] = es[j], es[j-1]
			}
		}
		return
	}
	if shift < 0 { // equal heads: only the tails and positions differ
		slices.SortFunc(es, func(x, y objEntry) int { return o.compare(b, x, y) })
		return
	}
	var ends, next [256]int
	for i := range es {
		ends[byte(es[i].head>>shift)]++
	}
	for c := 1; c < 256; c++ {
		ends[c] += ends[c-1]
	}
	for c := 1; c < 256; c++ {
		next[c] = ends[c-1]
	}
	for c := range 256 {
		for next[c] < ends[c] {
			e := es[next[c]]
			for k := int(byte(e.head >> shift)); k != c; k = int(byte(e.head >> shift)) {
				e, es[next[k]] = es[next[k]], e
				next[k]++
			}
			es[next[c]] = e
			next[c]++
		}
	}
	start := 0
	for _, end := range ends {
		o.sortEntries(b, es[start:end], shift-8)
		start = end
	}
}

// compare orders entries of bucket b by id, then by position.
func (o *objIDs) compare(b *objBucket, x, y objEntry) int {
	if x.head != y.head {
		return cmp.Compare(x.head, y.head)
	}
	if c := bytes.Compare(o.tail(b, x), o.tail(b, y)); c != 0 {
		return c
	}
	return cmp.Compare(x.i, y.i)
}

// commonLen returns the length of the common prefix of the ids of two
// entries of bucket b.
func (o *objIDs) commonLen(b *objBucket, x, y objEntry) int {
	if d := x.head ^ y.head; d != 0 {
		return bits.LeadingZeros64(d) / 8
	}
	return 8 + commonPrefix(o.tail(b, x), o.tail(b, y))
}

// tail returns the bytes of an entry's id after its head.
func (o *objIDs) tail(b *objBucket, e objEntry) []byte {
	return o.entry(b, e.i)[8:o.hashSize]
}

// Ids are at least 20 bytes long (SHA-1); the integer heads cover the
// first 8.

// headOf returns the first 8 bytes of id as a big-endian integer.
func headOf(id []byte) uint64 { return binary.BigEndian.Uint64(id) }
