package reftable

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"iter"
	"slices"
)

// Check walks every block of the table and checks what reading it does
// not: the restart table of each block (offsets inside the records, strictly
// increasing, each at the start of a record without prefix compression,
// keys increasing), the layout of the sections the footer names, every
// level of the ref, obj and log indexes (each index record points at the
// next block of the level below and holds that block's last key, and every
// block is indexed exactly once, in order), and the obj section (its keys
// are obj_id_len bytes long and in order, and it maps every object id
// prefix named by a ref, value or peeled, to exactly the ref blocks naming
// it).
//
// Each finding is a *CorruptError naming the table and the byte offset of
// the problem (for a problem inside a log block, the block's offset), or an
// *IOError, after which Check stops. A block that cannot be decoded is
// reported and ends the check: nothing after it can be trusted. Check
// allocates in proportion to the table's size, never to counts or lengths
// stored in it. It is safe to call concurrently with other reads.
func (t *Table) Check() iter.Seq[error] {
	return func(yield func(error) bool) {
		c := &checker{t: t, yield: yield}
		if t.firstType == 0 {
			return
		}
		if !c.walk() {
			return
		}
		for _, typ := range []byte{blockTypeRef, blockTypeObj, blockTypeLog} {
			if !c.checkSection(typ) {
				return
			}
		}
		for i := range c.blocks {
			if b := &c.blocks[i]; !b.covered && !c.report(b.off, "block of type %q belongs to no section of the footer", b.typ) {
				return
			}
		}
		c.checkObjs()
	}
}

// checkedBlock is what Check keeps of one block: where it is and a digest
// of its last key (keys themselves could cost more memory than the table).
type checkedBlock struct {
	off      int64
	typ      byte
	covered  bool // part of a section
	lastLen  int
	lastHash uint64
	recs     int // index blocks: their records are checker.index[recs:recsEnd]
	recsEnd  int
}

// indexRec is one record of an index block.
type indexRec struct {
	child   uint64
	keyLen  int
	keyHash uint64
	at      int64 // file offset of the record
}

// objID is an object id prefix named by a ref of a ref block.
type objID struct {
	key int   // offset of the prefix in checker.keys
	blk int64 // offset of the ref block
	at  int64 // file offset of the ref record
}

// objRec is one record of the obj section.
type objRec struct {
	key      int // offset of the key in checker.keys
	off, end int // its block offsets in checker.offsets
	at       int64
}

// checker holds the state of one Check.
type checker struct {
	t     *Table
	yield func(error) bool
	stop  bool

	blocks  []checkedBlock
	index   []indexRec
	keys    []byte // obj keys and ref id prefixes, objIDLen bytes each
	ids     []objID
	objs    []objRec
	offsets []int64
	prevObj []byte // the previous obj key
}

// report yields one finding at off and reports whether to go on.
func (c *checker) report(off int64, format string, args ...any) bool {
	return c.fail(c.t.corrupt(off, format, args...))
}

func (c *checker) fail(err error) bool {
	if !c.stop && !c.yield(err) {
		c.stop = true
	}
	return !c.stop
}

// keyHash returns the 64-bit FNV-1a hash of key.
func keyHash(key []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, b := range key {
		h ^= uint64(b)
		h *= 1099511628211
	}
	return h
}

// objChecked reports whether the obj section is to be cross-checked.
func (c *checker) objChecked() bool {
	return c.t.objOffset > 0 && c.t.objIDLen > 0 && c.t.objIDLen <= c.t.hash.Size()
}

