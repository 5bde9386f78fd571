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

// writeBlock writes the current block's tokens, which encode data, as
// whichever of a fixed Huffman, dynamic Huffman or stored block (or run of
// stored blocks) is smallest.
func (c *Compressor) writeBlock(data []byte, final bool) {
	c.litFreq[endOfBlock] = 1
	extra := 0
	for s := range 29 {
		extra += int(c.litFreq[257+s]) * int(lengthExtra[s])
	}
	for s := range numDist {
		extra += int(c.distFreq[s]) * int(distExtra[s])
	}
	fixed := 3 + extra
	for s, f := range c.litFreq[:numLitLen] {
		fixed += int(f) * int(fixedLitLens[s])
	}
	for _, f := range c.distFreq {
		fixed += int(f) * 5
	}
	dynamic := 3 + extra + c.buildDynamic()
	for s, f := range c.litFreq[:numLitLen] {
		dynamic += int(f) * int(c.litLens[s])
	}
	for s, f := range c.distFreq {
		dynamic += int(f) * int(c.distLens[s])
	}
	// Stored: the first block's header pads to a byte; later ones start
	// aligned and pad 5 bits.
	stored := 3 + int(8-(c.w.n+3)%8)%8 + 32 + 8*len(data)
	stored += (len(data) - 1) / maxStored * (8 + 32)
	fin := uint32(0)
	if final {
		fin = 1
	}
	switch {
	case stored <= fixed && stored <= dynamic:
		c.writeStored(data, final)
	case fixed <= dynamic:
		c.w.bits(fin|1<<1, 3)
		c.writeTokens(fixedLitLens[:], fixedLitCodes[:], fixedDistLens[:], fixedDistCode[:])
	default:
		c.w.bits(fin|2<<1, 3)
		c.writeDynamicHeader()
		c.writeTokens(c.litLens[:], c.litCodes[:], c.distLens[:], c.distCodes[:])
	}
}

// writeStored writes data as stored blocks of at most maxStored bytes.
func (c *Compressor) writeStored(data []byte, final bool) {
	for {
		n := min(len(data), maxStored)
		fin := uint32(0)
		if final && n == len(data) {
			fin = 1
		}
		c.w.bits(fin, 3)
		c.w.align()
		w := &c.w
		binary.LittleEndian.PutUint16(w.buf[w.pos:], uint16(n))
		binary.LittleEndian.PutUint16(w.buf[w.pos+2:], ^uint16(n))
		w.pos += 4 + copy(w.buf[w.pos+4:], data[:n])
		data = data[n:]
		if len(data) == 0 {
			return
		}
	}
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

// buildDynamic builds the dynamic block's codes and its header's run
// length encoding and code length code, and returns the header's size in
// bits (after the 3 bits of block header).
func (c *Compressor) buildDynamic() int {
	c.hb.build(c.litFreq[:numLitLen], maxCodeBits, c.litLens[:])
	c.hb.build(c.distFreq[:], maxCodeBits, c.distLens[:])
	canonical(c.litLens[:numLitLen], c.litCodes[:])
	canonical(c.distLens[:], c.distCodes[:])
	nlit, ndist := numLitLen, numDist
	for nlit > 257 && c.litLens[nlit-1] == 0 {
		nlit--
	}
	for ndist > 1 && c.distLens[ndist-1] == 0 {
		ndist--
	}
	// Run length encode the two length lists as one sequence (repeats
	// may cross from one to the other).
	clear(c.clFreq[:])
	c.rle = c.rle[:0]
	at := func(i int) uint8 {
		if i < nlit {
			return c.litLens[i]
		}
		return c.distLens[i-nlit]
	}
	total := nlit + ndist
	for i := 0; i < total; {
		v := at(i)
		run := 1
		for i+run < total && at(i+run) == v {
			run++
		}
		i += run
		if v == 0 {
			for run >= 11 {
				k := min(run, 138)
				c.rle = append(c.rle, 18|uint16(k-11)<<5)
				run -= k
			}
			if run >= 3 {
				c.rle = append(c.rle, 17|uint16(run-3)<<5)
				run = 0
			}
		} else {
			c.rle = append(c.rle, uint16(v))
			run--
			for run >= 3 {
				k := min(run, 6)
				c.rle = append(c.rle, 16|uint16(k-3)<<5)
				run -= k
			}
		}
		for ; run > 0; run-- {
			c.rle = append(c.rle, uint16(v))
		}
	}
	for _, r := range c.rle {
		c.clFreq[r&31]++
	}
	c.hb.build(c.clFreq[:], maxCLBits, c.clLens[:])
	canonical(c.clLens[:], c.clCodes[:])
	nclen := numCodeLen
	for nclen > 4 && c.clLens[codeLenOrder[nclen-1]] == 0 {
		nclen--
	}
	size := 5 + 5 + 4 + 3*nclen
	for s, f := range c.clFreq {
		size += int(f) * int(c.clLens[s])
	}
	size += 2*int(c.clFreq[16]) + 3*int(c.clFreq[17]) + 7*int(c.clFreq[18])
	c.nlit, c.ndist, c.nclen = nlit, ndist, nclen
	return size
}

// writeDynamicHeader writes the header that buildDynamic prepared.
func (c *Compressor) writeDynamicHeader() {
	w := &c.w
	w.bits(uint32(c.nlit-257)|uint32(c.ndist-1)<<5|uint32(c.nclen-4)<<10, 14)
	for _, s := range codeLenOrder[:c.nclen] {
		w.bits(uint32(c.clLens[s]), 3)
	}
	for _, r := range c.rle {
		s := r & 31
		v := uint32(c.clCodes[s])
		n := uint(c.clLens[s])
		switch s {
		case 16:
			v, n = v|uint32(r>>5)<<n, n+2
		case 17:
			v, n = v|uint32(r>>5)<<n, n+3
		case 18:
			v, n = v|uint32(r>>5)<<n, n+7
		}
		w.bits(v, n)
	}
}
