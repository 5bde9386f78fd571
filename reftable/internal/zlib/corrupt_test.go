package zlib

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// craft returns a zlib stream whose DEFLATE data body writes, followed by
// the Adler-32 of sum.
func craft(body func(w *bitWriter), sum []byte) []byte {
	w := bitWriter{buf: make([]byte, 4096)}
	body(&w)
	w.align()
	out := append([]byte{0x78, 0x9c}, w.buf[:w.pos]...)
	return binary.BigEndian.AppendUint32(out, adler32(1, sum))
}

// dynamicHeader writes the header of a final dynamic block (block header
// included) with the given code lengths, using a code length code giving
// symbols 0-15 four bits each and no repeats.
func dynamicHeader(w *bitWriter, lit, dist []uint8) {
	w.bits(1|2<<1, 3)
	w.bits(uint32(len(lit)-257)|uint32(len(dist)-1)<<5|15<<10, 14)
	var cl [numCodeLen]uint8
	for s := range 16 {
		cl[s] = 4
	}
	for _, s := range codeLenOrder {
		w.bits(uint32(cl[s]), 3)
	}
	var codes [numCodeLen]uint16
	canonical(cl[:], codes[:])
	for _, l := range append(append([]uint8(nil), lit...), dist...) {
		w.bits(uint32(codes[l]), 4)
	}
}

// fixedSym writes literal/length symbol s with the fixed code (and builds
// the codec's tables, which the tests then read directly).
func fixedSym(w *bitWriter, s int) {
	tablesOnce.Do(initTables)
	w.bits(uint32(fixedLitCodes[s]), uint(fixedLitLens[s]))
}

func TestInflateErrors(t *testing.T) {
	var c Compressor
	good := c.AppendZlib(nil, []byte("hello, hello, hello world"))
	flip := func(b []byte, at int, x byte) []byte {
		b = bytes.Clone(b)
		b[at] ^= x
		return b
	}
	uniform := func(n int, l uint8) []uint8 { return bytes.Repeat([]uint8{l}, n) }
	tests := []struct {
		name   string
		stream []byte
		size   int // destination size
		want   error
		reason string // of a *CorruptError
	}{
		{"empty input", nil, 0, ErrShortInput, ""},
		{"one byte", []byte{0x78}, 0, ErrShortInput, ""},
		{"method 9", []byte{0x79, 0x9b, 3, 0}, 0, ErrHeader, ""}, // 0x799b is a multiple of 31
		{"64 KiB window", []byte{0x88, 0x98, 3, 0}, 0, ErrHeader, ""},
		{"bad check bits", flip(good, 1, 1), 25, ErrHeader, ""},
		{"preset dictionary", []byte{0x78, 0xbb, 0, 0, 0, 1, 3, 0}, 0, ErrDictionary, ""},
		{"block type 3", craft(func(w *bitWriter) { w.bits(1|3<<1, 3) }, nil), 0, ErrCorrupt, "invalid block type"},
		{"stored length check", craft(func(w *bitWriter) {
			w.bits(1, 3)
			w.align()
			w.bits(5|0xfffb<<16, 32) // NLEN is not ^LEN
		}, nil), 5, ErrCorrupt, "stored block length check"},
		{"stored block too long", craft(func(w *bitWriter) {
			w.bits(1, 3)
			w.align()
			w.bits(5|0xfffa<<16, 32)
			w.bits('a', 8)
		}, nil), 4, ErrTooLong, ""},
		{"literals too long", good, 24, ErrTooLong, ""},
		{"match too long", craft(func(w *bitWriter) {
			w.bits(1|1<<1, 3)
			fixedSym(w, 'a')
			fixedSym(w, 257+7) // length 10
			w.bits(uint32(fixedDistCode[0]), 5)
			fixedSym(w, endOfBlock)
		}, nil), 8, ErrTooLong, ""},
		{"too short", good, 26, ErrTooShort, ""},
		{"empty stream, one byte wanted", c.AppendZlib(nil, nil), 1, ErrTooShort, ""},
		{"checksum", flip(good, len(good)-1, 1), 25, ErrChecksum, ""},
		{"distance too far back", craft(func(w *bitWriter) {
			w.bits(1|1<<1, 3)
			fixedSym(w, 'a')
			fixedSym(w, 257)                    // length 3
			w.bits(uint32(fixedDistCode[1]), 5) // distance 2
			fixedSym(w, endOfBlock)
		}, nil), 4, ErrCorrupt, "distance too far back"},
		{"fixed literal/length 286", craft(func(w *bitWriter) {
			w.bits(1|1<<1, 3)
			fixedSym(w, 286)
		}, nil), 1, ErrCorrupt, "invalid literal/length symbol"},
		{"fixed distance 30", craft(func(w *bitWriter) {
			w.bits(1|1<<1, 3)
			fixedSym(w, 'a')
			fixedSym(w, 257)
			w.bits(0b01111, 5) // 30, 11110 first bit first
			fixedSym(w, endOfBlock)
		}, nil), 4, ErrCorrupt, "invalid distance symbol"},
		{"287 literal/length codes", craft(func(w *bitWriter) {
			w.bits(1|2<<1, 3)
			w.bits(30|0<<5|15<<10, 14)
		}, nil), 0, ErrCorrupt, "too many"},
		{"31 distance codes", craft(func(w *bitWriter) {
			w.bits(1|2<<1, 3)
			w.bits(0|30<<5|15<<10, 14)
		}, nil), 0, ErrCorrupt, "too many"},
		{"code length code over-subscribed", craft(func(w *bitWriter) {
			w.bits(1|2<<1, 3)
			w.bits(0|0<<5|15<<10, 14)
			for range numCodeLen {
				w.bits(1, 3)
			}
		}, nil), 0, ErrCorrupt, "invalid code length code"},
		{"code length code incomplete", craft(func(w *bitWriter) {
			w.bits(1|2<<1, 3)
			w.bits(0|0<<5|0<<10, 14)
			w.bits(2, 3) // symbol 16: one code of two bits
		}, nil), 0, ErrCorrupt, "invalid code length code"},
		{"repeat of no length", craft(func(w *bitWriter) {
			w.bits(1|2<<1, 3)
			w.bits(0|0<<5|0<<10, 14)
			w.bits(1, 3) // 16
			w.bits(1, 3) // 17
			w.bits(0, 3)
			w.bits(0, 3)
			w.bits(0, 1) // symbol 16 first
		}, nil), 0, ErrCorrupt, "repeat of no code length"},
		{"repeat past the end", craft(func(w *bitWriter) {
			w.bits(1|2<<1, 3)
			w.bits(0|0<<5|0<<10, 14)
			w.bits(0, 3) // 16
			w.bits(1, 3) // 17
			w.bits(1, 3) // 18
			w.bits(0, 3)
			w.bits(1, 1)   // 18 (codes: 17 is 0, 18 is 1)
			w.bits(127, 7) // 138 zeros
			w.bits(1, 1)   // 18
			w.bits(127, 7) // 138 more: 276 of 258
		}, nil), 0, ErrCorrupt, "repeat past their end"},
		{"literal/length code over-subscribed", craft(func(w *bitWriter) {
			dynamicHeader(w, uniform(286, 8), uniform(1, 1))
		}, nil), 0, ErrCorrupt, "invalid literal/length or distance code"},
		{"literal/length code incomplete", craft(func(w *bitWriter) {
			dynamicHeader(w, uniform(257, 9), uniform(1, 1))
		}, nil), 0, ErrCorrupt, "invalid literal/length or distance code"},
		{"distance code over-subscribed", craft(func(w *bitWriter) {
			dynamicHeader(w, uniform(257+256, 9)[:286], uniform(3, 1))
		}, nil), 0, ErrCorrupt, "invalid literal/length or distance code"},
		{"match without distance code", craft(func(w *bitWriter) {
			lit := make([]uint8, 258)
			lit['a'], lit[256], lit[257] = 1, 2, 2
			dynamicHeader(w, lit, []uint8{0})
			w.bits(0, 1) // 'a'
			w.bits(3, 2) // 257: length 3, then no distance can decode
			w.bits(0, 8)
		}, nil), 4, ErrCorrupt, "invalid distance symbol"},
	}
	var d Decompressor
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := d.InflateZlib(make([]byte, tt.size), tt.stream)
			if !errors.Is(err, tt.want) {
				t.Errorf("InflateZlib = %v, want %v", err, tt.want)
			}
			var ce *CorruptError
			if errors.As(err, &ce) && (ce.Offset < 0 || ce.Offset > len(tt.stream) || !strings.Contains(ce.Reason, tt.reason)) {
				t.Errorf("CorruptError at %d of %d bytes: %q, want %q", ce.Offset, len(tt.stream), ce.Reason, tt.reason)
			}
		})
	}
}

