package vfs

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/refstore/refstore/stat"
)

// MemFS is an in-memory file system for tests. The Sys value of the
// fs.FileInfo it returns is a *stat.Identity: device 1 and the file's
// inode number. It models what the stack's correctness depends on:
//
//   - Inode numbers are recycled: a file's number is freed once it has no
//     directory entry and no open handle, and the next file created takes
//     the lowest free number.
//   - Crashes: Crash returns the file system as a power loss would leave
//     it. Only file contents written before the file's last Sync, and
//     directory entries present at the directory's last SyncDir, survive.
//
// Paths are slash-separated; directories are created with MkdirAll. A
// MemFS is safe for concurrent use.
type MemFS struct {
	mu      sync.Mutex
	dirs    map[string]*memDir
	nextIno uint64
	free    []uint64 // freed inode numbers, sorted
	now     func() time.Time
}

type memDir struct {
	entries map[string]*memNode // current
	durable map[string]*memNode // as of the last SyncDir
}

type memNode struct {
	ino    uint64
	data   []byte
	synced []byte
	links  int
	opens  int
	mtime  time.Time
}

// NewMem returns an empty in-memory file system with the root directory.
func NewMem() *MemFS {
	m := &MemFS{dirs: map[string]*memDir{}, nextIno: 1, now: time.Now}
	m.dirs["/"] = &memDir{entries: map[string]*memNode{}, durable: map[string]*memNode{}}
	return m
}

func clean(name string) string { return path.Clean("/" + strings.ReplaceAll(name, "\\", "/")) }

func (m *MemFS) split(op, name string) (*memDir, string, error) {
	p := clean(name)
	d, ok := m.dirs[path.Dir(p)]
	if !ok {
		return nil, "", &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	return d, path.Base(p), nil
}

// MkdirAll creates dir and its parents; directories are durable at once.
func (m *MemFS) MkdirAll(dir string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for p := clean(dir); ; p = path.Dir(p) {
		if _, ok := m.dirs[p]; !ok {
			m.dirs[p] = &memDir{entries: map[string]*memNode{}, durable: map[string]*memNode{}}
		}
		if p == "/" {
			return
		}
	}
}

func (m *MemFS) newNode() *memNode {
	n := &memNode{mtime: m.now()}
	if len(m.free) > 0 {
		n.ino, m.free = m.free[0], m.free[1:]
	} else {
		n.ino = m.nextIno
		m.nextIno++
	}
	return n
}

// release frees n's inode number when nothing refers to it any more.
func (m *MemFS) release(n *memNode) {
	if n.links > 0 || n.opens > 0 || n.ino == 0 {
		return
	}
	i, _ := slices.BinarySearch(m.free, n.ino)
	m.free = slices.Insert(m.free, i, n.ino)
	n.ino = 0
}

func (m *MemFS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, base, err := m.split("open", name)
	if err != nil {
		return nil, err
	}
	n, ok := d.entries[base]
	switch {
	case ok && flag&(os.O_CREATE|os.O_EXCL) == os.O_CREATE|os.O_EXCL:
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrExist}
	case !ok && flag&os.O_CREATE == 0:
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	case !ok:
		n = m.newNode()
		n.links = 1
		d.entries[base] = n
	}
	if flag&os.O_TRUNC != 0 {
		n.data = nil
	}
	n.opens++
	f := &memFile{fs: m, node: n, name: name, flag: flag}
	if flag&os.O_APPEND != 0 {
		f.pos = int64(len(n.data))
	}
	return f, nil
}

func (m *MemFS) Rename(oldname, newname string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	od, obase, err := m.split("rename", oldname)
	if err != nil {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: fs.ErrNotExist}
	}
	nd, nbase, err := m.split("rename", newname)
	if err != nil {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: fs.ErrNotExist}
	}
	n, ok := od.entries[obase]
	if !ok {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: fs.ErrNotExist}
	}
	if old, ok := nd.entries[nbase]; ok && old != n {
		old.links--
		m.release(old)
	}
	delete(od.entries, obase)
	nd.entries[nbase] = n
	return nil
}

func (m *MemFS) Link(oldname, newname string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	fail := func(err error) error { return &os.LinkError{Op: "link", Old: oldname, New: newname, Err: err} }
	od, obase, err := m.split("link", oldname)
	if err != nil {
		return fail(fs.ErrNotExist)
	}
	nd, nbase, err := m.split("link", newname)
	if err != nil {
		return fail(fs.ErrNotExist)
	}
	n, ok := od.entries[obase]
	if !ok {
		return fail(fs.ErrNotExist)
	}
	if _, ok := nd.entries[nbase]; ok {
		return fail(fs.ErrExist)
	}
	n.links++
	nd.entries[nbase] = n
	return nil
}

func (m *MemFS) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, base, err := m.split("remove", name)
	if err != nil {
		return err
	}
	n, ok := d.entries[base]
	if !ok {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	}
	delete(d.entries, base)
	n.links--
	m.release(n)
	return nil
}

