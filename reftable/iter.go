package reftable

import (
	"bytes"
	"sync"
)

// tableIter is the internal pull cursor over one section of one table. It
// decodes records in place: the current record aliases the iterator's
// buffers and is valid until the next call to next or seek. It is not safe
// for concurrent use.
type tableIter struct {
	t   *Table
	typ byte // block type of the section being iterated

	rd, alt blockReader // alt holds the next block while peeking
	blk     block
	pos     int // offset in blk.data of the next record
	pending bool
	done    bool
	err     error

	key     []byte
	extra   byte
	ref     RefRecord
	log     LogRecord
	child   uint64   // index record: offset of the indexed block
	offsets []uint64 // obj record: ref block offsets
	peekKey []byte
	sink    byte // keeps the loads of touchRestarts and touchRange
}

// iters pools table iterators with their buffers, so that lookups and
// short iterations allocate nothing.
var iters = sync.Pool{New: func() any { return new(tableIter) }}

// newTableIter returns an iterator over the section of type typ of t.
// Call release when done with it and with the records it returned.
func newTableIter(t *Table, typ byte) *tableIter {
	it := iters.Get().(*tableIter)
	*it = tableIter{
		t: t, typ: typ,
		rd:      blockReader{t: t, buf: it.rd.buf, inf: it.rd.inf},
		alt:     blockReader{t: t, buf: it.alt.buf, inf: it.alt.inf},
		key:     it.key[:0],
		offsets: it.offsets[:0],
		peekKey: it.peekKey[:0],
	}
	return it
}

func (it *tableIter) fail(err error) bool {
	it.err = err
	it.done = true
	return false
}

// release returns the iterator to the pool; neither it nor the records
// it returned may be used after.
func (it *tableIter) release() {
	it.rd.release()
	it.alt.release()
	it.t, it.rd.t, it.alt.t = nil, nil, nil
	it.blk = block{}
	it.ref, it.log = RefRecord{}, LogRecord{}
	iters.Put(it)
}

// start positions the iterator at the first record of the section of type
// typ at off.
func (it *tableIter) start(off int64) {
	it.pending, it.done, it.err = false, false, nil
	ok, err := it.rd.load(&it.blk, off, it.typ)
	if err == nil && !ok {
		// The footer (or the first block) says a section starts here.
		err = it.t.corrupt(off, "no block of type %q where its section starts", it.typ)
	}
	if err != nil {
		it.fail(err)
		return
	}
	it.pos = it.blk.headerOff + 4
	it.key = it.key[:0]
}

// next advances to the next record of the section and reports whether
// there is one.
func (it *tableIter) next() bool {
	if it.pending {
		it.pending = false
		return true
	}
	for !it.done {
		if it.pos < it.blk.restartOff {
			return it.decode()
		}
		ok, err := it.rd.load(&it.blk, it.blk.off+it.blk.size, it.typ)
		if err != nil || !ok {
			return it.fail(err)
		}
		it.pos = it.blk.headerOff + 4
		it.key = it.key[:0]
	}
	return false
}

// decode decodes the record at it.pos and advances past it.
func (it *tableIter) decode() bool {
	vpos, ok := it.decodeKey()
	return ok && it.decodeValue(vpos)
}

// decodeKey decodes the key of the record at it.pos into it.key and
// it.extra and returns where its value starts.
func (it *tableIter) decodeKey() (int, bool) {
	b := &it.blk
	key, extra, n, reason := decodeKey(b.data[it.pos:b.restartOff], it.key)
	if reason != "" {
		return 0, it.fail(it.t.corrupt(fileOffset(b.off, b.typ, it.pos), "%s", reason))
	}
	it.key, it.extra = key, extra
	return it.pos + n, true
}

