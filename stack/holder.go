package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/refstore/refstore/internal/proc"
	"github.com/refstore/refstore/stat"
	"github.com/refstore/refstore/vfs"
)

// The holder of a lock is recorded in the name of a second link to the
// lock's file (see lockFile), which is why the lock can be judged at
// every instant, also while the commit writes the new list into it:
//
//	tables.list.lock                                  the lock
//	tables.list.12345-1700000000-0a1b2c3d-build-7.holder  the same file
//
// that is <lock without .lock>.<pid>-<start>-<random>-<host>.holder,
// start being when the process started, in Unix seconds, to tell a
// reused process id. Where locks cannot be linked, the lock file itself
// holds lines
//
//	pid 12345
//	host build-7
//	start 1700000000
//
// until the commit replaces them by the list. git leaves its lock files
// empty and, with core.lockfilePid, records "pid <n>" in
// tables.list~pid.lock; all three are read.
const (
	pidSuffix    = "~pid.lock"
	holderSuffix = ".holder"
)

// pidPath returns git's holder file of the lock file lockPath.
func pidPath(lockPath string) string {
	return strings.TrimSuffix(lockPath, ".lock") + pidSuffix
}

// holderName returns a new name of a holder file for the lock at
// lockPath, recording this process.
func holderName(lockPath string) string {
	return fmt.Sprintf("%s.%d-%d-%08x-%s%s", strings.TrimSuffix(lockPath, ".lock"),
		os.Getpid(), selfStart(), rand.Uint32(), fileHost(), holderSuffix)
}

// fileHost is this host's name as holder names record it: at most 64
// bytes of letters, digits, '.', '-' and '_', anything else as '_'.
var fileHost = sync.OnceValue(func() string { return sanitizeHost(hostname()) })

func sanitizeHost(h string) string {
	b := []byte(h[:min(len(h), 64)])
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}

// isHolderOf reports whether name (a file name in the lock's directory)
// is the name of a holder file of the lock named lockName, and returns
// what it records.
func isHolderOf(lockName, name string) (holderInfo, bool) {
	rest, ok := strings.CutPrefix(name, strings.TrimSuffix(lockName, ".lock")+".")
	if !ok {
		return holderInfo{}, false
	}
	rest, ok = strings.CutSuffix(rest, holderSuffix)
	if !ok {
		return holderInfo{}, false
	}
	f := strings.SplitN(rest, "-", 4)
	if len(f) != 4 || len(f[2]) != 8 {
		return holderInfo{}, false
	}
	var h holderInfo
	var err1, err2 error
	h.pid, err1 = strconv.Atoi(f[0])
	h.start, err2 = strconv.ParseInt(f[1], 10, 64)
	h.host = f[3]
	return h, err1 == nil && err2 == nil && h.pid > 0
}

// liveness judges holders; tests replace it to take a process for dead.
var liveness = processLiveness

// holderInfo is what is recorded about a lock's holder.
type holderInfo struct {
	pid   int
	host  string
	start int64
}

// hostname and selfStart are read when first needed, not at start-up:
// most processes never write or judge a lock.
var (
	hostname = sync.OnceValue(func() string {
		h, _ := os.Hostname()
		return h
	})
	selfStart = sync.OnceValue(func() int64 {
		if t, ok := proc.StartTime(os.Getpid()); ok {
			return t.Unix()
		}
		return 0
	})
)

// holderRecord is what this process writes in the lock files it takes,
// the same for all of them.
var holderRecord = sync.OnceValue(func() []byte {
	return fmt.Appendf(nil, "pid %d\nhost %s\nstart %d\n", os.Getpid(), hostname(), selfStart())
})

// writeHolder records this process in the lock file f, opened for
// appending. It is informational: failures are ignored.
func writeHolder(f vfs.File) {
	f.Write(holderRecord())
}

// parseHolder reads holder lines; ok is false if data is not a holder
// record (a list being committed, or git's empty lock).
func parseHolder(data []byte) (h holderInfo, ok bool) {
	for line := range strings.Lines(string(data)) {
		key, val, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch key {
		case "pid":
			h.pid, _ = strconv.Atoi(val)
		case "host":
			h.host = val
		case "start":
			h.start, _ = strconv.ParseInt(val, 10, 64)
		}
	}
	return h, h.pid > 0
}

