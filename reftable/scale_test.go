package reftable

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/refstore/refstore/internal/testutil/peakmem"
)

// A scaleGen makes the refs of a scale table without holding them: ref i
// is refs/heads/branch-%07d with a pseudo-random 20-byte id derived from
// i (or from i mod distinct when distinct > 0), update index 1.
type scaleGen struct {
	distinct int
	name     [len("refs/heads/branch-") + 7]byte
	id       [24]byte
	r        RefRecord
}

func newScaleGen(distinct int) *scaleGen {
	g := &scaleGen{distinct: distinct}
	copy(g.name[:], "refs/heads/branch-")
	g.r = RefRecord{Name: g.name[:], UpdateIndex: 1, Type: RefVal1, Value: g.id[:20]}
	return g
}

// ref returns ref i; it is valid until the next call.
func (g *scaleGen) ref(i int) *RefRecord {
	for p, v := len(g.name)-1, i; p >= len(g.name)-7; p, v = p-1, v/10 {
		g.name[p] = byte('0' + v%10)
	}
	scaleID(g.id[:], i, g.distinct)
	return &g.r
}

// scaleID writes the id of ref i to dst[:24] (20 bytes are used).
func scaleID(dst []byte, i, distinct int) {
	if distinct > 0 {
		i %= distinct
	}
	x := uint64(i)
	for k := 0; k < 24; k += 8 {
		x += 0x9e3779b97f4a7c15 // splitmix64
		z := x
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		binary.BigEndian.PutUint64(dst[k:], z^z>>31)
	}
}

// writeScale writes a table of n refs to w with default options.
func writeScale(w io.Writer, n, distinct int, opts WriterOptions) error {
	opts.MinUpdateIndex, opts.MaxUpdateIndex = 1, 1
	tw, err := NewWriter(w, opts)
	if err != nil {
		return err
	}
	g := newScaleGen(distinct)
	for i := range n {
		if err := tw.AddRef(g.ref(i)); err != nil {
			return err
		}
	}
	return tw.Close()
}

// readScale does what a reader does with a table of n refs: open it,
// look up lookups random refs (checking their ids), and iterate all.
func readScale(src io.ReaderAt, size int64, n, lookups int) error {
	t, err := NewTable(src, size, "scale")
	if err != nil {
		return err
	}
	if err := seekScale(t, n, lookups); err != nil {
		return err
	}
	return iterScale(t, n)
}

func seekScale(t *Table, n, lookups int) error {
	g := newScaleGen(0)
	rng := rand.New(rand.NewPCG(3, 4))
	for range lookups {
		want := g.ref(rng.IntN(n))
		r, err := t.Ref(want.Name)
		if err != nil {
			return err
		}
		if !bytes.Equal(r.Value, want.Value) {
			return fmt.Errorf("%s: id %x, want %x", want.Name, r.Value, want.Value)
		}
	}
	return nil
}

func iterScale(t *Table, n int) error {
	count := 0
	for _, err := range t.Refs(nil) {
		if err != nil {
			return err
		}
		count++
	}
	if count != n {
		return fmt.Errorf("iterated %d refs, want %d", count, n)
	}
	return nil
}

// scaleLookups is the number of random lookups of the seek phase.
const scaleLookups = 100_000

// BenchmarkScale writes one table of N refs to a file, opens it, looks
// up random refs and iterates all, reporting each phase's time per ref
// (per lookup for seek) and its peak heap (see package peakmem for the
// method). N=10M runs only when -bench names it ("-bench Scale/N=10M")
// or REFSTORE_SCALE=10M, as it takes a minute and 400 MB of disk; use
// -benchtime 1x, since each iteration does every phase.
func BenchmarkScale(b *testing.B) {
	for _, n := range []int{1_000_000, 10_000_000} {
		label := fmt.Sprintf("N=%dM", n/1_000_000)
		b.Run(label, func(b *testing.B) {
			if n > 1_000_000 && !scaleSelected(label) {
				b.Skipf("%s needs -bench 'Scale/%s' or REFSTORE_SCALE=%dM", label, label, n/1_000_000)
			}
			benchScale(b, n)
		})
	}
}

// scaleSelected reports whether the large size label was asked for.
func scaleSelected(label string) bool {
	size := strings.TrimPrefix(label, "N=")
	if strings.EqualFold(os.Getenv("REFSTORE_SCALE"), size) {
		return true
	}
	f := flag.Lookup("test.bench")
	return f != nil && strings.Contains(f.Value.String(), size)
}

