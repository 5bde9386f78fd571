package objstore

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/refstore/refstore/stack"
	"github.com/refstore/refstore/stack/stacktest"
	"github.com/refstore/refstore/stack/storage"
)

// request is one request a Mem store served, as a hook saw it.
type request struct {
	op  Op
	key string // without the prefix
	err error
}

func (r request) String() string {
	s := string(r.op) + " " + r.key
	if r.err != nil {
		s += " (" + r.err.Error() + ")"
	}
	return s
}

// recordRequests makes m record the requests it serves into *reqs, from
// now on (and resets its call counts). Read *reqs after m.SetHook(nil).
func recordRequests(m *Mem, reqs *[]request) {
	*reqs = nil
	var mu sync.Mutex // requests may be concurrent (NewBackend, table opens)
	m.SetHook(func(op Op, key string, _ int, apply func() error) error {
		err := apply()
		mu.Lock()
		*reqs = append(*reqs, request{op: op, key: strings.TrimPrefix(key, "repo/"), err: err})
		mu.Unlock()
		return err
	})
}

// TestCommitRequests: an uncontended commit of one ref without
// compaction makes three requests: a conditional GET of tables.list
// answered "not modified" (the backend knows the list it published
// last), the table's PUT and the list's PUT. The commit takes the list
// it published without reading it back, so a reload when nothing changed
// is one conditional GET, answered "not modified". (Before, a commit
// read the whole list at its start and again after its swap: 4 requests.)
func TestCommitRequests(t *testing.T) {
	m := NewMem()
	st := openMem(t, m, stack.Options{DisableAutoCompaction: true})
	if err := stacktest.Set(st, "refs/heads/main", 1, nil); err != nil {
		t.Fatal(err)
	}
	var reqs []request
	for i := range 3 {
		recordRequests(m, &reqs)
		if err := stacktest.Set(st, fmt.Sprintf("refs/heads/b%d", i), i, nil); err != nil {
			t.Fatal(err)
		}
		m.SetHook(nil)
		if len(reqs) != 3 || reqs[0].op != OpGet || reqs[0].key != listName || !errors.Is(reqs[0].err, ErrNotModified) ||
			reqs[1].op != OpPut || !strings.HasSuffix(reqs[1].key, ".ref") || reqs[1].err != nil ||
			reqs[2].op != OpPut || reqs[2].key != listName || reqs[2].err != nil {
			t.Errorf("commit %d: requests %v; want a GET of %s answered not modified, a PUT of the table, a PUT of the list", i, reqs, listName)
		}
	}
	recordRequests(m, &reqs)
	if err := st.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Ref(ctx, "refs/heads/b2"); err != nil {
		t.Fatal(err)
	}
	m.SetHook(nil)
	if len(reqs) != 2 || reqs[0].op != OpGet || !errors.Is(reqs[0].err, ErrNotModified) || reqs[1].op != OpGet || !errors.Is(reqs[1].err, ErrNotModified) {
		t.Errorf("two reads of an unchanged stack: requests %v; want one GET answered not modified each", reqs)
	}
	// Another writer's commit is seen by the next read.
	other := openMem(t, m, stack.Options{DisableAutoCompaction: true})
	if err := stacktest.Set(other, "refs/heads/main", 7, nil); err != nil {
		t.Fatal(err)
	}
	if r, err := st.Ref(ctx, "refs/heads/main"); err != nil || !bytes.Equal(r.ID, stacktest.OID(7)) {
		t.Errorf("main after the other writer's commit: %v, %v", r, err)
	}
}

