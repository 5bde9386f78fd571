package reftable

// appendVarint appends v in git's pack-offset varint encoding: 7-bit groups,
// most significant first, continuation bit set on all but the last byte, and
// every continuation adding one so that no value has two encodings.
func appendVarint(dst []byte, v uint64) []byte {
	var buf [10]byte
	i := len(buf) - 1
	buf[i] = byte(v & 0x7f)
	for v >>= 7; v != 0; v >>= 7 {
		v--
		i--
		buf[i] = 0x80 | byte(v&0x7f)
	}
	return append(dst, buf[i:]...)
}

// varintLen returns the encoded length of v.
func varintLen(v uint64) int {
	n := 1
	for v >>= 7; v != 0; v >>= 7 {
		v--
		n++
	}
	return n
}

// readVarint decodes a varint from the start of b. It returns the value and
// the number of bytes consumed, or n <= 0 if b is truncated (0) or the value
// overflows 64 bits (-1).
func readVarint(b []byte) (v uint64, n int) {
	if len(b) == 0 {
		return 0, 0
	}
	c := b[0]
	v = uint64(c & 0x7f)
	n = 1
	for c&0x80 != 0 {
		if n >= len(b) {
			return 0, 0
		}
		if v+1 == 0 || (v+1)>>57 != 0 {
			return 0, -1
		}
		c = b[n]
		n++
		v = (v+1)<<7 | uint64(c&0x7f)
	}
	return v, n
}
