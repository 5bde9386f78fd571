package deflate

import (
	"encoding/binary"
	"math/bits"
)

// Decoding table entries. An entry is found by the next primary bits of
// input (or, through a subtable link, by the bits after them) and holds:
//
//	bits 0-7    code length in bits (entryBad for an invalid code)
//	bits 8-11   extra bits of a length or distance; index bits of a link
//	bit  12     link to a subtable
//	bit  13     end of block
//	bit  14     literal
//	bits 16-31  literal byte, length or distance base, code length
//	            symbol, or subtable offset
const (
	entryLink    = 1 << 12
	entryEnd     = 1 << 13
	entryLiteral = 1 << 14
	entryBad     = 0xff // longer than any bit buffer: never decodes
)

// Primary table bits and table sizes: a primary table, then subtables of
// 2^(longest code - primary bits) entries, one per primary index that
// starts longer codes. Only complete codes have subtables, and in them
// each such index starts at least two codes.
const (
	litPrimary  = 10
	distPrimary = 8
	clPrimary   = maxCLBits
	litTable    = 1<<litPrimary + numLitLen/2<<(maxCodeBits-litPrimary)
	distTable   = 1<<distPrimary + numDist/2<<(maxCodeBits-distPrimary)
)

// Alphabets of buildTable.
const (
	alphaLit = iota
	alphaDist
	alphaCodeLen
)

// Decompressor inflates zlib streams. Its zero value is ready to use; it
// keeps about 32 KiB of decoding tables between calls. A Decompressor is
// not safe for concurrent use.
type Decompressor struct {
	lit  [litTable]uint32
	dist [distTable]uint32
	cl   [1 << clPrimary]uint32
	lens [numLitLen + numDist]uint8
}

// Fixed code tables, built once.
var (
	fixedLit  [1 << litPrimary]uint32
	fixedDist [1 << distPrimary]uint32
)

func initFixed() {
	var lens [maxSyms]uint8
	fixedLengths(lens[:])
	buildTable(fixedLit[:], lens[:], litPrimary, alphaLit)
	for s := range 32 {
		lens[s] = 5
	}
	buildTable(fixedDist[:], lens[:32], distPrimary, alphaDist)
}

// InflateZlib inflates the zlib stream at the start of src into dst, which
// it must fill exactly, and returns the number of bytes of src the stream
// occupies, trailer included; bytes after it are ignored. The header must
// name DEFLATE with a window of at most 32 KiB and no preset dictionary,
// and the Adler-32 trailer must match.
//
// Errors: [ErrShortInput] if src ends inside the stream, [ErrHeader],
// [ErrDictionary], [ErrTooLong] if the stream inflates to more than
// len(dst) bytes, [ErrTooShort] if it ends before filling dst,
// [ErrChecksum], or a *[CorruptError] for malformed DEFLATE data. On error
// the contents of dst are unspecified; nothing outside dst is written.
func (d *Decompressor) InflateZlib(dst, src []byte) (consumed int, err error) {
	if len(src) < 2 {
		return 0, ErrShortInput
	}
	cmf, flg := src[0], src[1]
	if cmf&0x0f != 8 || cmf>>4 > 7 || (uint(cmf)<<8|uint(flg))%31 != 0 {
		return 0, ErrHeader
	}
	if flg&0x20 != 0 {
		return 0, ErrDictionary
	}
	end, err := d.inflate(dst, src, 2)
	if err != nil {
		return 0, err
	}
	if len(src)-end < 4 {
		return 0, ErrShortInput
	}
	if binary.BigEndian.Uint32(src[end:]) != adler32(1, dst) {
		return 0, ErrChecksum
	}
	return end + 4, nil
}