// TestOpenReadsListWithMarker: NewBackend reads the list while it reads
// the marker of a passed probe, and the stack opened on it loads that
// list: an open waits for one round trip instead of two, and reads the
// list once. A list read longer than freshList before the probe ended
// (as when the store was probed) is read again.
func TestOpenReadsListWithMarker(t *testing.T) {
	m := NewMem()
	if err := stacktest.Set(openMem(t, m, stack.Options{}), "refs/heads/main", 1, nil); err != nil {
		t.Fatal(err)
	}
	listReads := func(reqs []request) (n int) {
		for _, r := range reqs {
			if r.op == OpGet && r.key == listName {
				n++
			}
		}
		return n
	}

	// The marker's GET is answered once the list's has come, or after
	// two seconds: then the reads were one after the other.
	var (
		mu        sync.Mutex
		reqs      []request
		listAsked = make(chan struct{})
		once      sync.Once
		together  atomic.Bool
	)
	m.SetHook(func(op Op, key string, _ int, apply func() error) error {
		key = strings.TrimPrefix(key, "repo/")
		switch {
		case op == OpGet && key == listName:
			once.Do(func() { close(listAsked) })
		case op == OpGet && key == ProbeMarker:
			select {
			case <-listAsked:
				together.Store(true)
			case <-time.After(2 * time.Second):
			}
		}
		err := apply()
		mu.Lock()
		reqs = append(reqs, request{op: op, key: key, err: err})
		mu.Unlock()
		return err
	})
	st := openMem(t, m, stack.Options{})
	m.SetHook(nil)
	if !together.Load() {
		t.Errorf("open: the list was not read while the probe's marker was: %v", reqs)
	}
	if n := listReads(reqs); n != 1 {
		t.Errorf("open: %d GETs of %s in %v; want 1", n, listName, reqs)
	}
	if r, err := st.Ref(ctx, "refs/heads/main"); err != nil || !bytes.Equal(r.ID, stacktest.OID(1)) {
		t.Errorf("main after the open: %v, %v", r, err)
	}

	defer func(d time.Duration) { freshList = d }(freshList)
	freshList = 0
	recordRequests(m, &reqs)
	openMem(t, m, stack.Options{})
	m.SetHook(nil)
	if n := listReads(reqs); n != 2 {
		t.Errorf("open with a list read too long before the probe ended: %d GETs of %s in %v; want 2", n, listName, reqs)
	}
}

// TestOpenCommitRequests: a process that opens a stack and commits once,
// as the reftable command does, reads the list once: the commit begins
// on the list the open read (BeginFresh), where it read it again with a
// conditional GET before. A commit right after a read of the stack
// begins on that read's list the same way; one older than freshList is
// read again. A base another writer replaced meanwhile costs a refused
// swap, never the commit.
func TestOpenCommitRequests(t *testing.T) {
	m := NewMem()
	if err := stacktest.Set(openMem(t, m, stack.Options{DisableAutoCompaction: true}), "refs/heads/main", 1, nil); err != nil {
		t.Fatal(err)
	}
	var reqs []request
	listReads := func() (n int) {
		for _, r := range reqs {
			if r.op == OpGet && r.key == listName {
				n++
			}
		}
		return n
	}
	recordRequests(m, &reqs)
	st := openMem(t, m, stack.Options{DisableAutoCompaction: true})
	if err := stacktest.Set(st, "refs/heads/a", 2, nil); err != nil {
		t.Fatal(err)
	}
	m.SetHook(nil)
	if n := listReads(); n != 1 {
		t.Errorf("open and one commit: %d GETs of %s in %v; want 1", n, listName, reqs)
	}

	readThenCommit := func(name string, v int) {
		t.Helper()
		recordRequests(m, &reqs)
		if _, err := st.Ref(ctx, "refs/heads/main"); err != nil {
			t.Fatal(err)
		}
		if err := stacktest.Set(st, name, v, nil); err != nil {
			t.Fatal(err)
		}
		m.SetHook(nil)
	}
	readThenCommit("refs/heads/b", 3)
	if n := listReads(); n != 1 {
		t.Errorf("a read, then a commit: %d GETs of %s in %v; want 1", n, listName, reqs)
	}
	defer func(d time.Duration) { freshList = d }(freshList)
	freshList = 0
	readThenCommit("refs/heads/c", 4)
	if n := listReads(); n != 2 {
		t.Errorf("a read older than freshList, then a commit: %d GETs of %s in %v; want 2", n, listName, reqs)
	}
	freshList = time.Hour

	// Another writer commits between the read and the commit.
	if _, err := st.Ref(ctx, "refs/heads/main"); err != nil {
		t.Fatal(err)
	}
	if err := stacktest.Set(openMem(t, m, stack.Options{DisableAutoCompaction: true}), "refs/heads/other", 5, nil); err != nil {
		t.Fatal(err)
	}
	recordRequests(m, &reqs)
	if err := stacktest.Set(st, "refs/heads/d", 6, nil); err != nil {
		t.Fatal(err)
	}
	m.SetHook(nil)
	refused := slices.ContainsFunc(reqs, func(r request) bool {
		return r.op == OpPut && r.key == listName && errors.Is(r.err, ErrPrecondition)
	})
	if !refused {
		t.Errorf("a commit on a base another writer replaced: requests %v; want a refused swap of %s first", reqs, listName)
	}
	want := map[string]int{"refs/heads/main": 1, "refs/heads/a": 2, "refs/heads/b": 3, "refs/heads/c": 4, "refs/heads/other": 5, "refs/heads/d": 6}
	check := openMem(t, m, stack.Options{})
	for name, v := range want {
		if r, err := check.Ref(ctx, name); err != nil || !bytes.Equal(r.ID, stacktest.OID(v)) {
			t.Errorf("%s = %v, %v; want %x", name, r, err, stacktest.OID(v))
		}
	}
}

