package zlib

import "encoding/binary"

// bitWriter writes bits least significant first into buf, which has at
// least 8 bytes of room past everything written.
type bitWriter struct {
	buf []byte
	pos int    // bytes written
	acc uint64 // pending bits
	n   uint   // number of pending bits, below 32 between calls
}

// bits writes the n low bits of v; n is at most 32.
func (w *bitWriter) bits(v uint32, n uint) {
	w.acc |= uint64(v) << w.n
	w.n += n
	if w.n >= 32 {
		binary.LittleEndian.PutUint64(w.buf[w.pos:], w.acc)
		k := w.n >> 3
		w.pos += int(k)
		w.acc >>= k << 3
		w.n &= 7
	}
}

// align writes the pending bits, padded with zeros to a byte boundary.
func (w *bitWriter) align() {
	binary.LittleEndian.PutUint64(w.buf[w.pos:], w.acc)
	w.pos += int(w.n+7) >> 3
	w.acc, w.n = 0, 0
}

// initBlock starts a block: no symbols yet but the end of block.
func (c *Compressor) initBlock() {
	c.tokens = c.tokens[:0]
	clear(c.lit.freq[:numLitLen])
	clear(c.dist.freq[:numDist])
	clear(c.bl.freq[:numCodeLen])
	c.lit.freq[endOfBlock] = 1
	c.optLen, c.staticLen = 0, 0
}

// flushBlock writes the block of the tallied symbols, which encode
// src[start:end], as zlib's _tr_flush_block does: it builds the dynamic
// codes and weighs the block's size with them against the fixed code and
// against storing the bytes (possible only while they are in zlib's
// window, which starts at frame); ties go to stored, then fixed.
func (c *Compressor) flushBlock(src []byte, start, end, frame int, last bool) {
	c.build(&c.lit, &litKind)
	c.build(&c.dist, &distKind)
	c.litRLE = c.scanLengths(c.litRLE[:0], c.lit.lens[:c.lit.maxCode+1])
	c.distRLE = c.scanLengths(c.distRLE[:0], c.dist.lens[:c.dist.maxCode+1])
	c.build(&c.bl, &blKind)
	c.maxBLIndex = numCodeLen - 1
	for c.maxBLIndex >= 3 && c.bl.lens[codeLenOrder[c.maxBLIndex]] == 0 {
		c.maxBLIndex--
	}
	c.optLen += 3*(c.maxBLIndex+1) + 5 + 5 + 4
	optBytes := (c.optLen + 3 + 7) >> 3
	staticBytes := (c.staticLen + 3 + 7) >> 3
	optBytes = min(optBytes, staticBytes)
	fin := uint32(0)
	if last {
		fin = 1
	}
	stored := end - start
	switch {
	case stored+4 <= optBytes && start >= frame && stored <= maxStored:
		c.w.bits(fin, 3)
		c.w.align()
		w := &c.w
		binary.LittleEndian.PutUint16(w.buf[w.pos:], uint16(stored))
		binary.LittleEndian.PutUint16(w.buf[w.pos+2:], ^uint16(stored))
		w.pos += 4 + copy(w.buf[w.pos+4:], src[start:end])
	case staticBytes == optBytes:
		c.w.bits(fin|1<<1, 3)
		c.writeTokens(fixedLitLens[:], fixedLitCodes[:], fixedDistLens[:], fixedDistCode[:])
	default:
		c.w.bits(fin|2<<1, 3)
		c.writeDynamicHeader()
		c.writeTokens(c.lit.lens[:], c.lit.codes[:], c.dist.lens[:], c.dist.codes[:])
	}
	c.initBlock()
}

// writeTokens writes the block's tokens with the given codes and the end
// of block symbol.
func (c *Compressor) writeTokens(litLens []uint8, litCodes []uint16, distLens []uint8, distCodes []uint16) {
	w := &c.w
	for _, t := range c.tokens {
		if t < 256 {
			w.bits(uint32(litCodes[t]), uint(litLens[t]))
			continue
		}
		l := t & 0xff
		lc := lenCode[l]
		s := 257 + int(lc)
		w.bits(uint32(litCodes[s])|(l+minMatch-uint32(lengthBase[lc]))<<litLens[s], uint(litLens[s]+lengthExtra[lc]))
		d := t >> 8
		dc := distCode(int(d))
		w.bits(uint32(distCodes[dc])|(d-uint32(distBase[dc]))<<distLens[dc], uint(distLens[dc]+distExtra[dc]))
	}
	w.bits(uint32(litCodes[endOfBlock]), uint(litLens[endOfBlock]))
}

// writeDynamicHeader writes a dynamic block's header: the sizes of the
// three codes, the code length code and the two codes' lengths.
func (c *Compressor) writeDynamicHeader() {
	w := &c.w
	w.bits(uint32(c.lit.maxCode+1-257)|uint32(c.dist.maxCode)<<5|uint32(c.maxBLIndex+1-4)<<10, 14)
	for _, s := range codeLenOrder[:c.maxBLIndex+1] {
		w.bits(uint32(c.bl.lens[s]), 3)
	}
	for _, rle := range [2][]uint16{c.litRLE, c.distRLE} {
		for _, r := range rle {
			s := r & 31
			v := uint32(c.bl.codes[s])
			n := uint(c.bl.lens[s])
			if s >= 16 {
				v |= uint32(r>>5) << n
				n += uint(codeLenExtra[s])
			}
			w.bits(v, n)
		}
	}
}
