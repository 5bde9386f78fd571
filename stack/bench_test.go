package stack

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/refstore/refstore/internal/testutil/cputime"
	"github.com/refstore/refstore/internal/testutil/peakmem"
	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/vfs"
)

// BenchmarkCommit commits one ref per transaction with auto-compaction,
// without fsync, as git's update-ref does with core.fsync=none.
// benchCommits times one-ref transactions creating prefix<n> refs.
func benchCommits(b *testing.B, st *Stack, prefix string) {
	b.ReportAllocs()
	i := 0
	cpu := startCPU()
	for b.Loop() {
		tx := st.NewTransaction(testWho, ReflogNormal)
		tx.Add(Update{Ref: Ref{Name: fmt.Sprintf("%s%07d", prefix, i), ID: oid(i)}, Message: "bench"})
		if err := tx.Commit(ctx); err != nil {
			b.Fatal(err)
		}
		i++
	}
	reportCPU(b, cpu)
}

func BenchmarkCommit(b *testing.B) {
	st, err := Open(b.TempDir(), Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	benchCommits(b, st, "refs/heads/branch-")
}

// BenchmarkReloadUnchanged measures the up-to-date check: one stat call.
func BenchmarkReloadUnchanged(b *testing.B) {
	dir := b.TempDir()
	st, err := Open(dir, Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.AddTable(ctx, func(w *reftable.Writer) error {
		return w.AddRef(&reftable.RefRecord{Name: []byte("refs/heads/a"), UpdateIndex: 1, Type: reftable.RefVal1, Value: oid(1)})
	}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		if err := st.Reload(ctx); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

// BenchmarkReloadAfterAppend measures a reload that finds one new table.
func BenchmarkReloadAfterAppend(b *testing.B) {
	dir := b.TempDir()
	opts := Options{NoSync: true, DisableAutoCompaction: true}
	reader, err := Open(dir, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer reader.Close()
	writer, err := Open(dir, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer writer.Close()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		b.StopTimer()
		if err := writer.AddTable(ctx, func(w *reftable.Writer) error {
			min, _ := w.Limits()
			return w.AddRef(&reftable.RefRecord{Name: []byte(fmt.Sprintf("refs/heads/b%07d", i)), UpdateIndex: min, Type: reftable.RefVal1, Value: oid(i)})
		}); err != nil {
			b.Fatal(err)
		}
		if i%64 == 63 {
			if err := writer.CompactAll(ctx, nil); err != nil {
				b.Fatal(err)
			}
		}
		i++
		b.StartTimer()
		if err := reader.Reload(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCommitLargeStack commits one ref on a stack whose base table
// holds n refs (1M; 100k with -short), with auto-compaction.
func BenchmarkCommitLargeStack(b *testing.B) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	dir := b.TempDir()
	st, err := Open(dir, Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.AddTable(ctx, func(w *reftable.Writer) error {
		for i := range n {
			if err := w.AddRef(&reftable.RefRecord{Name: []byte(fmt.Sprintf("refs/heads/base-%07d", i)), UpdateIndex: 1, Type: reftable.RefVal1, Value: oid(i)}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	benchCommits(b, st, "refs/heads/new-")
}

// BenchmarkWriteAmplification commits 10,000 single-ref transactions with
// auto-compaction and reports the bytes compaction wrote per byte of the
// final stack: it must stay logarithmic in the number of commits.
func BenchmarkWriteAmplification(b *testing.B) {
	for b.Loop() {
		dir := b.TempDir()
		counting := &countingFS{FS: vfs.OS}
		st, err := Open(dir, Options{NoSync: true, FS: counting})
		if err != nil {
			b.Fatal(err)
		}
		const commits = 10000
		for i := range commits {
			if err := st.AddTable(ctx, func(w *reftable.Writer) error {
				min, _ := w.Limits()
				return w.AddRef(&reftable.RefRecord{Name: []byte(fmt.Sprintf("refs/heads/b%07d", i)), UpdateIndex: min, Type: reftable.RefVal1, Value: oid(i)})
			}); err != nil {
				b.Fatal(err)
			}
		}
		s, err := st.Snapshot(ctx)
		if err != nil {
			b.Fatal(err)
		}
		var final int64
		for _, h := range s.tables {
			final += h.t.Size()
		}
		s.Close()
		st.Close()
		b.ReportMetric(float64(counting.written.Load())/float64(final), "written/final")
		b.ReportMetric(float64(counting.written.Load())/commits, "B/commit")
	}
}

// reportCPU reports the CPU time per iteration (cpu is cputime.Used() before
// the loop): on a shared machine it varies less than wall time.
func reportCPU(b *testing.B, cpu int64) {
	if c := cputime.Used(); c > 0 {
		b.ReportMetric(float64(c-cpu)/float64(b.N), "cpu-ns/op")
	}
}

// countingFS counts the bytes written through it.
type countingFS struct {
	vfs.FS
	written atomic.Int64
}

func (c *countingFS) OpenFile(name string, flag int, perm fs.FileMode) (vfs.File, error) {
	f, err := c.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &countingFile{File: f, n: &c.written}, nil
}

type countingFile struct {
	vfs.File
	n *atomic.Int64
}

func (f *countingFile) Write(p []byte) (int, error) {
	n, err := f.File.Write(p)
	f.n.Add(int64(n))
	return n, err
}

// BenchmarkReadDuringCompaction measures lookups while another goroutine
// compacts the stack in a loop.
func BenchmarkReadDuringCompaction(b *testing.B) {
	dir := b.TempDir()
	opts := Options{NoSync: true, DisableAutoCompaction: true}
	st, err := Open(dir, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	for i := range 64 {
		if err := st.AddTable(ctx, func(w *reftable.Writer) error {
			for j := range 1000 {
				name := fmt.Sprintf("refs/heads/b%02d-%04d", i, j)
				if err := w.AddRef(&reftable.RefRecord{Name: []byte(name), UpdateIndex: uint64(i + 1), Type: reftable.RefVal1, Value: oid(j)}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	compactor, err := Open(dir, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer compactor.Close()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for k := 0; ; k++ {
			select {
			case <-stop:
				return
			default:
			}
			compactor.AddTable(ctx, func(w *reftable.Writer) error {
				min, _ := w.Limits()
				return w.AddRef(&reftable.RefRecord{Name: []byte(fmt.Sprintf("refs/heads/z%07d", k)), UpdateIndex: min, Type: reftable.RefVal1, Value: oid(k)})
			})
			compactor.CompactAll(ctx, nil)
		}
	}()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := st.Ref(ctx, fmt.Sprintf("refs/heads/b%02d-%04d", i%64, i%1000)); err != nil {
			b.Fatal(err)
		}
		i++
	}
	close(stop)
	<-done
}

// startCPU collects the garbage of a benchmark's setup, whose concurrent
// marking would otherwise be charged to the timed loop, and returns the
// CPU time the process has used so far.
func startCPU() int64 {
	runtime.GC()
	return cputime.Used()
}

// BenchmarkBulkCreate100k creates 100,000 branches in one transaction, as
// reftable update does for as many create commands (issue 20: git takes
// 0.53-0.80 s and 72 MiB through update-ref --stdin).
func BenchmarkBulkCreate100k(b *testing.B) { benchBulkCreate(b, 100_000) }

// BenchmarkBulkCreate1M creates 1,000,000 branches in one transaction
// (git: 6.84 s, 635 MiB).
func BenchmarkBulkCreate1M(b *testing.B) { benchBulkCreate(b, 1_000_000) }

// benchBulkCreate times one transaction creating n refs
// refs/heads/branch-%07d, each expected not to exist and logged (the
// default policy logs refs/heads/), on a directory stack with fsync that
// holds what git init and a first commit leave: HEAD pointing at
// refs/heads/main, and main. The updates are those update builds from
// "create <ref> <oid>" lines: one id slice each, following symbolic refs,
// no message. Building the input is not timed; adding it to the
// transaction and committing are. Besides time it reports the time a
// ref, the CPU time, the peak of the Go heap above the input (peakmem)
// and the input's own bytes (names, ids).
func benchBulkCreate(b *testing.B, n int) {
	names := make([]string, n)
	ids := make([][]byte, n)
	input := 0
	for i := range n {
		names[i] = fmt.Sprintf("refs/heads/branch-%07d", i)
		ids[i] = oid(1)
		input += len(names[i]) + len(ids[i])
	}
	absent := &Ref{}
	root := b.TempDir()
	b.ReportAllocs()
	var cpu, peak uint64
	run := 0
	for b.Loop() {
		b.StopTimer()
		dir := filepath.Join(root, fmt.Sprint(run))
		run++
		if err := os.Mkdir(dir, 0o777); err != nil {
			b.Fatal(err)
		}
		st, err := Open(dir, Options{NoSync: os.Getenv("NOSYNC") != ""})
		if err != nil {
			b.Fatal(err)
		}
		init := st.NewTransaction(testWho, ReflogNormal)
		init.Add(Update{Ref: Ref{Name: "HEAD", Target: "refs/heads/main"}},
			Update{Ref: Ref{Name: "refs/heads/main", ID: oid(1)}, Message: "commit (initial): first"})
		if err := init.Commit(ctx); err != nil {
			b.Fatal(err)
		}
		s := peakmem.Start()
		c := cputime.Used()
		b.StartTimer()
		tx := st.NewTransaction(testWho, ReflogNormal)
		tx.Grow(n)
		for i := range n {
			tx.Add(Update{Ref: Ref{Name: names[i], ID: ids[i]}, Old: absent, Deref: true})
		}
		if err := tx.Commit(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cpu += uint64(cputime.Used() - c)
		peak = max(peak, s.Stop())
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
		if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/ref")
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(peakmem.MiB(peak), "peak-MiB")
	b.ReportMetric(float64(input)/(1<<20), "input-MiB")
}
