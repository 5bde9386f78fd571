package reftable

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
)

// benchRefs returns n refs named refs/heads/branch-%07d with random ids,
// update index 1, as the performance issue specifies.
func benchRefs(n int, hash Hash) []RefRecord {
	rng := rand.New(rand.NewPCG(1, 2))
	ids := make([]byte, n*hash.Size())
	for i := range ids {
		ids[i] = byte(rng.Uint32())
	}
	refs := make([]RefRecord, n)
	for i := range refs {
		refs[i] = RefRecord{
			Name:        []byte(fmt.Sprintf("refs/heads/branch-%07d", i)),
			UpdateIndex: 1,
			Type:        RefVal1,
			Value:       ids[i*hash.Size() : (i+1)*hash.Size()],
		}
	}
	return refs
}

func writeBenchTable(b testing.TB, refs []RefRecord, opts WriterOptions) []byte {
	opts.MinUpdateIndex, opts.MaxUpdateIndex = 1, 1
	var buf bytes.Buffer
	w, err := NewWriter(&buf, opts)
	if err != nil {
		b.Fatal(err)
	}
	for i := range refs {
		if err := w.AddRef(&refs[i]); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

func benchN(b *testing.B) int {
	if testing.Short() {
		return 100_000
	}
	return 1_000_000
}

func BenchmarkWriteRefs(b *testing.B) {
	for _, skip := range []bool{false, true} {
		b.Run(fmt.Sprintf("objindex=%v", !skip), func(b *testing.B) {
			refs := benchRefs(benchN(b), SHA1)
			b.ReportAllocs()
			var size int64
			for b.Loop() {
				w, err := NewWriter(io.Discard, WriterOptions{SkipIndexObjects: skip, MinUpdateIndex: 1, MaxUpdateIndex: 1})
				if err != nil {
					b.Fatal(err)
				}
				for i := range refs {
					if err := w.AddRef(&refs[i]); err != nil {
						b.Fatal(err)
					}
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
				size = w.Stats().Size
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(refs)), "ns/ref")
			b.ReportMetric(float64(size)/float64(len(refs)), "B/ref")
		})
	}
}

func openBenchTable(b *testing.B, n int) (*Table, []RefRecord) {
	refs := benchRefs(n, SHA1)
	data := writeBenchTable(b, refs, WriterOptions{})
	t, err := NewTable(bytes.NewReader(data), int64(len(data)), "bench")
	if err != nil {
		b.Fatal(err)
	}
	return t, refs
}

func BenchmarkLookup(b *testing.B) {
	t, refs := openBenchTable(b, benchN(b))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := t.Ref(refs[i%len(refs)].Name); err != nil {
			b.Fatal(err)
		}
		i += 7919
	}
}

func BenchmarkIterate(b *testing.B) {
	t, refs := openBenchTable(b, benchN(b))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for _, err := range t.Refs(nil) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != len(refs) {
			b.Fatalf("iterated %d refs, want %d", n, len(refs))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(refs)), "ns/ref")
}