func benchScale(b *testing.B, n int) {
	path := filepath.Join(b.TempDir(), "scale.ref")
	var iters int
	var write, open, seek, iter time.Duration
	var writePeak, openPeak, seekPeak, iterPeak uint64
	var size int64
	phase := func(d *time.Duration, peak *uint64, f func() error) {
		s := peakmem.Start()
		start := time.Now()
		err := f()
		*d += time.Since(start)
		*peak = max(*peak, s.Stop())
		if err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		iters++
		phase(&write, &writePeak, func() error {
			f, err := os.Create(path)
			if err != nil {
				return err
			}
			bw := bufio.NewWriterSize(f, 1<<16)
			if err := writeScale(bw, n, 0, WriterOptions{}); err != nil {
				f.Close()
				return err
			}
			if err := bw.Flush(); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		})
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		fi, err := f.Stat()
		if err != nil {
			b.Fatal(err)
		}
		size = fi.Size()
		var t *Table
		phase(&open, &openPeak, func() (err error) {
			t, err = NewTable(f, size, filepath.Base(path))
			return err
		})
		phase(&seek, &seekPeak, func() error { return seekScale(t, n, scaleLookups) })
		phase(&iter, &iterPeak, func() error { return iterScale(t, n) })
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
	perRef := func(d time.Duration, per int) float64 { return float64(d.Nanoseconds()) / float64(iters*per) }
	b.ReportMetric(perRef(write, n), "write-ns/ref")
	b.ReportMetric(peakmem.MiB(writePeak), "write-peak-MiB")
	b.ReportMetric(float64(size)/float64(n), "B/ref")
	b.ReportMetric(perRef(open, 1), "open-ns")
	b.ReportMetric(peakmem.MiB(openPeak), "open-peak-MiB")
	b.ReportMetric(perRef(seek, scaleLookups), "seek-ns/lookup")
	b.ReportMetric(peakmem.MiB(seekPeak), "seek-peak-MiB")
	b.ReportMetric(perRef(iter, n), "iter-ns/ref")
	b.ReportMetric(peakmem.MiB(iterPeak), "iter-peak-MiB")
}

// allocated returns the fewest bytes f allocated in three runs, each
// after a garbage collection and a warm-up run that fills the pools the
// collection emptied (fewest, so that a collection during a run, which
// empties them again, does not count).
func allocated(t *testing.T, f func() error) uint64 {
	t.Helper()
	least := ^uint64(0)
	var before, after runtime.MemStats
	for range 3 {
		runtime.GC()
		if err := f(); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&before)
		err := f()
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		least = min(least, after.TotalAlloc-before.TotalAlloc)
	}
	return least
}

// Bounds of TestScaleMemory. The targets are those of the performance
// issue; where today's code does not meet one, the bound is what it
// meets and the target is noted next to it, so the test catches a
// regression and the gap stays visible.
const (
	// Reading (open, 1,000 lookups, full iteration) may allocate this many
	// bytes more for 400k refs than for 100k, besides the index blocks
	// lookups keep in a table's cache, which stops at maxCachedIndex: so
	// reading is flat in N (today 62 KiB at 100k, 85 KiB at 400k).
	readGrowth = 4 << 10
	// Writing with the object index may allocate this many bytes per
	// distinct object id. Target: 28 held. Today: 27.6, all held at
	// once: 24 for the id and its last block, kept in one of 16 buckets
	// by first bits, and about 3 of scratch space for sorting one bucket
	// in place (a sixteenth of the ids; ids alike in their first bits,
	// all in one bucket, take 41).
	writePerID = 30
	// Writing 300k more refs that name the same 1,000 object ids may
	// allocate this many bytes per ref. An id seen recently is found in
	// a small cache and then records only each further ref block that
	// names it (8 bytes, in a doubling array): here every ref names its
	// id in a new block, the worst case, so the index grows with the
	// refs. Today 26.3 (the cache has 4,096 slots: some of the 1,000 ids
	// collide and take several entries), against 27.9 with one entry per
	// ref. Refs all naming one id (branches at one commit) cost about
	// nothing.
	writePerRefSameIDs = 36
	// Writing without the object index may allocate this many bytes per
	// ref (today 1.0: the index of blocks).
	writePerRefNoIndex = 2
)

// TestScaleMemory asserts the memory claims of the performance issue
// with allocation counting at small scale: reading allocates the same at
// 100k and 400k refs, and writing allocates in proportion to the
// distinct object ids it indexes, not to the refs.
func TestScaleMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes tables of 400k refs")
	}
	const small, large = 100_000, 400_000
	var buf bytes.Buffer
	read := map[int]uint64{}
	for _, n := range []int{small, large} {
		buf.Reset()
		if err := writeScale(&buf, n, 0, WriterOptions{}); err != nil {
			t.Fatal(err)
		}
		data := bytes.Clone(buf.Bytes())
		read[n] = allocated(t, func() error { return readScale(bytes.NewReader(data), int64(len(data)), n, 1000) })
	}
	t.Logf("reading allocates %d B at %d refs, %d B at %d refs", read[small], small, read[large], large)
	if read[large] > read[small]+readGrowth+maxCachedIndex {
		t.Errorf("reading allocates %d B at %d refs but %d B at %d refs: grows by more than %d B and the index cache",
			read[small], small, read[large], large, readGrowth)
	}

	write := func(n, distinct int, opts WriterOptions) uint64 {
		return allocated(t, func() error { return writeScale(io.Discard, n, distinct, opts) })
	}
	perID := float64(write(large, 0, WriterOptions{})-write(small, 0, WriterOptions{})) / (large - small)
	t.Logf("writing with the object index: %.1f B per distinct object id", perID)
	if perID > writePerID {
		t.Errorf("writing with the object index allocates %.1f B per distinct object id, more than %d", perID, writePerID)
	}
	perRef := float64(write(large, 1000, WriterOptions{})-write(small, 1000, WriterOptions{})) / (large - small)
	t.Logf("writing refs naming 1,000 object ids: %.1f B per ref", perRef)
	if perRef > writePerRefSameIDs {
		t.Errorf("writing refs that name the same 1,000 object ids allocates %.1f B per ref, more than %d", perRef, writePerRefSameIDs)
	}
	oneID := float64(write(large, 1, WriterOptions{})-write(small, 1, WriterOptions{})) / (large - small)
	t.Logf("writing refs that all name one object id: %.1f B per ref", oneID)
	if oneID > writePerRefNoIndex {
		t.Errorf("writing refs that all name one object id allocates %.1f B per ref, more than %d (as without the object index)", oneID, writePerRefNoIndex)
	}
	noIndex := float64(write(large, 0, WriterOptions{SkipIndexObjects: true})-write(small, 0, WriterOptions{SkipIndexObjects: true})) / (large - small)
	t.Logf("writing without the object index: %.1f B per ref", noIndex)
	if noIndex > writePerRefNoIndex {
		t.Errorf("writing without the object index allocates %.1f B per ref, more than %d", noIndex, writePerRefNoIndex)
	}
}