// Liveness says whether a lock's holder is still running.
type Liveness int

// The liveness of a lock holder.
const (
	HolderUnknown Liveness = iota // no holder recorded, or it cannot be checked here
	HolderAlive                   // a process with the recorded id runs and may hold the lock
	HolderGone                    // provably gone: no such process, or one started after the lock
)

// String returns "alive", "gone" or "unknown".
func (l Liveness) String() string {
	switch l {
	case HolderAlive:
		return "alive"
	case HolderGone:
		return "gone"
	}
	return "unknown"
}

// LockInfo describes a lock file and its holder.
type LockInfo struct {
	Path     string
	Age      time.Duration
	PID      int    // 0 if not recorded
	Host     string // host of the holder, if recorded
	Liveness Liveness
	id       stat.Identity
	holderAt string // the holder file linked to the lock, if any
}

// inspectLock describes the lock at lockPath. A lock whose file is open
// with its advisory lock held (see lockFile) has a live holder, whatever
// its record says: a process in another PID namespace, or on another
// host of a network file system with coherent locks.
func inspectLock(fsys vfs.FS, lockPath string) (LockInfo, error) {
	info, err := judgeLock(fsys, lockPath)
	if err == nil && info.Liveness != HolderAlive {
		if free, known := advisoryFree(fsys, lockPath); known && !free {
			info.Liveness = HolderAlive
		}
	}
	return info, err
}

// advisoryFree reports whether no open file holds the advisory lock of
// the file at path (taking it for an instant); known is false when that
// cannot be told (no such file, no advisory locks).
func advisoryFree(fsys vfs.FS, path string) (free, known bool) {
	f, err := fsys.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return false, false
	}
	defer f.Close()
	got, err := vfs.TryLock(f)
	return got, err == nil
}

// judgeLock describes the lock at lockPath by what it records of its
// holder.
func judgeLock(fsys vfs.FS, lockPath string) (LockInfo, error) {
	info := LockInfo{Path: lockPath}
	fi, err := fsys.Stat(lockPath)
	if err != nil {
		return info, err
	}
	if !fi.Mode().IsRegular() {
		return info, vfs.NotRegular("inspect lock", lockPath, fi.Mode())
	}
	info.id = stat.Of(fi)
	info.Age = time.Since(fi.ModTime())
	h, holder := findHolder(fsys, lockPath, info.id)
	if holder == "" {
		h = readHolder(fsys, lockPath)
	}
	info.PID, info.Host, info.holderAt = h.pid, h.host, holder
	if h.host != "" && sanitizeHost(h.host) != fileHost() {
		info.Liveness = HolderUnknown // another host's processes cannot be checked
	} else {
		info.Liveness = liveness(h.pid, h.start, fi.ModTime())
	}
	return info, nil
}

