package reftable

import (
	"hash/crc32"
	"math/rand/v2"
	"testing"
)

func TestFooterCRC(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for n := range 200 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		if got, want := footerCRC(b), crc32.ChecksumIEEE(b); got != want {
			t.Fatalf("footerCRC of %d bytes = %08x, want %08x", n, got, want)
		}
	}
}
