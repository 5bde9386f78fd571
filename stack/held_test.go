package stack

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestRemoveHeldFiles: what an interrupted process cleans up is exactly
// the lock files it holds: tables.list.lock of an open addition goes, a
// lock file that another process put in place of ours after ours was
// deleted stays, and published state is untouched.
func TestRemoveHeldFiles(t *testing.T) {
	dir := t.TempDir()
	st := openStack(t, dir, testOptions())
	setRef(t, st, "refs/heads/main", 1)
	before := listFile(t, dir)

	a, err := st.NewAddition()
	if err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(dir, "tables.list.lock")
	if _, err := os.Stat(lock); err != nil {
		t.Fatalf("addition holds no lock file: %v", err)
	}
	RemoveHeldFiles()
	if _, err := os.Stat(lock); !os.IsNotExist(err) {
		t.Fatalf("lock file after RemoveHeldFiles: %v", err)
	}
	a.Close()

	// Another process's lock in place of ours: not removed.
	a, err = st.NewAddition()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(lock); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lock, []byte("theirs"), 0o666); err != nil {
		t.Fatal(err)
	}
	RemoveHeldFiles()
	if b, err := os.ReadFile(lock); err != nil || string(b) != "theirs" {
		t.Fatalf("another process's lock after RemoveHeldFiles: %q, %v", b, err)
	}
	os.Remove(lock)
	a.Close()

	if got := listFile(t, dir); len(got) != len(before) || got[0] != before[0] {
		t.Errorf("tables.list changed: %v -> %v", before, got)
	}
	if v := refValue(t, st, "refs/heads/main"); v == nil {
		t.Error("refs/heads/main lost")
	}
	held.Lock()
	n := len(held.files)
	held.Unlock()
	if n != 0 {
		t.Errorf("%d files still registered", n)
	}
}

// TestHoldAfter: until the channel given to HoldAfter is closed, a commit
// creates neither its lock file nor its table; then it goes through.
func TestHoldAfter(t *testing.T) {
	dir := t.TempDir()
	st := openStack(t, dir, testOptions())
	ready := make(chan struct{})
	HoldAfter(ready)
	defer HoldAfter(nil)
	done := make(chan error, 1)
	go func() {
		a, err := st.NewAddition()
		if err == nil {
			err = a.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("addition before ready: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Fatalf("files before ready: %v, %v", entries, err)
	}
	close(ready)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	setRef(t, st, "refs/heads/main", 1)
}
