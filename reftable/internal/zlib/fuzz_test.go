package zlib

import (
	"bytes"
	stdzlib "compress/zlib"
	"errors"
	"io"
	"testing"
)

// The fuzz targets compare this codec with compress/zlib. Their corpora
// are in testdata/fuzz/<target>, run as ordinary tests; scripts/test.sh
// fuzzes each target for $FUZZTIME.

// fuzzSeeds returns inputs for the codec targets: text, log-like
// records and runs of one byte.
func fuzzSeeds() [][]byte {
	var logish []byte
	for i := range 60 {
		logish = append(logish, "refs/heads/branch-"...)
		logish = append(logish, byte('0'+i%10), 0, 0, 0, 0, 0, 0, 0, 1)
		logish = append(logish, make([]byte, 20)...)
		logish = append(logish, "C O Mitter <committer@example.com>\x00commit: msg\n"...)
	}
	return [][]byte{
		nil,
		[]byte("a"),
		bytes.Repeat([]byte{0}, 1000),
		[]byte("It was the best of times, it was the worst of times, it was the age of wisdom"),
		logish,
	}
}

// stdLevels are the levels of compress/zlib, which write different block
// types: HuffmanOnly, NoCompression (stored), BestSpeed, Default, Best.
var stdLevels = []int{stdzlib.HuffmanOnly, stdzlib.NoCompression, stdzlib.BestSpeed, stdzlib.DefaultCompression, stdzlib.BestCompression}

// FuzzDifferential compresses arbitrary bytes with both codecs and
// inflates each stream with the other: compress/zlib at any level, with a
// flush (an empty stored block) at any point, and this package's
// Compressor. Both must give the bytes back, having read the whole stream
// and nothing after it, and both must fail on the stream cut short.
func FuzzDifferential(f *testing.F) {
	for _, data := range fuzzSeeds() {
		for _, level := range stdLevels {
			f.Add(data, uint8(level+2), uint16(len(data)/3), uint16(len(data)/2))
		}
	}
	var c Compressor
	var d Decompressor
	f.Fuzz(func(t *testing.T, data []byte, level uint8, flushAt, cut uint16) {
		lvl := int(level%12) - 2 // HuffmanOnly (-2) to BestCompression (9)
		flush := -1
		if len(data) > 0 {
			flush = int(flushAt) % (len(data) + 1)
		}
		std := zlibDeflate(t, data, lvl, flush)
		ours := c.AppendZlib(nil, data)
		dst := make([]byte, len(data))

		// compress/zlib's stream, inflated by us.
		n, err := d.InflateZlib(dst, append(std[:len(std):len(std)], "after"...))
		if err != nil || n != len(std) || !bytes.Equal(dst, data) {
			t.Fatalf("level %d, flush at %d: InflateZlib of compress/zlib's stream = %d, %v; want %d and the data", lvl, flush, n, err, len(std))
		}
		// Our stream, inflated by compress/zlib.
		got, read, err := zlibInflate(append(ours[:len(ours):len(ours)], "after"...))
		if err != nil || read != len(ours) || !bytes.Equal(got, data) {
			t.Fatalf("compress/zlib inflates our stream to %d bytes (want %d), reading %d of %d: %v", len(got), len(data), read, len(ours), err)
		}
		// Each stream cut short: both fail, ours as short input.
		for _, stream := range [][]byte{std, ours} {
			k := int(cut) % len(stream)
			if _, err := d.InflateZlib(dst, stream[:k]); !errors.Is(err, ErrShortInput) {
				t.Fatalf("InflateZlib of %d of the stream's %d bytes: %v, want ErrShortInput", k, len(stream), err)
			}
			if got, _, err := zlibInflate(stream[:k]); err == nil {
				t.Fatalf("compress/zlib inflates %d of the stream's %d bytes to %d bytes without an error", k, len(stream), len(got))
			}
		}
	})
}

