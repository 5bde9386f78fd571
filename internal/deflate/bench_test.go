package deflate

import (
	"bytes"
	"compress/zlib"
	"testing"
)

// benchInputs are the benchmark inputs: 4 KiB log blocks (the reftable
// default block size) and larger ones.
func benchInputs() []input {
	return []input{
		{"log4k", logLike(4096, 1)},
		{"log64k", logLike(64<<10, 2)},
		{"text64k", text(64<<10, 3)},
		{"random4k", random(4096, 4)},
	}
}

// BenchmarkCompress reports throughput and the size of our output
// relative to compress/zlib at level 9 (ratio-vs-zlib9 below 1 is
// smaller).
func BenchmarkCompress(b *testing.B) {
	for _, in := range benchInputs() {
		b.Run(in.name, func(b *testing.B) {
			var c Compressor
			buf := c.AppendZlib(nil, in.data)
			ref := zlibDeflate(b, in.data, zlib.BestCompression, -1)
			b.SetBytes(int64(len(in.data)))
			b.ReportAllocs()
			for b.Loop() {
				buf = c.AppendZlib(buf[:0], in.data)
			}
			b.ReportMetric(float64(len(buf))/float64(len(ref)), "ratio-vs-zlib9")
		})
	}
}

// BenchmarkCompressStdlib is compress/zlib at level 9, for comparison.
func BenchmarkCompressStdlib(b *testing.B) {
	for _, in := range benchInputs() {
		b.Run(in.name, func(b *testing.B) {
			var buf bytes.Buffer
			zw, _ := zlib.NewWriterLevel(&buf, zlib.BestCompression)
			b.SetBytes(int64(len(in.data)))
			for b.Loop() {
				buf.Reset()
				zw.Reset(&buf)
				zw.Write(in.data)
				zw.Close()
			}
		})
	}
}

func BenchmarkInflate(b *testing.B) {
	for _, in := range benchInputs() {
		b.Run(in.name, func(b *testing.B) {
			var c Compressor
			var d Decompressor
			stream := c.AppendZlib(nil, in.data)
			dst := make([]byte, len(in.data))
			b.SetBytes(int64(len(in.data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.InflateZlib(dst, stream); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
