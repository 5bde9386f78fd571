package zlib

import (
	"encoding/binary"
	"math/bits"
)

// Decoding table entries. An entry is found by the next primary bits of
// input (or, through a subtable link, by the bits after them) and holds:
//
//	bits 0-7    code length in bits plus, for a length or distance, its
//	            extra bits (0 for an invalid code)
//	bits 8-11   extra bits of a length or distance; index bits of a link
//	bit  12     link to a subtable
//	bit  13     end of block
//	bit  14     literal
//	bit  15     invalid code or symbol
//	bits 16-31  literal byte, length or distance base, code length
//	            symbol, or subtable offset
const (
	entryLink    = 1 << 12
	entryEnd     = 1 << 13
	entryLiteral = 1 << 14
	entryBad     = 1 << 15
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
	fixedLit  [litTable]uint32
	fixedDist [distTable]uint32
)

func initFixed() {
	initEntries()
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
	tablesOnce.Do(initTables)
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

// bitReader reads bits least significant first from src.
type bitReader struct {
	src []byte
	in  int    // next byte of src to load into acc
	acc uint64 // loaded bits, next bit lowest; bits past nb are the next input bits or 0
	nb  uint   // valid bits in acc
}

// refill tops acc up to at least 56 bits while input lasts.
func (b *bitReader) refill() {
	if len(b.src)-b.in >= 8 {
		b.acc |= binary.LittleEndian.Uint64(b.src[b.in:]) << b.nb
		b.in += int(63-b.nb) >> 3
		b.nb |= 56
		return
	}
	for b.nb <= 56 && b.in < len(b.src) {
		b.acc |= uint64(b.src[b.in]) << b.nb
		b.in++
		b.nb += 8
	}
}

// bits returns the next n bits (n at most 32), or false if the input
// ends first.
func (b *bitReader) bits(n uint) (uint32, bool) {
	if b.nb < n {
		if b.refill(); b.nb < n {
			return 0, false
		}
	}
	v := uint32(b.acc & (1<<n - 1))
	b.acc >>= n
	b.nb -= n
	return v, true
}

// offset returns the input offset of the next unread whole byte.
func (b *bitReader) offset() int { return b.in - int(b.nb>>3) }

func (b *bitReader) corrupt(reason string) error {
	return &CorruptError{Offset: b.offset(), Reason: reason}
}

// inflate decodes the DEFLATE stream at src[in:] into all of dst and
// returns the offset in src just past its last byte.
func (d *Decompressor) inflate(dst, src []byte, in int) (int, error) {
	br := bitReader{src: src, in: in}
	out := 0
	for final := false; !final; {
		hdr, ok := br.bits(3)
		if !ok {
			return 0, ErrShortInput
		}
		final = hdr&1 != 0
		var err error
		switch hdr >> 1 {
		case 0:
			out, err = stored(&br, dst, out)
		case 1:
			out, err = huffmanBlock(&br, dst, out, &fixedLit, &fixedDist)
		case 2:
			if err = d.readCodes(&br); err == nil {
				out, err = huffmanBlock(&br, dst, out, &d.lit, &d.dist)
			}
		default:
			err = br.corrupt("invalid block type")
		}
		if err != nil {
			return 0, err
		}
	}
	if out < len(dst) {
		return 0, ErrTooShort
	}
	// The stream ends at the byte holding its last bit.
	return br.offset(), nil
}

// stored copies a stored block to dst[out:] and returns the new output
// length.
func stored(br *bitReader, dst []byte, out int) (int, error) {
	// Skip to a byte boundary and give the whole bytes in acc back to
	// the input.
	br.in = br.offset()
	br.acc, br.nb = 0, 0
	src, in := br.src, br.in
	if len(src)-in < 4 {
		return 0, ErrShortInput
	}
	n := int(binary.LittleEndian.Uint16(src[in:]))
	if binary.LittleEndian.Uint16(src[in+2:]) != ^uint16(n) {
		return 0, br.corrupt("stored block length check fails")
	}
	in += 4
	if n > len(dst)-out {
		return 0, ErrTooLong
	}
	if n > len(src)-in {
		return 0, ErrShortInput
	}
	br.in = in + n
	return out + copy(dst[out:], src[in:in+n]), nil
}

// readCodes reads the code lengths of a dynamic block and builds d.lit
// and d.dist.
func (d *Decompressor) readCodes(br *bitReader) error {
	h, ok := br.bits(14)
	if !ok {
		return ErrShortInput
	}
	nlit := int(h&31) + 257
	ndist := int(h>>5&31) + 1
	nclen := int(h>>10&15) + 4
	if nlit > numLitLen || ndist > numDist {
		return br.corrupt("too many length or distance codes")
	}
	var cll [numCodeLen]uint8
	for _, s := range codeLenOrder[:nclen] {
		v, ok := br.bits(3)
		if !ok {
			return ErrShortInput
		}
		cll[s] = uint8(v)
	}
	if !buildTable(d.cl[:], cll[:], clPrimary, alphaCodeLen) {
		return br.corrupt("invalid code length code")
	}
	lens := d.lens[:nlit+ndist]
	i, reason := readLengths(br, &d.cl, lens)
	if reason != "" {
		return br.corrupt(reason)
	}
	// Near the end of the input: check each read.
	for i < len(lens) {
		br.refill()
		e := d.cl[br.acc&(1<<clPrimary-1)]
		if e&entryBad != 0 {
			return br.corrupt("invalid code length symbol")
		}
		n := uint(e & 0xff)
		if n > br.nb {
			return ErrShortInput
		}
		br.acc >>= n
		br.nb -= n
		sym := e >> 16
		if sym < 16 {
			lens[i] = uint8(sym)
			i++
			continue
		}
		rep, xb := codeLenRepeat(sym)
		x, ok := br.bits(xb)
		if !ok {
			return ErrShortInput
		}
		j := repeatLength(lens, i, sym, rep+uint(x))
		if j < 0 {
			return br.corrupt(repeatError(i, sym))
		}
		i = j
	}
	if !buildTable(d.lit[:], lens[:nlit], litPrimary, alphaLit) ||
		!buildTable(d.dist[:], lens[nlit:], distPrimary, alphaDist) {
		return br.corrupt("invalid literal/length or distance code")
	}
	return nil
}

// readLengths decodes code lengths with the code length code cl into lens
// while 8 bytes of input remain, and returns how many it decoded, or why
// the input is corrupt. It refills without checks, which loads 64 bits
// of input (nb is at most 8 fewer), then decodes symbols while it is
// sure to have the bits of one more: a symbol and its extra bits take at
// most 7+7 bits, and the next symbol's entry is looked up, before the
// refill, from the 7 after them (which the refill leaves as they are). It
// is a function of its own, not inlined, so that its loop keeps more in
// registers.
//
//go:noinline
func readLengths(br *bitReader, cl *[1 << clPrimary]uint32, lens []uint8) (int, string) {
	src, in, acc, nb := br.src, br.in, br.acc, br.nb
	if len(src)-in < 8 {
		return 0, ""
	}
	acc |= binary.LittleEndian.Uint64(src[in:]) << (nb & 63)
	in += int(63-nb) >> 3
	nb |= 56
	i := 0
	e := cl[acc&(1<<clPrimary-1)]
	var bad uint32 // the symbol that cannot repeat, or entryBad
loop:
	for len(src)-in >= 8 {
		acc |= binary.LittleEndian.Uint64(src[in:]) << (nb & 63)
		in += int(63-nb) >> 3
		nb |= 56
		// A symbol takes at most 14 bits; the 7 after it are loaded.
		for nb >= 14+7 {
			if e&entryBad != 0 {
				bad = entryBad
				break loop
			}
			acc >>= e & 63
			nb -= uint(e & 63)
			if sym := e >> 16; sym < 16 {
				if i >= len(lens) {
					break loop // cannot happen: the loop ends first
				}
				lens[i] = uint8(sym)
				i++
			} else {
				rep, xb := codeLenRepeat(sym)
				rep += uint(acc & (1<<xb - 1))
				acc >>= xb
				nb -= xb
				j := repeatLength(lens, i, sym, rep)
				if j < 0 {
					bad = sym
					break loop
				}
				i = j
			}
			if i == len(lens) {
				break loop
			}
			e = cl[acc&(1<<clPrimary-1)]
		}
	}
	br.in, br.acc, br.nb = in, acc, nb
	switch bad {
	case 0:
		return i, ""
	case entryBad:
		return i, "invalid code length symbol"
	}
	return i, repeatError(i, bad)
}

// codeLenRepeat returns the least repeat count of code length symbol
// sym (16 to 18) and the number of extra bits added to it.
func codeLenRepeat(sym uint32) (rep, xb uint) {
	switch sym {
	case 16:
		return 3, 2
	case 17:
		return 3, 3
	}
	return 11, 7
}

// repeatLength sets rep lengths from lens[i] on as code length symbol
// sym (16 to 18) says: the previous length for 16, zero otherwise. It
// returns the index after them, or -1 if it cannot (repeatError says why).
func repeatLength(lens []uint8, i int, sym uint32, rep uint) int {
	v := uint8(0)
	if sym == 16 {
		if i == 0 {
			return -1
		}
		v = lens[i-1]
	}
	if rep > uint(len(lens)-i) {
		return -1
	}
	r := lens[i : i+int(rep)]
	for k := range r {
		r[k] = v
	}
	return i + int(rep)
}

// repeatError says why repeatLength could not repeat for symbol sym at i.
func repeatError(i int, sym uint32) string {
	if sym == 16 && i == 0 {
		return "repeat of no code length"
	}
	return "code lengths repeat past their end"
}

// huffmanBlock decodes the symbols of a Huffman block into dst[out:] up
// to its end of block symbol and returns the new output length. While
// at least 8 bytes of input and 3 of output remain, a fast loop decodes
// without checking for the end of input, and copies matches 16 bytes at
// a time while 32 bytes past them remain; the careful loop does the rest.
//
// The fast loop refills acc from 8 bytes of input, which makes all its 64
// bits input, and no path through the loop uses more than 48 of them: 3
// literals of at most 15 bits, or a length and a distance with their
// extra bits (15+5+15+13). So the 15 bits after a path are loaded
// already, and the loop looks up the entry of the next symbol before the
// refill at its top, which then leaves those bits as they are: the
// lookup does not wait for the load.
func huffmanBlock(br *bitReader, dst []byte, out int, lit *[litTable]uint32, dist *[distTable]uint32) (int, error) {
	src, in, acc, nb := br.src, br.in, br.acc, br.nb
	if len(src)-in < 8 || len(dst)-out < 3 {
		return huffmanCareful(br, dst, out, lit, dist)
	}
	acc |= binary.LittleEndian.Uint64(src[in:]) << (nb & 63)
	in += int(63-nb) >> 3
	nb |= 56
	e := litEntry(lit, acc)
	for len(src)-in >= 8 && len(dst)-out >= 3 {
		acc |= binary.LittleEndian.Uint64(src[in:]) << (nb & 63)
		in += int(63-nb) >> 3
		nb |= 56
		if e&entryLiteral != 0 {
			acc >>= e & 63
			nb -= uint(e & 63)
			dst[out] = byte(e >> 16)
			out++
			e = lit[acc&(1<<litPrimary-1)]
			if e&entryLiteral != 0 {
				acc >>= e & 63
				nb -= uint(e & 63)
				dst[out] = byte(e >> 16)
				out++
				e = lit[acc&(1<<litPrimary-1)]
				if e&entryLiteral != 0 {
					acc >>= e & 63
					nb -= uint(e & 63)
					dst[out] = byte(e >> 16)
					out++
					e = lit[acc&(1<<litPrimary-1)]
				}
			}
			if e&entryLink != 0 {
				e = lit[e>>16+uint32(acc>>litPrimary)&(1<<(e>>8&15)-1)]
			}
			continue
		}
		if e&(entryEnd|entryBad) != 0 {
			if e&entryBad != 0 {
				break // the careful loop reports it
			}
			acc >>= e & 63
			nb -= uint(e & 63)
			br.in, br.acc, br.nb = in, acc, nb
			return out, nil
		}
		length := int(e>>16) + int(extraBits(e, acc))
		acc >>= e & 63
		nb -= uint(e & 63)
		e = dist[acc&(1<<distPrimary-1)]
		if e&entryLink != 0 {
			e = dist[e>>16+uint32(acc>>distPrimary)&(1<<(e>>8&15)-1)]
		}
		if e&entryBad != 0 {
			br.in, br.acc, br.nb = in, acc, nb
			return 0, br.corrupt("invalid distance symbol")
		}
		d := int(e>>16) + int(extraBits(e, acc))
		acc >>= e & 63
		nb -= uint(e & 63)
		if d > out {
			br.in, br.acc, br.nb = in, acc, nb
			return 0, br.corrupt("distance too far back")
		}
		e = litEntry(lit, acc)
		from := out - d
		switch {
		case length+32 > len(dst)-out:
			// Near the end: exact copies.
			if length > len(dst)-out {
				return 0, ErrTooLong
			}
			for k := range length {
				dst[out+k] = dst[from+k]
			}
		case d >= 16:
			// Forward 16-byte copies see only bytes already
			// written, and may write up to 31 bytes past the match:
			// most matches take the first two.
			s, t := dst[from:from+32:from+32], dst[out:out+32:out+32]
			copy16(t, 0, s, 0)
			copy16(t, 16, s, 16)
			for k := 32; k < length; k += 16 {
				copy16(dst, out+k, dst, from+k)
			}
		case d >= 8:
			for k := 0; k < length; k += 8 {
				binary.LittleEndian.PutUint64(dst[out+k:], binary.LittleEndian.Uint64(dst[from+k:]))
			}
		case d == 1:
			v := uint64(dst[from]) * 0x0101010101010101
			for k := 0; k < length; k += 8 {
				binary.LittleEndian.PutUint64(dst[out+k:], v)
			}
		default:
			for k := range length {
				dst[out+k] = dst[from+k]
			}
		}
		out += length
	}
	br.in, br.acc, br.nb = in, acc, nb
	return huffmanCareful(br, dst, out, lit, dist)
}

// copy16 copies the 16 bytes at src[from:] to dst[out:]. The two may be
// the same slice; the bytes are read before they are written.
func copy16(dst []byte, out int, src []byte, from int) {
	a := binary.LittleEndian.Uint64(src[from:])
	b := binary.LittleEndian.Uint64(src[from+8:])
	binary.LittleEndian.PutUint64(dst[out:], a)
	binary.LittleEndian.PutUint64(dst[out+8:], b)
}

// extraBits returns the extra bits of the length or distance whose entry
// is e and whose code starts acc.
func extraBits(e uint32, acc uint64) uint32 {
	xb := e >> 8 & 15
	return uint32(acc>>((e-xb)&63)) & (1<<xb - 1)
}

// litEntry returns the literal/length table entry of the code at the
// start of acc, following a subtable link.
func litEntry(lit *[litTable]uint32, acc uint64) uint32 {
	e := lit[acc&(1<<litPrimary-1)]
	if e&entryLink != 0 {
		e = lit[e>>16+uint32(acc>>litPrimary)&(1<<(e>>8&15)-1)]
	}
	return e
}

// huffmanCareful is huffmanBlock checking every symbol for the end of
// input and output.
func huffmanCareful(br *bitReader, dst []byte, out int, lit *[litTable]uint32, dist *[distTable]uint32) (int, error) {
	for {
		br.refill()
		e := lit[br.acc&(1<<litPrimary-1)]
		if e&entryLink != 0 {
			e = lit[e>>16+uint32(br.acc>>litPrimary)&(1<<(e>>8&15)-1)]
		}
		n := uint(e & 63)
		if e&entryBad != 0 {
			return 0, br.corrupt("invalid literal/length symbol")
		}
		if n > br.nb {
			return 0, ErrShortInput
		}
		acc := br.acc
		br.acc >>= n
		br.nb -= n
		if e&entryLiteral != 0 {
			if out >= len(dst) {
				return 0, ErrTooLong
			}
			dst[out] = byte(e >> 16)
			out++
			continue
		}
		if e&entryEnd != 0 {
			return out, nil
		}
		length := int(e>>16) + int(extraBits(e, acc))
		br.refill()
		e = dist[br.acc&(1<<distPrimary-1)]
		if e&entryLink != 0 {
			e = dist[e>>16+uint32(br.acc>>distPrimary)&(1<<(e>>8&15)-1)]
		}
		n = uint(e & 63)
		if e&entryBad != 0 {
			return 0, br.corrupt("invalid distance symbol")
		}
		if n > br.nb {
			return 0, ErrShortInput
		}
		d := int(e>>16) + int(extraBits(e, br.acc))
		br.acc >>= n
		br.nb -= n
		if d > out {
			return 0, br.corrupt("distance too far back")
		}
		if length > len(dst)-out {
			return 0, ErrTooLong
		}
		from := out - d
		if d >= length {
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

// buildTable fills table with the decoding table of the code with lengths
// lens (symbol i has length lens[i], 0 for unused) from alphabet alpha.
// It reports false for a code that is over-subscribed or incomplete, but
// for two incomplete codes that streams legitimately carry: no code at
// all (every entry invalid), and a single code of length 1.
func buildTable(table []uint32, lens []uint8, primary uint, alpha int) bool {
	var order [maxSyms]uint16
	count := canonicalOrder(&order, lens)
	left, longest := 1, uint(0)
	for l := 1; l <= maxCodeBits; l++ {
		left = left<<1 - int(count[l])
		if left < 0 {
			return false
		}
		if count[l] != 0 {
			longest = uint(l)
		}
	}
	size := 1 << primary
	if left != 0 {
		if longest != 0 && !(longest == 1 && count[1] == 1) {
			return false
		}
		for i := range size {
			table[i] = entryBad
		}
		if longest == 0 {
			return true
		}
	}
	var entries *[maxSyms]uint32
	switch alpha {
	case alphaLit:
		entries = &litEntries
	case alphaDist:
		entries = &distEntries
	default:
		entries = &codeLenEntries
	}
	// Codes up to primary bits: the table for codes of at most l bits
	// is two copies of the one for l-1 bits with the l-bit codes placed
	// (an l-bit code, reversed, is its only index below 2^l).
	// Below the shortest length, every index starts a longer code, and
	// its entry is replaced later: those tables need not be built.
	shortest := uint(1)
	for count[shortest] == 0 {
		shortest++
	}
	code, k := uint32(0), 0
	filled := 1 << (shortest - 1)
	for l := shortest; l <= min(primary, longest); l++ {
		copy(table[filled:2*filled], table[:filled])
		filled *= 2
		n := int(count[l])
		code = placeCodes(table[:filled], order[k:k+n], entries, code, l)
		k += n
		code <<= 1
	}
	for ; filled < size; filled *= 2 {
		copy(table[filled:2*filled], table[:filled])
	}
	if longest <= primary {
		return true
	}
	// Longer codes go to subtables of 2^(longest-primary) entries, one
	// for each primary index that starts such codes (they come in a run).
	subBits := longest - primary
	subSize := uint32(1) << subBits
	subOff := uint32(size)
	lastPrefix := uint32(1 << 31)
	for l := primary + 1; l <= longest; l++ {
		for range count[l] {
			s := order[k]
			k++
			rev := uint32(bits.Reverse16(uint16(code))) >> (16 - l)
			code++
			prefix := rev & uint32(size-1)
			if prefix != lastPrefix {
				if int(subOff+subSize) > len(table) {
					return false // cannot happen for a complete code
				}
				lastPrefix = prefix
				table[prefix] = subOff<<16 | uint32(subBits)<<8 | entryLink
				subOff += subSize
			}
			sub := table[table[prefix]>>16:][:subSize]
			e := entries[s] + uint32(l)
			for i := rev >> primary; i < subSize; i += 1 << (l - primary) {
				sub[i] = e
			}
		}
		code <<= 1
	}
	return true
}

// placeCodes sets the entries of the symbols syms, which have consecutive
// codes of length l from code on, in table (of 2^l entries) and returns
// the code after them. It is a function of its own, not inlined, so that
// its loop keeps everything in registers.
//
//go:noinline
func placeCodes(table []uint32, syms []uint16, entries *[maxSyms]uint32, code uint32, l uint) uint32 {
	shift := (16 - l) & 15
	for _, s := range syms {
		table[bits.Reverse16(uint16(code))>>shift] = entries[s] + uint32(l)
		code++
	}
	return code
}

// canonicalOrder sets order to the symbols of the code with lengths lens
// in canonical order (by length, then symbol), unused ones last, and
// returns the number of symbols of each length. Lengths are below 16
// (the &15 spares bounds checks).
//
// Each quarter of the alphabet has its own counters, so that runs of one
// length do not wait on the previous increment of the same counter.
func canonicalOrder(order *[maxSyms]uint16, lens []uint8) [maxCodeBits + 1]uint16 {
	var c0, c1, c2, c3 [maxCodeBits + 1]uint16
	q := len(lens) / 4
	l0, l1, l2, l3 := lens[:q], lens[q:2*q], lens[2*q:3*q], lens[3*q:]
	for j, l := range l0 {
		c0[l&15]++
		c1[l1[j]&15]++
		c2[l2[j]&15]++
		c3[l3[j]&15]++
	}
	for _, l := range l3[q:] {
		c3[l&15]++
	}
	// Quarter k places its symbols of length l from o_k[l] on, after
	// those of the quarters before it; length 0 comes last.
	var o0, o1, o2, o3 [maxCodeBits + 1]uint16
	next := uint16(0)
	for l := 1; l <= maxCodeBits+1; l++ {
		l := l & 15
		o0[l] = next
		o1[l] = o0[l] + c0[l]
		o2[l] = o1[l] + c1[l]
		o3[l] = o2[l] + c2[l]
		next = o3[l] + c3[l]
	}
	for j, l := range l0 {
		order[o0[l&15]] = uint16(j)
		o0[l&15]++
		l = l1[j] & 15
		order[o1[l]] = uint16(q + j)
		o1[l]++
		l = l2[j] & 15
		order[o2[l]] = uint16(2*q + j)
		o2[l]++
		l = l3[j] & 15
		order[o3[l]] = uint16(3*q + j)
		o3[l]++
	}
	for j, l := range l3[q:] {
		order[o3[l&15]] = uint16(4*q + j)
		o3[l&15]++
	}
	var count [maxCodeBits + 1]uint16
	for l := 1; l <= maxCodeBits; l++ {
		count[l] = c0[l] + c1[l] + c2[l] + c3[l]
	}
	return count
}

// Table entries, without code length, of the symbols of each alphabet.
var litEntries, distEntries, codeLenEntries [maxSyms]uint32

func initEntries() {
	for s := range maxSyms {
		litEntries[s] = symbolEntry(s, alphaLit)
		distEntries[s] = symbolEntry(s, alphaDist)
		codeLenEntries[s] = symbolEntry(s, alphaCodeLen)
	}
}

// symbolEntry returns the table entry of symbol s of an alphabet, without
// its code length, which buildTable adds to the low bits (to the extra
// bits of a length or distance).
func symbolEntry(s int, alpha int) uint32 {
	switch alpha {
	case alphaLit:
		switch {
		case s < 256:
			return uint32(s)<<16 | entryLiteral
		case s == endOfBlock:
			return entryEnd
		case s < 257+29:
			x := uint32(lengthExtra[s-257])
			return uint32(lengthBase[s-257])<<16 | x<<8 | x
		}
	case alphaDist:
		if s < numDist {
			x := uint32(distExtra[s])
			return uint32(distBase[s])<<16 | x<<8 | x
		}
	default:
		return uint32(s) << 16
	}
	return entryBad
}
