package vfs

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestTryLock: the advisory lock of a file is held by one open file at a
// time, through OS and through the wrapping file systems, and is let go
// when that file is closed; MemFS has none.
func TestTryLock(t *testing.T) {
	switch runtime.GOOS {
	case "linux", "darwin", "freebsd", "netbsd", "openbsd", "dragonfly":
	default:
		t.Skipf("no advisory locks on %s", runtime.GOOS)
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		fsys FS
	}{
		{"os", OS},
		{"errorfs", NewErrorFS(OS, Injection{Index: -1})},
		{"logfs", NewLogFS(OS, dir)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			a, err := tc.fsys.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o666)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			b, err := tc.fsys.OpenFile(path, os.O_RDONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if got, err := TryLock(a); !got || err != nil {
				t.Fatalf("first TryLock = %v, %v; want true", got, err)
			}
			if got, err := TryLock(b); got || err != nil {
				t.Fatalf("TryLock of a file another open file holds = %v, %v; want false", got, err)
			}
			if err := Unlock(a); err != nil {
				t.Fatal(err)
			}
			if got, err := TryLock(b); !got || err != nil {
				t.Fatalf("TryLock after the holder unlocked = %v, %v; want true", got, err)
			}
			if err := Unlock(b); err != nil {
				t.Fatal(err)
			}
			if got, err := TryLock(a); !got || err != nil {
				t.Fatalf("TryLock again = %v, %v; want true", got, err)
			}
			a.Close()
			if got, err := TryLock(b); !got || err != nil {
				t.Fatalf("TryLock after the holder closed = %v, %v; want true", got, err)
			}
		})
	}

	m := NewMem()
	f, err := m.OpenFile("/x", os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := TryLock(f); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("TryLock on MemFS = %v, want ErrUnsupported", err)
	}
}
