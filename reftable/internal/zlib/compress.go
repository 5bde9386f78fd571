package zlib

import (
	"encoding/binary"
	"math/bits"
	"slices"
)

// Matcher parameters. zlib's level 9 follows chains of up to 4096
// candidates; on log blocks (records alike but for object ids) 64 find
// the same matches, and on 4 KiB of text they come within 1%.
const (
	hashMaxBits = 15
	hashMinBits = 8
	maxChain    = 64   // candidates tried per position
	goodLen     = 8    // a lazy search after a match this long tries a quarter
	niceLen     = 128  // a match this long ends the search
	tooFar      = 4096 // a 3-byte match further back is not worth it
	blockTokens = 1<<14 - 1
)

// Compressor compresses buffers into zlib streams. Its zero value is ready
// to use. It keeps its tables between calls, about 10 KiB plus up to 12
// bytes per input byte, at most about 330 KiB, so reusing one avoids
// allocating them again. A Compressor is not safe for concurrent use.
type Compressor struct {
	head  []uint32 // position+base of the last string with each hash
	prev  []uint32 // previous position+base with the same hash, by position mod len(prev)
	hbits uint     // hash bits for the current input
	// base is added to positions in head and prev, so that entries of
	// earlier calls (below base) read as empty without clearing tables.
	base uint32

	tokens   []uint32 // literal byte, or distance<<8 | (length-3)
	litFreq  [maxSyms]uint32
	distFreq [numDist]uint32

	hb        huffBuilder
	litLens   [maxSyms]uint8
	litCodes  [maxSyms]uint16
	distLens  [numDist]uint8
	distCodes [numDist]uint16
	clFreq    [numCodeLen]uint32
	clLens    [numCodeLen]uint8
	clCodes   [numCodeLen]uint16
	rle       []uint16 // code length symbols, symbol | extra value<<5
	nlit      int      // literal/length, distance and code length codes in the header
	ndist     int
	nclen     int

	w bitWriter
}

// AppendZlib appends to dst a complete zlib stream holding src: the
// header, DEFLATE blocks of which the last is final, and the Adler-32 of
// src. It compresses as hard as zlib's level 9, and the header says so.
func (c *Compressor) AppendZlib(dst, src []byte) []byte {
	tablesOnce.Do(initTables)
	dst = append(dst, 0x78, 0xda) // DEFLATE, 32 KiB window, level 9; a multiple of 31
	dst = c.deflate(dst, src)
	return binary.BigEndian.AppendUint32(dst, adler32(1, src))
}

// deflate appends the DEFLATE data of src to dst.
func (c *Compressor) deflate(dst, src []byte) []byte {
	n := len(src)
	// No block is larger than stored blocks for its bytes, which cost 5
	// bytes per 65535 and per block; 8 bytes of slack for the bit writer.
	bound := n + 5*(n/blockTokens+n/maxStored+2) + 8
	dst = slices.Grow(dst, bound)
	c.w = bitWriter{buf: dst[:cap(dst)], pos: len(dst)}
	// Tables grow to the input's size, up to the hash size and the
	// window, and are never cleared but when base wraps.
	size := bits.Len(uint(max(n-1, 0))) // bits of the largest position
	hbits := uint(min(max(size, hashMinBits), hashMaxBits))
	if len(c.head) < 1<<hbits {
		c.head = make([]uint32, 1<<hbits)
	}
	if w := min(1<<size, windowSize); len(c.prev) < w {
		c.prev = make([]uint32, w)
	}
	if c.base == 0 || uint64(c.base)+uint64(n) >= 1<<32-1 {
		clear(c.head)
		clear(c.prev)
		c.base = 1
	}
	c.hbits = hbits
	c.parse(src)
	c.base += uint32(n)
	c.w.align()
	return c.w.buf[:c.w.pos]
}

