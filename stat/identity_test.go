package stat

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestOf: two names of one file have the same identity, another file
// another, where the platform has inode numbers.
func TestOf(t *testing.T) {
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "c")
	for _, name := range []string{a, c} {
		if err := os.WriteFile(name, []byte("x"), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Link(a, b); err != nil {
		t.Skipf("no hard links: %v", err)
	}
	id := func(name string) Identity {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		return Of(fi)
	}
	ia, ib, ic := id(a), id(b), id(c)
	if !ia.HasInode() {
		if runtime.GOOS != "windows" {
			t.Fatalf("no inode number on %s: %+v", runtime.GOOS, ia)
		}
		if SameFile(ia, ia) {
			t.Error("SameFile without inode numbers = true")
		}
		return
	}
	if ia.Size != 1 || !SameFile(ia, ib) || SameFile(ia, ic) {
		t.Errorf("identities %+v, %+v (a second name), %+v (another file)", ia, ib, ic)
	}
}

// memInfo is the fs.FileInfo of a file system that gives its files
// identities as *Identity Sys values.
type memInfo struct{ id *Identity }

func (m memInfo) Name() string       { return "tables.list" }
func (m memInfo) Size() int64        { return 7 }
func (m memInfo) Mode() fs.FileMode  { return 0o644 }
func (m memInfo) ModTime() time.Time { return time.Unix(1700000000, 0) }
func (m memInfo) IsDir() bool        { return false }
func (m memInfo) Sys() any           { return m.id }

func TestOfIdentitySys(t *testing.T) {
	got := Of(memInfo{&Identity{Dev: 1, Ino: 42}})
	want := Identity{Dev: 1, Ino: 42, Size: 7, ModTime: time.Unix(1700000000, 0)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Of (-want +got):\n%s", diff)
	}
	if !SameFile(got, want) || SameFile(got, Identity{Dev: 1, Ino: 43, Size: 7}) {
		t.Error("SameFile wrong on in-memory identities")
	}
}
