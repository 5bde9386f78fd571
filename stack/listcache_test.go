package stack

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/refstore/refstore/stat"
	"github.com/refstore/refstore/vfs"
)

// replaceList writes data to a fresh lock file and renames it over name, as a
// stack writer publishes tables.list.
func replaceList(t *testing.T, fsys vfs.FS, name, data string) {
	t.Helper()
	lock := name + ".lock"
	f, err := fsys.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o666)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(f, data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := fsys.Rename(lock, name); err != nil {
		t.Fatal(err)
	}
}

func listChanged(t *testing.T, c *listCache) bool {
	t.Helper()
	ch, err := c.Changed()
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func loadList(t *testing.T, c *listCache) string {
	t.Helper()
	data, _, err := c.Load()
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestListCacheLifecycle runs the same scenario on the real and the in-memory
// file system, comparing identities and comparing contents.
func TestListCacheLifecycle(t *testing.T) {
	for _, fsName := range []string{"os", "mem"} {
		for _, content := range []bool{false, true} {
			t.Run(fsName+map[bool]string{false: "/identity", true: "/content"}[content], func(t *testing.T) {
				var fsys vfs.FS = vfs.OS
				dir := t.TempDir()
				if fsName == "mem" {
					m := vfs.NewMem()
					m.MkdirAll(dir)
					fsys = m
				}
				name := filepath.Join(dir, "tables.list")
				c := newListCache(fsys, name, content)
				defer c.Close()
				if !listChanged(t, c) {
					t.Error("Changed before Load = false")
				}
				if got := loadList(t, c); got != "" {
					t.Errorf("missing file loaded as %q", got)
				}
				if listChanged(t, c) {
					t.Error("missing file reported changed")
				}
				replaceList(t, fsys, name, "a.ref\n")
				if !listChanged(t, c) {
					t.Error("creation not detected")
				}
				if got := loadList(t, c); got != "a.ref\n" {
					t.Errorf("Load = %q", got)
				}
				if listChanged(t, c) {
					t.Error("unchanged file reported changed")
				}
				replaceList(t, fsys, name, "b.ref\n")
				if !listChanged(t, c) {
					t.Error("replacement with the same size not detected")
				}
				loadList(t, c)
				if err := fsys.Remove(name); err != nil {
					t.Fatal(err)
				}
				if !listChanged(t, c) {
					t.Error("removal not detected")
				}
			})
		}
	}
}

// naiveCache remembers identities without holding the file open: the
// mistake git fixed in 4f36b8597c.
type naiveCache struct {
	fsys vfs.FS
	path string
	id   stat.Identity
}

func (n *naiveCache) load(t *testing.T) {
	fi, err := n.fsys.Stat(n.path)
	if err != nil {
		t.Fatal(err)
	}
	n.id = stat.Of(fi)
}

func (n *naiveCache) changed(t *testing.T) bool {
	fi, err := n.fsys.Stat(n.path)
	if err != nil {
		t.Fatal(err)
	}
	return !stat.SameFile(stat.Of(fi), n.id)
}

// TestInodeRecyclingRace reproduces the race deterministically: a reader
// caches tables.list; a writer appends (new list, new inode) and a
// compaction rewrites it back to the old size, and the file system hands
// the compaction's list the inode number the reader remembered. A cache
// that does not hold the file open is fooled; ours is not.
func TestInodeRecyclingRace(t *testing.T) {
	scenario := func(t *testing.T, reader interface {
		load(*testing.T)
		changed(*testing.T) bool
	}, m *vfs.MemFS, name string) (fooled bool) {
		replaceList(t, m, name, "0x01-0x01-aaaaaaaa.ref\n")
		reader.load(t)
		before, _ := m.Stat(name)
		replaceList(t, m, name, "0x01-0x01-aaaaaaaa.ref\n0x02-0x02-bbbbbbbb.ref\n") // append
		replaceList(t, m, name, "0x01-0x02-cccccccc.ref\n")                         // compact: same size as before
		after, _ := m.Stat(name)
		recycled := stat.Of(before).Ino == stat.Of(after).Ino && before.Size() == after.Size()
		return recycled && !reader.changed(t)
	}
	t.Run("naive", func(t *testing.T) {
		m := vfs.NewMem()
		m.MkdirAll("/r")
		if !scenario(t, &naiveCache{fsys: m, path: "/r/tables.list"}, m, "/r/tables.list") {
			t.Fatal("negative control: the naive cache was not fooled, so the scenario does not reproduce the race")
		}
	})
	t.Run("held", func(t *testing.T) {
		m := vfs.NewMem()
		m.MkdirAll("/r")
		c := &heldReader{newListCache(m, "/r/tables.list", false)}
		defer c.Close()
		if scenario(t, c, m, "/r/tables.list") {
			t.Fatal("the cache was fooled by a recycled inode")
		}
		if !c.changed(t) {
			t.Fatal("change not detected")
		}
	})
}

type heldReader struct{ *listCache }

func (h *heldReader) load(t *testing.T)         { loadList(t, h.listCache) }
func (h *heldReader) changed(t *testing.T) bool { return listChanged(t, h.listCache) }

// TestListCacheChangedAllocs: checking an unchanged file in identity mode costs
// one stat and no allocation where the OS file system stats natively.
func TestListCacheChangedAllocs(t *testing.T) {
	if _, ok := vfs.OS.(vfs.IDStater); !ok {
		t.Skip("no native StatID here")
	}
	path := filepath.Join(t.TempDir(), "tables.list")
	if err := os.WriteFile(path, []byte("a.ref\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	c := newListCache(vfs.OS, path, false)
	defer c.Close()
	if _, _, err := c.Load(); err != nil {
		t.Fatal(err)
	}
	if c.Identity().Ino == 0 {
		t.Skip("no inode numbers on this file system")
	}
	allocs := testing.AllocsPerRun(100, func() {
		if changed, err := c.Changed(); err != nil || changed {
			t.Fatalf("Changed = %v, %v on an unchanged file", changed, err)
		}
	})
	if allocs != 0 {
		t.Errorf("Changed allocates %v times, want 0", allocs)
	}
}

// TestListCacheAdopt: a file written, renamed into place and handed to the cache
// counts as loaded: unchanged until the path names another file, in both
// modes, and the adopted file stays open (its inode pinned) until the
// next Load.
func TestListCacheAdopt(t *testing.T) {
	for _, content := range []bool{false, true} {
		mem := vfs.NewMem()
		mem.MkdirAll("/d")
		c := newListCache(mem, "/d/tables.list", content)
		if _, _, err := c.Load(); err != nil {
			t.Fatal(err)
		}
		f, err := mem.OpenFile("/d/tables.list.lock", os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o666)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(f, "a.ref\n"); err != nil {
			t.Fatal(err)
		}
		if err := mem.Rename("/d/tables.list.lock", "/d/tables.list"); err != nil {
			t.Fatal(err)
		}
		c.Adopt(f, stat.Of(fi), []byte("a.ref\n"))
		if listChanged(t, c) {
			t.Errorf("content=%v: Changed after Adopt of the current file", content)
		}
		if _, err := f.Stat(); err != nil {
			t.Errorf("content=%v: adopted file closed: %v", content, err)
		}
		replaceList(t, mem, "/d/tables.list", "b.ref\n")
		if !listChanged(t, c) {
			t.Errorf("content=%v: not Changed after the file was replaced", content)
		}
		if _, _, err := c.Load(); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Stat(); err == nil {
			t.Errorf("content=%v: adopted file still open after the next Load", content)
		}
		c.Close()
	}
}
