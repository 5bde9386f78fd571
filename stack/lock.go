package stack

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"time"

	"github.com/refstore/refstore/stat"
	"github.com/refstore/refstore/vfs"
)

// lockFile is an exclusive lock file. Its correctness does not depend on
// advisory locks: whoever made the file holds the lock, and the holder
// checks that the path still names the inode it made before trusting the
// lock.
//
// The lock is made with its holder recorded from the first instant, so
// that a holder killed at any point leaves a lock that BreakStaleLock can
// judge. The process creates a file of its own whose name says who it is
// (see holderName), then links it as the lock: link, like O_CREATE|O_EXCL,
// fails if the lock exists, and the lock then names a file whose other
// name records its holder. The holder file is not written; a commit
// writes the new list into the lock (the same file) and renames the lock
// over tables.list, as git does, then removes the holder name.
//
// Where the file system has no hard links or files no inode numbers
// (Windows, some network and FUSE file systems), the lock is created with
// O_CREATE|O_EXCL and the holder written into it until the commit replaces
// that record by the list.
//
// The holder also takes the file's advisory lock (flock) before the lock
// exists, and keeps it until it releases or publishes the lock. Nothing
// depends on it for mutual exclusion; it is what makes a stale lock safe
// to break without a human (see breakLock): a process that ends, however
// it ends, drops it, and while it is held the holder runs, whatever its
// record says.
type lockFile struct {
	fsys   vfs.FS
	path   string
	holder string   // the holder name linked to the lock; "" for a lock recording its holder inside
	f      vfs.File // open until the lock is published or released
	id     stat.Identity
	held   []*heldFile // registered for Cleanup.Remove: the lock, the holder name

	released bool
}

// closeFile closes the lock's descriptor; the lock itself stays.
func (l *lockFile) closeFile() {
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
}

// recordsInside reports whether the holder is recorded in the lock
// file's contents (the file systems without hard links), which a commit
// must replace by the list.
func (l *lockFile) recordsInside() bool { return l.holder == "" }

// acquireLock takes the lock at path, retrying with git's backoff (about
// n² ms, jittered ±25 %, at most 1 s a sleep) until timeout passes or ctx
// is done; timeout < 0 waits forever and NoWait tries once. A lock found
// stale (see breakLock) is removed, and taking it tried again at once.
func acquireLock(ctx context.Context, fsys vfs.FS, c *Cleanup, path string, perm fs.FileMode, timeout time.Duration) (*lockFile, error) {
	linking := true // until the file system shows it cannot link
	breaks := 0
	var h *holderFile
	defer func() {
		if h != nil {
			h.remove()
		}
	}()
	start := time.Now()
	for n := 1; ; n++ {
		var l *lockFile
		var err error
		if linking {
			if h == nil {
				if h, err = createHolder(fsys, c, path, perm); err != nil {
					return nil, err
				}
			}
			l, err = h.link()
			if errors.Is(err, errNoLinks) {
				h.remove()
				linking = false
			}
			if h.f == nil {
				h = nil // owned by the lock now, or gone
			}
		}
		if !linking {
			l, err = createLock(fsys, c, path, perm)
		}
		if err == nil {
			return l, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		if breaks < maxBreaks && breakLock(fsys, path, true) == nil {
			breaks++
			n--
			continue
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
		if err := pause(ctx, sleep); err != nil {
			le := lockError(fsys, path, ErrLocked).(*LockError)
			return nil, fmt.Errorf("%w (stopped waiting: %w)", le, err)
		}
	}
}

// maxBreaks bounds the stale locks one acquireLock removes: each was
// left by a process that ended while holding it.
const maxBreaks = 100

// errNoLinks reports a file system where a lock cannot be made by
// linking its holder file.
var errNoLinks = errors.New("no hard links or inode numbers")

// holderFile is the file a process links as a lock: created empty under a
// name that records the process (see holderName), open for the commit to
// write the list into.
type holderFile struct {
	fsys vfs.FS
	c    *Cleanup
	lock string // the lock's path
	path string
	f    vfs.File
	id   stat.Identity
	held *heldFile
}

// createHolder creates a holder file for the lock at lockPath.
func createHolder(fsys vfs.FS, c *Cleanup, lockPath string, perm fs.FileMode) (*holderFile, error) {
	for range 10 {
		path := holderName(lockPath)
		f, err := fsys.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, perm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		h := &holderFile{fsys: fsys, c: c, lock: lockPath, path: path, f: f, held: c.hold(fsys, path, stat.Identity{})}
		vfs.TryLock(f) // a new file: nobody else holds it; without advisory locks, stale locks wait for unlock -stale
		fi, err := f.Stat()
		if err != nil {
			h.remove()
			return nil, err
		}
		h.id = stat.Of(fi)
		return h, nil
	}
	return nil, fmt.Errorf("create %s: no unused holder file name", holderName(lockPath))
}

// link makes the holder file the lock. It fails with an error matching
// fs.ErrExist while another process holds the lock, and with errNoLinks
// where locks cannot be linked; the holder file is kept for another try
// unless it vanished (a cleanup removed it): then h.f is nil.
func (h *holderFile) link() (*lockFile, error) {
	if !h.id.HasInode() {
		return nil, errNoLinks
	}
	err := h.fsys.Link(h.path, h.lock)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrExist):
		// On NFS a retried LINK whose first attempt succeeded reports
		// that the name exists: the lock is ours if it names our file.
		fi, serr := h.fsys.Stat(h.lock)
		if serr == nil && !fi.Mode().IsRegular() {
			return nil, vfs.NotRegular("lock", h.lock, fi.Mode())
		}
		if serr != nil || !sameInode(stat.Of(fi), h.id) {
			return nil, err
		}
	case errors.Is(err, fs.ErrNotExist):
		h.remove() // removed by a cleanup: make another
		return nil, &fs.PathError{Op: "link", Path: h.lock, Err: fs.ErrExist}
	case errors.Is(err, errors.ErrUnsupported) || errors.Is(err, fs.ErrPermission):
		return nil, errNoLinks
	default:
		return nil, err
	}
	l := &lockFile{fsys: h.fsys, path: h.lock, holder: h.path, f: h.f, id: h.id}
	if err := l.check(); err != nil {
		if !errors.Is(err, ErrLockLost) {
			// We made the lock and cannot vouch for it: remove it
			// rather than leave a lock nobody holds. (If someone
			// replaced it, theirs stays.)
			removeRetry(h.fsys, h.lock)
		}
		h.remove()
		return nil, err
	}
	l.held = []*heldFile{h.c.hold(h.fsys, h.lock, h.id), h.held}
	h.f, h.held = nil, nil
	return l, nil
}

