// Package stacktest is a test suite for storage.Backend implementations:
// commits, reloads, ref transactions with compare-and-swap between
// several Stacks on one storage, compaction (automatic, full, and rebased
// over a concurrent commit), cleanup, tables vanishing under a reader,
// and concurrent writers that must lose nothing. Every Stack the suite
// opens gets its own Backend, as if each were another process.
package stacktest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack"
	"github.com/refstore/refstore/stack/storage"
)

// ctx is the context of the suite's calls.
var ctx = context.Background()

// Storage returns a new Backend on one storage each time it is called.
type Storage func() storage.Backend

// Run runs the suite; newStorage returns a Storage on a new, empty
// storage for each test.
func Run(t *testing.T, newStorage func(t *testing.T) Storage) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Storage)
	}{
		{"CommitReload", testCommitReload},
		{"CompareAndSwap", testCompareAndSwap},
		{"Counter", testCounter},
		{"NothingLost", testNothingLost},
		{"Compaction", testCompaction},
		{"CompactionRebase", testCompactionRebase},
		{"CompactionAbandoned", testCompactionAbandoned},
		{"CleanGrace", testCleanGrace},
		{"VanishingTables", testVanishingTables},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStorage(t)) })
	}
}

// Options are the stack options the suite uses: writers wait long
// enough for each other on backends with locks.
func Options() stack.Options {
	return stack.Options{LockTimeout: 20 * time.Second}
}

