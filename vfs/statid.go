package vfs

import (
	"errors"
	"io/fs"
	"time"
)

// FileID is what a stat call reports about the identity of a file: its
// device and inode numbers (zero where the platform has none), size and
// modification time. Package stat converts it to a stat.Identity.
type FileID struct {
	Dev, Ino uint64
	Size     int64
	ModTime  time.Time
}

// IDStater is implemented by file systems that can stat a path into a
// FileID without allocating, which a reader checking tables.list for
// changes does at every reload. StatID follows symbolic links, as Stat
// does, and reports errors as Stat would; it returns an error matching
// errors.ErrUnsupported, having done nothing, when the file system (or one
// it wraps) cannot, and the caller then uses Stat.
//
// The FileID is returned by value: a pointer passed through an interface
// method would have to live on the heap.
type IDStater interface {
	StatID(name string) (FileID, error)
}

// StatID is IDStater.StatID on fsys, or errors.ErrUnsupported if fsys
// does not implement it.
func StatID(fsys FS, name string) (FileID, error) {
	if s, ok := fsys.(IDStater); ok {
		return s.StatID(name)
	}
	return FileID{}, errors.ErrUnsupported
}

// StatID stats name.
func (m *MemFS) StatID(name string) (FileID, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, base, err := m.split("stat", name)
	if err != nil {
		return FileID{}, err
	}
	n, ok := d.entries[base]
	if !ok {
		return FileID{}, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
	}
	return FileID{Dev: 1, Ino: n.ino, Size: int64(len(n.data)), ModTime: n.mtime}, nil
}

// StatID stats name through the wrapped file system, counted and failed
// like Stat (OpStat).
func (e *ErrorFS) StatID(name string) (FileID, error) {
	if _, ok := e.fs.(IDStater); !ok {
		return FileID{}, errors.ErrUnsupported
	}
	if _, fail, kind := e.step(Event{Op: OpStat, Path: name}); fail {
		return FileID{}, e.pathError(kind, "stat", name)
	}
	return StatID(e.fs, name)
}

// StatID stats name; it is not recorded.
func (l *LogFS) StatID(name string) (FileID, error) { return StatID(l.fs, name) }
