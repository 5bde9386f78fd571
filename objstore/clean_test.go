package objstore

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack"
	"github.com/refstore/refstore/stack/stacktest"
	"github.com/refstore/refstore/stack/storage"
)

// TestCleanKeepsCompactionTable: Clean with no grace at all, run at the
// worst moment (after a compaction checked its merged table and before
// it publishes the list naming it, as a compaction suspended there
// would find it), keeps the table, because the run of listed tables it
// replaces is still listed: the compaction then publishes a list whose
// tables all exist. The table of a compaction that stopped is removed
// once another compaction replaced its run. (Before, Clean removed the table of
// a compaction younger than grace, and the list named a missing table.)
func TestCleanKeepsCompactionTable(t *testing.T) {
	m := NewMem()
	opts := stack.Options{DisableAutoCompaction: true}
	st := openMem(t, m, opts)
	cleaner := openMem(t, m, opts)
	for i := range 4 {
		if err := stacktest.Set(st, fmt.Sprintf("refs/heads/b%d", i), i, nil); err != nil {
			t.Fatal(err)
		}
	}
	var res stack.Leftovers
	cleaned := false
	m.SetHook(func(op Op, key string, _ int, apply func() error) error {
		if op == OpPut && strings.HasSuffix(key, "tables.list") && !cleaned {
			cleaned = true
			var err error
			if res, err = cleaner.Clean(ctx, 0); err != nil {
				t.Errorf("Clean: %v", err)
			}
		}
		return apply()
	})
	if err := st.CompactAll(ctx, nil); err != nil {
		t.Fatal(err)
	}
	m.SetHook(nil)
	if len(res.Removed) != 0 || len(res.Kept) != 1 || !strings.Contains(res.Kept[0], "a compaction of the listed tables it spans may still publish it") {
		t.Errorf("Clean during the compaction: %+v", res)
	}
	if refs := stacktest.Check(t, func() storage.Backend { return backend(t, m) }); len(refs) != 4 {
		t.Errorf("refs after the compaction: %v", refs)
	}

	// The table of a compaction that stopped after writing it (a crash)
	// is kept while the run it spans is listed, and removed once
	// another compaction replaced the run: no list can name it then.
	for i := range 2 {
		if err := stacktest.Set(st, fmt.Sprintf("refs/heads/c%d", i), i, nil); err != nil {
			t.Fatal(err)
		}
	}
	b := backend(t, m)
	defer b.Close()
	staged, err := b.StageTable(ctx, func(w io.Writer) (uint64, uint64, bool, error) {
		tw, err := reftable.NewWriter(w, reftable.WriterOptions{MinUpdateIndex: 5, MaxUpdateIndex: 6})
		if err != nil {
			return 0, 0, false, err
		}
		tw.AddRef(&reftable.RefRecord{Name: []byte("refs/heads/c0"), UpdateIndex: 5, Type: reftable.RefVal1, Value: stacktest.OID(0)})
		return 5, 6, true, tw.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
	name, err := staged.Place(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := cleaner.Clean(ctx, 0); err != nil || !slices.Contains(res.Kept, name+": a compaction of the listed tables it spans may still publish it") {
		t.Errorf("Clean beside a crashed compaction whose run is listed: %+v, %v", res, err)
	}
	if err := st.CompactAll(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if res, err := cleaner.Clean(ctx, 0); err != nil || !slices.Equal(res.Removed, []string{name}) {
		t.Errorf("Clean once the run was replaced: %+v, %v; want %s removed", res, err, name)
	}
}

// TestCleanBesideWriters: 4 writers commit with auto-compaction, a
// compaction loop merges everything, and Clean with no grace runs in a
// loop, all on a store that delays every request at random. Every commit
// that succeeded is there at the end, the stack was readable throughout
// (every Clean and every commit found its listed tables), and after a
// last commit, a compaction and Clean only listed tables remain.
func TestCleanBesideWriters(t *testing.T) {
	m := NewMem()
	m.SetHook(func(_ Op, _ string, _ int, apply func() error) error {
		time.Sleep(rand.N(300 * time.Microsecond))
		err := apply()
		time.Sleep(rand.N(300 * time.Microsecond))
		return err
	})
	opts := stack.Options{}
	var mu sync.Mutex
	want := map[string]int{}
	var wg sync.WaitGroup
	done := make(chan struct{})
	for w := range 4 {
		st := openMem(t, m, opts)
		wg.Go(func() {
			for i := range 30 {
				name := fmt.Sprintf("refs/heads/w%d/%d", w, i)
				err := stacktest.Set(st, name, w*100+i, &stack.Ref{})
				if err != nil {
					t.Errorf("%s: %v", name, err)
					return
				}
				mu.Lock()
				want[name] = w*100 + i
				mu.Unlock()
			}
		})
	}
	var loops sync.WaitGroup
	compactor, cleaner := openMem(t, m, opts), openMem(t, m, opts)
	cleans := 0
	loops.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			if err := compactor.CompactAll(ctx, nil); err != nil && !errors.Is(err, stack.ErrOutdated) {
				t.Errorf("compaction: %v", err)
			}
		}
	})
	loops.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			if _, err := cleaner.Clean(ctx, 0); err != nil {
				t.Errorf("Clean: %v", err)
				return
			}
			cleans++
		}
	})
	wg.Wait()
	close(done)
	loops.Wait()
	m.SetHook(nil)
	got := stacktest.Check(t, func() storage.Backend { return backend(t, m) })
	for name, v := range want {
		if got[name] != fmt.Sprintf("%x", stacktest.OID(v)) {
			t.Errorf("%s = %q, want %x", name, got[name], stacktest.OID(v))
		}
	}
	t.Logf("%d commits, %d refs, %d cleans", len(want), len(got), cleans)
	checkClean(t, "after the writers", compactor, m, "repo/")
}