// findHolder returns the holder file linked to the lock at lockPath,
// whose identity is id, and what its name records; "" when there is none.
func findHolder(fsys vfs.FS, lockPath string, id stat.Identity) (holderInfo, string) {
	if !id.HasInode() {
		return holderInfo{}, ""
	}
	dir, lockName := filepath.Split(lockPath)
	ents, err := fsys.ReadDir(filepath.Clean(dir))
	if err != nil {
		return holderInfo{}, ""
	}
	for _, e := range ents {
		h, ok := isHolderOf(lockName, e.Name())
		if !ok {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if fi, err := fsys.Stat(path); err == nil && sameInode(stat.Of(fi), id) {
			return h, path
		}
	}
	return holderInfo{}, ""
}

// readHolder returns what is recorded about the holder of lockPath in the
// lock file, or in git's ~pid.lock file.
func readHolder(fsys vfs.FS, lockPath string) holderInfo {
	for _, p := range []string{lockPath, pidPath(lockPath)} {
		f, err := fsys.OpenFile(p, os.O_RDONLY, 0)
		if err != nil {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(f, 256))
		f.Close()
		if h, ok := parseHolder(data); err == nil && ok {
			return h
		}
	}
	return holderInfo{}
}

// Locks describes the lock files of the stack: tables.list.lock and the
// locks of tables being compacted.
func (st *Stack) Locks() ([]LockInfo, error) {
	b, ok := st.b.(*dirBackend)
	if !ok {
		return nil, nil // object stores take no locks
	}
	files, err := b.ListFiles(context.Background())
	if err != nil {
		return nil, err
	}
	var out []LockInfo
	for _, f := range files {
		if !strings.HasSuffix(f.Name, ".lock") || strings.HasSuffix(f.Name, pidSuffix) {
			continue
		}
		info, err := inspectLock(b.fsys, b.path(f.Name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// BreakStaleLock removes the lock file at path (tables.list.lock or a
// table's lock in the stack directory) only if its holder is provably
// gone: the system restarted since the lock was created, or the holder ran
// on this host and its process no longer exists (or its id now belongs to
// a process that started at another time), and no open file holds the
// lock's advisory lock (a holder in another PID namespace would). It
// re-checks that the path still names the same lock file immediately
// before removing it. This assumes the lock was taken on this host: do
// not break locks of a stack shared between hosts unless you know the
// holder is gone.
func (st *Stack) BreakStaleLock(path string) error {
	b, ok := st.b.(*dirBackend)
	if !ok {
		return nil
	}
	return breakLock(b.fsys, path, false)
}

// errHeld reports a lock whose advisory lock another open file holds.
var errHeld = errors.New("lock held")

// breakLock removes the lock at path if its holder is provably gone (see
// BreakStaleLock). Breakers exclude each other with the lock file's
// advisory lock, taken without waiting: a holder's process holds it
// until it ends (see lockFile), and two breakers of one stale lock
// cannot both remove it, the second removing a lock taken meanwhile.
//
// A writer waiting for the lock breaks it (auto) only when the advisory
// lock can be taken and the holder was recorded by this package on this
// host; git's locks, judged by the process id alone, and file systems
// without advisory locks are left to BreakStaleLock (reftable unlock
// -stale).
func breakLock(fsys vfs.FS, path string, auto bool) error {
	f, err := fsys.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("break lock: %w", err)
	}
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	got, lerr := vfs.TryLock(f)
	switch {
	case lerr == nil && !got:
		if auto {
			return errHeld
		}
		info, err := judgeLock(fsys, path)
		if err != nil {
			return fmt.Errorf("break lock: %w", err)
		}
		info.Liveness = HolderAlive
		return &LockError{Path: path, Age: info.Age, Holder: info.holder(), Err: ErrLocked}
	case lerr != nil && auto:
		return lerr
	case lerr != nil:
		// Nothing excludes another breaker: the identity is checked
		// again right before removing. (Windows cannot remove an open
		// file.)
		f.Close()
		f = nil
	}
	info, err := judgeLock(fsys, path)
	if err != nil {
		return fmt.Errorf("break lock: %w", err)
	}
	if info.Liveness != HolderGone || auto && info.Host == "" {
		return &LockError{Path: path, Age: info.Age, Holder: info.holder(), Err: ErrLocked}
	}
	// The file locked, or without a lock the file the path names now.
	var fi fs.FileInfo
	if f != nil {
		fi, err = f.Stat()
	} else {
		fi, err = fsys.Stat(path)
	}
	if err != nil {
		return fmt.Errorf("break lock: %w", err)
	}
	if cur := stat.Of(fi); cur.Dev != info.id.Dev || cur.Ino != info.id.Ino || !cur.ModTime.Equal(info.id.ModTime) {
		return &LockError{Path: path, Err: ErrLockLost}
	}
	if err := fsys.Remove(path); err != nil {
		return fmt.Errorf("break lock: %w", err)
	}
	if info.holderAt != "" {
		fsys.Remove(info.holderAt)
	}
	fsys.Remove(pidPath(path)) // git's holder file, if any
	return nil
}

// holder describes the holder for messages.
func (i LockInfo) holder() string {
	if i.PID == 0 {
		if i.Liveness == HolderGone {
			return "a process before the last restart"
		}
		return ""
	}
	if i.Host != "" && sanitizeHost(i.Host) != fileHost() {
		return fmt.Sprintf("pid %d on %s (%v)", i.PID, i.Host, i.Liveness)
	}
	return fmt.Sprintf("pid %d (%v)", i.PID, i.Liveness)
}