// Open opens a Stack on a new Backend of s, closed at the end of the test.
func Open(t testing.TB, s Storage, opts stack.Options) *stack.Stack {
	t.Helper()
	st, err := stack.OpenBackend(ctx, s(), "stacktest", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// OID returns an object id encoding i.
func OID(i int) []byte {
	id := make([]byte, 20)
	id[0], id[1], id[2], id[19] = byte(i>>16), byte(i>>8), byte(i), 1
	return id
}

var who = stack.Identity{Name: "A U Thor", Email: "author@example.com", Time: time.Unix(1700000000, 0).UTC()}

// Set commits one update of name to OID(v), checking old when not nil.
func Set(st *stack.Stack, name string, v int, old *stack.Ref) error {
	tx := st.NewTransaction(who, stack.ReflogAlways)
	tx.Add(stack.Update{Ref: stack.Ref{Name: name, ID: OID(v)}, Old: old, Message: fmt.Sprintf("set %d", v)})
	return tx.Commit(ctx)
}

// Check opens a fresh Stack on s, reads every table it lists and returns
// the live refs; it fails the test if a listed table is missing or
// unreadable.
func Check(t testing.TB, s Storage) map[string]string {
	t.Helper()
	st := Open(t, s, Options())
	refs := map[string]string{}
	for r, err := range st.Refs(ctx, "") {
		if err != nil {
			t.Fatalf("reading the stack: %v", err)
		}
		refs[string(r.Name)] = fmt.Sprintf("%x", r.ID)
	}
	snap, err := st.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	for l, err := range snap.Merged().Logs(nil) {
		if err != nil {
			t.Fatalf("reading the reflogs: %v (%v)", err, l.RefName)
		}
	}
	return refs
}

func listed(t testing.TB, st *stack.Stack) []string {
	t.Helper()
	snap, err := st.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	return snap.TableNames()
}

// files returns the table files of the storage.
func files(t testing.TB, s Storage) []string {
	t.Helper()
	b := s()
	defer b.Close()
	fis, err := b.ListFiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, fi := range fis {
		if strings.HasSuffix(fi.Name, ".ref") {
			names = append(names, fi.Name)
		}
	}
	slices.Sort(names)
	return names
}

func lockFree(b storage.Backend) bool {
	_, ok := b.(storage.NoTableLocks)
	return ok
}

func testCommitReload(t *testing.T, s Storage) {
	a := Open(t, s, Options())
	b := Open(t, s, Options())
	if err := Set(a, "refs/heads/main", 1, &stack.Ref{}); err != nil {
		t.Fatal(err)
	}
	r, err := b.Ref(ctx, "refs/heads/main")
	if err != nil || string(r.ID) != string(OID(1)) {
		t.Fatalf("the other stack reads %x, %v", r.ID, err)
	}
	if err := Set(b, "refs/heads/main", 2, &stack.Ref{ID: OID(1)}); err != nil {
		t.Fatal(err)
	}
	if r, err := a.Ref(ctx, "refs/heads/main"); err != nil || string(r.ID) != string(OID(2)) {
		t.Fatalf("after a commit by the other stack: %x, %v", r.ID, err)
	}
	snap, err := a.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	n := 0
	for l, err := range snap.Merged().LogsFor([]byte("refs/heads/main")) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if want := fmt.Sprintf("set %d", 3-n); string(l.Message) != want+"\n" && string(l.Message) != want {
			t.Errorf("reflog entry %d: %q, want %q", n, l.Message, want)
		}
	}
	if n != 2 {
		t.Errorf("%d reflog entries, want 2", n)
	}
}

// testCompareAndSwap: a stack whose expected old value is outdated by a
// commit of another stack gets a *RefConflictError and writes nothing.
func testCompareAndSwap(t *testing.T, s Storage) {
	a := Open(t, s, Options())
	b := Open(t, s, Options())
	if err := Set(a, "refs/heads/main", 1, &stack.Ref{}); err != nil {
		t.Fatal(err)
	}
	if err := Set(b, "refs/heads/main", 2, &stack.Ref{ID: OID(1)}); err != nil {
		t.Fatal(err)
	}
	before := listed(t, b)
	err := Set(a, "refs/heads/main", 3, &stack.Ref{ID: OID(1)})
	var conflict *stack.RefConflictError
	if !errors.As(err, &conflict) || !errors.Is(err, stack.ErrRefConflict) {
		t.Fatalf("stale compare-and-swap: %v, want a *RefConflictError", err)
	}
	if string(conflict.Actual.ID) != string(OID(2)) {
		t.Errorf("conflict reports %v, want %x", conflict.Actual, OID(2))
	}
	if after := listed(t, b); !slices.Equal(before, after) {
		t.Errorf("a failed transaction changed the list: %v -> %v", before, after)
	}
	if err := Set(a, "refs/heads/new", 1, &stack.Ref{}); err != nil {
		t.Fatal(err)
	}
	if err := Set(b, "refs/heads/new", 2, &stack.Ref{}); !errors.Is(err, stack.ErrRefConflict) {
		t.Errorf("creating an existing ref: %v, want ErrRefConflict", err)
	}
}

// testCounter: writers on separate stacks increment one ref by
// compare-and-swap; every increment that succeeded is there, once.
func testCounter(t *testing.T, s Storage) {
	const writers, each = 4, 10
	if err := Set(Open(t, s, Options()), "refs/heads/counter", 0, &stack.Ref{}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for range writers {
		st := Open(t, s, Options())
		wg.Go(func() {
			for done := 0; done < each; {
				r, err := st.Ref(ctx, "refs/heads/counter")
				if err != nil {
					errs <- err
					return
				}
				v := int(r.ID[0])<<16 | int(r.ID[1])<<8 | int(r.ID[2])
				err = Set(st, "refs/heads/counter", v+1, &stack.Ref{ID: r.ID})
				if errors.Is(err, stack.ErrRefConflict) {
					continue
				}
				if err != nil {
					errs <- err
					return
				}
				done++
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st := Open(t, s, Options())
	r, err := st.Ref(ctx, "refs/heads/counter")
	if err != nil || string(r.ID) != string(OID(writers*each)) {
		t.Fatalf("counter = %x, %v; want %x", r.ID, err, OID(writers*each))
	}
	snap, _ := st.Snapshot(ctx)
	defer snap.Close()
	n := 0
	for range snap.Merged().LogsFor([]byte("refs/heads/counter")) {
		n++
	}
	if n != writers*each+1 {
		t.Errorf("%d reflog entries, want %d", n, writers*each+1)
	}
}

// testNothingLost: 8 writers, each with its own Stack, commit while
// auto-compaction runs; every commit is there, no listed table is
// missing, and after Clean only listed tables remain.
func testNothingLost(t *testing.T, s Storage) {
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		st := Open(t, s, Options())
		wg.Go(func() {
			for i := range each {
				if err := Set(st, fmt.Sprintf("refs/heads/w%d/%d", w, i), w*1000+i, &stack.Ref{}); err != nil {
					errs <- fmt.Errorf("writer %d, commit %d: %w", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	refs := Check(t, s)
	for w := range writers {
		for i := range each {
			name := fmt.Sprintf("refs/heads/w%d/%d", w, i)
			if refs[name] != fmt.Sprintf("%x", OID(w*1000+i)) {
				t.Errorf("%s = %q: lost", name, refs[name])
			}
		}
	}
	st := Open(t, s, Options())
	if len(refs) != writers*each {
		t.Errorf("%d refs, want %d", len(refs), writers*each)
	}
	if _, err := st.Clean(ctx, 0); err != nil {
		t.Fatal(err)
	}
	want := listed(t, st)
	slices.Sort(want)
	if got := files(t, s); !slices.Equal(want, got) {
		t.Errorf("after Clean, tables %v, listed %v", got, want)
	}
}

func testCompaction(t *testing.T, s Storage) {
	st := Open(t, s, Options())
	for i := range 32 {
		if err := Set(st, fmt.Sprintf("refs/heads/b%02d", i), i, nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(listed(t, st)); n > 6 {
		t.Errorf("%d tables after 32 commits with auto-compaction", n)
	}
	if st.Stats().Compactions == 0 {
		t.Error("no auto-compaction ran")
	}
	before := Check(t, s)
	if err := st.CompactAll(ctx, nil); err != nil {
		t.Fatal(err)
	}
	names := listed(t, st)
	if len(names) != 1 {
		t.Fatalf("%d tables after CompactAll", len(names))
	}
	if got := files(t, s); !slices.Equal(got, names) {
		t.Errorf("tables %v after CompactAll, want only %v", got, names)
	}
	after := Check(t, s)
	if len(after) != 32 || fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("CompactAll changed the refs: %v -> %v", before, after)
	}
}

// hooked wraps a Backend to run code in the middle of a compaction.
type hooked struct {
	storage.Backend
	created       int
	afterCreate   func() // once, after the next CreateTable or StageTable
	beforePublish func() // once, before the next Publish
}

type hookedLockFree struct{ *hooked }

func (h hookedLockFree) NoTableLocks() {}

func hook(b storage.Backend) (*hooked, storage.Backend) {
	h := &hooked{Backend: b}
	if lockFree(b) {
		return h, hookedLockFree{h}
	}
	return h, h
}

func (h *hooked) CreateTable(ctx context.Context, w func(io.Writer) (uint64, uint64, bool, error)) (string, error) {
	name, err := h.Backend.CreateTable(ctx, w)
	h.created++
	if f := h.afterCreate; f != nil {
		h.afterCreate = nil
		f()
	}
	return name, err
}

func (h *hooked) StageTable(ctx context.Context, w func(io.Writer) (uint64, uint64, bool, error)) (storage.StagedTable, error) {
	t, err := h.Backend.StageTable(ctx, w)
	h.created++
	if f := h.afterCreate; f != nil {
		h.afterCreate = nil
		f()
	}
	return t, err
}

func (h *hooked) Begin(ctx context.Context, timeout time.Duration) (storage.Commit, error) {
	c, err := h.Backend.Begin(ctx, timeout)
	if err != nil {
		return nil, err
	}
	return hookedCommit{c, h}, nil
}

type hookedCommit struct {
	storage.Commit
	h *hooked
}

func (c hookedCommit) Publish(ctx context.Context, names []string) error {
	if f := c.h.beforePublish; f != nil {
		c.h.beforePublish = nil
		f()
	}
	return c.Commit.Publish(ctx, names)
}

// compactor opens a Stack without auto-compaction on a hooked backend,
// after three commits.
func compactor(t *testing.T, s Storage) (*stack.Stack, *hooked, bool) {
	h, b := hook(s())
	opts := Options()
	opts.DisableAutoCompaction = true
	st, err := stack.OpenBackend(ctx, b, "compactor", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for i := range 3 {
		if err := Set(st, fmt.Sprintf("refs/heads/b%d", i), i, nil); err != nil {
			t.Fatal(err)
		}
	}
	h.created = 0
	return st, h, lockFree(b)
}

// testCompactionRebase: a commit that lands while a compaction merges
// (or, without table locks, between its reading the list and swapping
// it) is kept, and the compaction still lands without merging again.
func testCompactionRebase(t *testing.T, s Storage) {
	st, h, free := compactor(t, s)
	opts := Options()
	opts.DisableAutoCompaction = true
	other := Open(t, s, opts)
	during := func() {
		if err := Set(other, "refs/heads/during", 9, &stack.Ref{}); err != nil {
			t.Errorf("commit during the compaction: %v", err)
		}
	}
	if free {
		h.beforePublish = during
	} else {
		h.afterCreate = during
	}
	if err := st.CompactAll(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if h.created != 1 {
		t.Errorf("the compaction wrote %d tables, want 1", h.created)
	}
	if st.Stats().Compactions != 1 {
		t.Errorf("%d compactions committed, want 1", st.Stats().Compactions)
	}
	if n := len(listed(t, st)); n != 2 {
		t.Errorf("%d tables, want the compacted one and the concurrent commit's", n)
	}
	refs := Check(t, s)
	if len(refs) != 4 || refs["refs/heads/during"] != fmt.Sprintf("%x", OID(9)) {
		t.Errorf("refs after the rebased compaction: %v", refs)
	}
}

// testCompactionAbandoned: without table locks, a compaction whose tables
// another compaction replaced first is abandoned and leaves nothing.
func testCompactionAbandoned(t *testing.T, s Storage) {
	st, h, free := compactor(t, s)
	if !free {
		t.Skip("the backend locks tables: a second compaction cannot replace them")
	}
	other := Open(t, s, Options())
	h.beforePublish = func() {
		if err := other.CompactAll(ctx, nil); err != nil {
			t.Errorf("the other compaction: %v", err)
		}
	}
	if err := st.CompactAll(ctx, nil); !errors.Is(err, stack.ErrOutdated) {
		t.Fatalf("the losing compaction: %v, want ErrOutdated", err)
	}
	names := listed(t, other)
	if got := files(t, s); !slices.Equal(got, names) {
		t.Errorf("tables %v, want only the listed %v", got, names)
	}
	if refs := Check(t, s); len(refs) != 3 {
		t.Errorf("refs: %v", refs)
	}
}

// testCleanGrace: an unlisted table is an orphan Clean removes; without
// table locks only once it is older than the grace period.
func testCleanGrace(t *testing.T, s Storage) {
	st := Open(t, s, Options())
	for i := range 2 {
		if err := Set(st, fmt.Sprintf("refs/heads/b%d", i), i, nil); err != nil {
			t.Fatal(err)
		}
	}
	b := s()
	defer b.Close()
	orphan, err := b.CreateTable(ctx, func(w io.Writer) (uint64, uint64, bool, error) {
		tw, err := reftable.NewWriter(w, reftable.WriterOptions{MinUpdateIndex: 1, MaxUpdateIndex: 1})
		if err != nil {
			return 0, 0, false, err
		}
		tw.AddRef(&reftable.RefRecord{Name: []byte("refs/heads/orphan"), UpdateIndex: 1, Type: reftable.RefVal1, Value: OID(7)})
		return 1, 1, true, tw.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := st.Clean(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := slices.Contains(res.Removed, orphan), !lockFree(b); got != want {
		t.Errorf("Clean with an hour's grace removed the young orphan: %v, want %v (%+v)", got, want, res)
	}
	if _, err := st.Clean(ctx, 0); err != nil {
		t.Fatal(err)
	}
	want := listed(t, st)
	slices.Sort(want)
	if got := files(t, s); !slices.Equal(got, want) {
		t.Errorf("after Clean(0): tables %v, want %v", got, want)
	}
	if refs := Check(t, s); len(refs) != 2 {
		t.Errorf("Clean changed the refs: %v", refs)
	}
}

// testVanishingTables: a reader whose tables a compaction of another
// Stack removed reloads and reads the right values, also in the middle
// of an iteration.
func testVanishingTables(t *testing.T, s Storage) {
	opts := Options()
	opts.DisableAutoCompaction = true
	w := Open(t, s, opts)
	const n = 20
	for i := range n {
		if err := Set(w, fmt.Sprintf("refs/heads/b%02d", i), i, nil); err != nil {
			t.Fatal(err)
		}
	}
	r := Open(t, s, opts)
	if _, err := r.Ref(ctx, "refs/heads/b00"); err != nil {
		t.Fatal(err)
	}
	if err := w.CompactAll(ctx, nil); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		got, err := r.Ref(ctx, fmt.Sprintf("refs/heads/b%02d", i))
		if err != nil || string(got.ID) != string(OID(i)) {
			t.Fatalf("b%02d after the compaction: %x, %v", i, got.ID, err)
		}
	}
	for i := range n {
		if err := Set(w, fmt.Sprintf("refs/heads/b%02d", i), i, nil); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	for ref, err := range r.Refs(ctx, "refs/heads/") {
		if err != nil {
			t.Fatalf("iteration: %v", err)
		}
		names = append(names, string(ref.Name))
		if len(names) == 1 {
			if err := w.CompactAll(ctx, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(names) != n || !slices.IsSorted(names) {
		t.Errorf("iteration across a compaction yielded %v", names)
	}
}
