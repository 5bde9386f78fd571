package reftable

import (
	"bytes"
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/refstore/refstore/internal/testutil/cputime"
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
			cpu := startCPU()
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
			reportPer(b, cpu, len(refs), "ref")
			b.ReportMetric(float64(size)/float64(len(refs)), "B/ref")
		})
	}
}

// reportPer reports wall and CPU time per item of a benchmark that handles
// n items an iteration; cpu is cputime.Used() before the loop.
func reportPer(b *testing.B, cpu int64, n int, unit string) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/"+unit)
	if c := cputime.Used(); c > 0 {
		b.ReportMetric(float64(c-cpu)/float64(b.N*n), "cpu-ns/"+unit)
	}
}

func openBenchTable(b *testing.B, n int) (*Table, []RefRecord) {
	refs := benchRefs(n, SHA1)
	data := writeBenchTable(b, refs, WriterOptions{})
	t, err := NewTableBytes(data, "bench")
	if err != nil {
		b.Fatal(err)
	}
	return t, refs
}

func BenchmarkLookup(b *testing.B) {
	t, refs := openBenchTable(b, benchN(b))
	benchLookups(b, refs, t.LookupRef, t.Ref)
}

// benchLookups measures lookups of refs in a random order, into one
// reused record. The refs must be those of benchRefs: each name is
// written into one buffer before its lookup, as a caller that has just
// read the name has it at hand, so that the time is the table's and not
// that of fetching a name from a cold array of a million of them (two
// dependent cache misses, about a fifth of a lookup in a 1M-ref table).
func benchLookups(b *testing.B, refs []RefRecord, lookup func([]byte, *RefRecord) (bool, error), ref func([]byte) (RefRecord, error)) {
	for i, r := range refs {
		if !bytes.Equal(r.Name, benchName(nil, i)) {
			b.Fatalf("ref %d is %q, not named as benchRefs names it", i, r.Name)
		}
	}
	b.Run("api=LookupRef", func(b *testing.B) {
		b.ReportAllocs()
		var r RefRecord
		name := benchName(nil, 0)
		i := 0
		cpu := startCPU()
		for b.Loop() {
			name = benchName(name[:0], i%len(refs))
			if found, err := lookup(name, &r); err != nil || !found {
				b.Fatal(found, err)
			}
			i += 7919
		}
		reportPer(b, cpu, 1, "lookup")
	})
	b.Run("api=Ref", func(b *testing.B) {
		b.ReportAllocs()
		name := benchName(nil, 0)
		i := 0
		cpu := startCPU()
		for b.Loop() {
			name = benchName(name[:0], i%len(refs))
			if _, err := ref(name); err != nil {
				b.Fatal(err)
			}
			i += 7919
		}
		reportPer(b, cpu, 1, "lookup")
	})
}

// benchName appends refs/heads/branch-%07d of i to dst, without fmt.
func benchName(dst []byte, i int) []byte {
	dst = append(dst, "refs/heads/branch-0000000"...)
	for j := len(dst) - 1; i > 0; j-- {
		dst[j] = byte('0' + i%10)
		i /= 10
	}
	return dst
}

// benchIterate times full iterations of seq, which yields want records.
func benchIterate[R any](b *testing.B, seq iter.Seq2[R, error], want int, unit string) {
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		n := 0
		for _, err := range seq {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != want {
			b.Fatalf("iterated %d %ss, want %d", n, unit, want)
		}
	}
	reportPer(b, cpu, want, unit)
}

func BenchmarkIterate(b *testing.B) {
	t, refs := openBenchTable(b, benchN(b))
	benchIterate(b, t.Refs(nil), len(refs), "ref")
}

// openMergedBench returns a merged view of 10 tables of n/10 refs each,
// with interleaved names: ref i of benchRefs(n) lives in table i%10.
func openMergedBench(b *testing.B, n int) (*Merged, []RefRecord) {
	return openMergedShape(b, n, 10, func(i int) int { return i % 10 })
}

