//go:build unix

package vfs

import (
	"io/fs"
	"os"
	"syscall"
)

// openFile opens name with open(2) and wraps the descriptor with
// os.NewFile: os.OpenFile also tries to register every file with the
// network poller and toggles its flags, several system calls a file that
// regular files (all the stack opens) never benefit from.
func openFile(name string, flag int, perm fs.FileMode) (File, error) {
	mode := uint32(perm.Perm())
	if perm&fs.ModeSetuid != 0 {
		mode |= syscall.S_ISUID
	}
	if perm&fs.ModeSetgid != 0 {
		mode |= syscall.S_ISGID
	}
	if perm&fs.ModeSticky != 0 {
		mode |= syscall.S_ISVTX
	}
	creates := flag&(os.O_CREATE|os.O_EXCL) == os.O_CREATE|os.O_EXCL
	if !creates {
		// Opening a FIFO would block until someone opens its other
		// end: open without waiting, then refuse what is not a
		// regular file.
		flag |= syscall.O_NONBLOCK
	}
	fd, err := retryEINTR(func() (int, error) { return syscall.Open(name, flag|syscall.O_CLOEXEC, mode) })
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	f := os.NewFile(uintptr(fd), name)
	if !creates {
		if err := checkRegular(f); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

// rename is rename(2). os.Rename first looks newname up (lstat) to refuse
// replacing a directory by a file, which rename(2) refuses by itself
// (EISDIR); the stack renames files only, one system call each.
func rename(oldname, newname string) error {
	if _, err := retryEINTR(func() (int, error) { return 0, syscall.Rename(oldname, newname) }); err != nil {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err}
	}
	return nil
}
