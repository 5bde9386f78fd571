package stack

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/refstore/refstore/vfs"
)

// TestGoroutinesShareStack: eight goroutines commit through one Stack at
// once, with git's lock timeout (100 ms) and fsync: they take turns at
// the lock in the process, and every commit succeeds and is there.
// Before, they polled the lock file for one another, and commits failed
// with ErrLocked ("created 1ms ago by pid N (alive)", the pid their
// own).
func TestGoroutinesShareStack(t *testing.T) {
	st, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const writers, commits = 8, 40
	commitAtOnce(t, st, writers, commits)
	if t.Failed() {
		return
	}
	refs := 0
	for _, err := range st.Refs(ctx, "refs/heads/") {
		if err != nil {
			t.Fatal(err)
		}
		refs++
	}
	if refs != writers*commits {
		t.Errorf("%d refs, want %d", refs, writers*commits)
	}
}

// TestGoroutineWaitsForLockedTransaction: while one goroutine holds a
// transaction locked, another's commit through the same Stack waits as
// long as the lock timeout says: with NoWait it fails at once with
// ErrLocked, with a short timeout it fails with ErrLocked after it, and
// waiting for ever it commits once the first unlocks.
func TestGoroutineWaitsForLockedTransaction(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	held := st.NewTransaction(testWho, ReflogNormal)
	if _, err := held.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		timeout  time.Duration
		min, max time.Duration
	}{
		{NoWait, 0, time.Second},
		{50 * time.Millisecond, 50 * time.Millisecond, 5 * time.Second},
	} {
		st.opts.LockTimeout = tc.timeout
		tx := st.NewTransaction(testWho, ReflogNormal)
		tx.Add(Update{Ref: Ref{Name: "refs/heads/other", ID: oid(1)}})
		start := time.Now()
		err := tx.Commit(ctx)
		if d := time.Since(start); !errors.Is(err, ErrLocked) || d < tc.min || d > tc.max {
			t.Errorf("lock timeout %v, a transaction of the stack locked: %v after %v; want ErrLocked after %v to %v", tc.timeout, err, d, tc.min, tc.max)
		}
	}
	st.opts.LockTimeout = -1
	done := make(chan error)
	go func() {
		tx := st.NewTransaction(testWho, ReflogNormal)
		tx.Add(Update{Ref: Ref{Name: "refs/heads/other", ID: oid(2)}})
		done <- tx.Commit(ctx)
	}()
	select {
	case err := <-done:
		t.Fatalf("commit waiting for ever returned %v while the other transaction held the lock", err)
	case <-time.After(200 * time.Millisecond):
	}
	if err := held.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("commit after the other transaction unlocked: %v", err)
	}
	if r, err := st.Ref(ctx, "refs/heads/other"); err != nil || !bytes.Equal(r.ID, oid(2)) {
		t.Errorf("refs/heads/other = %v, %v; want %x", r, err, oid(2))
	}
}

// slowSyncFS makes every SyncDir take d, as on a slow disk.
type slowSyncFS struct {
	vfs.FS
	d time.Duration
}

func (f slowSyncFS) SyncDir(dir string) error {
	time.Sleep(f.d)
	return f.FS.SyncDir(dir)
}

// TestGoroutinesQueueOnSlowDisk: eight goroutines commit through one
// Stack with git's lock timeout (100 ms) where a commit takes over 25 ms
// (a slow disk): a goroutine queued behind seven others waits longer than
// the timeout, but the queue moves, and every commit succeeds. The
// timeout counted the whole queue's wait before, and commits failed with
// ErrLocked ("another goroutine of this process holds it").
func TestGoroutinesQueueOnSlowDisk(t *testing.T) {
	st, err := Open(t.TempDir(), Options{FS: slowSyncFS{vfs.OS, 25 * time.Millisecond}, DisableAutoCompaction: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	commitAtOnce(t, st, 8, 3)
}

// commitAtOnce runs writers goroutines, each committing refs/heads/w<w>/<i>
// for i below commits through st, and reports the commits that fail.
func commitAtOnce(t *testing.T, st *Stack, writers, commits int) {
	t.Helper()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range commits {
				tx := st.NewTransaction(testWho, ReflogNormal)
				tx.Add(Update{Ref: Ref{Name: fmt.Sprintf("refs/heads/w%d/%d", w, i), ID: oid(w*commits + i + 1)}, Message: "at once"})
				if err := tx.Commit(ctx); err != nil {
					t.Errorf("writer %d, commit %d: %v", w, i, err)
				}
			}
		})
	}
	wg.Wait()
}
