package reftable

import (
	"encoding/binary"
	"sync"

	"github.com/refstore/refstore/reftable/internal/zlib"
)

// blockWriter accumulates the records of one block in memory. For the first
// block of a table, the first headerOff bytes of buf are reserved for the
// file header, and offsets count from the start of the file.
type blockWriter struct {
	buf             []byte // block bytes so far; cap is the block size
	blockSize       int
	headerOff       int
	restartInterval int
	typ             byte
	entries         int
	restarts        []uint32
	lastKey         []byte
	scratch         []byte
	zbuf            []byte // compressed log block
}

func (b *blockWriter) init(typ byte, blockSize, headerOff, restartInterval int) {
	// A block size below the headers still gets room for them; no record
	// fits such a block.
	if size := max(blockSize, headerOff+4); cap(b.buf) < size {
		b.buf = make([]byte, 0, size)
	}
	b.buf = b.buf[:headerOff+4]
	clear(b.buf)
	b.buf[headerOff] = typ
	b.typ = typ
	b.blockSize = blockSize
	b.headerOff = headerOff
	b.restartInterval = restartInterval
	b.entries = 0
	b.restarts = b.restarts[:0]
	b.lastKey = b.lastKey[:0]
}

// add appends a record with the given key, value type bits and encoded
// value. It reports false, leaving the block unchanged, if the record does
// not fit.
func (b *blockWriter) add(key []byte, extra byte, val []byte) bool {
	prev := b.lastKey
	if b.entries%b.restartInterval == 0 {
		prev = nil
	}
	rec, restart := appendKey(b.scratch[:0], prev, key, extra)
	rec = append(rec, val...)
	b.scratch = rec
	nrestarts := len(b.restarts)
	if nrestarts >= maxRestarts {
		restart = false
	}
	if restart {
		nrestarts++
	}
	if 2+3*nrestarts+len(rec) > b.blockSize-len(b.buf) {
		return false
	}
	if restart {
		b.restarts = append(b.restarts, uint32(len(b.buf)))
	}
	b.buf = append(b.buf, rec...)
	b.lastKey = append(b.lastKey[:0], key...)
	b.entries++
	return true
}

// finish appends the restart table, fills in the block length and, for log
// blocks, compresses everything after the block header. It returns the
// bytes to write, including the reserved file header space.
func (b *blockWriter) finish() ([]byte, error) {
	b.seal()
	if b.typ != blockTypeLog {
		return b.buf, nil
	}
	b.buf, b.zbuf = compressLog(b.buf, b.headerOff+4, b.zbuf)
	return b.buf, nil
}

// seal appends the restart table and fills in the block length: the
// block, uncompressed.
func (b *blockWriter) seal() {
	for _, r := range b.restarts {
		b.buf = appendUint24(b.buf, r)
	}
	b.buf = binary.BigEndian.AppendUint16(b.buf, uint16(len(b.restarts)))
	putUint24(b.buf[b.headerOff+1:], uint32(len(b.buf)))
}

// compressLog compresses a sealed log block in place, all after its
// first skip bytes (the file header, if any, and the block header),
// using zbuf as scratch; it returns the block and the scratch.
func compressLog(block []byte, skip int, zbuf []byte) ([]byte, []byte) {
	zc := compressors.Get().(*zlib.Compressor)
	zbuf = zc.AppendZlib(zbuf[:0], block[skip:])
	compressors.Put(zc)
	return append(block[:skip], zbuf...), zbuf
}

// compressors pools log block compressors, which hold tens of kilobytes
// of tables each: a writer of a small table would otherwise allocate one.
var compressors = sync.Pool{New: func() any { return new(zlib.Compressor) }}

func appendUint24(dst []byte, v uint32) []byte {
	return append(dst, byte(v>>16), byte(v>>8), byte(v))
}

func putUint24(b []byte, v uint32) {
	b[0], b[1], b[2] = byte(v>>16), byte(v>>8), byte(v)
}

func uint24(b []byte) uint32 {
	return uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2])
}
