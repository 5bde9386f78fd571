// Package vfs is the small file-system interface through which the stack
// touches the disk, so that tests can inject faults, simulate crashes and
// trace the order of durable operations.
//
// Every method reports errors as *fs.PathError (or *os.LinkError for
// Rename) naming the operation and the path, as package os does.
package vfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// FS is a file system. Implementations must be safe for concurrent use.
type FS interface {
	// OpenFile opens name with the os.O_* flags given. Opening an
	// existing file that is not a regular file (a FIFO, a device, a
	// directory) fails with an error matching ErrNotRegular, without
	// blocking. With
	// O_CREATE|O_EXCL it fails with an error matching fs.ErrExist when
	// name exists, atomically with respect to other creators: this is the
	// lock primitive. perm is used when the file is created (before the
	// umask, as with os.OpenFile).
	OpenFile(name string, flag int, perm fs.FileMode) (File, error)

	// Rename atomically replaces newname by oldname. After a crash either
	// the old or the new binding of newname exists, once SyncDir of the
	// directory has returned the new one does.
	Rename(oldname, newname string) error

	// Link makes newname a second name of the file oldname. It fails
	// with an error matching fs.ErrExist when newname exists, atomically
	// with respect to other creators, like exclusive creation: but the
	// file's contents are in place before newname appears. File systems
	// without hard links fail with an error matching
	// errors.ErrUnsupported or fs.ErrPermission.
	Link(oldname, newname string) error

	// Remove removes the file name. Removing a file that is open elsewhere
	// may fail on some platforms (Windows); callers treat that as "later".
	Remove(name string) error

	// ReadDir lists the directory dir, sorted by name.
	ReadDir(dir string) ([]fs.DirEntry, error)

	// Stat returns information about name, following symbolic links. The
	// Sys value of the result carries the file's identity where the
	// platform has one (see package stat).
	Stat(name string) (fs.FileInfo, error)

	// SyncDir makes the directory entries of dir durable: files created,
	// renamed or removed in it survive a crash once SyncDir returns.
	SyncDir(dir string) error
}

// File is an open file.
type File interface {
	io.Reader
	io.ReaderAt
	io.Writer
	io.Closer
	// Sync makes the file's contents durable.
	Sync() error
	// Truncate changes the size of the file; writes to a file opened
	// with O_APPEND then continue at the new end.
	Truncate(size int64) error
	// Stat returns information about the open file (fstat): its identity
	// is that of the open file, whatever the path names now.
	Stat() (fs.FileInfo, error)
	// Name returns the path the file was opened with.
	Name() string
}

// ErrNotRegular reports a path that names something else than a regular
// file, which FS.OpenFile refuses rather than block on or read.
var ErrNotRegular = errors.New("not a regular file")

// checkRegular fails with ErrNotRegular when f is not a regular file.
func checkRegular(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return NotRegular("open", f.Name(), fi.Mode())
	}
	return nil
}

// NotRegular returns the error of operation op on path, which is not a
// regular file but of the given mode: an *fs.PathError matching
// ErrNotRegular that says what it is.
func NotRegular(op, path string, mode fs.FileMode) error {
	what := "a special file"
	switch {
	case mode&fs.ModeNamedPipe != 0:
		what = "a named pipe (FIFO)"
	case mode&fs.ModeSocket != 0:
		what = "a socket"
	case mode&fs.ModeDevice != 0:
		what = "a device"
	case mode.IsDir():
		what = "a directory"
	case mode&fs.ModeSymlink != 0:
		what = "a symbolic link"
	}
	return &fs.PathError{Op: op, Path: path, Err: fmt.Errorf("%s, %w", what, ErrNotRegular)}
}

// OS is the operating system's file system, through package os. Its
// files are *os.File.
var OS FS = osFS{}

// ReadFile returns the contents of the file name of fsys.
func ReadFile(fsys FS, name string) ([]byte, error) {
	f, err := fsys.OpenFile(name, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

type osFS struct{}

func (osFS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	// Opening a FIFO would block until someone opens its other end:
	// open without waiting, then refuse what is not a regular file. A
	// file created exclusively is a new regular file.
	f, err := os.OpenFile(name, flag|nonblock, perm)
	if err != nil {
		return nil, err
	}
	if flag&(os.O_CREATE|os.O_EXCL) != os.O_CREATE|os.O_EXCL {
		if err := checkRegular(f); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

func (osFS) Rename(oldname, newname string) error { return os.Rename(oldname, newname) }

func (osFS) Link(oldname, newname string) error { return os.Link(oldname, newname) }

func (osFS) Remove(name string) error { return os.Remove(name) }

func (osFS) ReadDir(dir string) ([]fs.DirEntry, error) { return os.ReadDir(dir) }

func (osFS) Stat(name string) (fs.FileInfo, error) { return os.Stat(name) }

func (osFS) SyncDir(dir string) error { return syncDir(dir) }