// openBaseBench returns a merged view of the shape auto-compaction
// leaves: a base table holding most of n refs and 4 newer tables of
// n/1000 refs each, their names spread over the base's.
func openBaseBench(b *testing.B, n int) (*Merged, []RefRecord) {
	return openMergedShape(b, n, 5, func(i int) int { return max(0, i%1000-995) })
}

// openMergedShape returns a merged view of k tables, ref i of
// benchRefs(n) living in table table(i).
func openMergedShape(b *testing.B, n, k int, table func(int) int) (*Merged, []RefRecord) {
	refs := benchRefs(n, SHA1)
	parts := make([][]RefRecord, k)
	for i := range refs {
		parts[table(i)] = append(parts[table(i)], refs[i])
	}
	tables := make([]*Table, k)
	for j, part := range parts {
		data := writeBenchTable(b, part, WriterOptions{})
		t, err := NewTableBytes(data, fmt.Sprintf("bench-%d", j))
		if err != nil {
			b.Fatal(err)
		}
		tables[j] = t
	}
	m, err := NewMerged(tables, MergedOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return m, refs
}

// BenchmarkMergedIterate iterates 10 tables of 100k refs each (10k with
// -short) through a merged view.
func BenchmarkMergedIterate(b *testing.B) {
	m, refs := openMergedBench(b, benchN(b))
	benchIterate(b, m.Refs(nil), len(refs), "ref")
}

// BenchmarkMergedIterateBase iterates a base table and 4 small newer
// tables (1M refs in all, 100k with -short) through a merged view.
func BenchmarkMergedIterateBase(b *testing.B) {
	m, refs := openBaseBench(b, benchN(b))
	benchIterate(b, m.Refs(nil), len(refs), "ref")
}

// BenchmarkMergedLookup looks up one ref in a merged view of 10 tables.
func BenchmarkMergedLookup(b *testing.B) {
	m, refs := openMergedBench(b, benchN(b))
	benchLookups(b, refs, m.LookupRef, m.Ref)
}

// BenchmarkMergedLookupBaseSmall looks up one ref in the usual shape of
// a stack after auto-compaction: one base table of 1M refs (100k with
// -short) and 4 small newer tables of 1000 refs each, which update refs
// of the base.
func BenchmarkMergedLookupBaseSmall(b *testing.B) {
	refs := benchRefs(benchN(b), SHA1)
	base, err := NewTableBytes(writeBenchTable(b, refs, WriterOptions{}), "base")
	if err != nil {
		b.Fatal(err)
	}
	tables := []*Table{base}
	rng := rand.New(rand.NewPCG(3, 4))
	for j := range 4 {
		var part []RefRecord
		for i := range 1000 {
			r := refs[(i*len(refs)/1000+rng.IntN(len(refs)/1000))%len(refs)]
			part = append(part, r)
		}
		data := writeBenchTable(b, part, WriterOptions{})
		t, err := NewTableBytes(data, fmt.Sprintf("small-%d", j))
		if err != nil {
			b.Fatal(err)
		}
		tables = append(tables, t)
	}
	m, err := NewMerged(tables, MergedOptions{})
	if err != nil {
		b.Fatal(err)
	}
	benchLookups(b, refs, m.LookupRef, m.Ref)
}

// BenchmarkFilterBuild builds the filter of ref names of a table of
// 100k refs (10k with -short), as a table does once merged lookups have
// searched it in vain often enough, and reports its cost a ref and a
// byte of the ref section, and its memory a ref.
func BenchmarkFilterBuild(b *testing.B) {
	t, refs := openBenchTable(b, benchN(b)/10)
	var f *refFilter
	cpu := startCPU()
	for b.Loop() {
		if f = t.scanFilter(); f == nil {
			b.Fatal("no filter")
		}
	}
	reportPer(b, cpu, len(refs), "ref")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(t.refSectionBytes()), "ns/section-byte")
	b.ReportMetric(float64(f.bytes())/float64(len(refs)), "filter-B/ref")
}

