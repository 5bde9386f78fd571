package stack

import (
	"os"
	"path/filepath"
	"testing"
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

// TestBeforeHold: the function given to BeforeHold runs before each lock
// file and temporary table is created (it sees none in the directory the
// first time).
func TestBeforeHold(t *testing.T) {
	dir := t.TempDir()
	st := openStack(t, dir, testOptions())
	calls := 0
	BeforeHold(func() {
		calls++
		if calls == 1 {
			if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
				t.Errorf("files before the first hold: %v, %v", entries, err)
			}
		}
	})
	defer BeforeHold(nil)
	a, err := st.NewAddition()
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Errorf("%d calls for the lock, want 1", calls)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	setRef(t, st, "refs/heads/main", 1)
	if calls < 3 {
		t.Errorf("%d calls after a commit, want one more for its lock and one for its table at least", calls)
	}
}