// TestFusedCommitRequests: an uncontended commit that merges its table
// with listed ones (auto-compaction done under the commit, see stack's
// fuse) makes the same three requests as one that does not: it keeps the
// merged table it wrote in memory instead of reading it back, and takes
// its list as published. The tables it replaced are removed by the next
// commit, once its conditional GET shows the list is still the one
// published (one DELETE each), or by a reload, or when the stack is
// closed; none is left behind. (Before, such a commit read the list and
// the merged table back and deleted at once: five requests and the
// deletions.)
func TestFusedCommitRequests(t *testing.T) {
	m := NewMem()
	st := openMem(t, m, stack.Options{})
	if err := stacktest.Set(st, "refs/heads/main", 1, nil); err != nil {
		t.Fatal(err)
	}
	var reqs []request
	fused := 0
	var pending []string // tables the last commit replaced, still stored
	for i := range 12 {
		before := listedNames(t, m)
		recordRequests(m, &reqs)
		if err := stacktest.Set(st, fmt.Sprintf("refs/heads/b%d", i), i, nil); err != nil {
			t.Fatal(err)
		}
		m.SetHook(nil)
		after := listedNames(t, m)
		var ops []request
		var deleted []string
		for _, r := range reqs {
			if r.op == OpDelete {
				deleted = append(deleted, r.key)
			} else {
				ops = append(ops, r)
			}
		}
		slices.Sort(deleted)
		if !slices.Equal(deleted, pending) {
			t.Errorf("commit %d deleted %q; want the tables the commit before replaced, %q", i, deleted, pending)
		}
		if len(ops) != 3 || ops[0].op != OpGet || ops[0].key != listName || !errors.Is(ops[0].err, ErrNotModified) ||
			ops[1].op != OpPut || !strings.HasSuffix(ops[1].key, ".ref") || ops[1].err != nil ||
			ops[2].op != OpPut || ops[2].key != listName || ops[2].err != nil {
			t.Errorf("commit %d: requests %v; want a GET of %s answered not modified, a PUT of the table, a PUT of the list, and deletions", i, reqs, listName)
		}
		pending = nil
		for _, n := range before {
			if !slices.Contains(after, n) {
				pending = append(pending, n)
			}
		}
		slices.Sort(pending)
		if len(pending) > 0 {
			fused++
		}
	}
	if fused < 3 {
		t.Fatalf("%d of 12 commits merged listed tables; the test wants at least 3", fused)
	}
	for _, end := range []string{"reload", "close"} {
		// One more commit that merges listed tables, then the stack's
		// next read of the list removes what it replaced: a reload, or
		// the read Close makes.
		for len(pending) == 0 {
			before := listedNames(t, m)
			fused++
			if err := stacktest.Set(st, fmt.Sprintf("refs/heads/c%d", fused), fused, nil); err != nil {
				t.Fatal(err)
			}
			after := listedNames(t, m)
			for _, n := range before {
				if !slices.Contains(after, n) {
					pending = append(pending, n)
				}
			}
		}
		slices.Sort(pending)
		recordRequests(m, &reqs)
		var err error
		if end == "reload" {
			err = st.Reload(ctx)
		} else {
			err = st.Close()
		}
		m.SetHook(nil)
		if err != nil {
			t.Fatal(err)
		}
		var deleted []string
		for i, r := range reqs {
			if i > 0 {
				deleted = append(deleted, r.key)
			}
		}
		slices.Sort(deleted)
		if len(reqs) == 0 || reqs[0].op != OpGet || !errors.Is(reqs[0].err, ErrNotModified) || !slices.Equal(deleted, pending) {
			t.Errorf("%s after the last commit: requests %v; want a GET answered not modified and the deletion of %q", end, reqs, pending)
		}
		pending = nil
	}
	checkIndexes(t, m)
}

