package reftable

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"sync"

	"github.com/refstore/refstore/reftable/internal/zlib"
)

// block is one parsed block. For the first block of a table, data starts at
// file offset 0 and includes the file header, so that offsets stored in
// the block index data directly. For log blocks data is inflated. The
// data of a cached index block is shared and must not be modified.
type block struct {
	off        int64 // file offset of the block
	typ        byte
	data       []byte // block bytes up to block_len
	headerOff  int    // offset of the block header in data
	restartOff int    // offset of the restart table in data
	nRestarts  int
	size       int64         // bytes the block occupies on disk, padding included
	idx        *indexEntries // decoded records of a cached index block
}

// blockReader loads blocks of one table; it owns the buffers and the zlib
// state so that iterating allocates nothing per block. It is not safe for
// concurrent use.
type blockReader struct {
	t   *Table
	buf []byte // raw bytes read from the table
	inf []byte // inflated log block
	zd  *zlib.Decompressor
}

func isBlockType(typ byte) bool {
	switch typ {
	case blockTypeRef, blockTypeObj, blockTypeIndex, blockTypeLog:
		return true
	}
	return false
}

// load reads the block at off into b. It returns false without error when
// off is at the end of the data or the block there is not of type want
// (want 0 accepts any type): that is how sections end.
func (r *blockReader) load(b *block, off int64, want byte) (bool, error) {
	t := r.t
	if off < 0 || off >= t.dataEnd {
		return false, nil
	}
	if c := t.index.get(off); c != nil {
		if want != 0 && c.typ != want {
			return false, nil
		}
		if c.data != nil {
			*b = *c
			return true, nil
		}
	}
	headerOff := 0
	if off == 0 {
		headerOff = t.headerSize
	}
	avail := t.dataEnd - off
	if avail < int64(headerOff+4) {
		return false, t.corrupt(off, "truncated block header")
	}
	guess := int64(t.blockSize)
	if guess == 0 {
		guess = DefaultBlockSize
	}
	// A declared block size too small for the block header still needs
	// the header read to be rejected.
	n := min(max(guess, int64(headerOff+4)), avail)
	data, err := r.read(off, int(n))
	if err != nil {
		return false, err
	}
	typ := data[headerOff]
	if !isBlockType(typ) {
		return false, t.corrupt(off+int64(headerOff), "unknown block type %q", typ)
	}
	if want != 0 && typ != want {
		if want == blockTypeIndex {
			// Where an index level ends: remember, so that seeks do
			// not read this block's header each time.
			t.index.add(&block{off: off, typ: typ})
		}
		return false, nil
	}
	blen := int(uint24(data[headerOff+1:]))
	if blen < headerOff+4+2 {
		return false, t.corrupt(off+int64(headerOff+1), "block length %d too small", blen)
	}
	var size int64
	if typ == blockTypeLog {
		// The inflated length is not capped by the block size (the
		// format sets no cap, JGit writes log blocks of several block
		// sizes): inflate bounds it by the compressed bytes left.
		consumed, err := r.inflate(off, data, headerOff+4, blen)
		if err != nil {
			return false, err
		}
		data = r.inf[:blen]
		size = int64(headerOff+4) + consumed
	} else {
		if blen > len(data) {
			// Longer than the block size (JGit's index blocks grow to
			// the format's maximum) or than the first read of an
			// unaligned table: read it whole, with the byte after it.
			if int64(blen) > avail {
				return false, t.corrupt(off+int64(headerOff+1), "block length %d exceeds the %d bytes before the footer", blen, avail)
			}
			if data, err = r.read(off, int(min(int64(blen)+1, avail))); err != nil {
				return false, err
			}
		}
		size = t.extent(data, blen, avail)
		data = data[:blen]
	}
	nr := int(binary.BigEndian.Uint16(data[blen-2:]))
	restartOff := blen - 2 - 3*nr
	if restartOff < headerOff+4 {
		return false, t.corrupt(fileOffset(off, typ, blen-2), "restart count %d too large for block", nr)
	}
	*b = block{off: off, typ: typ, data: data, headerOff: headerOff, restartOff: restartOff, nRestarts: nr, size: size}
	if typ == blockTypeIndex {
		t.index.add(b)
	}
	return true, nil
}

// extent returns the bytes a block other than a log block occupies on
// disk: blen, when the table is unaligned or the block is not padded (the
// byte after it, in data when the table has one, starts the next block or
// the footer, never 0), else blen rounded up to a multiple of the block
// size: a block longer than the block size is padded to the next
// multiple, as JGit pads its index blocks. avail bytes are left before
// the footer.
func (t *Table) extent(data []byte, blen int, avail int64) int64 {
	bs := int64(t.blockSize)
	if bs == 0 || blen < len(data) && data[blen] != 0 {
		return int64(blen)
	}
	return min((int64(blen)+bs-1)/bs*bs, avail)
}

