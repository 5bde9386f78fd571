package vfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/refstore/refstore/stat"
)

// workload creates, writes, syncs and publishes /d/file the way the stack
// publishes tables.list, then lists, stats and reads it back.
func workload(fsys FS) error {
	f, err := fsys.OpenFile("/d/file.lock", os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o666)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(f, "0123456789"); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := fsys.Rename("/d/file.lock", "/d/file"); err != nil {
		return err
	}
	if err := fsys.SyncDir("/d"); err != nil {
		return err
	}
	if _, err := fsys.ReadDir("/d"); err != nil {
		return err
	}
	if _, err := fsys.Stat("/d/file"); err != nil {
		return err
	}
	r, err := fsys.OpenFile("/d/file", os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	if _, err := r.Stat(); err != nil {
		return err
	}
	if _, err := r.ReadAt(make([]byte, 4), 2); err != nil {
		return err
	}
	if _, err := io.ReadAll(r); err != nil {
		return err
	}
	if err := r.Close(); err != nil {
		return err
	}
	return fsys.Remove("/d/file")
}

// workloadOps is the sequence of operations workload performs
// (io.ReadAll reads until io.EOF: two reads). On failure it stops and
// leaks its files, which a MemFS does not mind.
var workloadOps = []Op{
	OpOpen, OpWrite, OpSync, OpClose, OpRename, OpSyncDir, OpReadDir, OpStat,
	OpOpen, OpFileStat, OpReadAt, OpRead, OpRead, OpClose, OpRemove,
}

// workloadOpen is the index of workload's read-only OpenFile.
const workloadOpen = 8

// efRead returns the contents of name.
func efRead(t *testing.T, fsys FS, name string) (string, error) {
	t.Helper()
	f, err := fsys.OpenFile(name, os.O_RDONLY, 0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	return string(b), err
}

// efIno returns the inode number of name on a MemFS.
func efIno(t *testing.T, fsys FS, name string) uint64 {
	t.Helper()
	fi, err := fsys.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	return stat.Of(fi).Ino
}

func newMemDir() *MemFS {
	m := NewMem()
	m.MkdirAll("/d")
	return m
}

// TestErrorFSCounts: every operation of FS and File is counted, in order,
// and Before sees each with its index.
func TestErrorFSCounts(t *testing.T) {
	var got []Op
	e := NewErrorFS(newMemDir(), Injection{Before: func(ev Event) {
		if ev.Index != len(got) {
			t.Errorf("event %v has index %d, want %d", ev, ev.Index, len(got))
		}
		got = append(got, ev.Op)
	}})
	if err := workload(e); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(workloadOps, got); diff != "" {
		t.Errorf("operations (-want +got):\n%s", diff)
	}
	if e.Count() != len(workloadOps) || e.Total() != len(workloadOps) {
		t.Errorf("Count, Total = %d, %d; want %d", e.Count(), e.Total(), len(workloadOps))
	}
	if len(e.Hits()) != 0 || len(e.Injected()) != 0 {
		t.Errorf("FaultNone injected %v", e.Hits())
	}
}

// TestErrorFSLoop is a fault loop over the workload for every kind of
// fault: each eligible operation fails once, the workload reports exactly
// the injected error, and the loop ends when an index fails nothing.
func TestErrorFSLoop(t *testing.T) {
	for _, kind := range []Fault{FaultError, FaultShortWrite, FaultENOSPC, FaultSync, FaultRename} {
		t.Run(kind.String(), func(t *testing.T) {
			var failed []Op
			for n := 0; ; n++ {
				if n > 100 {
					t.Fatal("fault loop does not end")
				}
				e := NewErrorFS(newMemDir(), Injection{Index: n, Fault: kind})
				err := workload(e)
				hits := e.Hits()
				if len(hits) == 0 {
					if err != nil {
						t.Fatalf("index %d: no fault injected, workload failed: %v", n, err)
					}
					if n != e.Count() {
						t.Errorf("loop ended at %d, Count = %d", n, e.Count())
					}
					break
				}
				if len(hits) != 1 || hits[0].Index != n {
					t.Fatalf("index %d: hits %v", n, hits)
				}
				if !kind.Applies(hits[0]) {
					t.Errorf("%v injected into %v", kind, hits[0])
				}
				if !e.Reported(err) {
					t.Errorf("index %d (%v): workload returned %v, not the injected %v", n, hits[0], err, e.Injected())
				}
				failed = append(failed, hits[0].Op)
			}
			var want []Op
			for i, op := range workloadOps {
				flag := os.O_CREATE
				if i == workloadOpen {
					flag = os.O_RDONLY
				}
				if kind.Applies(Event{Op: op, Flag: flag}) {
					want = append(want, op)
				}
			}
			if diff := cmp.Diff(want, failed); diff != "" {
				t.Errorf("operations failed (-want +got):\n%s", diff)
			}
		})
	}
}

// TestErrorFSErrors: the errors look like those of package os.
func TestErrorFSErrors(t *testing.T) {
	t.Run("error", func(t *testing.T) {
		e := NewErrorFS(newMemDir(), Injection{Index: 0, Fault: FaultError, Ops: OpOpen})
		_, err := e.OpenFile("/d/x", os.O_CREATE|os.O_WRONLY, 0o666)
		var pe *fs.PathError
		if !errors.As(err, &pe) || pe.Op != "open" || pe.Path != "/d/x" || !errors.Is(err, ErrInjected) {
			t.Fatalf("OpenFile = %#v, want *fs.PathError{open, /d/x, ErrInjected}", err)
		}
		if _, err := e.Stat("/d/x"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the failed create created the file: %v", err)
		}
		e.Arm(Injection{Index: 0, Fault: FaultError, Ops: OpRename})
		writeFile(t, e, "/d/a", "a", true)
		err = e.Rename("/d/a", "/d/b")
		var le *os.LinkError
		if !errors.As(err, &le) || le.Old != "/d/a" || le.New != "/d/b" || !errors.Is(err, ErrInjected) {
			t.Fatalf("Rename = %#v, want *os.LinkError wrapping ErrInjected", err)
		}
		if _, err := e.Stat("/d/a"); err != nil {
			t.Errorf("the failed rename happened: %v", err)
		}
	})
	t.Run("shortwrite", func(t *testing.T) {
		m := newMemDir()
		e := NewErrorFS(m, Injection{Index: 1, Fault: FaultShortWrite})
		f, err := e.OpenFile("/d/x", os.O_CREATE|os.O_WRONLY, 0o666)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.Write([]byte("abcd")); err != nil {
			t.Fatal(err)
		}
		n, err := f.Write([]byte("efghij"))
		if n != 3 || !errors.Is(err, io.ErrShortWrite) {
			t.Fatalf("Write = %d, %v; want 3, io.ErrShortWrite", n, err)
		}
		if got, _ := efRead(t, m, "/d/x"); got != "abcdefg" {
			t.Errorf("file holds %q, want %q", got, "abcdefg")
		}
	})
	t.Run("enospc", func(t *testing.T) {
		e := NewErrorFS(newMemDir(), Injection{Index: 0, Fault: FaultENOSPC, Sticky: true})
		// A read-only open is not eligible.
		if _, err := e.OpenFile("/d/missing", os.O_RDONLY, 0); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("read-only open: %v", err)
		}
		_, err := e.OpenFile("/d/x", os.O_CREATE|os.O_WRONLY, 0o666)
		var pe *fs.PathError
		if !errors.As(err, &pe) || !errors.Is(err, syscall.ENOSPC) || pe.Op != "open" {
			t.Fatalf("OpenFile = %v, want ENOSPC", err)
		}
		// Sticky: the disk stays full.
		if _, err := e.OpenFile("/d/y", os.O_CREATE|os.O_WRONLY, 0o666); !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("second OpenFile = %v, want ENOSPC", err)
		}
		if n := len(e.Hits()); n != 2 {
			t.Errorf("%d hits, want 2", n)
		}
	})
	t.Run("sync", func(t *testing.T) {
		m := newMemDir()
		e := NewErrorFS(m, Injection{Index: 0, Fault: FaultSync})
		f, err := e.OpenFile("/d/x", os.O_CREATE|os.O_WRONLY, 0o666)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(f, "data")
		if err := f.Sync(); !errors.Is(err, syscall.EIO) {
			t.Fatalf("Sync = %v, want EIO", err)
		}
		f.Close()
		if err := e.SyncDir("/d"); err != nil {
			t.Fatal(err)
		}
		if got, _ := efRead(t, m.Crash(), "/d/x"); got != "" {
			t.Errorf("after a failed sync and a crash the file holds %q", got)
		}
	})
	t.Run("rename", func(t *testing.T) {
		m := newMemDir()
		e := NewErrorFS(m, Injection{Index: 0, Fault: FaultRename})
		writeFile(t, e, "/d/a", "a", true)
		err := e.Rename("/d/a", "/d/b")
		if !errors.Is(err, syscall.EIO) {
			t.Fatalf("Rename = %v, want EIO", err)
		}
		if got, _ := efRead(t, m, "/d/b"); got != "a" {
			t.Errorf("FaultRename did not rename: /d/b holds %q", got)
		}
	})
	t.Run("close", func(t *testing.T) {
		m := newMemDir()
		e := NewErrorFS(m, Injection{Index: 0, Fault: FaultError, Ops: OpClose})
		writeFile(t, m, "/d/a", "a", true)
		a := efIno(t, m, "/d/a")
		f, err := e.OpenFile("/d/a", os.O_RDONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); !errors.Is(err, ErrInjected) {
			t.Fatalf("Close = %v", err)
		}
		// The file was closed all the same: its inode is freed with it.
		if err := m.Remove("/d/a"); err != nil {
			t.Fatal(err)
		}
		writeFile(t, m, "/d/b", "b", false)
		if b := efIno(t, m, "/d/b"); b != a {
			t.Errorf("inode %d still held after a failed Close (new file got %d)", a, b)
		}
	})
}