// walk reads every block from the first to the footer, checks its restart
// table and collects what the section checks need. It returns false when
// the check must stop.
func (c *checker) walk() bool {
	t := c.t
	it := newTableIter(t, 0)
	defer it.release()
	for off := t.first; off < t.dataEnd; {
		ok, err := it.rd.load(&it.blk, off, 0)
		if err == nil && !ok {
			err = t.corrupt(off, "no block")
		}
		if err != nil {
			c.fail(err)
			return false
		}
		b := &it.blk
		cb := checkedBlock{off: off, typ: b.typ, recs: len(c.index)}
		records := 0
		if !c.checkRestarts(b) {
			return false
		}
		restartsOK := c.restartsOrdered(b)
		ri := 0
		it.pos, it.key = b.headerOff+4, it.key[:0]
		for it.pos < b.restartOff {
			pos := it.pos
			at := fileOffset(off, b.typ, pos)
			for restartsOK && ri < b.nRestarts {
				r := int(uint24(b.data[b.restartOff+3*ri:]))
				if r >= pos {
					break
				}
				if !c.report(fileOffset(off, b.typ, b.restartOff+3*ri), "restart offset %d is not at the start of a record", r) {
					return false
				}
				ri++
			}
			if restartsOK && ri < b.nRestarts && int(uint24(b.data[b.restartOff+3*ri:])) == pos {
				ri++
			}
			if !it.decode() {
				c.fail(it.err)
				return false
			}
			records++
			switch b.typ {
			case blockTypeIndex:
				c.index = append(c.index, indexRec{child: it.child, keyLen: len(it.key), keyHash: keyHash(it.key), at: at})
			case blockTypeObj:
				if !c.collectObj(it, at) {
					return false
				}
			case blockTypeRef:
				if c.objChecked() {
					c.collectIDs(&it.ref, off, at)
				}
			}
		}
		for ; restartsOK && ri < b.nRestarts; ri++ {
			r := int(uint24(b.data[b.restartOff+3*ri:]))
			if !c.report(fileOffset(off, b.typ, b.restartOff+3*ri), "restart offset %d is not at the start of a record", r) {
				return false
			}
		}
		if records == 0 && !c.report(off, "block holds no records") {
			return false
		}
		cb.recsEnd = len(c.index)
		cb.lastLen, cb.lastHash = len(it.key), keyHash(it.key)
		c.blocks = append(c.blocks, cb)
		off += b.size
	}
	return true
}

// checkRestarts checks the restart table of b: not empty, offsets inside
// the records and strictly increasing, the first at the first record, each
// record there without prefix compression, the keys there increasing.
func (c *checker) checkRestarts(b *block) bool {
	t := c.t
	first := b.headerOff + 4
	if b.nRestarts == 0 {
		return c.report(fileOffset(b.off, b.typ, b.restartOff), "block has no restart points")
	}
	prev := -1
	var prevKey []byte
	for i := range b.nRestarts {
		at := b.restartOff + 3*i
		r := int(uint24(b.data[at:]))
		var reason string
		switch {
		case r < first || r >= b.restartOff:
			reason = fmt.Sprintf("restart offset %d outside the records, at %d..%d", r, first, b.restartOff-1)
		case r <= prev:
			reason = fmt.Sprintf("restart offset %d not after the previous one, %d", r, prev)
		case i == 0 && r != first:
			reason = fmt.Sprintf("first restart offset %d is not the first record, at %d", r, first)
		}
		if reason != "" {
			if !c.report(fileOffset(b.off, b.typ, at), "%s", reason) {
				return false
			}
			continue
		}
		prev = r
		key, err := b.restartKey(t, i)
		if err != nil {
			// Name the restart entry, not the record it points at.
			var ce *CorruptError
			if errors.As(err, &ce) {
				err = t.corrupt(fileOffset(b.off, b.typ, at), "restart offset %d: %s", r, ce.Reason)
			}
			if !c.fail(err) {
				return false
			}
			continue
		}
		if prevKey != nil && bytes.Compare(key, prevKey) <= 0 {
			if !c.report(fileOffset(b.off, b.typ, at), "key at restart offset %d not after the key at the previous restart", r) {
				return false
			}
		}
		prevKey = key
	}
	return true
}

// restartsOrdered reports whether b's restart offsets are inside the
// records and strictly increasing, so that the walk can check that each
// lies at the start of a record.
func (c *checker) restartsOrdered(b *block) bool {
	prev := -1
	for i := range b.nRestarts {
		r := int(uint24(b.data[b.restartOff+3*i:]))
		if r < b.headerOff+4 || r >= b.restartOff || r <= prev {
			return false
		}
		prev = r
	}
	return true
}

// collectObj checks and keeps the obj record the iterator is at, found at
// file offset at.
func (c *checker) collectObj(it *tableIter, at int64) bool {
	key := it.key
	if c.prevObj != nil && bytes.Compare(key, c.prevObj) <= 0 {
		if !c.report(at, "obj key %x not after %x", key, c.prevObj) {
			return false
		}
	}
	c.prevObj = append(c.prevObj[:0], key...)
	if !c.objChecked() {
		return true
	}
	if len(key) != c.t.objIDLen {
		return c.report(at, "obj key %x of %d bytes, but obj_id_len is %d", key, len(key), c.t.objIDLen)
	}
	for i := 1; i < len(it.offsets); i++ {
		if it.offsets[i] <= it.offsets[i-1] {
			return c.report(at, "obj record %x: block offsets %d and %d not increasing", key, it.offsets[i-1], it.offsets[i])
		}
	}
	r := objRec{key: len(c.keys), off: len(c.offsets), at: at}
	c.keys = append(c.keys, key...)
	for _, o := range it.offsets {
		c.offsets = append(c.offsets, int64(min(o, 1<<62)))
	}
	r.end = len(c.offsets)
	c.objs = append(c.objs, r)
	return true
}

