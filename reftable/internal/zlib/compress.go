package zlib

import (
	"encoding/binary"
	"math/bits"
	"slices"
)

// The compressor makes the choices zlib 1.2 and 1.3 make at level 9 with
// the default memory level, window and strategy, which are git's for log
// blocks: the same hash chains, the same lazy matching and the same limits
// below, the same blocks and the same Huffman codes (see trees.go), so
// that a block comes out byte for byte as git writes it. Every choice of
// deflate.c and trees.c that shapes the output is mirrored; how the
// choices are computed is this package's own.
const (
	hashBits     = 15 // zlib's memory level 8: 1<<15 hash chains
	hashShift    = (hashBits + minMatch - 1) / minMatch
	hashMask     = 1<<hashBits - 1
	maxChain     = 4096                      // candidates tried per search
	goodMatch    = 32                        // a search after a match this long tries a quarter as many
	lazyMatch    = 258                       // no search after a match this long
	niceMatch    = 258                       // a match this long ends a search
	tooFar       = 4096                      // a 3-byte match further back is not taken
	minLookahead = maxMatch + minMatch + 1   // input zlib keeps ahead of the position
	maxDist      = windowSize - minLookahead // farthest match
	windowBytes  = 2 * windowSize            // zlib's window buffer
	slideAt      = windowSize + maxDist      // zlib slides its window when the position reaches this
	blockSyms    = 1<<14 - 1                 // symbols of a full block
)

// Compressor compresses buffers into zlib streams. Its zero value is ready
// to use. It keeps 150 to 280 KiB of tables between calls, so reusing one
// avoids allocating them again. A Compressor is not safe for concurrent
// use.
type Compressor struct {
	// head and prev are zlib's hash chains, positions stored plus base,
	// so that entries of earlier calls (below base) read as empty without
	// clearing the tables. prev, indexed by position modulo its length,
	// grows to the largest input up to the window: a position is never
	// reached once a later one takes its entry.
	head [1 << hashBits]uint32
	prev []uint32
	base uint32

	tokens []uint32 // literal byte, or distance<<8 | (length-3)

	// The block's three codes and what zlib's _tr_flush_block weighs.
	lit, dist, bl     huffCode
	optLen, staticLen int
	tb                treeBuilder
	litRLE, distRLE   []uint16 // code length symbols of the header, symbol | extra value<<5
	maxBLIndex        int

	w bitWriter
}

// AppendZlib appends to dst a complete zlib stream holding src: the
// header, DEFLATE blocks of which the last is final, and the Adler-32 of
// src, the bytes zlib writes for src at level 9 in one call.
func (c *Compressor) AppendZlib(dst, src []byte) []byte {
	tablesOnce.Do(initTables)
	dst = append(dst, 0x78, 0xda) // DEFLATE, 32 KiB window, level 9; a multiple of 31
	dst = c.deflate(dst, src)
	return binary.BigEndian.AppendUint32(dst, adler32(1, src))
}

// deflate appends the DEFLATE data of src to dst.
func (c *Compressor) deflate(dst, src []byte) []byte {
	n := len(src)
	// A block is never larger than its bytes as fixed Huffman literals
	// (9 bits a byte; a match costs fewer) with its header, end and
	// padding; 8 bytes of slack for the bit writer.
	bound := n + n/8 + 3*(n/blockSyms+2) + 8
	dst = slices.Grow(dst, bound)
	c.w = bitWriter{buf: dst[:cap(dst)], pos: len(dst)}
	if w := min(1<<bits.Len(uint(n)), windowSize); len(c.prev) < w {
		c.prev = make([]uint32, w)
	}
	switch {
	case c.base == 0:
		c.base = 1 // a new compressor: its tables are zero
	case uint64(c.base)+uint64(n)+1 >= 1<<32:
		clear(c.head[:])
		clear(c.prev)
		c.base = 1
	}
	c.parse(src)
	c.base += uint32(n) + 1
	c.w.align()
	return c.w.buf[:c.w.pos]
}

// hash3 is zlib's hash of the three bytes at src[p:].
func hash3(src []byte, p int) uint32 {
	_ = src[p+2]
	return (uint32(src[p])<<(2*hashShift) ^ uint32(src[p+1])<<hashShift ^ uint32(src[p+2])) & hashMask
}

// parse is zlib's deflate_slow: at each position it looks for a match
// longer than the one found at the previous position; if there is none,
// the previous match is emitted, otherwise the previous byte as a literal
// and the new match waits its turn. Blocks are written as they fill.
//
// zlib reads its input into a window of 64 KiB that slides by 32 KiB when
// the position passes slideAt; here src is the window, and frame is the
// input offset of zlib's window, which bounds how far back chains reach
// and whether a block can be stored: its start must still be in zlib's
// window.
func (c *Compressor) parse(src []byte) {
	n := len(src)
	base := c.base
	wmask := len(c.prev) - 1
	c.initBlock()
	frame := 0
	end := min(n, windowBytes) // input zlib has read
	blockStart := 0
	pos := 0
	matchLen, matchDist := minMatch-1, 0
	available := false // src[pos-1] waits to be emitted or to start a match
	for {
		if end-pos < minLookahead {
			if pos-frame >= slideAt {
				frame += windowSize
			}
			end = min(n, frame+windowBytes)
			if end == pos {
				break
			}
		}
		lookahead := end - pos
		cand := uint32(0)
		if lookahead >= minMatch {
			h := hash3(src, pos)
			cand = c.head[h]
			c.prev[pos&wmask] = cand
			c.head[h] = base + uint32(pos)
		}
		prevLen, prevDist := matchLen, matchDist
		matchLen = minMatch - 1
		if cand > base+uint32(frame) && prevLen < lazyMatch && pos-int(cand-base) <= maxDist {
			matchLen, matchDist = c.longest(src, pos, int(cand-base), prevLen, lookahead, frame)
			if matchLen == minMatch && matchDist > tooFar {
				matchLen = minMatch - 1
			}
		}
		switch {
		case prevLen >= minMatch && matchLen <= prevLen:
			// Emit the previous match; hash the positions it covers
			// that have three bytes of input.
			last := min(pos+prevLen-2, pos+lookahead-minMatch)
			for p := pos + 1; p <= last; p++ {
				h := hash3(src, p)
				c.prev[p&wmask] = c.head[h]
				c.head[h] = base + uint32(p)
			}
			pos += prevLen - 1
			available = false
			matchLen = minMatch - 1
			if c.tallyMatch(prevDist, prevLen) {
				c.flushBlock(src, blockStart, pos, frame, false)
				blockStart = pos
			}
		case available:
			if c.tallyLit(src[pos-1]) {
				c.flushBlock(src, blockStart, pos, frame, false)
				blockStart = pos
			}
			pos++
		default:
			available = true
			pos++
		}
	}
	if available {
		c.tallyLit(src[pos-1])
	}
	c.flushBlock(src, blockStart, pos, frame, true)
}