func (m *MemFS) ReadDir(dir string) ([]fs.DirEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.dirs[clean(dir)]
	if !ok {
		return nil, &fs.PathError{Op: "readdir", Path: dir, Err: fs.ErrNotExist}
	}
	var out []fs.DirEntry
	for name, n := range d.entries {
		out = append(out, fs.FileInfoToDirEntry(n.info(name)))
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

func (m *MemFS) Stat(name string) (fs.FileInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, base, err := m.split("stat", name)
	if err != nil {
		return nil, err
	}
	n, ok := d.entries[base]
	if !ok {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
	}
	return n.info(base), nil
}

func (m *MemFS) SyncDir(dir string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.dirs[clean(dir)]
	if !ok {
		return &fs.PathError{Op: "syncdir", Path: dir, Err: fs.ErrNotExist}
	}
	d.durable = make(map[string]*memNode, len(d.entries))
	for name, n := range d.entries {
		d.durable[name] = n
	}
	return nil
}

// Crash returns the file system a power loss at this moment would leave:
// the directory entries of each directory's last SyncDir, each file with
// the contents of its last Sync. Open files are not carried over.
func (m *MemFS) Crash() *MemFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := NewMem()
	copied := map[*memNode]*memNode{}
	for p, d := range m.dirs {
		cd := &memDir{entries: map[string]*memNode{}, durable: map[string]*memNode{}}
		c.dirs[p] = cd
		for name, n := range d.durable {
			cn, ok := copied[n]
			if !ok {
				cn = c.newNode()
				cn.data = bytes.Clone(n.synced)
				cn.synced = bytes.Clone(n.synced)
				cn.mtime = n.mtime
				copied[n] = cn
			}
			cn.links++
			cd.entries[name] = cn
			cd.durable[name] = cn
		}
	}
	return c
}

func (n *memNode) info(name string) fs.FileInfo {
	return memInfo{name: name, size: int64(len(n.data)), mtime: n.mtime, sys: n.identity()}
}

// identity returns the identity of n.
func (n *memNode) identity() *stat.Identity {
	return &stat.Identity{Dev: 1, Ino: n.ino, Size: int64(len(n.data)), ModTime: n.mtime}
}

type memInfo struct {
	name  string
	size  int64
	mtime time.Time
	sys   *stat.Identity
}

func (i memInfo) Name() string       { return i.name }
func (i memInfo) Size() int64        { return i.size }
func (i memInfo) Mode() fs.FileMode  { return 0o644 }
func (i memInfo) ModTime() time.Time { return i.mtime }
func (i memInfo) IsDir() bool        { return false }
func (i memInfo) Sys() any           { return i.sys }

type memFile struct {
	fs     *MemFS
	node   *memNode
	name   string
	flag   int
	pos    int64
	closed bool
}

func (f *memFile) check(op string, write bool) error {
	if f.closed {
		return &fs.PathError{Op: op, Path: f.name, Err: fs.ErrClosed}
	}
	if write && f.flag&(os.O_WRONLY|os.O_RDWR) == 0 {
		return &fs.PathError{Op: op, Path: f.name, Err: fs.ErrPermission}
	}
	return nil
}

func (f *memFile) Read(p []byte) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("read", false); err != nil {
		return 0, err
	}
	if f.pos >= int64(len(f.node.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.node.data[f.pos:])
	f.pos += int64(n)
	return n, nil
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("read", false); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, &fs.PathError{Op: "readat", Path: f.name, Err: errors.New("negative offset")}
	}
	if off >= int64(len(f.node.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.node.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Write(p []byte) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("write", true); err != nil {
		return 0, err
	}
	n := f.node
	if f.flag&os.O_APPEND != 0 {
		f.pos = int64(len(n.data)) // every write appends, as with O_APPEND
	}
	if end := f.pos + int64(len(p)); end > int64(len(n.data)) {
		n.data = append(n.data, make([]byte, end-int64(len(n.data)))...)
	}
	copy(n.data[f.pos:], p)
	f.pos += int64(len(p))
	n.mtime = f.fs.now()
	return len(p), nil
}

func (f *memFile) Truncate(size int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("truncate", true); err != nil {
		return err
	}
	if size < 0 {
		return &fs.PathError{Op: "truncate", Path: f.name, Err: fs.ErrInvalid}
	}
	n := f.node
	if size <= int64(len(n.data)) {
		n.data = n.data[:size]
	} else {
		n.data = append(n.data, make([]byte, size-int64(len(n.data)))...)
	}
	n.mtime = f.fs.now()
	return nil
}

func (f *memFile) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("sync", false); err != nil {
		return err
	}
	f.node.synced = bytes.Clone(f.node.data)
	return nil
}

func (f *memFile) Stat() (fs.FileInfo, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("stat", false); err != nil {
		return nil, err
	}
	return f.node.info(path.Base(clean(f.name))), nil
}

func (f *memFile) Name() string { return f.name }

func (f *memFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("close", false); err != nil {
		return err
	}
	f.closed = true
	f.node.opens--
	f.fs.release(f.node)
	return nil
}
