package stack

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/refstore/refstore/stat"
	"github.com/refstore/refstore/vfs"
)

// The holder of tables.list.lock records its process id in
// tables.list~pid.lock, in the format git uses with core.lockfilePid
// ("pid <n>\n"), so that git and this package can both say who holds a
// lock.
const pidSuffix = "~pid.lock"

// pidPath returns the holder file of the lock file lockPath.
func pidPath(lockPath string) string {
	return strings.TrimSuffix(lockPath, ".lock") + pidSuffix
}

// writeHolder records this process as the holder of lockPath. It is
// informational: failures are ignored.
func writeHolder(fsys vfs.FS, lockPath string, perm fs.FileMode) {
	f, err := fsys.OpenFile(pidPath(lockPath), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, perm)
	if err != nil {
		return
	}
	fmt.Fprintf(f, "pid %d\n", os.Getpid())
	f.Close()
}

// removeHolder removes the holder file of lockPath; call it while the
// lock is still held, so that it never removes a later holder's file.
func removeHolder(fsys vfs.FS, lockPath string) {
	fsys.Remove(pidPath(lockPath))
}

// Liveness says whether a lock's holder is still running.
type Liveness int

// The liveness of a lock holder.
const (
	HolderUnknown Liveness = iota // no holder recorded, or it cannot be checked here
	HolderAlive                   // a process with the recorded id runs and may hold the lock
	HolderGone                    // provably gone: no such process, or one started after the lock
)

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
	PID      int // 0 if not recorded
	Liveness Liveness
	id       stat.Identity
}

// inspectLock describes the lock at lockPath.
func inspectLock(fsys vfs.FS, lockPath string) (LockInfo, error) {
	info := LockInfo{Path: lockPath}
	fi, err := fsys.Stat(lockPath)
	if err != nil {
		return info, err
	}
	info.id = stat.Of(fi)
	info.Age = time.Since(fi.ModTime())
	info.PID = readHolder(fsys, lockPath)
	info.Liveness = processLiveness(info.PID, fi.ModTime())
	return info, nil
}

// readHolder returns the process id recorded for lockPath, or 0.
func readHolder(fsys vfs.FS, lockPath string) int {
	f, err := fsys.OpenFile(pidPath(lockPath), os.O_RDONLY, 0)
	if err != nil {
		return 0
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 64))
	if err != nil {
		return 0
	}
	v, ok := strings.CutPrefix(strings.TrimSpace(string(data)), "pid ")
	if !ok {
		return 0
	}
	pid, err := strconv.Atoi(v)
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// Locks describes the lock files of the stack: tables.list.lock and the
// locks of tables being compacted.
func (st *Stack) Locks() ([]LockInfo, error) {
	b, ok := st.b.(*dirBackend)
	if !ok {
		return nil, nil // object stores take no locks
	}
	files, err := b.ListFiles()
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
// gone: the system restarted since the lock was created, or the recorded
// process does not exist or started after the lock (its id was reused). It re-checks that the path still names
// the same lock file immediately before removing it. This assumes the
// lock was taken on this host: do not break locks of a stack shared
// between hosts unless you know the holder is gone.
func (st *Stack) BreakStaleLock(path string) error {
	b, ok := st.b.(*dirBackend)
	if !ok {
		return nil
	}
	info, err := inspectLock(b.fsys, path)
	if err != nil {
		return fmt.Errorf("break lock: %w", err)
	}
	if info.Liveness != HolderGone {
		return &LockError{Path: path, Age: info.Age, Holder: info.holder(), Err: ErrLocked}
	}
	fi, err := b.fsys.Stat(path)
	if err != nil {
		return fmt.Errorf("break lock: %w", err)
	}
	if id := stat.Of(fi); id.Dev != info.id.Dev || id.Ino != info.id.Ino || !id.ModTime.Equal(info.id.ModTime) {
		return &LockError{Path: path, Err: ErrLockLost}
	}
	if err := b.fsys.Remove(path); err != nil {
		return fmt.Errorf("break lock: %w", err)
	}
	removeHolder(b.fsys, path)
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
	return fmt.Sprintf("pid %d (%v)", i.PID, i.Liveness)
}
