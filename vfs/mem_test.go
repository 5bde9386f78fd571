package vfs

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"testing"

	"github.com/refstore/refstore/stat"
)

// writeFile creates name holding data, synced if sync is set.
func writeFile(t *testing.T, m FS, name, data string, sync bool) {
	t.Helper()
	f, err := m.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o666)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(f, data); err != nil {
		t.Fatal(err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func ino(t *testing.T, m FS, name string) uint64 {
	t.Helper()
	fi, err := m.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	return stat.Of(fi).Ino
}

func readFile(t *testing.T, m FS, name string) (string, error) {
	t.Helper()
	f, err := m.OpenFile(name, os.O_RDONLY, 0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	return string(b), err
}

// TestMemRecyclesInodes: a freed inode number is handed to the next new
// file, unless the old file is still open.
func TestMemRecyclesInodes(t *testing.T) {
	m := NewMem()
	m.MkdirAll("/d")
	writeFile(t, m, "/d/a", "one", false)
	a := ino(t, m, "/d/a")
	if err := m.Remove("/d/a"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, m, "/d/b", "two", false)
	if b := ino(t, m, "/d/b"); b != a {
		t.Fatalf("inode %d not recycled (got %d)", a, b)
	}

	held, err := m.OpenFile("/d/b", os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := ino(t, m, "/d/b")
	writeFile(t, m, "/d/c", "333", false)
	if err := m.Rename("/d/c", "/d/b"); err != nil { // replaces b; b still open
		t.Fatal(err)
	}
	writeFile(t, m, "/d/e", "4444", false)
	if e := ino(t, m, "/d/e"); e == b {
		t.Fatalf("inode %d of an open file was recycled", b)
	}
	if err := held.Close(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, m, "/d/f", "x", false)
	if f := ino(t, m, "/d/f"); f != b {
		t.Fatalf("inode %d not recycled after close (got %d)", b, f)
	}
}

func TestMemExclusiveCreate(t *testing.T) {
	m := NewMem()
	writeFile(t, m, "/lock", "", false)
	if _, err := m.OpenFile("/lock", os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o666); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("got %v, want fs.ErrExist", err)
	}
	if _, err := m.OpenFile("/missing/x", os.O_CREATE|os.O_WRONLY, 0o666); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("create in missing dir: %v", err)
	}
}

// TestMemCrash: only synced contents and entries of synced directories
// survive a crash.
func TestMemCrash(t *testing.T) {
	m := NewMem()
	m.MkdirAll("/d")
	writeFile(t, m, "/d/synced", "durable", true)
	writeFile(t, m, "/d/unsynced", "lost", false)
	if err := m.SyncDir("/d"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, m, "/d/late", "entry lost", true)
	if err := m.Rename("/d/synced", "/d/renamed"); err != nil {
		t.Fatal(err)
	}
	c := m.Crash()
	tests := []struct {
		name, want string
		exists     bool
	}{
		{"/d/synced", "durable", true},
		{"/d/unsynced", "", true},
		{"/d/late", "", false},
		{"/d/renamed", "", false},
	}
	for _, tt := range tests {
		got, err := readFile(t, c, tt.name)
		if !tt.exists {
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s after crash: %q, %v; want not exist", tt.name, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s after crash = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}
