package stack

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/refstore/refstore/vfs"
)

// deadPID returns the id of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// lockTestStack returns a new stack whose writers do not wait for its
// lock, its directory and the path of tables.list.lock, on platforms
// where holders can be judged.
func lockTestStack(t *testing.T) (*Stack, string, string) {
	if runtime.GOOS == "windows" {
		t.Skip("process liveness is unknown on Windows")
	}
	dir := t.TempDir()
	return openStack(t, dir, Options{NoSync: true, LockTimeout: NoWait}), dir, filepath.Join(dir, "tables.list.lock")
}

func TestStaleLockHolder(t *testing.T) {
	st, _, lock := lockTestStack(t)
	writeLock := func(pid int) {
		if err := os.WriteFile(lock, nil, 0o666); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(pidPath(lock), []byte(fmt.Sprintf("pid %d\n", pid)), 0o666); err != nil {
			t.Fatal(err)
		}
	}

	// A live holder: writers get an error naming it, and the lock cannot
	// be broken.
	writeLock(os.Getpid())
	_, err := st.newAddition(ctx)
	var le *LockError
	if !errors.As(err, &le) || !strings.Contains(le.Holder, fmt.Sprintf("pid %d (alive)", os.Getpid())) {
		t.Fatalf("newAddition = %v, want a LockError naming the live holder", err)
	}
	if err := st.BreakStaleLock(lock); !errors.Is(err, ErrLocked) {
		t.Fatalf("BreakStaleLock of a live holder = %v", err)
	}
	if _, err := os.Stat(lock); err != nil {
		t.Fatalf("lock of a live holder removed: %v", err)
	}

	// A holder that is gone: the error says so, and breaking works.
	os.Remove(lock)
	pid := deadPID(t)
	writeLock(pid)
	_, err = st.newAddition(ctx)
	if !errors.As(err, &le) || !strings.Contains(le.Holder, "(gone)") {
		t.Fatalf("newAddition = %v, want a LockError naming the gone holder", err)
	}
	locks, err := st.Locks()
	if err != nil || len(locks) != 1 || locks[0].PID != pid || locks[0].Liveness != HolderGone {
		t.Fatalf("Locks = %+v, %v", locks, err)
	}
	if err := st.BreakStaleLock(lock); err != nil {
		t.Fatal(err)
	}
	setRef(t, st, "refs/heads/after", 1)

	// A holder recorded by this package on another host is never judged.
	if err := os.WriteFile(lock, []byte("pid 1\nhost elsewhere.example\nstart 1\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	_, err = st.newAddition(ctx)
	if !errors.As(err, &le) || le.Holder != "pid 1 on elsewhere.example (unknown)" {
		t.Fatalf("newAddition = %v, want a LockError naming the remote holder", err)
	}
	if err := st.BreakStaleLock(lock); !errors.Is(err, ErrLocked) {
		t.Fatalf("BreakStaleLock of a remote holder = %v", err)
	}
	// Recorded on this host with a start time that does not match: the
	// process id was reused.
	if err := os.WriteFile(lock, []byte(fmt.Sprintf("pid %d\nhost %s\nstart 12345\n", os.Getpid(), hostname())), 0o666); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS == "linux" {
		if err := st.BreakStaleLock(lock); err != nil {
			t.Fatalf("BreakStaleLock of a reused process id = %v", err)
		}
	}
	os.Remove(lock)

	// No holder recorded: unknown, never broken.
	if err := os.WriteFile(lock, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := st.BreakStaleLock(lock); !errors.Is(err, ErrLocked) {
		t.Fatalf("BreakStaleLock without holder = %v", err)
	}

	// A lock older than the last boot (left by a power loss) is stale
	// whoever held it.
	if runtime.GOOS == "linux" {
		long := time.Now().Add(-24 * 365 * time.Hour)
		if err := os.Chtimes(lock, long, long); err != nil {
			t.Fatal(err)
		}
		if err := st.BreakStaleLock(lock); err != nil {
			t.Fatalf("BreakStaleLock of a lock from before the boot = %v", err)
		}
	}
}

// TestHolderFileRemoved: a commit leaves no holder file behind.
func TestHolderFileRemoved(t *testing.T) {
	dir := t.TempDir()
	st := openStack(t, dir, testOptions())
	setRef(t, st, "refs/heads/a", 1)
	a, err := st.newAddition(ctx)
	if err != nil {
		t.Fatal(err)
	}
	info, err := inspectLock(st.b.(*dirBackend).fsys, filepath.Join(dir, "tables.list.lock"))
	if err != nil || info.PID != os.Getpid() || info.Liveness != HolderAlive {
		t.Errorf("holder while locked = %+v, %v; want pid %d, alive", info, err, os.Getpid())
	}
	a.close()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if name := e.Name(); name != "tables.list" && !strings.HasSuffix(name, ".ref") {
			t.Errorf("%s left behind", name)
		}
	}
}

// TestStaleLockBrokenByWriter: a writer that finds tables.list.lock left
// by a process of this package on this host that is gone removes it and
// commits, without a human; one whose advisory lock an open file still
// holds (its holder runs, in another PID namespace say, whatever its
// recorded id says) it waits for, as does BreakStaleLock; one recorded
// only by git's pid file it leaves to BreakStaleLock.
func TestStaleLockBrokenByWriter(t *testing.T) {
	st, dir, lock := lockTestStack(t)
	dead := deadPID(t)
	// The lock a process of ours leaves when it is killed: its holder
	// file, linked as the lock.
	plant := func() string {
		holder := fmt.Sprintf("%s.%d-%d-%08x-%s%s", filepath.Join(dir, "tables.list"), dead, selfStart(), 0x1234abcd, fileHost(), holderSuffix)
		if err := os.WriteFile(holder, nil, 0o666); err != nil {
			t.Fatal(err)
		}
		if err := os.Link(holder, lock); err != nil {
			t.Fatal(err)
		}
		return holder
	}

	holder := plant()
	setRef(t, st, "refs/heads/a", 1) // fails the test unless it commits
	for _, p := range []string{lock, holder} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after the commit that broke it: %v", p, err)
		}
	}

	// The same lock, its advisory lock held by an open file.
	plant()
	f, err := os.Open(lock)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := vfs.TryLock(f); !got || err != nil {
		f.Close()
		if runtime.GOOS == "linux" {
			t.Fatalf("TryLock = %v, %v: Linux has advisory locks", got, err)
		}
		t.Skipf("no advisory locks here: %v, %v", got, err)
	}
	_, err = st.newAddition(ctx)
	var le *LockError
	if !errors.As(err, &le) || !errors.Is(err, ErrLocked) || !strings.Contains(le.Holder, "(alive)") {
		t.Errorf("newAddition beside a held advisory lock = %v, want ErrLocked naming a live holder", err)
	}
	if err := st.BreakStaleLock(lock); !errors.Is(err, ErrLocked) {
		t.Errorf("BreakStaleLock beside a held advisory lock = %v, want ErrLocked", err)
	}
	if locks, err := st.Locks(); err != nil || len(locks) != 1 || locks[0].Liveness != HolderAlive {
		t.Errorf("Locks = %+v, %v; want one, alive", locks, err)
	}
	f.Close() // its holder ends
	setRef(t, st, "refs/heads/b", 2)

	// git's lock, its holder judged by the process id alone.
	if err := os.WriteFile(lock, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pidPath(lock), []byte(fmt.Sprintf("pid %d\n", dead)), 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := st.newAddition(ctx); !errors.Is(err, ErrLocked) {
		t.Errorf("newAddition beside git's stale lock = %v, want ErrLocked", err)
	}
	if err := st.BreakStaleLock(lock); err != nil {
		t.Errorf("BreakStaleLock of git's stale lock = %v", err)
	}
	setRef(t, st, "refs/heads/c", 3)

	// The list that commit published was its lock, and stays open in the
	// reader cache: without the advisory lock.
	list, err := os.Open(filepath.Join(dir, "tables.list"))
	if err != nil {
		t.Fatal(err)
	}
	defer list.Close()
	if got, err := vfs.TryLock(list); !got || err != nil {
		t.Errorf("TryLock of the published list = %v, %v; want true", got, err)
	}
}