// parse finds matches in src with lazy evaluation, as zlib does at its
// higher levels: a match found at one position is emitted only if the next
// position has no longer one; otherwise a literal is emitted and the
// longer match becomes the candidate. Full blocks are written as they
// fill.
func (c *Compressor) parse(src []byte) {
	n := len(src)
	base := c.base
	shift := 32 - c.hbits
	head := c.head[:1<<c.hbits]
	prev := c.prev
	pmask := len(prev) - 1
	c.resetBlock()
	tokens := c.tokens[:0]
	litFreq := &c.litFreq
	blockStart, done := 0, 0 // the current block covers src[blockStart:done]
	prevLen, prevDist := 0, 0
	pending := false // src[pos-1] is not yet emitted
	for pos := 0; pos < n; {
		curLen, curDist := 0, 0
		if pos+minMatch <= n {
			h := hashAt(src, pos, shift)
			cand := head[h]
			head[h] = base + uint32(pos)
			prev[pos&pmask] = cand
			if cand >= base && prevLen < maxMatch {
				curLen, curDist = c.longest(src, pos, int(cand-base), max(prevLen, minMatch-1))
				if curLen == minMatch && curDist > tooFar {
					curLen = 0
				}
			}
		}
		switch {
		case prevLen >= minMatch && curLen <= prevLen:
			tokens = append(tokens, uint32(prevDist)<<8|uint32(prevLen-minMatch))
			litFreq[257+int(lenCode[prevLen-minMatch])]++
			c.distFreq[distCode(prevDist)]++
			done += prevLen
			end := min(pos-1+prevLen, n-minMatch+1)
			for p := pos + 1; p < end; p++ {
				h := hashAt(src, p, shift)
				prev[p&pmask] = head[h]
				head[h] = base + uint32(p)
			}
			pos += prevLen - 1
			prevLen, pending = 0, false
		case pending:
			b := src[pos-1]
			tokens = append(tokens, uint32(b))
			litFreq[b]++
			done++
			prevLen, prevDist = curLen, curDist
			pos++
		default:
			pending = true
			prevLen, prevDist = curLen, curDist
			pos++
		}
		if len(tokens) == blockTokens {
			c.tokens = tokens
			c.writeBlock(src[blockStart:done], false)
			blockStart = done
			c.resetBlock()
			tokens = c.tokens
		}
	}
	if pending {
		tokens = append(tokens, uint32(src[n-1]))
		litFreq[src[n-1]]++
	}
	c.tokens = tokens
	c.writeBlock(src[blockStart:], true)
}

// hashAt hashes the three bytes at src[pos:] into 32-shift bits.
func hashAt(src []byte, pos int, shift uint) uint32 {
	var v uint32
	if len(src)-pos >= 4 {
		v = binary.LittleEndian.Uint32(src[pos:]) << 8
	} else {
		v = uint32(src[pos])<<8 | uint32(src[pos+1])<<16 | uint32(src[pos+2])<<24
	}
	return (v * 0x9e3779b1) >> shift
}

func (c *Compressor) resetBlock() {
	c.tokens = c.tokens[:0]
	clear(c.litFreq[:])
	clear(c.distFreq[:])
}

// longest returns the longest match for src[pos:] longer than atLeast,
// following the hash chain from candidate cand, or 0 if there is none.
func (c *Compressor) longest(src []byte, pos, cand, atLeast int) (length, dist int) {
	limit := min(maxMatch, len(src)-pos)
	if limit <= atLeast {
		return 0, 0
	}
	if limit < 4 {
		return c.longestShort(src, pos, cand)
	}
	chain := maxChain
	if atLeast >= goodLen {
		chain >>= 2
	}
	nice := min(niceLen, limit)
	cur := src[pos : pos+limit]
	minPos := pos - (windowSize - 1)
	best := atLeast
	base := c.base
	// A longer match must agree on the bytes up to best: test the four
	// ending there first (the first three while best is 2).
	tail, mask := 0, uint32(0xffffff)
	if best >= 3 {
		tail, mask = best-3, 0xffffffff
	}
	want := binary.LittleEndian.Uint32(cur[tail:]) & mask
	for cand >= minPos {
		m := src[cand : cand+limit]
		if binary.LittleEndian.Uint32(m[tail:])&mask == want {
			if l := matchLen(m, cur); l > best {
				best, dist = l, pos-cand
				if l >= nice {
					break
				}
				tail, mask = best-3, 0xffffffff
				want = binary.LittleEndian.Uint32(cur[tail:])
			}
		}
		chain--
		next := c.prev[cand&(len(c.prev)-1)]
		if chain == 0 || next < base || int(next-base) >= cand {
			break
		}
		cand = int(next - base)
	}
	if dist == 0 {
		return 0, 0
	}
	return best, dist
}

// longestShort is longest for the last three bytes of the input: it
// returns the nearest 3-byte match.
func (c *Compressor) longestShort(src []byte, pos, cand int) (length, dist int) {
	for chain := maxChain; cand > pos-windowSize; chain-- {
		if src[cand] == src[pos] && src[cand+1] == src[pos+1] && src[cand+2] == src[pos+2] {
			return 3, pos - cand
		}
		next := c.prev[cand&(len(c.prev)-1)]
		if chain == 1 || next < c.base || int(next-c.base) >= cand {
			break
		}
		cand = int(next - c.base)
	}
	return 0, 0
}

// matchLen returns the length of the common prefix of a and b, where
// len(a) >= len(b).
func matchLen(a, b []byte) int {
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
