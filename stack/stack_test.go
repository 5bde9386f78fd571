package stack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/stack/storage"
	"github.com/refstore/refstore/vfs"
)

func testOptions() Options {
	return Options{NoSync: true}
}

func openStack(t *testing.T, dir string, opts Options) *Stack {
	t.Helper()
	st, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func oid(i int) []byte {
	id := make([]byte, 20)
	id[0], id[1], id[19] = byte(i>>8), byte(i), 1
	return id
}

// setRef commits one table setting name to oid(v).
func setRef(t *testing.T, st *Stack, name string, v int) {
	t.Helper()
	err := st.AddTable(ctx, func(w *reftable.Writer) error {
		min, _ := w.Limits()
		return w.AddRef(&reftable.RefRecord{Name: []byte(name), UpdateIndex: min, Type: reftable.RefVal1, Value: oid(v)})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func refValue(t *testing.T, st *Stack, name string) []byte {
	t.Helper()
	r, err := st.Ref(ctx, name)
	if errors.Is(err, reftable.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return r.ID
}

func listFile(t *testing.T, dir string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "tables.list"))
	if err != nil {
		t.Fatal(err)
	}
	names, err := storage.ParseList(data)
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestAddAndReload(t *testing.T) {
	dir := t.TempDir()
	a := openStack(t, dir, testOptions())
	b := openStack(t, dir, testOptions())
	setRef(t, a, "refs/heads/main", 1)
	if got := refValue(t, b, "refs/heads/main"); !bytes.Equal(got, oid(1)) {
		t.Fatalf("second stack reads %x", got)
	}
	setRef(t, b, "refs/heads/main", 2) // b's view of a's table must be reloaded under the lock
	if got := refValue(t, a, "refs/heads/main"); !bytes.Equal(got, oid(2)) {
		t.Fatalf("first stack reads %x", got)
	}
	if n := len(listFile(t, dir)); n != 1 {
		t.Errorf("auto-compaction left %d tables, want 1", n)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 2 {
		t.Errorf("directory holds %v, want tables.list and one table", names)
	}
}

func TestSegment(t *testing.T) {
	tests := []struct {
		sizes      []uint64
		factor     uint64
		start, end int
	}{
		{[]uint64{512, 64, 17, 16, 9, 9, 9, 16, 2, 16}, 2, 1, 10},
		{[]uint64{64, 32, 16, 8, 4, 2}, 2, 0, 0},
		{[]uint64{10}, 2, 0, 0},
		{[]uint64{10, 10}, 2, 0, 2},
	}
	for _, tt := range tests {
		s, e := segment(tt.sizes, tt.factor)
		if s != tt.start || e != tt.end {
			t.Errorf("segment(%v) = %d, %d; want %d, %d", tt.sizes, s, e, tt.start, tt.end)
		}
	}
}

// TestAutoCompactionDepth adds refs one commit at a time: the number of
// tables stays logarithmic after every commit.
func TestAutoCompactionDepth(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 1000
	}
	for _, factor := range []int{2, 5} {
		n := n
		if factor != 2 {
			n = min(n, 2000)
		}
		t.Run(fmt.Sprint(factor), func(t *testing.T) {
			dir := t.TempDir()
			opts := testOptions()
			opts.CompactionFactor = factor
			st := openStack(t, dir, opts)
			for i := 1; i <= n; i++ {
				setRef(t, st, fmt.Sprintf("refs/heads/b%05d", i), i)
				if i < 2 {
					continue
				}
				limit := float64(factor) * math.Log(float64(i)) / math.Log(float64(factor))
				s, _ := st.Snapshot(ctx)
				tables := len(s.TableNames())
				s.Close()
				if float64(tables) >= max(limit, 2) {
					t.Fatalf("after %d commits: %d tables, limit %.1f", i, tables, limit)
				}
			}
			count := 0
			for _, err := range st.Refs(ctx, "") {
				if err != nil {
					t.Fatal(err)
				}
				count++
			}
			if count != n {
				t.Fatalf("%d refs, want %d", count, n)
			}
		})
	}
}

// TestConcurrentWriters: goroutines with their own Stack each commit
// refs; nothing is lost.
func TestConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	const writers, commits = 6, 40
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			opts := testOptions()
			opts.LockTimeout = -1
			st, err := Open(dir, opts)
			if err != nil {
				errs <- err
				return
			}
			defer st.Close()
			for i := range commits {
				name := fmt.Sprintf("refs/heads/w%d/c%03d", w, i)
				err := st.AddTable(ctx, func(wr *reftable.Writer) error {
					min, _ := wr.Limits()
					return wr.AddRef(&reftable.RefRecord{Name: []byte(name), UpdateIndex: min, Type: reftable.RefVal1, Value: oid(i)})
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st := openStack(t, dir, testOptions())
	count := 0
	for _, err := range st.Refs(ctx, "refs/heads/") {
		if err != nil {
			t.Fatal(err)
		}
		count++
	}
	if count != writers*commits {
		t.Fatalf("%d refs, want %d", count, writers*commits)
	}
}

func TestStaleLock(t *testing.T) {
	dir := t.TempDir()
	st := openStack(t, dir, Options{NoSync: true, LockTimeout: NoWait})
	if err := os.WriteFile(filepath.Join(dir, "tables.list.lock"), nil, 0o666); err != nil {
		t.Fatal(err)
	}
	_, err := st.newAddition(ctx)
	var le *LockError
	if !errors.Is(err, ErrLocked) || !errors.As(err, &le) || le.Path != filepath.Join(dir, "tables.list.lock") {
		t.Fatalf("newAddition with a held lock: %v", err)
	}
}

// TestLockWaitCancelled: a writer waiting for the lock, even with no
// timeout, stops when its context is done, with an error matching both
// ErrLocked and the context's.
func TestLockWaitCancelled(t *testing.T) {
	dir := t.TempDir()
	st := openStack(t, dir, Options{NoSync: true, LockTimeout: -1})
	if err := os.WriteFile(filepath.Join(dir, "tables.list.lock"), nil, 0o666); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	tx := st.NewTransaction(testWho, ReflogNormal)
	tx.Add(Update{Ref: Ref{Name: "refs/heads/main", ID: oid(1)}})
	err := tx.Commit(cctx)
	if !errors.Is(err, ErrLocked) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("commit waiting for a held lock past its deadline: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the commit waited %v after its deadline of 50ms", d)
	}
}

// TestLockDeletedUnderUs: a lock file removed and recreated by someone
// else after we created it is detected, and the commit does not happen.
func TestLockDeletedUnderUs(t *testing.T) {
	dir := t.TempDir()
	st := openStack(t, dir, testOptions())
	a, err := st.newAddition(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	if err := a.add(ctx, func(w *reftable.Writer) error {
		return w.AddRef(&reftable.RefRecord{Name: []byte("refs/heads/x"), UpdateIndex: 1, Type: reftable.RefVal1, Value: oid(1)})
	}); err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(dir, "tables.list.lock")
	if err := os.Remove(lock); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lock, []byte("someone else\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := a.commit(ctx); !errors.Is(err, ErrLockLost) {
		t.Fatalf("Commit = %v, want ErrLockLost", err)
	}
	if data, _ := os.ReadFile(lock); string(data) != "someone else\n" {
		t.Errorf("the other holder's lock was touched: %q", data)
	}
	if _, err := os.Stat(filepath.Join(dir, "tables.list")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("tables.list written despite the lost lock")
	}
}

// TestMissingTable: a listed table that is missing while the list does
// not change is an error, and the stack keeps serving its old view.
func TestMissingTable(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions()
	opts.DisableAutoCompaction = true
	st := openStack(t, dir, opts)
	setRef(t, st, "refs/heads/a", 1)
	other := openStack(t, dir, opts)
	setRef(t, other, "refs/heads/b", 2)
	names := listFile(t, dir)
	if err := os.Remove(filepath.Join(dir, names[1])); err != nil {
		t.Fatal(err)
	}
	if err := st.Reload(ctx); !errors.Is(err, ErrCorrupt) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Reload = %v", err)
	}
	s := st.snapshotUnlocked(t)
	defer s.Close()
	if diff := cmp.Diff(names[:1], s.TableNames()); diff != "" {
		t.Errorf("old view not kept (-want +got):\n%s", diff)
	}
}

func (st *Stack) snapshotUnlocked(t *testing.T) *Snapshot {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.snapshotLocked()
}

// TestSnapshotSurvivesCompaction: a snapshot taken before another stack
// compacts and deletes its tables keeps reading them.
func TestSnapshotSurvivesCompaction(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions()
	opts.DisableAutoCompaction = true
	st := openStack(t, dir, opts)
	for i := range 5 {
		setRef(t, st, fmt.Sprintf("refs/heads/b%d", i), i)
	}
	s, err := st.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other := openStack(t, dir, opts)
	if err := other.CompactAll(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if n := len(listFile(t, dir)); n != 1 {
		t.Fatalf("CompactAll left %d tables", n)
	}
	if err := st.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	count := 0
	for _, err := range s.Refs("") {
		if err != nil {
			t.Fatal(err)
		}
		count++
	}
	if count != 5 {
		t.Fatalf("snapshot reads %d refs after compaction, want 5", count)
	}
}

// TestClean: unreferenced tables and old temporary files go; a table a
// running compaction is producing, a young temporary file and files that
// are not tables stay.
func TestClean(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions()
	opts.DisableAutoCompaction = true
	st := openStack(t, dir, opts)
	for i := range 4 {
		setRef(t, st, fmt.Sprintf("refs/heads/b%d", i), i)
	}
	names := listFile(t, dir)
	copyFile := func(from, to string) {
		data, err := os.ReadFile(filepath.Join(dir, from))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, to), data, 0o666); err != nil {
			t.Fatal(err)
		}
	}
	// An orphan from a crashed compaction of tables 1..2 (index 1..2).
	copyFile(names[0], "0x000000000001-0x000000000002-deadbeef.ref")
	// An orphan "being produced" by a compaction of tables 3..4, which
	// holds the table locks.
	copyFile(names[2], "0x000000000003-0x000000000004-cafebabe.ref")
	for _, n := range names[2:] {
		if err := os.WriteFile(filepath.Join(dir, n+".lock"), nil, 0o666); err != nil {
			t.Fatal(err)
		}
	}
	// A table of an unpublished addition (index 5).
	var buf bytes.Buffer
	w, _ := reftable.NewWriter(&buf, reftable.WriterOptions{MinUpdateIndex: 5, MaxUpdateIndex: 5})
	w.AddRef(&reftable.RefRecord{Name: []byte("refs/heads/x"), UpdateIndex: 5, Type: reftable.RefVal1, Value: oid(5)})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "0x000000000005-0x000000000005-01234567.ref"), buf.Bytes(), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tmp-old.temp"), nil, 0o666); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(filepath.Join(dir, "tmp-old.temp"), old, old)
	// Young temporary files: one its writer holds (open, with its
	// advisory lock), one whose writer ended.
	for _, name := range []string{"tmp-held.temp", "tmp-new.temp"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o666); err != nil {
			t.Fatal(err)
		}
	}
	held, err := os.Open(filepath.Join(dir, "tmp-held.temp"))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	want := []string{"0x000000000001-0x000000000002-deadbeef.ref", "tmp-old.temp"}
	if got, err := vfs.TryLock(held); got && err == nil {
		want = append(want, "tmp-new.temp")
	} else if runtime.GOOS == "linux" {
		t.Fatalf("TryLock = %v, %v: Linux has advisory locks", got, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "garbage"), []byte("x"), 0o666); err != nil {
		t.Fatal(err)
	}
	res, err := st.Clean(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, res.Removed, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("removed (-want +got):\n%s", diff)
	}
	if len(res.Kept) != 9-len(want) { // two table locks, two orphans, young temps held, garbage
		t.Errorf("kept %d files, want %d: %v", len(res.Kept), 9-len(want), res.Kept)
	}
	if n := len(listFile(t, dir)); n != 4 {
		t.Errorf("Clean changed the list: %d tables", n)
	}
}
