package reftable

import (
	"bytes"
	"encoding/hex"
	"math"
	"testing"
)

func TestVarintGolden(t *testing.T) {
	tests := []struct {
		v   uint64
		hex string
	}{
		{0, "00"},
		{127, "7f"},
		{128, "8000"},
		{137, "8009"},
		{255, "807f"},
		{256, "8100"},
		{16383, "fe7f"},
		{16384, "ff00"},
		{16512, "808000"},
		{1 << 63, "fefefefefefefeff00"},
		{math.MaxUint64, "80fefefefefefefefe7f"},
	}
	for _, tt := range tests {
		got := appendVarint(nil, tt.v)
		if hex.EncodeToString(got) != tt.hex {
			t.Errorf("appendVarint(%d) = %x, want %s", tt.v, got, tt.hex)
		}
		if varintLen(tt.v) != len(got) {
			t.Errorf("varintLen(%d) = %d, want %d", tt.v, varintLen(tt.v), len(got))
		}
		v, n := readVarint(append(got, 0xaa))
		if v != tt.v || n != len(got) {
			t.Errorf("readVarint(%x) = %d, %d; want %d, %d", got, v, n, tt.v, len(got))
		}
	}
}

func TestVarintRoundTrip(t *testing.T) {
	for _, v := range []uint64{0, 1, 27, 127, 128, 257, 4096, 1 << 63, math.MaxUint64} {
		b := appendVarint(nil, v)
		got, n := readVarint(b)
		if got != v || n != len(b) {
			t.Errorf("round trip %d: got %d (n=%d)", v, got, n)
		}
	}
}

func TestVarintOverflow(t *testing.T) {
	b, _ := hex.DecodeString("ffffffffffffffffff00")
	if _, n := readVarint(b); n >= 0 {
		t.Fatalf("readVarint(%x) = n %d, want overflow", b, n)
	}
}

func TestVarintTruncated(t *testing.T) {
	for _, b := range [][]byte{nil, {0x80}, {0xff, 0xff}} {
		if _, n := readVarint(b); n > 0 {
			t.Errorf("readVarint(%x) succeeded", b)
		}
	}
	if !bytes.Equal(appendVarint([]byte{1}, 0), []byte{1, 0}) {
		t.Error("appendVarint does not append")
	}
}
