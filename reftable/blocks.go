package reftable

import (
	"iter"
)

// BlockInfo describes one block of a table, as found by walking the file.
type BlockInfo struct {
	Offset   int64 // file offset of the block (0 for the first block; see Layout.FirstBlock)
	Type     byte  // 'r', 'o', 'i' or 'g'
	Len      int   // block_len: bytes up to the restart count, inflated for logs
	Size     int64 // bytes on disk, padding included
	Restarts int   // restart points
	Records  int   // records in the block
}

// Blocks walks every block of the table from the first to the footer and
// describes each, decoding every record on the way.
func (t *Table) Blocks() iter.Seq2[BlockInfo, error] {
	return func(yield func(BlockInfo, error) bool) {
		if t.firstType == 0 {
			return // a table without records is a header and a footer
		}
		it := newTableIter(t, 0)
		defer it.release()
		for off := t.first; off < t.dataEnd; {
			ok, err := it.rd.load(&it.blk, off, 0)
			if err == nil && !ok {
				err = t.corrupt(off, "no block")
			}
			if err != nil {
				yield(BlockInfo{}, err)
				return
			}
			b := &it.blk
			info := BlockInfo{Offset: off, Type: b.typ, Len: len(b.data), Size: b.size, Restarts: b.nRestarts}
			it.pos, it.key, it.done = b.headerOff+4, it.key[:0], false
			for it.pos < b.restartOff {
				if !it.decode() {
					yield(BlockInfo{}, it.err)
					return
				}
				info.Records++
			}
			if !yield(info, nil) {
				return
			}
			off += b.size
		}
	}
}

// Limits returns the update index range the writer records in the table
// header.
func (w *Writer) Limits() (min, max uint64) {
	return w.opts.MinUpdateIndex, w.opts.MaxUpdateIndex
}
