package vfs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/refstore/refstore/stat"
)

// TestStatID: every file system's StatID reports what its Stat does, an
// absent file as fs.ErrNotExist, and the OS's allocates nothing where it
// is implemented natively.
func TestStatID(t *testing.T) {
	dir := t.TempDir()
	mem := NewMem()
	mem.MkdirAll(dir)
	for _, tc := range []struct {
		name string
		fsys FS
	}{
		{"os", OS},
		{"mem", mem},
		{"errorfs", NewErrorFS(mem, Injection{Index: -1})},
		{"logfs", NewLogFS(mem, dir)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := tc.fsys.(IDStater); !ok {
				if tc.fsys == OS {
					t.Skipf("no native StatID on %s/%s", runtime.GOOS, runtime.GOARCH)
				}
				t.Fatalf("%T does not implement IDStater", tc.fsys)
			}
			name := filepath.Join(dir, tc.name+".list")
			f, err := tc.fsys.OpenFile(name, os.O_CREATE|os.O_WRONLY, 0o666)
			if err != nil {
				t.Fatal(err)
			}
			f.Write([]byte("hello"))
			f.Close()
			fi, err := tc.fsys.Stat(name)
			if err != nil {
				t.Fatal(err)
			}
			id, err := StatID(tc.fsys, name)
			if err != nil {
				t.Fatal(err)
			}
			want := stat.Of(fi)
			if id.Dev != want.Dev || id.Ino != want.Ino || id.Size != 5 || !id.ModTime.Equal(want.ModTime) || id.Ino == 0 {
				t.Errorf("StatID = %+v, Stat says %+v", id, want)
			}
			if _, err := StatID(tc.fsys, filepath.Join(dir, "absent")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("StatID of an absent file: %v, want fs.ErrNotExist", err)
			}
			if tc.fsys == OS {
				if n := testing.AllocsPerRun(100, func() { StatID(OS, name) }); n != 0 {
					t.Errorf("StatID allocates %v times, want 0", n)
				}
			}
		})
	}
}

// TestErrorFSStatID: StatID counts as OpStat and fails like Stat; over a
// file system without StatID it reports errors.ErrUnsupported and counts
// nothing.
func TestErrorFSStatID(t *testing.T) {
	mem := NewMem()
	mem.MkdirAll("/d")
	f, _ := mem.OpenFile("/d/x", os.O_CREATE|os.O_WRONLY, 0o666)
	f.Close()
	e := NewErrorFS(mem, Injection{Index: 1, Fault: FaultError, Ops: OpStat})
	if _, err := e.StatID("/d/x"); err != nil {
		t.Fatalf("first StatID: %v", err)
	}
	if _, err := e.StatID("/d/x"); !errors.Is(err, ErrInjected) {
		t.Fatalf("second StatID: %v, want the injected fault", err)
	}
	if e.Count() != 2 {
		t.Errorf("Count = %d, want 2", e.Count())
	}
	plain := NewErrorFS(struct{ FS }{mem}, Injection{Index: 0, Fault: FaultError, Ops: OpStat})
	if _, err := plain.StatID("/d/x"); !errors.Is(err, errors.ErrUnsupported) || plain.Count() != 0 {
		t.Errorf("StatID over a file system without it: %v, count %d; want ErrUnsupported, 0", err, plain.Count())
	}
}
