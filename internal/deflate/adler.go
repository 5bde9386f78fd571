package deflate

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
		// how many of the eight sums they enter.
		for len(q) >= 8 {
			b0, b1, b2, b3 := uint32(q[0]), uint32(q[1]), uint32(q[2]), uint32(q[3])
			b4, b5, b6, b7 := uint32(q[4]), uint32(q[5]), uint32(q[6]), uint32(q[7])
			s2 += 8*s1 + 8*b0 + 7*b1 + 6*b2 + 5*b3 + 4*b4 + 3*b5 + 2*b6 + b7
			s1 += b0 + b1 + b2 + b3 + b4 + b5 + b6 + b7
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
