package vfs

import (
	"errors"
	"io/fs"

	"github.com/refstore/refstore/stat"
)

// IDStater is implemented by file systems that can stat a path into a
// stat.Identity without allocating, which a reader checking tables.list for
// changes does at every reload. StatID follows symbolic links, as Stat
// does, and reports errors as Stat would; it returns an error matching
// errors.ErrUnsupported, having done nothing, when the file system (or one
// it wraps) cannot, and the caller then uses Stat.
//
// The identity is returned by value: a pointer passed through an interface
// method would have to live on the heap.
type IDStater interface {
	StatID(name string) (stat.Identity, error)
}

// StatID is IDStater.StatID on fsys, or errors.ErrUnsupported if fsys
// does not implement it.
func StatID(fsys FS, name string) (stat.Identity, error) {
	if s, ok := fsys.(IDStater); ok {
		return s.StatID(name)
	}
	return stat.Identity{}, errors.ErrUnsupported
}

// StatID stats name.
func (m *MemFS) StatID(name string) (stat.Identity, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, base, err := m.split("stat", name)
	if err != nil {
		return stat.Identity{}, err
	}
	n, ok := d.entries[base]
	if !ok {
		return stat.Identity{}, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
	}
	return *n.identity(), nil
}

// StatID stats name through the wrapped file system, counted and failed
// like Stat (OpStat).
func (e *ErrorFS) StatID(name string) (stat.Identity, error) {
	if _, ok := e.fs.(IDStater); !ok {
		return stat.Identity{}, errors.ErrUnsupported
	}
	if _, fail, kind := e.step(Event{Op: OpStat, Path: name}); fail {
		return stat.Identity{}, e.pathError(kind, "stat", name)
	}
	return StatID(e.fs, name)
}

// StatID stats name; it is not recorded.
func (l *LogFS) StatID(name string) (stat.Identity, error) { return StatID(l.fs, name) }
