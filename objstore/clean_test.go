package objstore

import (
	"bytes"
	"context"
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

// gateStore is a Mem whose first PUT of tables.list, once armed, stops
// before it reaches the store: it closes reached and waits for release,
// as a writer suspended between its upload and its swap.
type gateStore struct {
	*Mem
	reached, release chan struct{}
	once             sync.Once
}

func (s *gateStore) Put(ctx context.Context, key string, data []byte, c Cond) (string, error) {
	if strings.HasSuffix(key, "tables.list") {
		stopped := false
		s.once.Do(func() { stopped = true })
		if stopped {
			close(s.reached)
			<-s.release
		}
	}
	return s.Mem.Put(ctx, key, data, c)
}

// TestCleanBesideEmptiedStack: Clean reads the list, and before it lists
// the objects every ref is deleted and the stack compacted, and a writer
// uploads the table of its commit on the stack as it is then and is
// suspended before its swap. Clean keeps the table, and the writer's
// commit is there after its swap: a compaction that leaves no record
// keeps a table without records spanning the update indexes it merged,
// so the next commit's indexes are above every list's Clean read. (Before,
// the compaction published an empty list, the commit took update index 1
// again, below the list Clean had read, Clean removed its table as one
// no list could take, and the swap published a list naming a missing
// table.)
func TestCleanBesideEmptiedStack(t *testing.T) {
	m := NewMem()
	opts := stack.Options{DisableAutoCompaction: true}
	a := openMem(t, m, opts)
	names := []string{"refs/heads/x", "refs/heads/y", "refs/heads/z"}
	set := func(st *stack.Stack, name string, id []byte) error {
		tx := st.NewTransaction(stack.Identity{Name: "T", Email: "t@example.com", Time: time.Unix(1700000000, 0)}, stack.ReflogNever)
		tx.Add(stack.Update{Ref: stack.Ref{Name: name, ID: id}})
		return tx.Commit(ctx)
	}
	for i, name := range names {
		if err := set(a, name, stacktest.OID(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	// One table spanning their update indexes: no run of the list Clean
	// reads spans exactly the writer's update index.
	if err := a.CompactAll(ctx, nil); err != nil {
		t.Fatal(err)
	}
	cleaner := openMem(t, m, opts)
	gate := &gateStore{Mem: m, reached: make(chan struct{}), release: make(chan struct{})}
	wb, err := NewBackend(t.Context(), gate, Options{Prefix: "repo/"})
	if err != nil {
		t.Fatal(err)
	}
	w, err := stack.OpenBackend(ctx, wb, "writer", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var werr error
	done := make(chan struct{})
	listed := false
	m.SetHook(func(op Op, key string, _ int, apply func() error) error {
		if op == OpList && !listed {
			listed = true
			for _, name := range names {
				if err := set(a, name, nil); err != nil {
					t.Errorf("delete %s: %v", name, err)
				}
			}
			if err := a.CompactAll(ctx, nil); err != nil {
				t.Errorf("compaction of the deleted refs: %v", err)
			}
			if got := listedNames(t, m); len(got) != 1 {
				t.Errorf("list after every ref was deleted and compacted: %q; want one table without records", got)
			}
			go func() {
				defer close(done)
				werr = set(w, "refs/heads/new", stacktest.OID(9))
			}()
			<-gate.reached
		}
		return apply()
	})
	res, err := cleaner.Clean(ctx, 0)
	m.SetHook(nil)
	close(gate.release)
	<-done
	if err != nil {
		t.Fatalf("Clean: %v", err)
	}
	if werr != nil {
		t.Fatalf("the writer's commit: %v", werr)
	}
	for _, name := range res.Removed {
		if !strings.HasSuffix(name, ".ref") {
			continue
		}
		if slices.Contains(listedNames(t, m), name) {
			t.Errorf("Clean removed %s, listed now (%+v)", name, res)
		}
	}
	refs := stacktest.Check(t, func() storage.Backend { return backend(t, m) })
	if len(refs) != 1 || refs["refs/heads/new"] == "" {
		t.Errorf("refs after the commit: %v; want refs/heads/new alone", refs)
	}
	checkIndexes(t, m)
}

// TestEmptiedStackKeepsIndexes: on an object store, deleting every ref
// and compacting (a compaction, or a commit that merges the whole stack
// with its deletions) leaves one table without records that spans the
// update indexes merged, so the next commit's index is above them (see
// TestCleanBesideEmptiedStack for why).
func TestEmptiedStackKeepsIndexes(t *testing.T) {
	for _, how := range []string{"compaction", "fused commit"} {
		t.Run(strings.ReplaceAll(how, " ", "-"), func(t *testing.T) {
			m := NewMem()
			st := openMem(t, m, stack.Options{DisableAutoCompaction: how == "compaction"})
			commit := func(name string, id []byte) {
				t.Helper()
				tx := st.NewTransaction(stack.Identity{Name: "T", Email: "t@example.com", Time: time.Unix(1700000000, 0)}, stack.ReflogNever)
				tx.Add(stack.Update{Ref: stack.Ref{Name: name, ID: id}})
				if err := tx.Commit(ctx); err != nil {
					t.Fatal(err)
				}
			}
			commit("refs/heads/x", stacktest.OID(1))
			commit("refs/heads/x", nil)
			if how == "compaction" {
				if err := st.CompactAll(ctx, nil); err != nil {
					t.Fatal(err)
				}
			}
			names := listedNames(t, m)
			if len(names) != 1 {
				t.Fatalf("list after deleting every ref: %q; want one table", names)
			}
			if min, max, _ := storage.ParseTableName(names[0]); min != 1 || max != 2 {
				t.Errorf("table %s: want update indexes 1 to 2", names[0])
			}
			commit("refs/heads/y", stacktest.OID(2))
			names = listedNames(t, m)
			if _, max, _ := storage.ParseTableName(names[len(names)-1]); max != 3 {
				t.Errorf("list %q after the next commit: want it to have taken update index 3", names)
			}
			if refs := stacktest.Check(t, func() storage.Backend { return backend(t, m) }); len(refs) != 1 || refs["refs/heads/y"] == "" {
				t.Errorf("refs: %v; want refs/heads/y alone", refs)
			}
		})
	}
}

// putRecorder is a Mem that records the keys written through it.
type putRecorder struct {
	*Mem
	mu   sync.Mutex
	keys []string
}

func (s *putRecorder) Put(ctx context.Context, key string, data []byte, c Cond) (string, error) {
	s.mu.Lock()
	s.keys = append(s.keys, key)
	s.mu.Unlock()
	return s.Mem.Put(ctx, key, data, c)
}

// TestCleanRemovesProbeLeftovers: the scratch keys a probe leaves when
// it dies before removing them are temporary files to Clean, kept for
// the grace period and removed after it. (Before, Clean kept them as
// "not a stack file", forever.)
func TestCleanRemovesProbeLeftovers(t *testing.T) {
	m := NewMem()
	st := openMem(t, m, stack.Options{DisableAutoCompaction: true})
	if err := stacktest.Set(st, "refs/heads/main", 1, nil); err != nil {
		t.Fatal(err)
	}
	rec := &putRecorder{Mem: m}
	if err := Probe(ctx, rec, "repo/"); err != nil {
		t.Fatal(err)
	}
	if err := RaceProbe(ctx, rec, "repo/", 2, 2, nil); err != nil {
		t.Fatal(err)
	}
	// The probes died before removing what they wrote.
	for _, key := range rec.keys {
		if _, err := m.Put(ctx, key, []byte("left"), Cond{}); err != nil {
			t.Fatal(err)
		}
	}
	var left []string
	objs, err := m.List(ctx, "repo/")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if name := strings.TrimPrefix(o.Key, "repo/"); strings.HasPrefix(name, "probe-") || strings.HasPrefix(name, "race-") {
			left = append(left, name)
		}
	}
	if len(left) < 2 {
		t.Fatalf("scratch keys left by the probes: %q; want some", left)
	}
	res, err := st.Clean(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Removed) != 0 || len(res.Kept) != len(left) {
		t.Errorf("Clean within the grace period: %+v; want %q kept as young temporary files", res, left)
	}
	for _, k := range res.Kept {
		if !strings.Contains(k, "temporary file younger than the grace period") {
			t.Errorf("kept %s", k)
		}
	}
	res, err = st.Clean(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(res.Removed)
	slices.Sort(left)
	if !slices.Equal(res.Removed, left) || len(res.Kept) != 0 {
		t.Errorf("Clean after the grace period: %+v; want %q removed", res, left)
	}
	if refs := stacktest.Check(t, func() storage.Backend { return backend(t, m) }); len(refs) != 1 {
		t.Errorf("refs: %v", refs)
	}
}

// TestCommitBesideClean: a goroutine commits through a Stack while
// another's Clean of it lists the store: the commit does not wait for the
// cleanup, which locks nothing on an object store (it waited for the
// commit slot Clean held until it ended).
func TestCommitBesideClean(t *testing.T) {
	m := NewMem()
	st := openMem(t, m, stack.Options{})
	if err := commitRef(st, "refs/heads/main", 1); err != nil {
		t.Fatal(err)
	}
	listing, committed := make(chan struct{}), make(chan struct{})
	var once sync.Once
	m.SetHook(func(op Op, key string, _ int, apply func() error) error {
		if op == OpList {
			once.Do(func() { close(listing) })
			select {
			case <-committed:
			case <-time.After(2 * time.Second):
			}
		}
		return apply()
	})
	cleaned := make(chan error, 1)
	go func() {
		_, err := st.Clean(ctx, time.Hour)
		cleaned <- err
	}()
	<-listing
	start := time.Now()
	if err := commitRef(st, "refs/heads/beside", 2); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the commit beside the Clean took %v: it waited for the cleanup", d)
	}
	close(committed)
	if err := <-cleaned; err != nil {
		t.Errorf("clean: %v", err)
	}
	m.SetHook(nil)
	if r, err := st.Ref(ctx, "refs/heads/beside"); err != nil || !bytes.Equal(r.ID, oid(2)) {
		t.Errorf("beside = %v, %v", r, err)
	}
}