// inflate decodes the DEFLATE stream at src[in:] into all of dst and
// returns the offset in src just past its last byte.
func (d *Decompressor) inflate(dst, src []byte, in int) (int, error) {
	var (
		acc uint64 // input bits, next bit lowest
		nb  uint   // valid bits in acc
		out int
	)
	// refill tops acc up to at least 56 bits while input lasts.
	refill := func() {
		if len(src)-in >= 8 {
			acc |= binary.LittleEndian.Uint64(src[in:]) << nb
			in += int(63-nb) >> 3
			nb |= 56
			return
		}
		for nb <= 56 && in < len(src) {
			acc |= uint64(src[in]) << nb
			in++
			nb += 8
		}
	}
	corrupt := func(reason string) error {
		return &CorruptError{Offset: in - int(nb>>3), Reason: reason}
	}
	for final := false; !final; {
		refill()
		if nb < 3 {
			return 0, ErrShortInput
		}
		final = acc&1 != 0
		typ := acc >> 1 & 3
		acc >>= 3
		nb -= 3
		var lit, dist []uint32
		switch typ {
		case 0:
			// Stored: skip to a byte boundary and give the whole bytes
			// in acc back to the input.
			in -= int(nb >> 3)
			acc, nb = 0, 0
			if len(src)-in < 4 {
				return 0, ErrShortInput
			}
			n := int(binary.LittleEndian.Uint16(src[in:]))
			if binary.LittleEndian.Uint16(src[in+2:]) != ^uint16(n) {
				return 0, corrupt("stored block length check fails")
			}
			in += 4
			if n > len(dst)-out {
				return 0, ErrTooLong
			}
			if n > len(src)-in {
				return 0, ErrShortInput
			}
			out += copy(dst[out:], src[in:in+n])
			in += n
			continue
		case 1:
			lit, dist = fixedLit[:], fixedDist[:]
		case 2:
			// The header, read through refill's state.
			refill()
			if nb < 14 {
				return 0, ErrShortInput
			}
			nlit := int(acc&31) + 257
			ndist := int(acc>>5&31) + 1
			nclen := int(acc>>10&15) + 4
			acc >>= 14
			nb -= 14
			if nlit > numLitLen || ndist > numDist {
				return 0, corrupt("too many length or distance codes")
			}
			var cll [numCodeLen]uint8
			for _, s := range codeLenOrder[:nclen] {
				refill()
				if nb < 3 {
					return 0, ErrShortInput
				}
				cll[s] = uint8(acc & 7)
				acc >>= 3
				nb -= 3
			}
			if !buildTable(d.cl[:], cll[:], clPrimary, alphaCodeLen) {
				return 0, corrupt("invalid code length code")
			}
			lens := d.lens[:nlit+ndist]
			for i := 0; i < len(lens); {
				refill()
				e := d.cl[acc&(1<<clPrimary-1)]
				if n := uint(e & 0xff); n > nb {
					if e&0xff == entryBad {
						return 0, corrupt("invalid code length symbol")
					}
					return 0, ErrShortInput
				}
				acc >>= e & 0xff
				nb -= uint(e & 0xff)
				sym := e >> 16
				if sym < 16 {
					lens[i] = uint8(sym)
					i++
					continue
				}
				var rep, xb uint
				var v uint8
				switch sym {
				case 16:
					if i == 0 {
						return 0, corrupt("repeat of no code length")
					}
					rep, xb, v = 3, 2, lens[i-1]
				case 17:
					rep, xb = 3, 3
				default:
					rep, xb = 11, 7
				}
				if nb < xb {
					return 0, ErrShortInput
				}
				rep += uint(acc & (1<<xb - 1))
				acc >>= xb
				nb -= xb
				if int(rep) > len(lens)-i {
					return 0, corrupt("code lengths repeat past their end")
				}
				for range rep {
					lens[i] = v
					i++
				}
			}
			if !buildTable(d.lit[:], lens[:nlit], litPrimary, alphaLit) ||
				!buildTable(d.dist[:], lens[nlit:], distPrimary, alphaDist) {
				return 0, corrupt("invalid literal/length or distance code")
			}
			lit, dist = d.lit[:], d.dist[:]
		default:
			return 0, corrupt("invalid block type")
		}
		// The symbols of a Huffman block.
		for {
			refill()
			e := lit[acc&(1<<litPrimary-1)]
			if e&entryLink != 0 {
				e = lit[e>>16+uint32(acc>>litPrimary)&(1<<(e>>8&15)-1)]
			}
			n := uint(e & 0xff)
			if n > nb {
				if n == entryBad {
					return 0, corrupt("invalid literal/length symbol")
				}
				return 0, ErrShortInput
			}
			acc >>= n
			nb -= n
			if e&entryLiteral != 0 {
				if out >= len(dst) {
					return 0, ErrTooLong
				}
				dst[out] = byte(e >> 16)
				out++
				continue
			}
			if e&entryEnd != 0 {
				break
			}
			xb := uint(e >> 8 & 15)
			if xb > nb {
				return 0, ErrShortInput
			}
			length := int(e>>16) + int(acc&(1<<xb-1))
			acc >>= xb
			nb -= xb
			e = dist[acc&(1<<distPrimary-1)]
			if e&entryLink != 0 {
				e = dist[e>>16+uint32(acc>>distPrimary)&(1<<(e>>8&15)-1)]
			}
			n = uint(e & 0xff)
			if n > nb {
				if n == entryBad {
					return 0, corrupt("invalid distance symbol")
				}
				return 0, ErrShortInput
			}
			acc >>= n
			nb -= n
			xb = uint(e >> 8 & 15)
			if xb > nb {
				refill()
				if xb > nb {
					return 0, ErrShortInput
				}
			}
			dist := int(e>>16) + int(acc&(1<<xb-1))
			acc >>= xb
			nb -= xb
			if dist > out {
				return 0, corrupt("distance too far back")
			}
			if length > len(dst)-out {
				return 0, ErrTooLong
			}
			from := out - dist
			if dist >= length {
				copy(dst[out:out+length], dst[from:])
			} else {
				// Overlapping: each copy doubles what can be copied.
				for k := 0; k < length; {
					k += copy(dst[out+k:out+length], dst[from:out+k])
				}
			}
			out += length
		}
	}
	// The stream ends at the byte holding its last bit.
	end := in - int(nb>>3)
	if out < len(dst) {
		return 0, ErrTooShort
	}
	return end, nil
}

