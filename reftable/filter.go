package reftable

import (
	"slices"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
)

// A merged lookup searches the tables newest first and stops at the first
// that has the name; every table before it is a miss that costs an index
// search and a ref block read from memory. A table that has served enough
// such misses gets an in-memory membership filter of its ref names, so
// that later lookups skip it when it certainly lacks the name.
//
// The reftable format has no filter, so it is built by decoding every
// record of the ref section, about 35 ns a ref (1.4 ns a byte of the
// section). That is worth it only for a table that is searched often: a
// process that makes one lookup must not pay it. The rule is that of ski
// rental: a table counts the merged lookups that searched it in vain,
// and builds its filter once they have cost about what the build costs
// (see filterAfter); each later miss costs a filter probe instead. That
// way a table spends at most about twice what the best choice made
// knowing the future would. Lookups that find the name in the table are
// not counted: a filter saves nothing on them (the oldest table of a
// stack usually holds most names and needs no filter).
//
// The lookup whose miss crosses the threshold builds the filter itself,
// while concurrent lookups go on without it. To bound that lookup's stall
// (and the transient 8 bytes a ref the build holds), a table whose ref
// section exceeds maxFilterSection (32 MiB, about a million refs, built
// in about 45 ms) never gets a filter; nor does a table without refs.
//
// A filter holds filterBitsPerKey bits a ref (1.25 bytes), for about 1%
// false positives. It must never miss a name a lookup could find: the
// build decodes every record, checks that every restart point is the
// start of a record without prefix, and that every index record points
// at a block it decoded; if anything fails (a truncated or hostile
// table, or a read error), the table gets no filter and lookups search
// it as before, reporting what is wrong.

const (
	// filterBitsPerKey is the size of a filter a ref.
	filterBitsPerKey = 10
	// filterProbes is how many bits of its 512-bit block a name sets.
	filterProbes = 6
	// filterMissBytes is the bytes of ref section whose decoding costs
	// what one vain search costs. See filterAfter.
	filterMissBytes = 640
	// filterMinMisses is the fewest misses after which a table builds
	// its filter, however small.
	filterMinMisses = 16
	// maxFilterSection is the largest ref section that gets a filter.
	maxFilterSection = 32 << 20
)

// States of a table's filter.
const (
	filterCounting int32 = iota // counting misses
	filterBuilding              // one lookup is building the filter
	filterDone                  // built, or not to be built
)

// tableFilter is the filter state of a Table. It is safe for concurrent
// use.
type tableFilter struct {
	f      atomic.Pointer[refFilter] // nil until built
	state  atomic.Int32
	misses atomic.Int64
	after  int64 // misses that trigger the build; 0: never
}

// filterAfter returns how many vain merged lookups make a table whose ref
// section has the given bytes build its filter, or 0 for never.
//
// A vain search of a large table costs about 0.9 µs (an index search and
// a ref block read from memory, rarely cached); the build decodes a byte
// of the ref section in about 1.4 ns (BenchmarkFilterBuild, 35 ns a ref
// of 26 bytes). The build thus costs what bytes/640 misses cost. Misses
// in small tables are cheaper (their blocks stay cached), so those build
// early, but their builds take microseconds; filterMinMisses keeps a
// process that makes a few lookups from building any.
func filterAfter(bytes int64) int64 {
	if bytes <= 0 || bytes > maxFilterSection {
		return 0
	}
	return max(bytes/filterMissBytes, filterMinMisses)
}

// refSectionBytes returns the size of the ref section (an estimate for a
// damaged table), or 0 when the table has no refs.
func (t *Table) refSectionBytes() int64 {
	if t.firstType != blockTypeRef {
		return 0
	}
	end := t.dataEnd
	for _, off := range []int64{t.refIndex, t.objOffset, t.logOffset} {
		if off > 0 {
			end = min(end, off)
		}
	}
	return end
}

// filter returns the table's filter, or nil.
func (t *Table) filter() *refFilter { return t.filt.f.Load() }

// counting reports whether the table counts misses.
func (fs *tableFilter) counting() bool {
	return fs.after != 0 && fs.state.Load() == filterCounting
}

// noteMiss records that a merged lookup searched t in vain, and builds the
// filter when that was the miss that pays for it.
func (t *Table) noteMiss() {
	if t.filt.misses.Add(1) >= t.filt.after {
		t.buildFilter()
	}
}

// buildFilter builds the filter of t now, once: it does nothing when the
// filter is built or being built.
func (t *Table) buildFilter() {
	fs := &t.filt
	if !fs.state.CompareAndSwap(filterCounting, filterBuilding) {
		return
	}
	if f := t.scanFilter(); f != nil {
		fs.f.Store(f)
	}
	fs.state.Store(filterDone)
}

