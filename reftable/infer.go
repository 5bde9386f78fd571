package reftable

// WriterOptions returns write options under which a Writer given the
// table's records, in order, lays them out as the table lays them out,
// inferred from the header and from walking every block:
//
//   - Hash, MinUpdateIndex and MaxUpdateIndex: the header's.
//   - BlockSize: the header's. A table declaring 0 (unaligned) gets the
//     length of its longest block (inflated, for log blocks): every block
//     fits it, and a block the writer filled could not take the next
//     record at that size either, so the blocks come out the same.
//   - Unpadded: when the header declares 0, or when a block (other than
//     a log block) is followed at once by another such block though it
//     is shorter than the block size, or when a section of 2 or 3 blocks
//     has an index (padded, git writes one from 4 blocks on); padded when
//     the blocks show nothing of the kind. UnalignedHeader: when the
//     header declares 0.
//   - SkipIndexObjects: when the table has a ref index but no obj
//     section (git writes an obj section only after a ref index).
//   - RestartInterval: see restartStats.interval.
//
// The walk decodes every record; errors are as from Blocks.
func (t *Table) WriterOptions() (WriterOptions, error) {
	o := WriterOptions{Hash: t.hash, MinUpdateIndex: t.minIndex, MaxUpdateIndex: t.maxIndex, BlockSize: t.blockSize}
	if t.blockSize == 0 {
		o.Unpadded, o.UnalignedHeader = true, true
	}
	o.SkipIndexObjects = t.refIndex > 0 && t.objOffset == 0
	if t.firstType == 0 {
		o.RestartInterval = DefaultRestartInterval
		return o, nil
	}
	var rs restartStats
	var padded, unpadded bool
	var prevTyp byte
	var prevLen, prevSize int64
	longest := 0
	blocks := map[byte]int{}
	it := newTableIter(t, 0)
	defer it.release()
	for off := t.first; off < t.dataEnd; {
		ok, err := it.rd.load(&it.blk, off, 0)
		if err == nil && !ok {
			err = t.corrupt(off, "no block")
		}
		if err != nil {
			return o, err
		}
		b := &it.blk
		longest = max(longest, len(b.data))
		blocks[b.typ]++
		if prevTyp != 0 && prevTyp != blockTypeLog && b.typ != blockTypeLog && prevLen < int64(t.blockSize) {
			if prevSize > prevLen {
				padded = true
			} else {
				unpadded = true
			}
		}
		if err := rs.add(it); err != nil {
			return o, err
		}
		prevTyp, prevLen, prevSize = b.typ, int64(len(b.data)), b.size
		off += b.size
	}
	for typ, index := range map[byte]int64{blockTypeRef: t.refIndex, blockTypeObj: t.objIndex, blockTypeLog: t.logIndex} {
		if n := blocks[typ]; n == 2 || n == 3 {
			if index > 0 {
				unpadded = true
			} else {
				padded = true
			}
		}
	}
	if t.blockSize == 0 {
		o.BlockSize = longest
	} else {
		o.Unpadded = unpadded && !padded
	}
	o.RestartInterval = rs.interval()
	return o, nil
}

// restartStats collects where the blocks of a table have restart points,
// counted in records from the start of their block.
//
// git's writer (and ours) makes a restart point of every record whose
// position in its block is a multiple of the restart interval, and of
// every record whose key shares no byte with the previous key, which
// it could not prefix-compress anyway. A restart point whose key shares
// a prefix with the previous key is thus at a multiple of the interval.
type restartStats struct {
	gcd    int    // of the positions of restart points sharing a prefix
	maxGap int    // most records from one restart point to the next
	plain  []bool // positions of records that are no restart point, in some block
}

// add walks the records of the block it has loaded.
func (s *restartStats) add(it *tableIter) error {
	b := &it.blk
	it.pos, it.key, it.done = b.headerOff+4, it.key[:0], false
	ri, last := 0, 0
	for i := 0; it.pos < b.restartOff; i++ {
		restart := false
		for ri < b.nRestarts && int(uint24(b.data[b.restartOff+3*ri:])) < it.pos {
			ri++ // not at a record: Check reports it
		}
		if ri < b.nRestarts && int(uint24(b.data[b.restartOff+3*ri:])) == it.pos {
			restart = true
			if i > 0 {
				key, err := b.restartKey(it.t, ri)
				if err != nil {
					return err
				}
				if commonPrefix(key, it.key) > 0 {
					s.gcd = gcd(s.gcd, i)
				}
				s.maxGap = max(s.maxGap, i-last)
			}
			last = i
			ri++
		}
		if !restart {
			for len(s.plain) <= i {
				s.plain = append(s.plain, false)
			}
			s.plain[i] = true
		}
		if !it.decode() {
			return it.err
		}
	}
	return nil
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// fits reports whether interval k puts a restart point nowhere the table
// has a record without one.
func (s *restartStats) fits(k int) bool {
	for m := k; m < len(s.plain); m += k {
		if s.plain[m] {
			return false
		}
	}
	return true
}

// interval returns the restart interval that places restart points where
// the table has them:
//
//   - the greatest common divisor of the positions of the restart points
//     whose keys share a prefix with the previous key, when it puts a
//     restart point nowhere the table has none (as for every table git's
//     writer or ours wrote);
//   - when no restart point shares a prefix with the previous key (blocks
//     of a record or a few each: the interval does not show), git's
//     default, 16, or the least interval above it that puts a restart
//     point nowhere the table has none;
//   - else (a writer placing restart points otherwise, as JGit does) the
//     most records from one restart point to the next within a block.
//
// The result is at most 65535.
func (s *restartStats) interval() int {
	switch {
	case s.gcd > 0 && s.fits(s.gcd):
		return min(s.gcd, 65535)
	case s.gcd == 0:
		k := DefaultRestartInterval
		for k < 65535 && !s.fits(k) {
			k++
		}
		return k
	case s.maxGap > 0:
		return min(s.maxGap, 65535)
	}
	return DefaultRestartInterval
}
