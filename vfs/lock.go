package vfs

import (
	"errors"
	"fmt"
	"os"
)

// TryLock takes the operating system's advisory exclusive lock (flock)
// on the open file f, without waiting. It reports false when another
// open file holds it (another process's, or another open of the same
// file in this one), and an error matching errors.ErrUnsupported where
// the platform or the file system has no such lock. The lock belongs to
// f: closing f, or the end of its process however it ends, releases it.
//
// The lock is a witness, not a guarantee: some network file systems
// grant it to every caller. Nothing may depend on it alone.
//
// Files of FS implementations other than OS, and wrappers of them, take
// part by implementing TryLock() (bool, error).
func TryLock(f File) (bool, error) {
	switch f := f.(type) {
	case *os.File:
		return tryLock(f)
	case interface{ TryLock() (bool, error) }:
		return f.TryLock()
	}
	return false, fmt.Errorf("lock %s: %w", f.Name(), errors.ErrUnsupported)
}

// Unlock lets go of the advisory lock f holds (see TryLock), keeping f
// open. It fails with an error matching errors.ErrUnsupported where
// TryLock would.
func Unlock(f File) error {
	switch f := f.(type) {
	case *os.File:
		return unlock(f)
	case interface{ Unlock() error }:
		return f.Unlock()
	}
	return fmt.Errorf("unlock %s: %w", f.Name(), errors.ErrUnsupported)
}