// FuzzInflateZlib inflates arbitrary bytes with this package and with
// compress/zlib: both must fail, or both succeed with the same output, and
// then ours must report the stream's length as the bytes compress/zlib
// read. The first two bytes give the destination size.
func FuzzInflateZlib(f *testing.F) {
	for _, data := range fuzzSeeds() {
		n := len(data)
		for _, level := range stdLevels {
			var b bytes.Buffer
			zw, _ := stdzlib.NewWriterLevel(&b, level)
			zw.Write(data)
			zw.Close()
			f.Add(append([]byte{byte(n >> 8), byte(n)}, b.Bytes()...))
		}
		var c Compressor
		f.Add(append([]byte{byte(n >> 8), byte(n)}, c.AppendZlib(nil, data)...))
	}
	// Reused between inputs: the fuzzer minimizes inputs by running
	// thousands of them.
	var d Decompressor
	var zr io.ReadCloser
	buf := make([]byte, 1<<16)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		n, stream := int(data[0])<<8|int(data[1]), data[2:]
		dst := buf[:n]
		consumed, err := d.InflateZlib(dst, stream)
		if err != nil && !documented(err) {
			t.Fatalf("InflateZlib: undocumented error %v", err)
		}
		if len(stream) >= 2 && stream[1]&0x20 != 0 && (int(stream[0])<<8|int(stream[1]))%31 == 0 && stream[0] == 0x78 {
			// compress/zlib accepts the empty dictionary; we accept none.
			if err == nil {
				t.Fatalf("InflateZlib accepted a stream with a preset dictionary")
			}
			return
		}
		br := bytes.NewReader(stream)
		var want []byte
		var zerr error
		if zr == nil {
			zr, zerr = stdzlib.NewReader(br)
		} else {
			zerr = zr.(stdzlib.Resetter).Reset(br, nil)
		}
		if zerr == nil {
			want, zerr = io.ReadAll(io.LimitReader(zr, int64(n)+1))
		}
		zok := zerr == nil && len(want) == n
		switch {
		case zok && err != nil:
			t.Fatalf("compress/zlib inflates %d bytes, InflateZlib fails: %v", n, err)
		case !zok && err == nil:
			t.Fatalf("InflateZlib inflates %d bytes, compress/zlib gives %d bytes and %v", n, len(want), zerr)
		case zok && !bytes.Equal(dst, want):
			t.Fatalf("InflateZlib and compress/zlib inflate different bytes")
		case zok && consumed != len(stream)-br.Len():
			t.Fatalf("InflateZlib consumed %d bytes, compress/zlib read %d", consumed, len(stream)-br.Len())
		}
	})
}

// documented reports whether err is one of the errors InflateZlib
// documents.
func documented(err error) bool {
	for _, e := range []error{ErrShortInput, ErrHeader, ErrDictionary, ErrTooLong, ErrTooShort, ErrChecksum} {
		if err == e {
			return true
		}
	}
	var ce *CorruptError
	return errors.As(err, &ce) && errors.Is(err, ErrCorrupt)
}

// FuzzDeflateRoundTrip compresses arbitrary bytes: compress/zlib and our
// decompressor must both give them back, and a compressor that compressed
// something else before must write the same stream as a new one.
func FuzzDeflateRoundTrip(f *testing.F) {
	for _, data := range fuzzSeeds() {
		f.Add(data)
	}
	var d Decompressor
	f.Fuzz(func(t *testing.T, data []byte) {
		var fresh, used Compressor
		used.AppendZlib(nil, data[len(data)/2:])
		used.AppendZlib(nil, bytes.Repeat(data[:len(data)/3], 3))
		stream := fresh.AppendZlib(nil, data)
		if again := used.AppendZlib(nil, data); !bytes.Equal(again, stream) {
			t.Fatalf("a used compressor writes a different stream")
		}
		got, _, err := zlibInflate(stream)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("compress/zlib inflates our stream to %d bytes (want %d): %v", len(got), len(data), err)
		}
		dst := make([]byte, len(data))
		n, err := d.InflateZlib(dst, append(stream, 0xff))
		if err != nil || n != len(stream) || !bytes.Equal(dst, data) {
			t.Fatalf("InflateZlib = %d, %v; want %d and the data", n, err, len(stream))
		}
	})
}
