package zlib

import (
	"bytes"
	stdzlib "compress/zlib"
	"errors"
	stdadler "hash/adler32"
	"io"
	"testing"
)

// zlibInflate inflates stream with compress/zlib and reports the bytes it
// read.
func zlibInflate(stream []byte) ([]byte, int, error) {
	br := bytes.NewReader(stream)
	zr, err := stdzlib.NewReader(br)
	if err != nil {
		return nil, 0, err
	}
	out, err := io.ReadAll(zr)
	return out, len(stream) - br.Len(), err
}

func zlibDeflate(t testing.TB, data []byte, level int, flushAt int) []byte {
	t.Helper()
	var b bytes.Buffer
	zw, err := stdzlib.NewWriterLevel(&b, level)
	if err != nil {
		t.Fatal(err)
	}
	if flushAt >= 0 {
		zw.Write(data[:flushAt])
		zw.Flush()
		data = data[flushAt:]
	}
	zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestRoundTrip(t *testing.T) {
	var c Compressor
	var d Decompressor
	for _, in := range inputs(testing.Short()) {
		t.Run(in.name, func(t *testing.T) {
			stream := c.AppendZlib([]byte("prefix"), in.data)
			if string(stream[:6]) != "prefix" {
				t.Fatalf("AppendZlib lost dst's bytes")
			}
			stream = stream[6:]
			got, n, err := zlibInflate(stream)
			if err != nil || !bytes.Equal(got, in.data) || n != len(stream) {
				t.Fatalf("compress/zlib reads our stream: %d bytes (want %d), read %d of %d, err %v",
					len(got), len(in.data), n, len(stream), err)
			}
			dst := make([]byte, len(in.data))
			garbage := append(bytes.Clone(stream), "trailing garbage"...)
			consumed, err := d.InflateZlib(dst, garbage)
			if err != nil || consumed != len(stream) || !bytes.Equal(dst, in.data) {
				t.Fatalf("InflateZlib = %d, %v; want %d, nil and the input back", consumed, err, len(stream))
			}
			if len(in.data) > 0 {
				limit := len(in.data) + len(in.data)/1000 + 16
				if len(stream) > limit {
					t.Errorf("%d bytes compress to %d, more than stored blocks would take", len(in.data), len(stream))
				}
			}
		})
	}
}

// TestInflateZlibStreams decodes streams written by compress/zlib at
// several levels, in one piece and flushed in the middle (an empty stored
// block and two sets of blocks), with garbage after them.
func TestInflateZlibStreams(t *testing.T) {
	var d Decompressor
	levels := []int{stdzlib.HuffmanOnly, stdzlib.NoCompression, stdzlib.BestSpeed, stdzlib.DefaultCompression, stdzlib.BestCompression}
	for _, in := range inputs(true) {
		for _, level := range levels {
			for _, flushAt := range []int{-1, len(in.data) / 3} {
				stream := zlibDeflate(t, in.data, level, flushAt)
				dst := make([]byte, len(in.data))
				src := append(bytes.Clone(stream), 0x78, 0xda, 1, 2, 3)
				consumed, err := d.InflateZlib(dst, src)
				if err != nil || consumed != len(stream) || !bytes.Equal(dst, in.data) {
					t.Errorf("%s, level %d, flush at %d: InflateZlib = %d, %v; want %d, nil and the input",
						in.name, level, flushAt, consumed, err, len(stream))
				}
			}
		}
	}
}

// TestTruncated: every proper prefix of a valid stream needs more input.
func TestTruncated(t *testing.T) {
	var c Compressor
	var d Decompressor
	for _, in := range inputs(true)[:11] {
		streams := [][]byte{c.AppendZlib(nil, in.data)}
		for _, level := range []int{stdzlib.NoCompression, stdzlib.HuffmanOnly, stdzlib.BestCompression} {
			streams = append(streams, zlibDeflate(t, in.data, level, len(in.data)/2))
		}
		dst := make([]byte, len(in.data))
		for i, stream := range streams {
			step := max(1, len(stream)/300)
			for n := 0; n < len(stream); n += step {
				if _, err := d.InflateZlib(dst, stream[:n]); err != ErrShortInput {
					t.Fatalf("%s, stream %d cut to %d of %d bytes: err = %v, want ErrShortInput", in.name, i, n, len(stream), err)
				}
			}
		}
	}
}

func TestAdler32(t *testing.T) {
	data := random(20000, 9)
	for _, n := range []int{0, 1, 7, 8, 9, 5551, 5552, 5553, 11104, 20000} {
		if got, want := adler32(1, data[:n]), stdadler.Checksum(data[:n]); got != want {
			t.Errorf("adler32 of %d bytes = %#x, want %#x", n, got, want)
		}
	}
	// Every length up to a few runs of words, and the largest sums.
	ff := bytes.Repeat([]byte{0xff}, 100000)
	for n := range 300 {
		if got, want := adler32(1, data[:n]), stdadler.Checksum(data[:n]); got != want {
			t.Errorf("adler32 of %d bytes = %#x, want %#x", n, got, want)
		}
		if got, want := adler32(1, ff[:n]), stdadler.Checksum(ff[:n]); got != want {
			t.Errorf("adler32 of %d 0xff bytes = %#x, want %#x", n, got, want)
		}
	}
	if got, want := adler32(1, ff), stdadler.Checksum(ff); got != want {
		t.Errorf("adler32 of 0xff bytes = %#x, want %#x", got, want)
	}
}

func TestNoAllocs(t *testing.T) {
	var c Compressor
	var d Decompressor
	data := logLike(4096, 5)
	buf := make([]byte, 0, 8192)
	dst := make([]byte, len(data))
	stream := c.AppendZlib(nil, data)
	if n := testing.AllocsPerRun(20, func() { c.AppendZlib(buf[:0], data) }); n != 0 {
		t.Errorf("AppendZlib allocates %v times a call", n)
	}
	if n := testing.AllocsPerRun(20, func() { d.InflateZlib(dst, stream) }); n != 0 {
		t.Errorf("InflateZlib allocates %v times a call", n)
	}
}

// TestErrorsMatch: corrupt streams report a *CorruptError matching
// ErrCorrupt.
func TestErrorsMatch(t *testing.T) {
	err := error(&CorruptError{Offset: 3, Reason: "x"})
	if !errors.Is(err, ErrCorrupt) || errors.Is(err, ErrShortInput) {
		t.Errorf("CorruptError does not match ErrCorrupt alone")
	}
}