// listedNames returns the tables m's list names.
func listedNames(t *testing.T, m *Mem) []string {
	t.Helper()
	return tableKeys(t, m, "repo/"+listName)
}

// bigTable commits 200 tags in one transaction: a table that
// auto-compaction leaves alone while it merges small tables after it.
func bigTable(t *testing.T, st *stack.Stack) {
	t.Helper()
	tx := st.NewTransaction(stack.Identity{Name: "T", Email: "t@example.com", Time: time.Unix(1700000000, 0)}, stack.ReflogNever)
	for i := range 200 {
		tx.Add(stack.Update{Ref: stack.Ref{Name: fmt.Sprintf("refs/tags/t%03d", i), ID: stacktest.OID(1000 + i)}})
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// checkIndexes fails the test unless the tables listed in m have
// increasing update indexes, as the format wants, and every table stored
// is listed (no leftover).
func checkIndexes(t *testing.T, m *Mem) []string {
	t.Helper()
	names := listedNames(t, m)
	var last uint64
	for i, n := range names {
		min, max, ok := storage.ParseTableName(n)
		if !ok || i > 0 && min <= last {
			t.Errorf("listed %q: update indexes not increasing", names)
		}
		last = max
	}
	objs, err := m.List(ctx, "repo/")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if name := strings.TrimPrefix(o.Key, "repo/"); strings.HasSuffix(name, ".ref") && !slices.Contains(names, name) {
			t.Errorf("table %s stored but not listed (%q)", name, names)
		}
	}
	return names
}

// loseSwap makes the next PUT of tables.list in m lose to what other
// does first (another writer's commit or compaction), and counts the
// tables uploaded meanwhile but for other's. It returns a function that
// removes the hook and reports the count.
func loseSwap(t *testing.T, m *Mem, other func() error) func() int {
	t.Helper()
	done, inOther, puts := false, false, 0
	m.SetHook(func(op Op, key string, _ int, apply func() error) error {
		if op == OpPut && strings.HasSuffix(key, ".ref") && !inOther {
			puts++
		}
		if op == OpPut && strings.HasSuffix(key, listName) && !done {
			done, inOther = true, true
			if err := other(); err != nil {
				t.Errorf("the writer that wins the swap: %v", err)
			}
			inOther = false
		}
		return apply()
	})
	return func() int {
		m.SetHook(nil)
		if !done {
			t.Fatal("no list written")
		}
		return puts
	}
}

// TestRebase: a commit that loses the swap of the list to a compaction
// of newer tables rebases: it publishes the table it uploaded, unchanged,
// on the new list, after checking its expected old value there: one
// upload, both kept, update indexes increasing, reflogs whole. When the
// compaction merged every table, none of the list the commit extended is
// listed, and it does not rebase (see addition.rebaseOnce): it writes its
// table again on the new list.
func TestRebase(t *testing.T) {
	for _, tc := range []struct {
		name    string
		compact func(*stack.Stack) error
		uploads int
	}{
		{"auto-compaction", func(st *stack.Stack) error { return st.AutoCompact(ctx) }, 1},
		{"whole stack", func(st *stack.Stack) error { return st.CompactAll(ctx, nil) }, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMem()
			opts := stack.Options{DisableAutoCompaction: true}
			a, b := openMem(t, m, opts), openMem(t, m, opts)
			bigTable(t, a)
			for i, name := range []string{"refs/heads/x", "refs/heads/y"} {
				if err := stacktest.Set(a, name, i+1, nil); err != nil {
					t.Fatal(err)
				}
			}
			done := loseSwap(t, m, func() error { return tc.compact(b) })
			err := stacktest.Set(a, "refs/heads/x", 3, &stack.Ref{ID: stacktest.OID(1)})
			if puts := done(); puts != tc.uploads {
				t.Errorf("%d tables uploaded by the commit, want %d", puts, tc.uploads)
			}
			if err != nil {
				t.Fatalf("commit after the lost swap: %v", err)
			}
			names := checkIndexes(t, m)
			if len(names) != 3 && tc.uploads == 1 || len(names) != 2 && tc.uploads == 2 {
				t.Errorf("listed %q", names)
			}
			refs := stacktest.Check(t, func() storage.Backend { return backend(t, m) })
			if len(refs) != 202 || refs["refs/heads/x"] != fmt.Sprintf("%x", stacktest.OID(3)) || refs["refs/heads/y"] != fmt.Sprintf("%x", stacktest.OID(2)) {
				t.Errorf("x = %s, y = %s, %d refs", refs["refs/heads/x"], refs["refs/heads/y"], len(refs))
			}
			var msgs []string
			for l, err := range a.Reflog(ctx, "refs/heads/x") {
				if err != nil {
					t.Fatal(err)
				}
				msgs = append(msgs, strings.TrimSpace(string(l.Message)))
			}
			if !slices.Equal(msgs, []string{"set 3", "set 1"}) {
				t.Errorf("reflog of x: %q", msgs)
			}
		})
	}
}