// buildTable fills table with the decoding table of the code with lengths
// lens (symbol i has length lens[i], 0 for unused) from alphabet alpha.
// It reports false for a code that is over-subscribed or incomplete, but
// for two incomplete codes that streams legitimately carry: no code at
// all (every entry invalid), and a single code of length 1.
func buildTable(table []uint32, lens []uint8, primary uint, alpha int) bool {
	var count [maxCodeBits + 1]uint16
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	left, longest := 1, 0
	for l := 1; l <= maxCodeBits; l++ {
		left = left<<1 - int(count[l])
		if left < 0 {
			return false
		}
		if count[l] != 0 {
			longest = l
		}
	}
	mask := 1<<primary - 1
	if left != 0 {
		if longest != 0 && !(longest == 1 && count[1] == 1) {
			return false
		}
		for i := range mask + 1 {
			table[i] = entryBad
		}
		if longest == 0 {
			return true
		}
	}
	// Codes in canonical order: by length, then symbol. next[l] is the
	// next code of length l, offs[l] the next slot of length l in order.
	var next [maxCodeBits + 2]uint32
	var offs [maxCodeBits + 2]uint16
	var order [maxSyms]uint16
	code := uint32(0)
	for l := 1; l <= maxCodeBits; l++ {
		code = (code + uint32(count[l-1])) << 1
		next[l] = code
		offs[l+1] = offs[l] + count[l]
	}
	for s, l := range lens {
		if l != 0 {
			order[offs[l]] = uint16(s)
			offs[l]++
		}
	}
	subBits := uint(max(longest, int(primary))) - primary
	subSize := uint32(1) << subBits
	subOff := uint32(mask + 1)
	lastPrefix := uint32(1 << 31)
	for _, s := range order[:offs[maxCodeBits]] {
		l := uint(lens[s])
		rev := uint32(bits.Reverse16(uint16(next[l]))) >> (16 - l)
		next[l]++
		e := symbolEntry(int(s), alpha) | uint32(l)
		if l <= primary {
			for i := rev; i <= uint32(mask); i += 1 << l {
				table[i] = e
			}
			continue
		}
		prefix := rev & uint32(mask)
		if prefix != lastPrefix {
			if int(subOff+subSize) > len(table) {
				return false // cannot happen for the codes that reach here
			}
			lastPrefix = prefix
			table[prefix] = subOff<<16 | uint32(subBits)<<8 | entryLink
			subOff += subSize
		}
		sub := table[table[prefix]>>16:][:subSize]
		for i := rev >> primary; i < subSize; i += 1 << (l - primary) {
			sub[i] = e
		}
	}
	return true
}

// symbolEntry returns the table entry of symbol s of an alphabet, without
// its code length.
func symbolEntry(s int, alpha int) uint32 {
	switch alpha {
	case alphaLit:
		switch {
		case s < 256:
			return uint32(s)<<16 | entryLiteral
		case s == endOfBlock:
			return entryEnd
		case s < 257+29:
			return uint32(lengthBase[s-257])<<16 | uint32(lengthExtra[s-257])<<8
		}
	case alphaDist:
		if s < numDist {
			return uint32(distBase[s])<<16 | uint32(distExtra[s])<<8
		}
	default:
		return uint32(s) << 16
	}
	return entryBad
}