// refFilter is a blocked Bloom filter of the ref names of one table: a
// name hashes to one 64-byte block (one cache line) and sets
// filterProbes bits in it. It is immutable once built.
type refFilter struct {
	blocks [][8]uint64
}

// hashName returns the hash of a ref name that filters use.
func hashName(name []byte) uint64 { return xxhash.Sum64(name) }

func newRefFilter(hashes []uint64) *refFilter {
	n := (len(hashes)*filterBitsPerKey + 511) / 512
	f := &refFilter{blocks: make([][8]uint64, max(n, 1))}
	for _, h := range hashes {
		b := f.block(h)
		x := uint32(h)
		for range filterProbes {
			x *= 0x9e3779b9
			bit := x >> 23
			b[bit>>6] |= 1 << (bit & 63)
		}
	}
	return f
}

// block returns the block of hash h: the high 32 bits pick it.
func (f *refFilter) block(h uint64) *[8]uint64 {
	return &f.blocks[(h>>32*uint64(len(f.blocks)))>>32]
}

// mayContain reports whether the name with hash h may be in the table;
// false means it certainly is not.
func (f *refFilter) mayContain(h uint64) bool {
	b := f.block(h)
	x := uint32(h)
	for range filterProbes {
		x *= 0x9e3779b9
		bit := x >> 23
		if b[bit>>6]&(1<<(bit&63)) == 0 {
			return false
		}
	}
	return true
}

// bytes returns the memory the filter holds.
func (f *refFilter) bytes() int { return 64 * len(f.blocks) }

// scanFilter builds the filter of t's ref names, or returns nil when any
// ref block or index block does not decode cleanly or an index points
// elsewhere than at the start of a block the scan decoded: lookups could
// then find names the scan did not see, and must search t unfiltered.
func (t *Table) scanFilter() *refFilter {
	if t.firstType != blockTypeRef {
		return nil
	}
	// Refs rarely take less than 24 bytes (a 20-byte id and a short
	// suffix): growing from there is rare.
	hashes := make([]uint64, 0, t.refSectionBytes()/24+1)
	var refBlocks []int64
	end, ok := t.walkBlocks(0, blockTypeRef, &refBlocks, func(it *tableIter) bool {
		hashes = append(hashes, hashName(it.key))
		return true
	})
	if !ok {
		return nil
	}
	if t.refIndex != 0 {
		// The index follows the ref blocks; each record points back
		// at a ref block or at an index block before its own.
		var idxBlocks []int64
		_, ok = t.walkBlocks(end, blockTypeIndex, &idxBlocks, func(it *tableIter) bool {
			c := int64(it.child)
			if c >= it.blk.off {
				return false
			}
			_, in := slices.BinarySearch(refBlocks, c)
			if !in {
				_, in = slices.BinarySearch(idxBlocks, c)
			}
			return in
		})
		if _, in := slices.BinarySearch(idxBlocks, t.refIndex); !ok || !in {
			return nil
		}
	}
	return newRefFilter(hashes)
}

// walkBlocks decodes every record of the consecutive blocks of type typ
// from off, calling fn after each, appends the offset of each block to
// *blocks before decoding it, and returns where the blocks end. It
// reports false if a block or record does not decode, a restart point is
// not the start of a record without prefix, or fn returns false.
func (t *Table) walkBlocks(off int64, typ byte, blocks *[]int64, fn func(*tableIter) bool) (int64, bool) {
	it := newTableIter(t, typ)
	defer it.release()
	it.start(off)
	for it.err == nil {
		b := &it.blk
		*blocks = append(*blocks, b.off)
		r := 0 // the next restart point to meet
		for it.pos < b.restartOff {
			if r < b.nRestarts && int(uint24(b.data[b.restartOff+3*r:])) == it.pos {
				if b.data[it.pos] != 0 {
					return 0, false
				}
				r++
			}
			vpos, ok := it.decodeKey()
			if typ == blockTypeRef {
				ok = ok && it.skipValue(vpos) // checks what decoding does
			} else {
				ok = ok && it.decodeValue(vpos)
			}
			if !ok || !fn(it) {
				return 0, false
			}
		}
		if r != b.nRestarts {
			return 0, false
		}
		next := b.off + b.size
		ok, err := it.rd.load(&it.blk, next, typ)
		if err != nil {
			return 0, false
		}
		if !ok {
			return next, true
		}
		it.pos, it.key = it.blk.headerOff+4, it.key[:0]
	}
	return 0, false
}
