//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package vfs

import (
	"errors"
	"io/fs"
	"os"
)

// tryLock: this platform's files have no lock TryLock takes.
func tryLock(f *os.File) (bool, error) {
	return false, &fs.PathError{Op: "flock", Path: f.Name(), Err: errors.ErrUnsupported}
}

// unlock: see tryLock.
func unlock(f *os.File) error {
	return &fs.PathError{Op: "flock", Path: f.Name(), Err: errors.ErrUnsupported}
}
