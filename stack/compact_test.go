package stack

import (
	"context"
	"errors"
	"fmt"
	"github.com/refstore/refstore/stack/storage"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/vfs"
)

func noAutoCompaction() Options {
	o := testOptions()
	o.DisableAutoCompaction = true
	return o
}

// lockTable creates the lock file a compaction holds for table i.
func lockTable(t *testing.T, dir string, i int) string {
	t.Helper()
	path := filepath.Join(dir, listFile(t, dir)[i]+".lock")
	if err := os.WriteFile(path, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestAutoCompactionAroundLockedTable: with the middle of five equal
// tables locked, auto-compaction merges the newest two; compacting
// everything fails with ErrLocked and changes nothing.
func TestAutoCompactionAroundLockedTable(t *testing.T) {
	dir := t.TempDir()
	st := openStack(t, dir, noAutoCompaction())
	for i := range 5 {
		setRef(t, st, fmt.Sprintf("refs/heads/b%d", i), i)
	}
	before := listFile(t, dir)
	lock := lockTable(t, dir, 2)
	if err := st.CompactAll(ctx, nil); !errors.Is(err, ErrLocked) {
		t.Fatalf("CompactAll with a locked table = %v, want ErrLocked", err)
	}
	if diff := cmp.Diff(before, listFile(t, dir)); diff != "" {
		t.Fatalf("failed CompactAll changed the list (-want +got):\n%s", diff)
	}
	if err := st.AutoCompact(ctx); err != nil {
		t.Fatal(err)
	}
	after := listFile(t, dir)
	if len(after) != 4 || cmp.Diff(before[:3], after[:3]) != "" {
		t.Fatalf("auto-compaction around a locked table: %v -> %v", before, after)
	}
	os.Remove(lock)
	if err := st.CompactAll(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if n := len(listFile(t, dir)); n != 1 {
		t.Fatalf("CompactAll left %d tables", n)
	}
	for i := range 5 {
		if v := refValue(t, st, fmt.Sprintf("refs/heads/b%d", i)); v == nil {
			t.Errorf("refs/heads/b%d lost", i)
		}
	}
}

// TestTombstonesKeptUnlessBottom: a compaction that does not include the
// oldest table keeps deletions, so an older value stays hidden.
func TestTombstonesKeptUnlessBottom(t *testing.T) {
	dir := t.TempDir()
	st := openStack(t, dir, noAutoCompaction())
	setRef(t, st, "refs/heads/gone", 1)
	setRef(t, st, "refs/heads/other", 2)
	if err := commitTx(st, Update{Ref: Ref{Name: "refs/heads/gone"}}); err != nil {
		t.Fatal(err)
	}
	setRef(t, st, "refs/heads/third", 3)
	// Merge tables 2..4 only (the segment auto-compaction would choose
	// for equal sizes excludes nothing, so lock the oldest).
	lock := lockTable(t, dir, 0)
	if err := st.AutoCompact(ctx); err != nil {
		t.Fatal(err)
	}
	os.Remove(lock)
	if n := len(listFile(t, dir)); n != 2 {
		t.Fatalf("%d tables, want 2", n)
	}
	if v := refValue(t, st, "refs/heads/gone"); v != nil {
		t.Fatalf("deleted ref resurrected by a partial compaction: %x", v)
	}
	s, err := st.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deletions := 0
	shown, _ := reftable.NewMerged([]*reftable.Table{s.tables[1].t}, reftable.MergedOptions{ShowDeletions: true})
	for r, err := range shown.Refs(nil) {
		if err != nil {
			t.Fatal(err)
		}
		if r.IsDeletion() {
			deletions++
		}
	}
	s.Close()
	if deletions != 1 {
		t.Errorf("partial compaction kept %d tombstones, want 1", deletions)
	}
	if err := st.CompactAll(ctx, nil); err != nil {
		t.Fatal(err)
	}
	s, _ = st.Snapshot(ctx)
	defer s.Close()
	shown, _ = reftable.NewMerged([]*reftable.Table{s.tables[0].t}, reftable.MergedOptions{ShowDeletions: true})
	for r, err := range shown.Refs(nil) {
		if err != nil {
			t.Fatal(err)
		}
		if r.IsDeletion() {
			t.Errorf("full compaction kept the tombstone of %s", r.Name)
		}
	}
}

// TestReflogExpiry drops reflog entries by time and by update index.
func TestReflogExpiry(t *testing.T) {
	for _, tt := range []struct {
		name   string
		expiry LogExpiry
		want   int
	}{
		{"none", LogExpiry{}, 4},
		{"time", LogExpiry{Time: 1700000000 + 2*60}, 2},
		{"index", LogExpiry{MinUpdateIndex: 4}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := openStack(t, t.TempDir(), noAutoCompaction())
			for i := range 4 {
				who := testWho
				who.Time = time.Unix(int64(1700000000+60*i), 0)
				tx := st.NewTransaction(who, ReflogNormal)
				tx.Add(Update{Ref: Ref{Name: "refs/heads/main", ID: oid(i + 1)}, Message: fmt.Sprintf("step %d", i)})
				if err := tx.Commit(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if err := st.CompactAll(ctx, &tt.expiry); err != nil {
				t.Fatal(err)
			}
			if got := len(reflog(t, st, "refs/heads/main")); got != tt.want {
				t.Errorf("%d reflog entries after expiry, want %d", got, tt.want)
			}
			if v := refValue(t, st, "refs/heads/main"); v == nil {
				t.Error("expiry lost the ref")
			}
		})
	}
}

// TestCompactionKeepsConcurrentAppends: tables appended while a
// compaction merges stay in the list after it commits (git's 2024 data
// loss bug ed1ad6b44d).
func TestCompactionKeepsConcurrentAppends(t *testing.T) {
	dir := t.TempDir()
	st := openStack(t, dir, noAutoCompaction())
	for i := range 3 {
		setRef(t, st, fmt.Sprintf("refs/heads/old%d", i), i)
	}
	other := openStack(t, dir, noAutoCompaction())
	// Hook: append from another stack right after the compaction released
	// the list lock, by wrapping the backend's CreateTable.
	b := st.b.(*dirBackend)
	st.b = &appendDuringCreate{dirBackend: b, fn: func() { setRef(t, other, "refs/heads/appended", 9) }}
	if err := st.CompactAll(ctx, nil); err != nil {
		t.Fatal(err)
	}
	st.b = b
	names := listFile(t, dir)
	if len(names) != 2 {
		t.Fatalf("list after compaction: %v, want the merged table and the appended one", names)
	}
	for _, name := range []string{"refs/heads/old0", "refs/heads/old2", "refs/heads/appended"} {
		if v := refValue(t, st, name); v == nil {
			t.Errorf("%s lost", name)
		}
	}
}

type appendDuringCreate struct {
	*dirBackend
	fn   func()
	done bool
}

func (a *appendDuringCreate) StageTable(ctx context.Context, write func(w io.Writer) (uint64, uint64, bool, error)) (storage.StagedTable, error) {
	if !a.done {
		a.done = true
		a.fn()
	}
	return a.dirBackend.StageTable(ctx, write)
}

// TestFusedCommitRespectsTableLocks: a commit merges its table with the
// newest listed ones under the commit lock (one publication), unless a
// compaction holds the lock of one of them: then it publishes its table
// and auto-compaction works around the locked table, as without fusing.
func TestFusedCommitRespectsTableLocks(t *testing.T) {
	for _, locked := range []bool{false, true} {
		t.Run(fmt.Sprintf("locked=%v", locked), func(t *testing.T) {
			dir := t.TempDir()
			st := openStack(t, dir, noAutoCompaction())
			for i := range 3 {
				setRef(t, st, fmt.Sprintf("refs/heads/b%d", i), i)
			}
			st.Close()
			before := listFile(t, dir)
			if locked {
				lockTable(t, dir, 2)
			}
			st = openStack(t, dir, testOptions())
			setRef(t, st, "refs/heads/new", 9)
			after := listFile(t, dir)
			compactions := st.Stats().Compactions
			switch {
			case !locked && (len(after) != 1 || compactions != 1):
				t.Errorf("fused commit: %v -> %v, %d compactions; want all four equal tables merged, one compaction", before, after, compactions)
			case locked && (len(after) != 4 || cmp.Diff(before, after[:3]) != ""):
				t.Errorf("commit next to a locked table: %v -> %v; want the table published and the locked table left alone", before, after)
			}
			for i := range 3 {
				if v := refValue(t, st, fmt.Sprintf("refs/heads/b%d", i)); v == nil {
					t.Errorf("refs/heads/b%d lost", i)
				}
			}
			if v := refValue(t, st, "refs/heads/new"); v == nil {
				t.Error("refs/heads/new lost")
			}
			st.Close()
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if strings.HasSuffix(e.Name(), ".ref") && !slices.Contains(after, e.Name()) {
					t.Errorf("unlisted table %s left behind", e.Name())
				}
			}
		})
	}
}

// TestFusedCompactionFailureKeepsCommit: when writing the merged table of
// a fused commit fails (a full disk), the commit still publishes its own
// table, as a commit whose auto-compaction fails afterwards does, and the
// failure goes to OnCompactionError.
func TestFusedCompactionFailureKeepsCommit(t *testing.T) {
	const dir = "/repo/reftable"
	build := func(inj vfs.Injection) (*Stack, *vfs.ErrorFS, *[]error) {
		mem := vfs.NewMem()
		mem.MkdirAll(dir)
		st := openStack(t, dir, Options{FS: mem, NoSync: true, DisableAutoCompaction: true})
		for i := range 2 {
			setRef(t, st, fmt.Sprintf("refs/heads/b%d", i), i)
		}
		st.Close()
		efs := vfs.NewErrorFS(mem, inj)
		var reported []error
		st = openStack(t, dir, Options{FS: efs, NoSync: true, OnCompactionError: func(err error) { reported = append(reported, err) }})
		return st, efs, &reported
	}
	// Find the creation of the merged table: the second temporary file
	// the commit creates.
	merged, temps := -1, 0
	st, _, _ := build(vfs.Injection{Ops: vfs.OpOpen, Index: -1, Before: func(ev vfs.Event) {
		if ev.Flag&os.O_CREATE != 0 && strings.HasSuffix(ev.Path, ".temp") {
			if temps++; temps == 2 {
				merged = ev.Index
			}
		}
	}})
	setRef(t, st, "refs/heads/new", 9)
	if merged < 0 || st.Stats().Compactions != 1 {
		t.Fatalf("the commit did not fuse its compaction (%d temporary files, %d compactions)", temps, st.Stats().Compactions)
	}

	st, efs, reported := build(vfs.Injection{Ops: vfs.OpOpen, Index: merged, Fault: vfs.FaultError})
	setRef(t, st, "refs/heads/new", 9)
	if len(efs.Hits()) != 1 || len(*reported) != 1 || !efs.Reported((*reported)[0]) {
		t.Fatalf("fault hits %v, compaction errors reported %v; want the merged table's creation failed and reported", efs.Hits(), *reported)
	}
	snap, err := st.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if names := snap.TableNames(); len(names) != 3 {
		t.Errorf("tables after the commit: %v; want the two and the commit's own", names)
	}
	snap.Close()
	for _, name := range []string{"refs/heads/b0", "refs/heads/b1", "refs/heads/new"} {
		if refValue(t, st, name) == nil {
			t.Errorf("%s lost", name)
		}
	}
}

// countCreates counts the tables a backend stores.
type countCreates struct {
	*dirBackend
	n int
}

func (c *countCreates) CreateTable(ctx context.Context, write func(w io.Writer) (uint64, uint64, bool, error)) (string, error) {
	c.n++
	return c.dirBackend.CreateTable(ctx, write)
}

// TestBulkTransactionFused: a transaction's table larger than maxFuse is
// still merged with a small listed table under the commit lock (its own
// bytes are written once either way): one table is stored, the merged
// one, and it holds both.
func TestBulkTransactionFused(t *testing.T) {
	dir := t.TempDir()
	st := openStack(t, dir, testOptions())
	setRef(t, st, "refs/heads/base", 1)
	counter := &countCreates{dirBackend: st.b.(*dirBackend)}
	st.b = counter
	tx := st.NewTransaction(testWho, ReflogNormal)
	const n = 40000
	tx.Grow(n)
	for i := range n {
		tx.Add(Update{Ref: Ref{Name: fmt.Sprintf("refs/heads/bulk-%06d", i), ID: oid(i)}, Message: "bulk"})
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	names := listFile(t, dir)
	if len(names) != 1 || counter.n != 1 || st.Stats().Compactions != 1 {
		t.Fatalf("after the bulk commit: tables %v, %d stored, %d compactions; want the merged table alone, stored once", names, counter.n, st.Stats().Compactions)
	}
	fi, err := os.Stat(filepath.Join(dir, names[0]))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() <= maxFuse {
		t.Fatalf("merged table of %d bytes: the test wants the transaction's table larger than maxFuse (%d)", fi.Size(), maxFuse)
	}
	for _, name := range []string{"refs/heads/base", "refs/heads/bulk-000000", fmt.Sprintf("refs/heads/bulk-%06d", n-1)} {
		if refValue(t, st, name) == nil {
			t.Errorf("%s lost", name)
		}
	}
}

// TestChangesSize: the size a transaction's table is written into memory
// with (changesSize) covers the table, so that its buffer is not copied as
// it grows, for names like branches', ids that do not compress and one or
// two reflog entries a change, and does not overshoot it by more than
// four times beyond a single ref.
func TestChangesSize(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct {
		n      int
		sameID bool
		head   bool // HEAD points at the first branch: its change is logged twice
	}{{1, false, false}, {10, true, true}, {10000, false, true}, {10000, true, false}} {
		dir := t.TempDir()
		opts := testOptions()
		opts.DisableAutoCompaction = true
		st := openStack(t, dir, opts)
		if tc.head {
			tx := st.NewTransaction(testWho, ReflogNormal)
			tx.Add(Update{Ref: Ref{Name: "HEAD", Target: "refs/heads/branch-0000000"}})
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
		}
		tx := st.NewTransaction(testWho, ReflogNormal)
		for i := range tc.n {
			id := oid(1)
			if !tc.sameID {
				id = make([]byte, 20)
				for j := range id {
					id[j] = byte(rnd.Uint32())
				}
			}
			tx.Add(Update{Ref: Ref{Name: fmt.Sprintf("refs/heads/branch-%07d", i), ID: id}, Message: "branch: Created from HEAD"})
		}
		if err := tx.Prepare(ctx); err != nil {
			t.Fatal(err)
		}
		estimate := changesSize(tx.prep, 20)
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		names := listFile(t, dir)
		fi, err := os.Stat(filepath.Join(dir, names[len(names)-1]))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%+v: table %d bytes, estimate %d", tc, fi.Size(), estimate)
		if size := int(fi.Size()); estimate < size || tc.n > 1 && estimate > 4*size {
			t.Errorf("%+v: table of %d bytes, estimated %d", tc, size, estimate)
		}
	}
}

// TestCompactionRefusesDamagedTable: a table whose restart table is
// damaged reads (sequentially) but fails Check; compacting it would
// write a table that checks clean and hide the damage, or lose the
// records a seek through the bad restart point skips. Compaction refuses,
// naming the table, and the stack keeps its tables.
func TestCompactionRefusesDamagedTable(t *testing.T) {
	dir := t.TempDir()
	st := openStack(t, dir, noAutoCompaction())
	tx := st.NewTransaction(testWho, ReflogNever)
	for i := range 100 {
		tx.Add(Update{Ref: Ref{Name: fmt.Sprintf("refs/heads/b%03d", i), ID: oid(i)}})
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	setRef(t, st, "refs/heads/z", 1)
	before := listFile(t, dir)

	// Point the second restart of the first ref block inside a record.
	path := filepath.Join(dir, before[0])
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tab, err := reftable.NewTableBytes(data, before[0])
	if err != nil {
		t.Fatal(err)
	}
	var blk reftable.BlockInfo
	for b, err := range tab.Blocks() {
		if err != nil {
			t.Fatal(err)
		}
		blk = b
		break
	}
	if blk.Type != 'r' || blk.Restarts < 3 {
		t.Fatalf("first block %+v: want a ref block with 3 restarts or more", blk)
	}
	end := int(blk.Offset) + blk.Len // the restart count follows the restart table
	entry := end - 3*blk.Restarts + 3
	off := int(data[entry])<<16 | int(data[entry+1])<<8 | int(data[entry+2])
	off++
	data[entry], data[entry+1], data[entry+2] = byte(off>>16), byte(off>>8), byte(off)
	if err := os.WriteFile(path, data, 0o666); err != nil {
		t.Fatal(err)
	}

	st2 := openStack(t, dir, noAutoCompaction())
	err = st2.CompactAll(ctx, nil)
	if !errors.Is(err, reftable.ErrFormat) || !strings.Contains(err.Error(), before[0]) {
		t.Fatalf("compacting a damaged table: %v; want a format error naming %s", err, before[0])
	}
	if after := listFile(t, dir); cmp.Diff(before, after) != "" {
		t.Errorf("tables after the refused compaction: %v, want %v", after, before)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != len(before)+1 {
		t.Errorf("files after the refused compaction: %v", ents)
	}
}

// TestReflogExpiryKeepsReflog: an expiry that drops every entry of a
// reflog leaves git's existence marker, which no reader shows, so that a
// transaction logging only refs whose reflog exists logs it; a second
// expiry keeps the marker; a reflog with a live entry gets none.
func TestReflogExpiryKeepsReflog(t *testing.T) {
	st := openStack(t, t.TempDir(), noAutoCompaction())
	for i := range 3 {
		who := testWho
		who.Time = time.Unix(int64(1700000000+60*i), 0)
		tx := st.NewTransaction(who, ReflogNormal)
		name := "refs/heads/old"
		if i == 2 {
			name = "refs/heads/new"
		}
		tx.Add(Update{Ref: Ref{Name: name, ID: oid(i + 1)}, Message: "step"})
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	expiry := LogExpiry{Time: 1700000000 + 2*60}
	for range 2 {
		if err := st.CompactAll(ctx, &expiry); err != nil {
			t.Fatal(err)
		}
	}
	entries := func(name string) int {
		n := 0
		for _, err := range st.Reflog(ctx, name) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		return n
	}
	if got := entries("refs/heads/old"); got != 0 {
		t.Errorf("refs/heads/old's reflog after expiry: %d entries, want none", got)
	}
	if got := entries("refs/heads/new"); got != 1 {
		t.Errorf("refs/heads/new's reflog after expiry: %d entries, want its one", got)
	}
	markers := map[string]int{}
	s, err := st.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for l, err := range s.merged.Logs(nil) {
		if err != nil {
			t.Fatal(err)
		}
		if l.IsExistenceMarker() {
			markers[string(l.RefName)]++
		}
	}
	s.Close()
	if diff := cmp.Diff(map[string]int{"refs/heads/old": 1}, markers); diff != "" {
		t.Errorf("existence markers (-want +got):\n%s", diff)
	}
	tx := st.NewTransaction(testWho, ReflogExisting)
	tx.Add(Update{Ref: Ref{Name: "refs/heads/old", ID: oid(9)}, Message: "after"})
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := entries("refs/heads/old"); got != 1 {
		t.Errorf("refs/heads/old's reflog after an update logging existing reflogs: %d entries, want its one", got)
	}
}
