//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package vfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// tryLock takes flock(LOCK_EX|LOCK_NB) on f.
func tryLock(f *os.File) (bool, error) {
	ferr, err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB)
	switch {
	case err != nil:
		return false, err
	case ferr == nil:
		return true, nil
	case errors.Is(ferr, syscall.EWOULDBLOCK):
		return false, nil
	case errors.Is(ferr, syscall.ENOSYS), errors.Is(ferr, syscall.EOPNOTSUPP), errors.Is(ferr, syscall.ENOLCK), errors.Is(ferr, syscall.EINVAL):
		// No locks on this file system (or, for NFS, no lock daemon).
		ferr = fmt.Errorf("%w: %w", errors.ErrUnsupported, ferr)
	}
	return false, &fs.PathError{Op: "flock", Path: f.Name(), Err: ferr}
}

// unlock takes flock(LOCK_UN) on f.
func unlock(f *os.File) error {
	ferr, err := flock(f, syscall.LOCK_UN)
	if err == nil && ferr != nil {
		err = &fs.PathError{Op: "flock", Path: f.Name(), Err: ferr}
	}
	return err
}

// flock calls flock(2) on f's descriptor with how, again when a signal
// interrupts it, and returns its error as ferr; err reports a file
// without a descriptor.
func flock(f *os.File, how int) (ferr, err error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, &fs.PathError{Op: "flock", Path: f.Name(), Err: err}
	}
	if err := rc.Control(func(fd uintptr) {
		for {
			if ferr = syscall.Flock(int(fd), how); ferr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return nil, &fs.PathError{Op: "flock", Path: f.Name(), Err: err}
	}
	return ferr, nil
}