// TestInflateIncompleteCodes: a single distance code of one bit, and no
// distance code at all, are what compressors write for blocks with one
// distance or none; they decode.
func TestInflateIncompleteCodes(t *testing.T) {
	lit := make([]uint8, 258)
	lit['a'], lit[256], lit[257] = 1, 2, 2
	var d Decompressor
	for _, tt := range []struct {
		name string
		dist []uint8
		body func(w *bitWriter)
		want string
	}{
		{"one distance code", []uint8{1}, func(w *bitWriter) {
			w.bits(0, 1) // 'a'
			w.bits(3, 2) // 257: length 3
			w.bits(0, 1) // distance 1
			w.bits(1, 2) // end of block
		}, "aaaa"},
		{"no distance code", []uint8{0}, func(w *bitWriter) {
			w.bits(0, 1)
			w.bits(0, 1)
			w.bits(1, 2)
		}, "aa"},
	} {
		stream := craft(func(w *bitWriter) {
			dynamicHeader(w, lit, tt.dist)
			tt.body(w)
		}, []byte(tt.want))
		dst := make([]byte, len(tt.want))
		if n, err := d.InflateZlib(dst, stream); err != nil || n != len(stream) || string(dst) != tt.want {
			t.Errorf("%s: InflateZlib = %d, %v, %q; want %d, nil, %q", tt.name, n, err, dst, len(stream), tt.want)
		}
	}
}

// TestCompressorBaseWraps: when the position offset that spares clearing
// the tables would wrap, the tables are cleared, and the output is what a
// new compressor writes.
func TestCompressorBaseWraps(t *testing.T) {
	data := logLike(8192, 3)
	var fresh, old Compressor
	want := fresh.AppendZlib(nil, data)
	old.AppendZlib(nil, data)
	old.base = 1<<32 - 5000
	for i := range 3 {
		if got := old.AppendZlib(nil, data); !bytes.Equal(got, want) {
			t.Fatalf("call %d near the wrap of base %#x: stream differs", i, old.base)
		}
	}
}
