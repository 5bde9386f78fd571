package zlib

import (
	"bytes"
	stdzlib "compress/zlib"
	"testing"

	"github.com/refstore/refstore/internal/testutil/cputime"
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
			ref := zlibDeflate(b, in.data, stdzlib.BestCompression, -1)
			b.SetBytes(int64(len(in.data)))
			b.ReportAllocs()
			cpu := cputime.Used()
			for b.Loop() {
				buf = c.AppendZlib(buf[:0], in.data)
			}
			reportCPU(b, cpu, len(in.data))
			b.ReportMetric(float64(len(buf))/float64(len(ref)), "ratio-vs-zlib9")
		})
	}
}

// BenchmarkCompressStdlib is compress/zlib at level 9, for comparison.
func BenchmarkCompressStdlib(b *testing.B) {
	for _, in := range benchInputs() {
		b.Run(in.name, func(b *testing.B) {
			var buf bytes.Buffer
			zw, _ := stdzlib.NewWriterLevel(&buf, stdzlib.BestCompression)
			b.SetBytes(int64(len(in.data)))
			cpu := cputime.Used()
			defer func() { reportCPU(b, cpu, len(in.data)) }()
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
			cpu := cputime.Used()
			for b.Loop() {
				if _, err := d.InflateZlib(dst, stream); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu, len(in.data))
		})
	}
}

// reportCPU reports the CPU time an iteration took and the throughput it
// gives (n bytes an iteration), which unlike wall time is not inflated by
// other processes on a shared machine.
func reportCPU(b *testing.B, cpu int64, n int) {
	if c := cputime.Used(); c > cpu && cpu > 0 {
		ns := float64(c-cpu) / float64(b.N)
		b.ReportMetric(ns, "cpu-ns/op")
		b.ReportMetric(float64(n)/ns*1e3, "cpu-MB/s")
	}
}
