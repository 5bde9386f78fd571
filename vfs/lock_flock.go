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
	rc, err := f.SyscallConn()
	if err != nil {
		return false, err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		for {
			if ferr = syscall.Flock(int(fd), syscall.LOCK_EX|syscall.LOCK_NB); ferr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return false, err
	}
	switch {
	case ferr == nil:
		return true, nil
	case errors.Is(ferr, syscall.EWOULDBLOCK):
		return false, nil
	case errors.Is(ferr, syscall.ENOSYS), errors.Is(ferr, syscall.EOPNOTSUPP), errors.Is(ferr, syscall.ENOLCK), errors.Is(ferr, syscall.EINVAL):
		// No locks on this file system (or, for NFS, no lock daemon).
		return false, &fs.PathError{Op: "flock", Path: f.Name(), Err: fmt.Errorf("%w: %w", errors.ErrUnsupported, ferr)}
	}
	return false, &fs.PathError{Op: "flock", Path: f.Name(), Err: ferr}
}

// unlock takes flock(LOCK_UN) on f.
func unlock(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		for {
			if ferr = syscall.Flock(int(fd), syscall.LOCK_UN); ferr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	if ferr != nil {
		return &fs.PathError{Op: "flock", Path: f.Name(), Err: ferr}
	}
	return nil
}
