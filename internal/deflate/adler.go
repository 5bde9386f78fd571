package deflate

import "encoding/binary"

const (
	adlerMod = 65521
	// adlerMax is the most bytes that can be summed before s2 (starting
	// below adlerMod) could overflow 32 bits: 255n(n+1)/2 + (n+1)(mod-1)
	// must stay below 2^32.
	adlerMax = 5552
)

// adler32 returns the Adler-32 checksum (RFC 1950) of p continuing from
// the checksum adler; the checksum of no bytes is 1.
func adler32(adler uint32, p []byte) uint32 {
	s1, s2 := adler&0xffff, adler>>16
	for len(p) > 0 {
		n := min(len(p), adlerMax)
		q := p[:n]
		p = p[n:]
		// Eight bytes a step: s2 gains 8*s1 plus the bytes weighted by
		// how many of the eight sums they enter (8 for the first, 1 for
		// the last). Both sums come from multiplications that gather
		// 16-bit lanes: with the even bytes in lanes 0-3 and weights
		// in lanes 3-0, lane 3 of the product is their weighted sum,
		// and no lane overflows into the next.
		for len(q) >= 16 {
			x, y := binary.LittleEndian.Uint64(q), binary.LittleEndian.Uint64(q[8:])
			xe, xo := x&0x00ff00ff00ff00ff, x>>8&0x00ff00ff00ff00ff
			ye, yo := y&0x00ff00ff00ff00ff, y>>8&0x00ff00ff00ff00ff
			sx := uint32((xe + xo) * 0x0001000100010001 >> 48)
			sy := uint32((ye + yo) * 0x0001000100010001 >> 48)
			wx := uint32((xe*0x0008000600040002 + xo*0x0007000500030001) >> 48)
			wy := uint32((ye*0x0008000600040002 + yo*0x0007000500030001) >> 48)
			s2 += 16*s1 + 8*sx + wx + wy
			s1 += sx + sy
			q = q[16:]
		}
		for len(q) >= 8 {
			x := binary.LittleEndian.Uint64(q)
			ev := x & 0x00ff00ff00ff00ff
			od := x >> 8 & 0x00ff00ff00ff00ff
			sum := uint32((ev + od) * 0x0001000100010001 >> 48)
			w := uint32((ev*0x0008000600040002 + od*0x0007000500030001) >> 48)
			s2 += 8*s1 + w
			s1 += sum
			q = q[8:]
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
