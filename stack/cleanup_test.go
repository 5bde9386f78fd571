package stack

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCleanupRemove: what an interrupted process cleans up is exactly
// the lock files it holds: tables.list.lock of an open addition goes, a
// lock file that another process put in place of ours after ours was
// deleted stays, and published state is untouched.
func TestCleanupRemove(t *testing.T) {
	dir := t.TempDir()
	c := NewCleanup()
	opts := testOptions()
	opts.Cleanup = c
	st := openStack(t, dir, opts)
	setRef(t, st, "refs/heads/main", 1)
	before := listFile(t, dir)

	a, err := st.newAddition(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(dir, "tables.list.lock")
	if _, err := os.Stat(lock); err != nil {
		t.Fatalf("addition holds no lock file: %v", err)
	}
	c.Remove()
	if _, err := os.Stat(lock); !os.IsNotExist(err) {
		t.Fatalf("lock file after Remove: %v", err)
	}
	a.close()

	// Another process's lock in place of ours: not removed.
	a, err = st.newAddition(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(lock); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lock, []byte("theirs"), 0o666); err != nil {
		t.Fatal(err)
	}
	c.Remove()
	if b, err := os.ReadFile(lock); err != nil || string(b) != "theirs" {
		t.Fatalf("another process's lock after Remove: %q, %v", b, err)
	}
	os.Remove(lock)
	a.close()

	if got := listFile(t, dir); len(got) != len(before) || got[0] != before[0] {
		t.Errorf("tables.list changed: %v -> %v", before, got)
	}
	if v := refValue(t, st, "refs/heads/main"); v == nil {
		t.Error("refs/heads/main lost")
	}
	if n := c.held(); n != 0 {
		t.Errorf("%d files still registered", n)
	}
}

// TestCleanupPerStack: a stack records its lock and temporary files in
// the Cleanup its options give, while it holds them, and a stack without
// one records nothing; files a program holds itself go too.
func TestCleanupPerStack(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	c := NewCleanup()
	opts := testOptions()
	opts.Cleanup = c
	st := openStack(t, dir, opts)
	plain := openStack(t, other, testOptions())

	a, err := st.newAddition(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The lock and its holder name.
	if n := c.held(); n != 2 {
		t.Errorf("%d files held with an addition open, want the lock and its holder", n)
	}
	pa, err := plain.newAddition(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := c.held(); n != 2 {
		t.Errorf("%d files held: a stack without the Cleanup registered its lock in it", n)
	}
	tmp := filepath.Join(dir, "program.temp")
	release := c.Hold(nil, tmp)
	if err := os.WriteFile(tmp, []byte("x"), 0o666); err != nil {
		t.Fatal(err)
	}
	c.Remove()
	for _, p := range []string{filepath.Join(dir, "tables.list.lock"), tmp} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s after Remove: %v", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(other, "tables.list.lock")); err != nil {
		t.Errorf("the other stack's lock was removed: %v", err)
	}
	release()
	a.close()
	pa.close()

	setRef(t, st, "refs/heads/main", 1)
	if n := c.held(); n != 0 {
		t.Errorf("%d files still held after a commit", n)
	}
}
