package stack

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/refstore/refstore/internal/proc"
	"github.com/refstore/refstore/stat"
	"github.com/refstore/refstore/vfs"
)

// The holder of tables.list.lock writes who it is into the lock file
// itself until it writes the new list there at the commit point:
//
//	pid 12345
//	host build-7
//	start 1700000000
//
// (start is when the process started, in Unix seconds, to tell a reused
// process id). git leaves its lock files empty and, with
// core.lockfilePid, records "pid <n>" in tables.list~pid.lock; both are
// read.
const pidSuffix = "~pid.lock"

// pidPath returns git's holder file of the lock file lockPath.
func pidPath(lockPath string) string {
	return strings.TrimSuffix(lockPath, ".lock") + pidSuffix
}

// holderInfo is what a lock file says about its holder.
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
	h := readHolder(fsys, lockPath)
	info.PID, info.Host = h.pid, h.host
	if h.host != "" && h.host != hostname() {
		info.Liveness = HolderUnknown // another host's processes cannot be checked
	} else {
		info.Liveness = processLiveness(h.pid, h.start, fi.ModTime())
	}
	return info, nil
}

// readHolder returns what is recorded about the holder of lockPath: in
// the lock file, or in git's ~pid.lock file.
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
// gone: the system restarted since the lock was created, or the holder ran
// on this host and its process no longer exists (or its id now belongs to
// a process that started at another time). It re-checks that the path still names
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
	b.fsys.Remove(pidPath(path)) // git's holder file, if any
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
	if i.Host != "" && i.Host != hostname() {
		return fmt.Sprintf("pid %d on %s (%v)", i.PID, i.Host, i.Liveness)
	}
	return fmt.Sprintf("pid %d (%v)", i.PID, i.Liveness)
}
