package stack

import (
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"time"

	"github.com/refstore/refstore/stat"
	"github.com/refstore/refstore/vfs"
)

// lockFile is an exclusive lock file created with O_CREATE|O_EXCL. Its
// correctness does not depend on advisory locks: whoever created the file
// holds the lock, and the holder checks that the path still names the
// inode it created before trusting the lock.
type lockFile struct {
	fsys vfs.FS
	path string
	f    vfs.File // open until the lock is published or released
	id   stat.Identity
	held *heldFile // registered for RemoveHeldFiles

	released bool
}

// closeFile closes the lock's descriptor; the lock itself stays.
func (l *lockFile) closeFile() {
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
}

// acquireLock creates path exclusively, retrying with git's backoff (about
// n² ms, jittered ±25 %, at most 1 s a sleep) until timeout passes;
// timeout < 0 waits forever and NoWait tries once.
func acquireLock(fsys vfs.FS, path string, perm fs.FileMode, timeout time.Duration) (*lockFile, error) {
	callBeforeHold()
	start := time.Now()
	for n := 1; ; n++ {
		f, err := fsys.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR|os.O_APPEND, perm)
		if err == nil {
			l := &lockFile{fsys: fsys, path: path, f: f}
			if err := l.check(true); err != nil {
				f.Close()
				if !errors.Is(err, ErrLockLost) {
					// We created the file and cannot vouch for it: remove it
					// rather than leave a lock nobody holds.
					removeRetry(fsys, path)
				}
				return nil, err
			}
			l.held = hold(fsys, path, l.id)
			return l, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		remaining := timeout - time.Since(start)
		if timeout >= 0 && (timeout <= NoWait || remaining <= 0) {
			return nil, lockError(fsys, path, ErrLocked)
		}
		sleep := time.Duration(min(n*n, 1000)) * time.Millisecond
		sleep = sleep * time.Duration(750+rand.IntN(500)) / 1000
		if timeout >= 0 {
			sleep = min(sleep, remaining)
		}
		time.Sleep(sleep)
	}
}

// lockError describes the lock at path held by someone else.
func lockError(fsys vfs.FS, path string, err error) error {
	le := &LockError{Path: path, Err: err}
	if info, ierr := inspectLock(fsys, path); ierr == nil {
		le.Age, le.Holder = info.Age, info.holder()
	}
	return le
}

// check verifies that the path still names the file this lock created. On
// first use it records the identity of the open file.
func (l *lockFile) check(first bool) error {
	if first {
		fi, err := l.f.Stat()
		if err != nil {
			return err
		}
		l.id = stat.Of(fi)
	}
	cur, err := l.fsys.Stat(l.path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return &LockError{Path: l.path, Err: ErrLockLost}
		}
		return err
	}
	if id := stat.Of(cur); id.HasInode() && (id.Dev != l.id.Dev || id.Ino != l.id.Ino) {
		return &LockError{Path: l.path, Err: ErrLockLost}
	}
	return nil
}

// release closes the lock file and removes it if the path still names it.
func (l *lockFile) release() error {
	if l.released {
		return nil
	}
	l.released = true
	defer l.held.drop()
	l.closeFile()
	if err := l.check(false); errors.Is(err, ErrLockLost) {
		return nil // gone, or not ours any more: leave it alone
	}
	// The path names our file, or checking failed; as far as we know we
	// still hold the lock, so remove it.
	return removeRetry(l.fsys, l.path)
}

// removeRetry removes path, trying a second time if the first attempt
// fails: a lock left behind blocks every writer.
func removeRetry(fsys vfs.FS, path string) error {
	err := fsys.Remove(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		err = fsys.Remove(path)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