// collectIDs keeps the object id prefixes ref r, at file offset at in the
// ref block at blk, names.
func (c *checker) collectIDs(r *RefRecord, blk, at int64) {
	n := c.t.objIDLen
	for _, id := range [][]byte{r.Value, r.Peeled} {
		if len(id) < n {
			continue
		}
		p := id[:n]
		if k := len(c.ids); k > 0 && c.ids[k-1].blk == blk && bytes.Equal(c.key(c.ids[k-1].key), p) {
			continue
		}
		c.ids = append(c.ids, objID{key: len(c.keys), blk: blk, at: at})
		c.keys = append(c.keys, p...)
	}
}

func (c *checker) key(off int) []byte { return c.keys[off : off+c.t.objIDLen] }

// footerField returns the file offset of the footer field that holds the
// start (index false) or index root (index true) of section typ.
func (c *checker) footerField(typ byte, index bool) int64 {
	base := c.t.dataEnd + int64(c.t.headerSize)
	switch {
	case typ == blockTypeRef:
		return base
	case typ == blockTypeObj && !index:
		return base + 8
	case typ == blockTypeObj:
		return base + 16
	case !index:
		return base + 24
	}
	return base + 32
}

// blockAt returns the position in c.blocks of the block at off, or -1.
func (c *checker) blockAt(off int64, from, to int) int {
	i, ok := slices.BinarySearchFunc(c.blocks[from:to], off, func(b checkedBlock, off int64) int { return cmp.Compare(b.off, off) })
	if !ok {
		return -1
	}
	return from + i
}

// checkSection checks the layout of section typ and its index.
func (c *checker) checkSection(typ byte) bool {
	start, root, ok := c.t.section(typ)
	if !ok {
		return true
	}
	s := c.blockAt(start, 0, len(c.blocks))
	if s < 0 {
		return c.report(c.footerField(typ, false), "section of %q blocks starts at %d, which is no block", typ, start)
	}
	if c.blocks[s].typ != typ {
		return c.report(c.footerField(typ, false), "section of %q blocks starts at %d, a block of type %q", typ, start, c.blocks[s].typ)
	}
	dataEnd := s
	for dataEnd < len(c.blocks) && c.blocks[dataEnd].typ == typ {
		c.blocks[dataEnd].covered = true
		dataEnd++
	}
	end := dataEnd
	for end < len(c.blocks) && c.blocks[end].typ == blockTypeIndex {
		c.blocks[end].covered = true
		end++
	}
	if root == 0 {
		if end > dataEnd {
			return c.report(c.blocks[dataEnd].off, "index block after the %q section, whose footer names no index", typ)
		}
		return true
	}
	r := c.blockAt(root, dataEnd, end)
	if r < 0 {
		return c.report(c.footerField(typ, true), "index of the %q section at %d is no index block after the section", typ, root)
	}
	level, levelEnd := r, end
	for {
		recs := c.index[c.blocks[level].recs:c.blocks[levelEnd-1].recsEnd]
		// The level below ends where this one starts; it is the data
		// blocks or index blocks, as the first record that points at
		// a block below says.
		lo := -1
		for _, rec := range recs {
			if q := c.blockAt(int64(min(rec.child, 1<<62)), s, level); q >= 0 {
				lo = q
				break
			}
		}
		if lo < 0 {
			return c.report(c.blocks[level].off, "index of the %q section points at no block below it", typ)
		}
		leaf := c.blocks[lo].typ == typ
		from, to := lo, level
		if leaf {
			if level > dataEnd && !c.report(c.blocks[dataEnd].off, "index block not reachable from the index of the %q section", typ) {
				return false
			}
			from, to = s, dataEnd
		}
		if !c.matchLevel(recs, from, to, typ) {
			return false
		}
		if leaf {
			return true
		}
		level, levelEnd = lo, level
	}
}