// tallyLit records a literal and reports whether the block is full.
func (c *Compressor) tallyLit(b byte) bool {
	c.tokens = append(c.tokens, uint32(b))
	c.lit.freq[b]++
	return len(c.tokens) == blockSyms
}

// tallyMatch records a match and reports whether the block is full.
func (c *Compressor) tallyMatch(dist, length int) bool {
	c.tokens = append(c.tokens, uint32(dist)<<8|uint32(length-minMatch))
	c.lit.freq[257+int(lenCode[length-minMatch])]++
	c.dist.freq[distCode(dist)]++
	return len(c.tokens) == blockSyms
}

// longest is zlib's longest_match: following the hash chain from cand, it
// returns the first of the longest matches for src[pos:] longer than
// best (and its distance), or best and 0 if there is none. It tries at
// most maxChain candidates (a quarter as many after a good match), none
// farther than maxDist or before zlib's window, and stops at a match of
// niceMatch bytes or of all the input left.
func (c *Compressor) longest(src []byte, pos, cand, best, lookahead, frame int) (length, dist int) {
	nice := min(niceMatch, lookahead)
	if best >= nice {
		// Nothing longer fits in the input (zlib may match its window's
		// bytes past the end, and then cuts the match to the input).
		return min(best, lookahead), 0
	}
	chain := maxChain
	if best >= goodMatch {
		chain >>= 2
	}
	stop := c.base + uint32(max(frame, pos-maxDist)) // chain entries at or below are out of reach
	scan := src[pos : pos+nice]
	// A longer match must agree on the first two bytes and the two
	// ending at best, which zlib tests first.
	head := binary.LittleEndian.Uint16(scan)
	tail := binary.LittleEndian.Uint16(scan[best-1:])
	for {
		m := src[cand : cand+nice]
		if binary.LittleEndian.Uint16(m[best-1:]) == tail && binary.LittleEndian.Uint16(m) == head {
			if l := 2 + prefixLen(m[2:], scan[2:]); l > best {
				best, dist = l, pos-cand
				if l >= nice {
					break
				}
				tail = binary.LittleEndian.Uint16(scan[best-1:])
			}
		}
		next := c.prev[cand&(len(c.prev)-1)]
		chain--
		if next <= stop || chain == 0 {
			break
		}
		cand = int(next - c.base)
	}
	return best, dist
}

// prefixLen returns the length of the common prefix of a and b, where
// len(a) >= len(b).
func prefixLen(a, b []byte) int {
	n := 0
	for len(b)-n >= 8 {
		x := binary.LittleEndian.Uint64(a[n:]) ^ binary.LittleEndian.Uint64(b[n:])
		if x != 0 {
			return n + bits.TrailingZeros64(x)>>3
		}
		n += 8
	}
	for n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// Tables of the encoder: the length symbol (minus 257) of each length
// minus 3, the distance symbol of each distance minus 1 below 256 and of
// each larger one shifted right by 7 (at 256 + that), and the fixed code.
var (
	lenCode       [256]uint8
	distCodeTab   [512]uint8
	fixedLitLens  [maxSyms]uint8
	fixedLitCodes [maxSyms]uint16
	fixedDistLens [numDist]uint8
	fixedDistCode [numDist]uint16
)

func initCodes() {
	for s := range 29 {
		for l := int(lengthBase[s]); l < int(lengthBase[s])+1<<lengthExtra[s] && l <= maxMatch; l++ {
			lenCode[l-minMatch] = uint8(s)
		}
	}
	for s := range numDist {
		for d := int(distBase[s]) - 1; d < int(distBase[s])-1+1<<distExtra[s]; d++ {
			if d < 256 {
				distCodeTab[d] = uint8(s)
			} else {
				distCodeTab[256+d>>7] = uint8(s)
			}
		}
	}
	fixedLengths(fixedLitLens[:])
	canonical(fixedLitLens[:], fixedLitCodes[:])
	for s := range fixedDistLens {
		fixedDistLens[s] = 5
	}
	canonical(fixedDistLens[:], fixedDistCode[:])
}

// fixedLengths sets the code lengths of the fixed literal/length code.
func fixedLengths(lens []uint8) {
	for s := range lens {
		switch {
		case s < 144:
			lens[s] = 8
		case s < 256:
			lens[s] = 9
		case s < 280:
			lens[s] = 7
		default:
			lens[s] = 8
		}
	}
}

// distCode returns the distance symbol of distance d.
func distCode(d int) uint8 {
	d--
	if d < 256 {
		return distCodeTab[d]
	}
	return distCodeTab[256+d>>7]
}