// TestErrorFSCrashHook: Before can take a crash snapshot at operation N;
// the snapshot before the rename's SyncDir holds the old name only.
func TestErrorFSCrashHook(t *testing.T) {
	m := newMemDir()
	var crashed *MemFS
	e := NewErrorFS(m, Injection{Ops: OpMutating, Index: -1, Before: func(ev Event) {
		if ev.Op == OpSyncDir {
			crashed = m.Crash()
		}
	}})
	if err := workload(e); err != nil {
		t.Fatal(err)
	}
	if crashed == nil {
		t.Fatal("Before not called for SyncDir")
	}
	ents, err := crashed.ReadDir("/d")
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 0 {
		t.Errorf("crash before the first SyncDir left %d entries", len(ents))
	}
}

// TestErrorFSConcurrent: operations from several goroutines are all
// counted and exactly one fails.
func TestErrorFSConcurrent(t *testing.T) {
	m := newMemDir()
	e := NewErrorFS(m, Injection{Index: 37, Fault: FaultError})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	var ops atomic.Int64
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				name := fmt.Sprintf("/d/%d-%d", g, i)
				f, err := e.OpenFile(name, os.O_CREATE|os.O_WRONLY, 0o666)
				ops.Add(1)
				if err == nil {
					_, err = f.Write([]byte("x"))
					if cerr := f.Close(); err == nil {
						err = cerr
					}
					ops.Add(2)
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if int64(e.Count()) != ops.Load() {
		t.Errorf("Count = %d, want %d", e.Count(), ops.Load())
	}
	if len(errs) != 1 || !errors.Is(errs[0], ErrInjected) || !e.Reported(errs[0]) {
		t.Errorf("errors %v, want one injected", errs)
	}
}

// TestErrorFSArm: Arm resets the count; Disarm stops injecting.
func TestErrorFSArm(t *testing.T) {
	e := NewErrorFS(newMemDir(), Injection{Index: -1})
	if err := workload(e); err != nil {
		t.Fatal(err)
	}
	e.Arm(Injection{Index: 0, Fault: FaultError, Ops: OpStat, Sticky: true})
	if e.Count() != 0 {
		t.Fatalf("Count after Arm = %d", e.Count())
	}
	if _, err := e.Stat("/d"); !errors.Is(err, ErrInjected) {
		t.Fatalf("armed Stat = %v", err)
	}
	e.Disarm()
	if _, err := e.Stat("/d/none"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("disarmed Stat = %v", err)
	}
	if e.Count() != 2 || len(e.Hits()) != 1 {
		t.Errorf("Count, hits = %d, %v", e.Count(), e.Hits())
	}
}

// TestLogFS: the trace records mutating operations with relative paths
// and stable placeholders for random name parts.
func TestLogFS(t *testing.T) {
	m := NewMem()
	m.MkdirAll("/repo/reftable")
	l := NewLogFS(m, "/repo")
	write := func(name, data string) {
		f, err := l.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o666)
		if err != nil {
			return
		}
		io.WriteString(f, data)
		f.Sync()
		f.Close()
	}
	write("/repo/reftable/tmp-0123456789abcdef.temp", "table")
	l.Rename("/repo/reftable/tmp-0123456789abcdef.temp", "/repo/reftable/0x000000000001-0x000000000001-deadbeef.ref")
	l.SyncDir("/repo/reftable")
	write("/repo/reftable/0x000000000001-0x000000000001-deadbeef.ref.lock", "")
	write("/repo/reftable/0x000000000001-0x000000000001-deadbeef.ref", "") // exists: error
	if f, err := l.OpenFile("/repo/reftable/pid", os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o666); err == nil {
		f.Close()
	}
	if f, err := l.OpenFile("/repo/reftable/pid", os.O_RDONLY, 0); err == nil { // not recorded
		f.Close()
	}
	l.Remove("/repo/reftable/0x000000000002-0x000000000003-cafe0123.ref")
	l.Remove("/repo/reftable/x.temp.AbC123")
	l.SyncDir("/repo")
	want := []string{
		"create reftable/tmp-<t1>.temp",
		"write reftable/tmp-<t1>.temp 5",
		"sync reftable/tmp-<t1>.temp",
		"close reftable/tmp-<t1>.temp",
		"rename reftable/tmp-<t1>.temp -> reftable/0x000000000001-0x000000000001-<r1>.ref",
		"syncdir reftable",
		"create reftable/0x000000000001-0x000000000001-<r1>.ref.lock",
		"write reftable/0x000000000001-0x000000000001-<r1>.ref.lock 0",
		"sync reftable/0x000000000001-0x000000000001-<r1>.ref.lock",
		"close reftable/0x000000000001-0x000000000001-<r1>.ref.lock",
		"create reftable/0x000000000001-0x000000000001-<r1>.ref = error",
		"open reftable/pid wronly,create,trunc",
		"close reftable/pid",
		"remove reftable/0x000000000002-0x000000000003-<r2>.ref = error",
		"remove reftable/x.temp.<t2> = error",
		"syncdir .",
	}
	if diff := cmp.Diff(want, l.Trace()); diff != "" {
		t.Errorf("trace (-want +got):\n%s", diff)
	}
	if s := l.String(); !strings.HasSuffix(s, "syncdir .\n") {
		t.Errorf("String = %q", s)
	}
}

// TestMemReadAtNegativeOffset: a negative offset is an error, as with
// os.File, not a panic (MemFS bug fixed alongside the ErrorFS).
func TestMemReadAtNegativeOffset(t *testing.T) {
	m := newMemDir()
	writeFile(t, m, "/d/a", "abc", false)
	f, err := m.OpenFile("/d/a", os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.ReadAt(make([]byte, 2), -1); err == nil {
		t.Fatal("ReadAt(-1) succeeded")
	}
}

// TestMemAppend: with O_APPEND every write goes to the end of the file,
// also after another handle wrote (MemFS bug fixed alongside the ErrorFS).
func TestMemAppend(t *testing.T) {
	m := newMemDir()
	writeFile(t, m, "/d/a", "abc", false)
	f, err := m.OpenFile("/d/a", os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	g, err := m.OpenFile("/d/a", os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(f, "1")
	io.WriteString(g, "2")
	io.WriteString(f, "3")
	f.Close()
	g.Close()
	if got, _ := efRead(t, m, "/d/a"); got != "abc123" {
		t.Errorf("file holds %q, want %q", got, "abc123")
	}
}
