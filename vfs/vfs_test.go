package vfs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestOSExclusiveCreate(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "tables.list.lock")
	f, err := OS.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o666)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := OS.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o666); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second exclusive create: %v, want fs.ErrExist", err)
	}
	if _, err := f.Write([]byte("x\n")); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := OS.Rename(name, filepath.Join(dir, "tables.list")); err != nil {
		t.Fatal(err)
	}
	if err := OS.SyncDir(dir); err != nil {
		t.Fatal(err)
	}
	ents, err := OS.ReadDir(dir)
	if err != nil || len(ents) != 1 || ents[0].Name() != "tables.list" {
		t.Fatalf("ReadDir = %v, %v", ents, err)
	}
	if err := OS.Remove(filepath.Join(dir, "tables.list")); err != nil {
		t.Fatal(err)
	}
	if _, err := OS.Stat(filepath.Join(dir, "tables.list")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat after Remove: %v", err)
	}
}

// TestOSRename checks the rename the stack publishes with: it replaces a
// file, refuses to replace a directory, and names both paths and the
// cause when it fails.
func TestOSRename(t *testing.T) {
	dir := t.TempDir()
	from, to, sub := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "d")
	for name, data := range map[string]string{from: "new", to: "old"} {
		if err := os.WriteFile(name, []byte(data), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(sub, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := OS.Rename(from, to); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(to); err != nil || string(data) != "new" {
		t.Fatalf("after rename %s holds %q, %v; want \"new\"", to, data, err)
	}
	if _, err := os.Stat(from); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("after rename %s: %v, want fs.ErrNotExist", from, err)
	}
	err := OS.Rename(to, sub)
	var le *os.LinkError
	if !errors.As(err, &le) || le.Op != "rename" || le.Old != to || le.New != sub {
		t.Fatalf("renaming a file onto a directory: %v, want a *os.LinkError naming both", err)
	}
	if fi, err := os.Stat(sub); err != nil || !fi.IsDir() {
		t.Fatalf("the directory %s did not survive: %v, %v", sub, fi, err)
	}
	if err := OS.Rename(from, to); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("renaming a missing file: %v, want fs.ErrNotExist", err)
	}
}

// TestOSNotRegular: opening a directory for reading fails with an
// *fs.PathError naming the open and the path, matching ErrNotRegular.
func TestOSNotRegular(t *testing.T) {
	dir := t.TempDir()
	f, err := OS.OpenFile(dir, os.O_RDONLY, 0)
	if err == nil {
		f.Close()
		t.Fatalf("opened the directory %s", dir)
	}
	var pe *fs.PathError
	if !errors.Is(err, ErrNotRegular) || !errors.As(err, &pe) || pe.Op != "open" || pe.Path != dir {
		t.Errorf("open of a directory: %v, want an *fs.PathError naming open and %s, matching ErrNotRegular", err, dir)
	}
}