// decodeValue decodes the value at vpos of the record whose key
// decodeKey decoded and advances past it.
func (it *tableIter) decodeValue(vpos int) bool {
	b := &it.blk
	in := b.data[vpos:b.restartOff]
	var m int
	var reason string
	switch b.typ {
	case blockTypeRef:
		m, reason = decodeRef(&it.ref, it.key, it.extra, in, it.t.minIndex, it.t.hash.Size())
	case blockTypeLog:
		m, reason = decodeLog(&it.log, it.key, it.extra, in, it.t.hash.Size())
	case blockTypeIndex:
		var v uint64
		if v, m = readVarint(in); m <= 0 {
			reason = "bad index record"
		}
		it.child = v
	case blockTypeObj:
		it.offsets, m, reason = decodeObj(it.offsets, it.extra, in)
	}
	if reason != "" {
		return it.fail(it.t.corrupt(fileOffset(b.off, b.typ, it.pos), "%s", reason))
	}
	it.pos = vpos + m
	return true
}

// skipValue advances past the value at vpos of the record whose key
// decodeKey decoded, without decoding it where its type allows.
func (it *tableIter) skipValue(vpos int) bool {
	b := &it.blk
	if b.typ == blockTypeRef {
		if m := refValueLen(it.extra, b.data[vpos:b.restartOff], it.t.hash.Size()); m > 0 {
			it.pos = vpos + m
			return true
		}
	}
	return it.decodeValue(vpos) // reports the problem, or decodes other types
}

// seekInBlock positions the iterator in the current block so that next
// returns the first record with key >= want; if the block has none, next
// continues with the following block.
//
// Keys are compared only where needed: with m the length of the prefix
// the previous key (smaller than want) shares with want, a record that
// shares more than m bytes with the previous key is smaller than want
// too; one that shares p <= m bytes is compared from byte p on.
func (it *tableIter) seekInBlock(want []byte) bool {
	if e := it.blk.idx; e != nil {
		it.pending = false
		i := e.search(want)
		if i == len(e.child) {
			it.pos = it.blk.restartOff
			return true
		}
		it.key = append(it.key[:0], e.key(i)...)
		it.extra, it.child, it.pos, it.pending = 0, e.child[i], int(e.next[i]), true
		return true
	}
	it.touchRestarts()
	pos, err := it.blk.seekRestart(it.t, want)
	if err != nil {
		return it.fail(err)
	}
	it.touchRange(pos)
	it.pos, it.key, it.pending = pos, it.key[:0], false
	m := -1 // no previous key yet
	for it.pos < it.blk.restartOff {
		p, n := readVarint(it.blk.data[it.pos:it.blk.restartOff])
		vpos, ok := it.decodeKey()
		if !ok {
			return false
		}
		start := 0
		if m >= 0 && n > 0 {
			if p > uint64(m) {
				if !it.skipValue(vpos) {
					return false
				}
				continue
			}
			start = int(p)
		}
		c := commonPrefix(it.key[start:], want[start:])
		if start+c == len(want) || start+c < len(it.key) && it.key[start+c] > want[start+c] {
			it.pending = true // key >= want
			return it.decodeValue(vpos)
		}
		m = start + c
		if !it.skipValue(vpos) {
			return false
		}
	}
	return true
}

// touchRestarts reads a byte of the record at every restart point of the
// block before the binary search visits a few of them: the loads do not
// depend on each other, so the processor fetches their cache lines at the
// same time instead of one miss after the other. In a large table the
// block is rarely in the cache.
func (it *tableIter) touchRestarts() {
	it.sink ^= touchRestartRecords(it.blk.data, it.blk.restartOff)
}

// touchRestartRecords reads the first byte of the record at every restart
// point of the block data[:len(data)], whose restart table starts at
// restartOff, and returns them combined (so the loads are kept).
func touchRestartRecords(data []byte, restartOff int) byte {
	var x byte
	for at := restartOff; at+3 <= len(data)-2; at += 3 {
		if off := int(uint24(data[at:])); off < len(data) {
			x ^= data[off]
		}
	}
	return x
}