// matchLevel checks that the index records recs of one level point, in
// order, at each of the blocks c.blocks[from:to] of the level below, and
// hold its last key.
func (c *checker) matchLevel(recs []indexRec, from, to int, typ byte) bool {
	below := c.blocks[from:to]
	j := 0
	for _, rec := range recs {
		q := -1
		if rec.child <= 1<<62 {
			if q = c.blockAt(int64(rec.child), from, to); q >= 0 {
				q -= from
			}
		}
		var ok bool
		switch {
		case q < 0:
			ok = c.report(rec.at, "index record of the %q section points at %d, which is no block of the level below", typ, rec.child)
			j++
		case q < j:
			ok = c.report(rec.at, "index record of the %q section points back at block %d, indexed before", typ, rec.child)
		case q > j:
			ok = c.report(rec.at, "index record of the %q section points at block %d, skipping block %d", typ, rec.child, below[j].off)
			j = q + 1
		default:
			b := &below[q]
			if b.lastLen != rec.keyLen || b.lastHash != rec.keyHash {
				ok = c.report(rec.at, "index record of the %q section: key is not the last key of block %d", typ, b.off)
			} else {
				ok = true
			}
			j++
		}
		if !ok {
			return false
		}
	}
	if j < len(below) {
		return c.report(below[j].off, "block not indexed by the index of the %q section", typ)
	}
	return true
}

// checkObjs checks that the obj section maps every object id prefix named
// by a ref to exactly the ref blocks that name it.
func (c *checker) checkObjs() {
	if !c.objChecked() {
		return
	}
	slices.SortStableFunc(c.ids, func(a, b objID) int {
		return cmp.Or(bytes.Compare(c.key(a.key), c.key(b.key)), cmp.Compare(a.blk, b.blk))
	})
	c.ids = slices.CompactFunc(c.ids, func(a, b objID) bool {
		return a.blk == b.blk && bytes.Equal(c.key(a.key), c.key(b.key))
	})
	slices.SortStableFunc(c.objs, func(a, b objRec) int { return bytes.Compare(c.key(a.key), c.key(b.key)) })
	i, k := 0, 0
	for i < len(c.ids) || k < len(c.objs) {
		var d int
		switch {
		case i == len(c.ids):
			d = 1
		case k == len(c.objs):
			d = -1
		default:
			d = bytes.Compare(c.key(c.ids[i].key), c.key(c.objs[k].key))
		}
		switch {
		case d < 0:
			id := c.ids[i]
			if !c.report(id.at, "ref names object %x..., which the obj section does not list", c.key(id.key)) {
				return
			}
			i++
		case d > 0:
			o := c.objs[k]
			if !c.report(o.at, "obj record %x names no object of a ref", c.key(o.key)) {
				return
			}
			k++
		default:
			i2 := i
			for i2 < len(c.ids) && bytes.Equal(c.key(c.ids[i2].key), c.key(c.ids[i].key)) {
				i2++
			}
			if !c.matchObj(c.objs[k], c.ids[i:i2]) {
				return
			}
			i = i2
			for k++; k < len(c.objs) && bytes.Equal(c.key(c.objs[k].key), c.key(c.objs[k-1].key)); k++ {
				if !c.report(c.objs[k].at, "obj record %x repeated", c.key(c.objs[k].key)) {
					return
				}
			}
		}
	}
}

// matchObj checks that obj record o lists exactly the ref blocks of ids,
// which are sorted by block; a record listing no blocks stands for all.
func (c *checker) matchObj(o objRec, ids []objID) bool {
	listed := c.offsets[o.off:o.end]
	if len(listed) == 0 {
		return true
	}
	a, b := 0, 0
	for a < len(listed) || b < len(ids) {
		switch {
		case b == len(ids) || a < len(listed) && listed[a] < ids[b].blk:
			what := "names no object with that prefix"
			if q := c.blockAt(listed[a], 0, len(c.blocks)); q < 0 || c.blocks[q].typ != blockTypeRef {
				what = "is no ref block"
			}
			if !c.report(o.at, "obj record %x lists block %d, which %s", c.key(o.key), listed[a], what) {
				return false
			}
			a++
		case a == len(listed) || ids[b].blk < listed[a]:
			if !c.report(ids[b].at, "ref names object %x... in block %d, which obj record at %d does not list", c.key(ids[b].key), ids[b].blk, o.at) {
				return false
			}
			b++
		default:
			a++
			b++
		}
	}
	return true
}
