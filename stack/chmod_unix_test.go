//go:build unix

package stack

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestChmod: with Options.Chmod, every table a commit or a compaction
// writes, and tables.list, get the mode it returns for the mode they were
// created with (Perm less the umask); other files are left as created.
func TestChmod(t *testing.T) {
	dir := t.TempDir()
	var asked []fs.FileMode
	opts := noAutoCompaction()
	opts.Perm = 0o600 // the umask cannot add bits: the mode created is known
	opts.Chmod = func(created fs.FileMode) fs.FileMode {
		asked = append(asked, created)
		return created | 0o044
	}
	st := openStack(t, dir, opts)
	for i := range 3 {
		setRef(t, st, fmt.Sprintf("refs/heads/b%d", i), i)
	}
	checkModes := func(when string) {
		t.Helper()
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			fi, err := os.Stat(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != 0o644 {
				t.Errorf("%s: %s has mode %04o, want 0644", when, e.Name(), got)
			}
		}
	}
	checkModes("after three commits")
	if err := st.CompactAll(ctx, nil); err != nil {
		t.Fatal(err)
	}
	checkModes("after compaction")
	for _, m := range asked {
		if m != 0o600 {
			t.Errorf("Chmod asked for created mode %04o, want 0600", m)
		}
	}
	if len(asked) != 8 { // three tables and lists, then a table and a list
		t.Errorf("Chmod asked %d times, want 8", len(asked))
	}
}
