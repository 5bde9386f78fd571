//go:build unix

package vfs

import (
	"io/fs"
	"syscall"
)

// syncDir fsyncs the directory dir through a descriptor of its own
// (os.Open would also try to register it with the network poller and
// toggle its flags: four system calls more).
func syncDir(dir string) error {
	fd, err := retryEINTR(func() (int, error) {
		return syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	})
	if err != nil {
		return &fs.PathError{Op: "syncdir", Path: dir, Err: err}
	}
	_, err = retryEINTR(func() (int, error) { return 0, syscall.Fsync(fd) })
	if cerr := syscall.Close(fd); err == nil {
		err = cerr
	}
	if err != nil {
		return &fs.PathError{Op: "syncdir", Path: dir, Err: err}
	}
	return nil
}

// retryEINTR calls f until it fails with another error than EINTR.
func retryEINTR(f func() (int, error)) (int, error) {
	for {
		n, err := f()
		if err != syscall.EINTR {
			return n, err
		}
	}
}
