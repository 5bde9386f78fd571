package repo

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/refstore/refstore/internal/testutil/cputime"
	"github.com/refstore/refstore/internal/testutil/peakmem"
	"github.com/refstore/refstore/stack"
)

// BenchmarkBulkCreate100k creates 100,000 branches in one transaction of
// a repository, as reftable update does for as many create commands.
func BenchmarkBulkCreate100k(b *testing.B) { benchBulkCreate(b, 100_000) }

// BenchmarkBulkCreate1M creates 1,000,000 branches in one transaction.
func BenchmarkBulkCreate1M(b *testing.B) { benchBulkCreate(b, 1_000_000) }

// benchBulkCreate times one transaction of a repository creating n refs
// refs/heads/branch-%07d, each expected not to exist and logged, on a
// repository whose HEAD points at main, with fsync: the updates update
// builds from "create <ref> <oid>" lines (see the stack's benchmark of
// the same name, which this one adds the repository's routing to).
// Building the input is not timed. It reports the time a ref, the CPU
// time, the peak of the Go heap above the input (peakmem) and the input's
// bytes.
func benchBulkCreate(b *testing.B, n int) {
	names := make([]string, n)
	ids := make([][]byte, n)
	input := 0
	for i := range n {
		names[i] = fmt.Sprintf("refs/heads/branch-%07d", i)
		ids[i] = oid(1)
		input += len(names[i]) + len(ids[i])
	}
	absent := &stack.Ref{}
	b.ReportAllocs()
	var cpu, peak uint64
	for b.Loop() {
		b.StopTimer()
		wt := newRepo(b, "")
		r, err := Open(wt, Options{})
		if err != nil {
			b.Fatal(err)
		}
		commit(b, r, symref("HEAD", "refs/heads/main"), set("refs/heads/main", 1))
		s := peakmem.Start()
		c := cputime.Used()
		b.StartTimer()
		tx := r.NewTransaction(testWho)
		for i := range n {
			tx.Add(stack.Update{Ref: stack.Ref{Name: names[i], ID: ids[i]}, Old: absent, Deref: true})
		}
		if err := tx.Commit(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cpu += uint64(cputime.Used() - c)
		peak = max(peak, s.Stop())
		if err := r.Close(); err != nil {
			b.Fatal(err)
		}
		if err := os.RemoveAll(filepath.Join(wt, ".git", "reftable")); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/ref")
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(peakmem.MiB(peak), "peak-MiB")
	b.ReportMetric(float64(input)/(1<<20), "input-MiB")
}
