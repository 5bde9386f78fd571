package zlib

import "encoding/binary"

const (
	adlerMod = 65521
	// adlerMax is the most bytes that can be summed before s2 (starting
	// below adlerMod) could overflow 32 bits: 255n(n+1)/2 + (n+1)(mod-1)
	// must stay below 2^32.
	adlerMax = 5552
	// adlerWords is the most 8-byte words adlerRun sums in 16-bit lanes
	// before the lanes could overflow: its running sum of lane sums grows
	// to 510*k(k+1)/2 for k words.
	adlerWords = 15
)

// adler32 returns the Adler-32 checksum (RFC 1950) of p continuing from
// the checksum adler; the checksum of no bytes is 1.
func adler32(adler uint32, p []byte) uint32 {
	s1, s2 := adler&0xffff, adler>>16
	for len(p) > 0 {
		n := min(len(p), adlerMax)
		q := p[:n]
		p = p[n:]
		for len(q) >= 8 {
			k := min(len(q)/8, adlerWords)
			s1, s2 = adlerRun(s1, s2, q[:8*k])
			q = q[8*k:]
		}
		for _, b := range q {
			s1 += uint32(b)
			s2 += s1
		}
		s1 %= adlerMod
		s2 %= adlerMod
	}
	return s2<<16 | s1
}

// adlerRun adds the 8-byte words of q (at most adlerWords) to the sums
// s1 and s2, which must not overflow 32 bits.
//
// For k words and bytes b[i] (i = 8w + p for byte p of word w), s1 gains
// the sum of the bytes and s2 gains 8k*s1 plus the sum of (8k-i)*b[i],
// which is 8 times the sum of (k-w) * (sum of word w) minus the sum of
// p * (sum of the bytes at position p). The loop keeps these in 16-bit
// lanes, with the even bytes of a word in one set of lanes and the odd
// ones added to them: a holds the sums of the words so far, lane by lane,
// c the sum of those running sums (each word counted once per word from
// it on), and e the sums of the even bytes alone. Only the end adds up
// the lanes.
func adlerRun(s1, s2 uint32, q []byte) (uint32, uint32) {
	const lo = 0x00ff00ff00ff00ff
	k := uint32(len(q) / 8)
	var a, c, e uint64
	i := 0
	for ; i <= len(q)-16; i += 16 {
		w := q[i : i+16 : i+16]
		x, y := binary.LittleEndian.Uint64(w), binary.LittleEndian.Uint64(w[8:])
		xe, ye := x&lo, y&lo
		a += xe + x>>8&lo
		c += a
		a += ye + y>>8&lo
		c += a
		e += xe + ye
	}
	if i <= len(q)-8 {
		x := binary.LittleEndian.Uint64(q[i:])
		xe := x & lo
		a += xe + x>>8&lo
		c += a
		e += xe
	}
	// a's lanes sum to at most 4*510*15, below 2^16: one multiplication
	// gathers them in the top lane. c's lanes can reach 61200 each, so
	// they are added in two 32-bit lanes.
	sa := uint32(a * 0x0001000100010001 >> 48)
	c = c&0x0000ffff0000ffff + c>>16&0x0000ffff0000ffff
	sc := uint32(c + c>>32)
	// Position sums: lane j of e is position 2j, of o position 2j+1;
	// their weighted sums gather in the top lane (at most 16*255*15).
	o := a - e
	w := uint32(e*0x0000000200040006>>48) + uint32(o*0x0001000300050007>>48)
	return s1 + sa, s2 + 8*k*s1 + 8*sc - w
}