// benchLogs returns n log records, one per ref refs/heads/branch-%07d,
// with message "commit: msg N".
func benchLogs(n int) []LogRecord {
	refs := benchRefs(n, SHA1)
	logs := make([]LogRecord, n)
	for i := range logs {
		logs[i] = LogRecord{
			RefName:     refs[i].Name,
			UpdateIndex: 1,
			Type:        LogUpdate,
			Old:         make([]byte, 20),
			New:         refs[i].Value,
			Name:        []byte("C O Mitter"),
			Email:       []byte("committer@example.com"),
			Time:        1700000000 + uint64(i),
			TZOffset:    -700,
			Message:     []byte(fmt.Sprintf("commit: msg %d", i)),
		}
	}
	return logs
}

func writeLogs(b testing.TB, w io.Writer, logs []LogRecord) *Writer {
	lw, err := NewWriter(w, WriterOptions{MinUpdateIndex: 1, MaxUpdateIndex: 1})
	if err != nil {
		b.Fatal(err)
	}
	for i := range logs {
		if err := lw.AddLog(&logs[i]); err != nil {
			b.Fatal(err)
		}
	}
	if err := lw.Close(); err != nil {
		b.Fatal(err)
	}
	return lw
}

// BenchmarkWriteLogs writes a table of 100k log records (10k with -short).
func BenchmarkWriteLogs(b *testing.B) {
	logs := benchLogs(benchN(b) / 10)
	b.ReportAllocs()
	var size int64
	cpu := startCPU()
	for b.Loop() {
		size = writeLogs(b, io.Discard, logs).Stats().Size
	}
	reportPer(b, cpu, len(logs), "record")
	b.ReportMetric(float64(size)/float64(len(logs)), "B/record")
}

// BenchmarkReadLogs reads every record of a table of 100k log records.
func BenchmarkReadLogs(b *testing.B) {
	logs := benchLogs(benchN(b) / 10)
	var buf bytes.Buffer
	writeLogs(b, &buf, logs)
	t, err := NewTableBytes(buf.Bytes(), "logs")
	if err != nil {
		b.Fatal(err)
	}
	benchIterate(b, t.Logs(nil), len(logs), "record")
}

// BenchmarkWritePeakMemory writes 1M refs (100k with -short) with the
// object index, generating them on the fly so that only the writer holds
// memory, and reports the largest heap growth seen while it ran.
func BenchmarkWritePeakMemory(b *testing.B) {
	n := benchN(b)
	var peak uint64
	cpu := startCPU()
	for b.Loop() {
		runtime.GC()
		base := heapBytes()
		stop := make(chan struct{})
		done := make(chan uint64)
		go func() {
			var max uint64
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			for {
				if h := heapBytes(); h > max {
					max = h
				}
				select {
				case <-stop:
					done <- max
					return
				case <-tick.C:
				}
			}
		}()
		w, err := NewWriter(io.Discard, WriterOptions{MinUpdateIndex: 1, MaxUpdateIndex: 1})
		if err != nil {
			b.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		var id [20]byte
		name := append(make([]byte, 0, 32), "refs/heads/branch-"...)
		r := RefRecord{UpdateIndex: 1, Type: RefVal1, Value: id[:]}
		for i := range n {
			for j := range id {
				id[j] = byte(rng.Uint32())
			}
			r.Name = fmt.Appendf(name[:len("refs/heads/branch-")], "%07d", i)
			if err := w.AddRef(&r); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		close(stop)
		if m := <-done; m > base {
			peak = max(peak, m-base)
		}
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
	reportPer(b, cpu, n, "ref")
}

// heapBytes returns the bytes of heap objects, live or not yet swept.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// startCPU collects the garbage of a benchmark's setup, whose concurrent
// marking would otherwise be charged to the timed loop, and returns the
// CPU time the process has used so far.
func startCPU() int64 {
	runtime.GC()
	return cputime.Used()
}
