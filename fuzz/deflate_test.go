package fuzz

import (
	"bytes"
	"compress/zlib"
	"errors"
	"io"
	"testing"

	"github.com/refstore/refstore/internal/deflate"
)

// deflateSeeds returns inputs for the codec targets: text, log-like
// records and runs of one byte.
func deflateSeeds() [][]byte {
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

// FuzzInflateZlib inflates arbitrary bytes with package deflate and with
// compress/zlib: both must fail, or both succeed with the same output, and
// then ours must report the stream's length as the bytes zlib read. The
// first two bytes give the destination size.
func FuzzInflateZlib(f *testing.F) {
	for _, data := range deflateSeeds() {
		for _, level := range []int{zlib.HuffmanOnly, zlib.NoCompression, zlib.BestSpeed, zlib.BestCompression} {
			var b bytes.Buffer
			zw, _ := zlib.NewWriterLevel(&b, level)
			zw.Write(data)
			zw.Close()
			n := len(data)
			f.Add(append([]byte{byte(n >> 8), byte(n)}, b.Bytes()...))
		}
		var c deflate.Compressor
		n := len(data)
		f.Add(append([]byte{byte(n >> 8), byte(n)}, c.AppendZlib(nil, data)...))
	}
	// Reused between inputs: the fuzzer minimizes inputs by running
	// thousands of them.
	var d deflate.Decompressor
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
			zr, zerr = zlib.NewReader(br)
		} else {
			zerr = zr.(zlib.Resetter).Reset(br, nil)
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
	for _, e := range []error{deflate.ErrShortInput, deflate.ErrHeader, deflate.ErrDictionary,
		deflate.ErrTooLong, deflate.ErrTooShort, deflate.ErrChecksum} {
		if err == e {
			return true
		}
	}
	var ce *deflate.CorruptError
	return errors.As(err, &ce) && errors.Is(err, deflate.ErrCorrupt)
}

// FuzzDeflateRoundTrip compresses arbitrary bytes: compress/zlib and our
// decompressor must both give them back, and a compressor that compressed
// something else before must write the same stream as a new one.
func FuzzDeflateRoundTrip(f *testing.F) {
	for _, data := range deflateSeeds() {
		f.Add(data)
	}
	var d deflate.Decompressor
	f.Fuzz(func(t *testing.T, data []byte) {
		var fresh, used deflate.Compressor
		used.AppendZlib(nil, data[len(data)/2:])
		used.AppendZlib(nil, bytes.Repeat(data[:len(data)/3], 3))
		stream := fresh.AppendZlib(nil, data)
		if again := used.AppendZlib(nil, data); !bytes.Equal(again, stream) {
			t.Fatalf("a used compressor writes a different stream")
		}
		got, err := io.ReadAll(mustZlib(t, stream))
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

func mustZlib(t *testing.T, stream []byte) io.Reader {
	t.Helper()
	zr, err := zlib.NewReader(bytes.NewReader(stream))
	if err != nil {
		t.Fatalf("compress/zlib rejects our header: %v", err)
	}
	return zr
}