// TestRebaseRefused: a commit that loses the swap to another writer's
// commit does not rebase, its update index being taken: it starts again,
// and when that commit changed the ref it expects the old value of, it
// fails with a *stack.RefConflictError, as without rebasing, leaving no
// table behind. Another ref's change is kept beside it.
func TestRebaseRefused(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ref      string
		conflict bool
	}{{"same ref", "refs/heads/x", true}, {"other ref", "refs/heads/z", false}} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMem()
			opts := stack.Options{DisableAutoCompaction: true}
			a, b := openMem(t, m, opts), openMem(t, m, opts)
			if err := stacktest.Set(a, "refs/heads/x", 1, nil); err != nil {
				t.Fatal(err)
			}
			done := loseSwap(t, m, func() error { return stacktest.Set(b, tc.ref, 5, nil) })
			err := stacktest.Set(a, "refs/heads/x", 3, &stack.Ref{ID: stacktest.OID(1)})
			done()
			var rc *stack.RefConflictError
			if tc.conflict != errors.As(err, &rc) || !tc.conflict && err != nil {
				t.Fatalf("commit after losing to a commit of %s: %v", tc.ref, err)
			}
			checkIndexes(t, m)
			refs := stacktest.Check(t, func() storage.Backend { return backend(t, m) })
			want := map[string]string{"refs/heads/x": fmt.Sprintf("%x", stacktest.OID(5))}
			if !tc.conflict {
				want = map[string]string{"refs/heads/x": fmt.Sprintf("%x", stacktest.OID(3)), "refs/heads/z": fmt.Sprintf("%x", stacktest.OID(5))}
			}
			if !maps.Equal(refs, want) {
				t.Errorf("refs %v, want %v", refs, want)
			}
		})
	}
}