// remove closes and removes the holder file, when the lock does not own
// it.
func (h *holderFile) remove() {
	if h.f != nil {
		h.f.Close()
		h.f = nil
	}
	h.fsys.Remove(h.path)
	h.held.drop()
	h.held = nil
}

// createLock creates the lock at path with O_CREATE|O_EXCL and records
// the holder inside, where locks cannot be linked.
func createLock(fsys vfs.FS, c *Cleanup, path string, perm fs.FileMode) (*lockFile, error) {
	f, err := fsys.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR|os.O_APPEND, perm)
	if err != nil {
		return nil, err
	}
	vfs.TryLock(f) // see createHolder
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		removeRetry(fsys, path)
		return nil, err
	}
	l := &lockFile{fsys: fsys, path: path, f: f, id: stat.Of(fi)}
	if err := l.check(); err != nil {
		f.Close()
		if !errors.Is(err, ErrLockLost) {
			// We created the file and cannot vouch for it: remove it
			// rather than leave a lock nobody holds.
			removeRetry(fsys, path)
		}
		return nil, err
	}
	l.held = []*heldFile{c.hold(fsys, path, l.id)}
	writeHolder(f)
	return l, nil
}

// lockError describes the lock at path held by someone else.
func lockError(fsys vfs.FS, path string, err error) error {
	le := &LockError{Path: path, Err: err}
	if info, ierr := inspectLock(fsys, path); ierr == nil {
		le.Age, le.Holder = info.Age, info.holder()
	}
	return le
}

// sameInode reports whether a and b have the same device and inode
// number.
func sameInode(a, b stat.Identity) bool {
	return a.HasInode() && a.Dev == b.Dev && a.Ino == b.Ino
}

// check verifies that the path still names the file this lock made.
func (l *lockFile) check() error {
	cur, err := l.fsys.Stat(l.path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return &LockError{Path: l.path, Err: ErrLockLost}
		}
		return err
	}
	if id := stat.Of(cur); id.HasInode() && !sameInode(id, l.id) {
		return &LockError{Path: l.path, Err: ErrLockLost}
	}
	return nil
}

// release closes the lock file and removes it if the path still names it,
// then removes its holder name.
func (l *lockFile) release() error {
	if l.released {
		return nil
	}
	l.released = true
	defer l.dropHeld()
	l.closeFile()
	var err error
	if cerr := l.check(); !errors.Is(cerr, ErrLockLost) {
		// The path names our file, or checking failed; as far as we
		// know we still hold the lock, so remove it.
		err = removeRetry(l.fsys, l.path)
	}
	if l.holder != "" {
		l.fsys.Remove(l.holder) // once the lock is gone, only a name
	}
	return err
}

// published ends a lock renamed over the file it guards: only the holder
// name is left to remove.
func (l *lockFile) published() {
	l.released = true
	if l.holder != "" {
		l.fsys.Remove(l.holder)
	}
	l.dropHeld()
}

// dropHeld unregisters the lock's files from their Cleanup.
func (l *lockFile) dropHeld() {
	for _, h := range l.held {
		h.drop()
	}
	l.held = nil
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