// touchRange reads a byte of every cache line of the kilobyte from pos
// (at most up to the restart table), which a seek scans, for the same
// reason.
func (it *tableIter) touchRange(pos int) {
	b := &it.blk
	end := min(pos+16*64, b.restartOff)
	var x byte
	for i := pos; i < end; i += 64 {
		x ^= b.data[i]
	}
	it.sink ^= x
}

// firstKey returns the first key of block b, decoded into it.peekKey.
func (it *tableIter) firstKey(b *block) ([]byte, error) {
	key, _, _, reason := decodeKey(b.data[b.headerOff+4:b.restartOff], it.peekKey[:0])
	if reason != "" {
		return nil, it.t.corrupt(b.off+int64(b.headerOff+4), "first key: %s", reason)
	}
	it.peekKey = key
	return key, nil
}

// seekLinear walks the blocks of the section starting at off to the last
// one whose first key is <= want, and seeks in it.
func (it *tableIter) seekLinear(off int64, want []byte) {
	it.start(off)
	for !it.done {
		var nb block
		ok, err := it.alt.load(&nb, it.blk.off+it.blk.size, it.typ)
		if err != nil {
			it.fail(err)
			return
		}
		if !ok || nb.restartOff <= nb.headerOff+4 {
			break
		}
		k, err := it.firstKey(&nb)
		if err != nil {
			it.fail(err)
			return
		}
		if bytes.Compare(k, want) > 0 {
			break
		}
		it.rd, it.alt = it.alt, it.rd
		it.blk = nb
	}
	if !it.done {
		it.seekInBlock(want)
	}
}

// seekRef is seek in the ref section for a lookup: once the index blocks
// on the way are cached, it loads the ref block they name directly.
func (it *tableIter) seekRef(want []byte) {
	off, ok := it.t.refBlockOffset(want)
	if !ok {
		off = -1
	}
	it.seekRefAt(want, off)
}

// seekRefAt is seekRef with the ref block's offset found already (-1:
// not found through the cache).
func (it *tableIter) seekRefAt(want []byte, off int64) {
	if off >= 0 {
		it.pending, it.done, it.err = false, false, nil
		if ok, err := it.rd.load(&it.blk, off, blockTypeRef); ok && err == nil {
			it.seekInBlock(want)
			return
		}
	}
	it.seek(want) // the checked way, which also reports what is wrong
}

// seek positions the iterator so that next returns the first record of the
// section with key >= want, using the section's index when it has one.
func (it *tableIter) seek(want []byte) {
	start, index, ok := it.t.section(it.typ)
	if !ok {
		it.done, it.pending, it.err = true, false, nil
		return
	}
	if index == 0 {
		it.seekLinear(start, want)
		return
	}
	typ := it.typ
	it.typ = blockTypeIndex
	it.seekLinear(index, want)
	if !it.next() {
		it.typ = typ
		return
	}
	for parent := it.blk.off; ; parent = it.blk.off {
		child := int64(it.child)
		if child >= parent {
			it.typ = typ
			it.fail(it.t.corrupt(parent, "index points forward to %d", child))
			return
		}
		ok, err := it.rd.load(&it.blk, child, 0)
		if err == nil && !ok {
			err = it.t.corrupt(parent, "index points to missing block at %d", child)
		}
		if err != nil {
			it.typ = typ
			it.fail(err)
			return
		}
		switch it.blk.typ {
		case blockTypeIndex:
			if !it.seekInBlock(want) {
				it.typ = typ
				return
			}
			if !it.pending {
				it.typ = typ
				it.fail(it.t.corrupt(it.blk.off, "index block has no key for %q", want))
				return
			}
			it.pending = false
		case typ:
			it.typ = typ
			it.seekInBlock(want)
			return
		default:
			it.typ = typ
			it.fail(it.t.corrupt(child, "index points to block of type %q", it.blk.typ))
			return
		}
	}
}