// TestRebaseUncertain: when the rebased swap's outcome is unknown (the
// PUT failed and the list read back does not name the table), the commit
// fails with ErrCommitUncertain and keeps its table: Clean keeps it while
// it may still be published (its update index above the stack's), and
// removes it once another commit took that index and a compaction that
// index's table. The stack stays readable throughout.
func TestRebaseUncertain(t *testing.T) {
	m := NewMem()
	opts := stack.Options{DisableAutoCompaction: true}
	a, b := openMem(t, m, opts), openMem(t, m, opts)
	bigTable(t, a)
	for i, name := range []string{"refs/heads/x", "refs/heads/y"} {
		if err := stacktest.Set(a, name, i+1, nil); err != nil {
			t.Fatal(err)
		}
	}
	lists := 0
	m.SetHook(func(op Op, key string, _ int, apply func() error) error {
		if op != OpPut || !strings.HasSuffix(key, listName) {
			return apply()
		}
		lists++
		switch lists {
		case 1: // the commit's swap: lost to a compaction
			if err := b.AutoCompact(ctx); err != nil {
				t.Errorf("compaction: %v", err)
			}
		case 3: // the rebased swap, after the compaction's: never arrives
			return errors.New("connection reset")
		}
		return apply()
	})
	err := stacktest.Set(a, "refs/heads/x", 3, nil)
	m.SetHook(nil)
	if !errors.Is(err, stack.ErrCommitUncertain) {
		t.Fatalf("commit whose rebased swap failed: %v, want ErrCommitUncertain", err)
	}
	refs := stacktest.Check(t, func() storage.Backend { return backend(t, m) })
	if refs["refs/heads/x"] != fmt.Sprintf("%x", stacktest.OID(1)) {
		t.Errorf("x = %s after the failed swap", refs["refs/heads/x"])
	}
	res, err := b.Clean(ctx, 0)
	if err != nil || len(res.Removed) != 0 || len(res.Kept) != 1 || !strings.Contains(res.Kept[0], "unpublished addition") {
		t.Errorf("Clean after the uncertain commit: %+v, %v", res, err)
	}
	// The next commit takes the table's update index; its table spans
	// exactly the same indexes, so Clean cannot tell the uncertain one
	// from a compaction of it and keeps it until that is compacted.
	if err := stacktest.Set(b, "refs/heads/z", 9, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.CompactAll(ctx, nil); err != nil {
		t.Fatal(err)
	}
	res, err = b.Clean(ctx, 0)
	if err != nil || len(res.Removed) != 1 {
		t.Errorf("Clean after the next commit and a compaction: %+v, %v", res, err)
	}
	checkIndexes(t, m)
}

// TestRebaseAfterCommits: a commit that lost the swap to another
// writer's commit retries with a table whose update index leaves room
// for a few more (see stack's addition.contend); when it loses again, to
// another commit of a ref it does not touch, it rebases that table
// instead of writing a third: two uploads in all, every commit kept,
// update indexes increasing.
func TestRebaseAfterCommits(t *testing.T) {
	m := NewMem()
	opts := stack.Options{DisableAutoCompaction: true}
	a, b := openMem(t, m, opts), openMem(t, m, opts)
	if err := stacktest.Set(a, "refs/heads/x", 1, nil); err != nil {
		t.Fatal(err)
	}
	lists, inOther, puts := 0, false, 0
	m.SetHook(func(op Op, key string, _ int, apply func() error) error {
		if op == OpPut && strings.HasSuffix(key, ".ref") && !inOther {
			puts++
		}
		if op == OpPut && strings.HasSuffix(key, listName) && !inOther {
			if lists++; lists <= 2 {
				inOther = true
				if err := stacktest.Set(b, fmt.Sprintf("refs/heads/b%d", lists), lists, nil); err != nil {
					t.Errorf("the other writer: %v", err)
				}
				inOther = false
			}
		}
		return apply()
	})
	err := stacktest.Set(a, "refs/heads/x", 3, &stack.Ref{ID: stacktest.OID(1)})
	m.SetHook(nil)
	if err != nil {
		t.Fatal(err)
	}
	if lists != 3 || puts != 2 {
		t.Errorf("%d swaps and %d uploads of the commit; want 3 (lost, lost and rebased) and 2", lists, puts)
	}
	checkIndexes(t, m)
	refs := stacktest.Check(t, func() storage.Backend { return backend(t, m) })
	want := map[string]string{
		"refs/heads/x":  fmt.Sprintf("%x", stacktest.OID(3)),
		"refs/heads/b1": fmt.Sprintf("%x", stacktest.OID(1)),
		"refs/heads/b2": fmt.Sprintf("%x", stacktest.OID(2)),
	}
	if !maps.Equal(refs, want) {
		t.Errorf("refs %v, want %v", refs, want)
	}
}

// TestOpenTablesAtOnce: a stack opened on an object store reads its
// tables' first blocks at once, not one after the other: a process on a
// stack of four tables, each read taking 20 ms (as on a network), waited
// 80 ms for them before.
func TestOpenTablesAtOnce(t *testing.T) {
	m := NewMem()
	st := openMem(t, m, stack.Options{DisableAutoCompaction: true})
	for i := range 4 {
		if err := stacktest.Set(st, fmt.Sprintf("refs/heads/b%d", i), i+1, nil); err != nil {
			t.Fatal(err)
		}
	}
	counts := overlapping(m, func(_ Op, key string) bool { return strings.HasSuffix(key, ".ref") })
	fresh := openMem(t, m, stack.Options{DisableAutoCompaction: true})
	m.SetHook(nil)
	if _, most := counts(); most < 4 {
		t.Errorf("opening a stack of 4 tables: at most %d requests for tables at once; want 4", most)
	}
	for i := range 4 {
		if r, err := fresh.Ref(ctx, fmt.Sprintf("refs/heads/b%d", i)); err != nil || !bytes.Equal(r.ID, stacktest.OID(i+1)) {
			t.Errorf("b%d = %v, %v", i, r, err)
		}
	}
}

// TestRemoveTablesAtOnce: the tables a compaction or a commit's
// auto-compaction replaced are deleted at once, not one request after
// the other (as the tables a stack opens are read, TestOpenTablesAtOnce):
// on S3, one round trip for all of them.
func TestRemoveTablesAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(st *stack.Stack) error
	}{
		{"compaction", func(st *stack.Stack) error { return st.CompactAll(ctx, nil) }},
		{"auto-compaction", func(st *stack.Stack) error {
			for i := range 16 {
				if err := stacktest.Set(st, fmt.Sprintf("refs/heads/c%d", i), i+10, nil); err != nil {
					return err
				}
			}
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMem()
			st := openMem(t, m, stack.Options{DisableAutoCompaction: tc.name == "compaction"})
			for i := range 4 {
				if err := stacktest.Set(st, fmt.Sprintf("refs/heads/b%d", i), i+1, nil); err != nil {
					t.Fatal(err)
				}
			}
			counts := overlapping(m, func(op Op, _ string) bool { return op == OpDelete })
			err := tc.run(st)
			if err == nil {
				err = st.Close()
			}
			m.SetHook(nil)
			if err != nil {
				t.Fatal(err)
			}
			if deletes, most := counts(); deletes < 2 || most < 2 {
				t.Errorf("%d DELETEs, at most %d at once; want several at once", deletes, most)
			}
			if objs := listedNames(t, m); len(objs) == 0 {
				t.Errorf("no table listed after the %s", tc.name)
			}
			check := openMem(t, m, stack.Options{})
			for i := range 4 {
				if r, err := check.Ref(ctx, fmt.Sprintf("refs/heads/b%d", i)); err != nil || !bytes.Equal(r.ID, stacktest.OID(i+1)) {
					t.Errorf("b%d = %v, %v", i, r, err)
				}
			}
		})
	}
}

// overlapping makes m hold each request that match accepts for 20 ms,
// counting them; counts tells how many there were and how many were in
// flight at once at most.
func overlapping(m *Mem, match func(op Op, key string) bool) (counts func() (n, most int)) {
	var mu sync.Mutex
	n, most, inFlight := 0, 0, 0
	m.SetHook(func(op Op, key string, _ int, apply func() error) error {
		if !match(op, key) {
			return apply()
		}
		mu.Lock()
		n++
		inFlight++
		most = max(most, inFlight)
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		inFlight--
		mu.Unlock()
		return apply()
	})
	return func() (int, int) {
		mu.Lock()
		defer mu.Unlock()
		return n, most
	}
}