// read returns the n bytes at off: read into r.buf, or, for a table in
// memory, its own bytes.
func (r *blockReader) read(off int64, n int) ([]byte, error) {
	if mem := r.t.mem; mem != nil {
		if off < 0 || int64(n) > int64(len(mem))-off {
			return nil, r.t.corrupt(off, "table shorter than its footer says")
		}
		return mem[off : off+int64(n) : off+int64(n)], nil
	}
	if cap(r.buf) < n {
		r.buf = make([]byte, n)
	}
	buf := r.buf[:n]
	if _, err := r.t.src.ReadAt(buf, off); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, r.t.corrupt(off, "table shorter than its footer says")
		}
		return nil, ioError(r.t.name, off, err)
	}
	return buf, nil
}

// maxInflate is the most bytes one byte of DEFLATE data can inflate to:
// a 258-byte match coded in two bits.
const maxInflate = 258 * 4

// inflate decompresses the log block at off into r.inf[:blen] and returns
// the compressed bytes consumed. data holds the block's first bytes as
// read: its skip bytes of headers (file header for the first block, and
// block header) are copied verbatim, and for a table read through
// io.ReaderAt the rest is where inflating starts, reading more only if
// the stream goes on.
func (r *blockReader) inflate(off int64, data []byte, skip, blen int) (int64, error) {
	t := r.t
	start := off + int64(skip)
	avail := t.dataEnd - start
	if int64(blen-skip) > maxInflate*avail {
		return 0, t.corrupt(off, "log block length %d more than %d compressed bytes hold", blen, avail)
	}
	if cap(r.inf) < blen {
		r.inf = make([]byte, blen)
	}
	r.inf = r.inf[:blen]
	copy(r.inf, data[:skip])
	if r.zd == nil {
		r.zd = decompressors.Get().(*zlib.Decompressor)
	}
	src := data[skip:]
	if t.mem != nil {
		src = t.mem[min(start, int64(len(t.mem))):min(t.dataEnd, int64(len(t.mem)))]
	}
	for {
		n, err := r.zd.InflateZlib(r.inf[skip:], src)
		switch {
		case err == nil:
			return int64(n), nil
		case errors.Is(err, zlib.ErrShortInput) && t.mem == nil && int64(len(src)) < avail:
			// Read the rest, guessing that it compresses no worse
			// than fixed Huffman codes, then double.
			want := min(max(int64(2*len(src)), int64(blen+blen/8+64)), avail)
			if src, err = r.read(start, int(want)); err != nil {
				return 0, err
			}
		case errors.Is(err, zlib.ErrTooLong):
			return 0, t.corrupt(off, "log block inflates to more than its length %d", blen)
		default:
			return 0, t.corrupt(off, "log block: zlib: %v", err)
		}
	}
}

// fileOffset returns the table offset of position pos in the data of a
// block of type typ at off, for errors. The data of a log block is
// inflated and its positions have no table offset: errors name the block.
func fileOffset(off int64, typ byte, pos int) int64 {
	if typ == blockTypeLog {
		return off
	}
	return off + int64(pos)
}

// restartKey returns the key stored at restart point i, which must be a
// record without prefix compression.
func (b *block) restartKey(t *Table, i int) ([]byte, error) {
	p := b.headerOff + 4
	at := b.restartOff + 3*i
	off := int(uint24(b.data[at:]))
	if off < p || off >= b.restartOff {
		return nil, t.corrupt(fileOffset(b.off, b.typ, at), "restart offset %d outside records", off)
	}
	in := b.data[off:b.restartOff]
	prefix, n1 := readVarint(in)
	sufx, n2 := readVarint(in[max(n1, 0):])
	if n1 <= 0 || n2 <= 0 || prefix != 0 {
		return nil, t.corrupt(fileOffset(b.off, b.typ, off), "bad record at restart point")
	}
	sufx >>= 3
	if sufx > uint64(len(in)-n1-n2) {
		return nil, t.corrupt(fileOffset(b.off, b.typ, off), "restart key past end of block")
	}
	return in[n1+n2 : n1+n2+int(sufx)], nil
}

// seekRestart returns the offset in b.data from which a linear scan for
// want must start: the last restart point whose key is <= want, or the
// first record.
func (b *block) seekRestart(t *Table, want []byte) (int, error) {
	lo, hi := 0, b.nRestarts // find the first restart with key > want
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		k, err := b.restartKey(t, mid)
		if err != nil {
			return 0, err
		}
		if bytes.Compare(k, want) > 0 {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if lo == 0 {
		return b.headerOff + 4, nil
	}
	return int(uint24(b.data[b.restartOff+3*(lo-1):])), nil
}

// decompressors pools log block decompressors (tens of kilobytes of
// tables each) between iterators.
var decompressors = sync.Pool{New: func() any { return new(zlib.Decompressor) }}

// release returns the reader's zlib state to the pool.
func (r *blockReader) release() {
	if r.zd != nil {
		decompressors.Put(r.zd)
		r.zd = nil
	}
}
