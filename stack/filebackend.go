package stack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/refstore/refstore/stack/storage"
	"github.com/refstore/refstore/stat"
	"github.com/refstore/refstore/vfs"
)

// dirBackend is git's protocol on a directory: tables.list names the
// tables, tables.list.lock serializes writers, <table>.lock marks tables
// being compacted. Calls on a file system take no context: of its
// methods, only Begin, which may wait for the lock, watches ctx.
type dirBackend struct {
	dir   string
	fsys  vfs.FS
	clean *Cleanup // of the lock and temporary files, or nil
	perm  fs.FileMode
	chmod func(fs.FileMode) fs.FileMode // Options.Chmod
	sync  bool
	// mu guards the list cache and the two fields after it: the
	// goroutines of one Stack commit (Begin, Publish) and reload
	// (ReadList, ListChanged) at once.
	mu    sync.Mutex
	cache *listCache
	names []string // the list the cache holds, as ReadList returned it
	// adopted is set when Publish handed the list it wrote to the cache:
	// the stack has not loaded it yet, and ReadList need not read it.
	adopted bool
	// renamed is set when CreateTable renamed a table into the directory
	// and the directory was not synced since: Publish syncs it before it
	// lists the table. A commit that merges its table before publishing
	// it so syncs once for both.
	renamed atomic.Bool
}

func newDirBackend(dir string, o Options) *dirBackend {
	content := o.ContentCompare
	if !content && o.FS == vfs.OS {
		if netfs, _, err := stat.NetworkFS(dir); err == nil && netfs {
			content = true
		}
	}
	return &dirBackend{
		dir:   dir,
		fsys:  o.FS,
		clean: o.Cleanup,
		perm:  o.Perm,
		chmod: o.Chmod,
		sync:  !o.NoSync,
		cache: newListCache(o.FS, filepath.Join(dir, "tables.list"), content),
	}
}

func (b *dirBackend) path(name string) string { return filepath.Join(b.dir, name) }

// setMode gives f, a table or list the stack writes, the mode b.chmod
// asks for the one it was created with.
func (b *dirBackend) setMode(f vfs.File) error {
	if b.chmod == nil {
		return nil
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	want := b.chmod(fi.Mode().Perm())
	c, ok := f.(interface{ Chmod(fs.FileMode) error })
	if want == fi.Mode().Perm() || !ok {
		return nil
	}
	return c.Chmod(want)
}

func (b *dirBackend) ReadList(context.Context) ([]string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.adopted {
		b.adopted = false
		if changed, err := b.cache.Changed(); err == nil && !changed {
			return slices.Clone(b.names), nil
		}
	}
	data, _, err := b.cache.Load()
	if err != nil {
		return nil, err
	}
	names, err := storage.ParseList(data)
	if err != nil {
		b.names = nil
		return nil, fmt.Errorf("%s: %v: %w", b.path("tables.list"), err, ErrCorrupt)
	}
	b.names = names
	return names, nil
}

func (b *dirBackend) ListChanged(context.Context) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.adopted {
		return true, nil
	}
	return b.cache.Changed()
}

type osTable struct {
	vfs.File
	size int64
}

func (t *osTable) Size() int64 { return t.size }

func (b *dirBackend) OpenTable(_ context.Context, name string) (storage.TableFile, error) {
	f, err := b.fsys.OpenFile(b.path(name), os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &osTable{File: f, size: fi.Size()}, nil
}

func (b *dirBackend) Begin(ctx context.Context, timeout time.Duration) (storage.Commit, error) {
	l, err := acquireLock(ctx, b.fsys, b.clean, b.path("tables.list.lock"), b.perm, timeout)
	if err != nil {
		return nil, err
	}
	names, err := b.lockedList()
	if err != nil {
		l.release()
		return nil, err
	}
	return &dirCommit{b: b, lock: l, names: names}, nil
}

// lockedList returns the list under the lock: the one the reader cache
// holds if the cache says the file is still that one (a stat), else
// the file read anew.
func (b *dirBackend) lockedList() ([]string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.names != nil {
		changed, err := b.cache.Changed()
		if err != nil {
			return nil, err
		}
		if !changed {
			return slices.Clone(b.names), nil
		}
	}
	return b.readListUncached()
}

// readListUncached reads tables.list without touching the reader cache.
func (b *dirBackend) readListUncached() ([]string, error) {
	f, err := b.fsys.OpenFile(b.path("tables.list"), os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	names, err := storage.ParseList(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %v: %w", b.path("tables.list"), err, ErrCorrupt)
	}
	return names, nil
}

type dirCommit struct {
	b     *dirBackend
	lock  *lockFile
	names []string
	done  bool
}

func (c *dirCommit) Names() []string { return c.names }

func (c *dirCommit) Publish(_ context.Context, names []string) error {
	if c.done {
		return ErrClosed
	}
	b, l := c.b, c.lock
	list := b.path("tables.list")
	// Elsewhere the published file stays open and goes to the reader
	// cache, which then need not read back what was just written.
	keepOpen := runtime.GOOS != "windows"
	data := storage.FormatList(names)
	err := func() error {
		if err := b.setMode(l.f); err != nil {
			return err
		}
		if l.recordsInside() {
			// Replace the holder record by the list (the file is in
			// append mode, so writing starts at the new end).
			if err := l.f.Truncate(0); err != nil {
				return err
			}
		}
		if _, err := l.f.Write(data); err != nil {
			return err
		}
		if b.sync {
			if err := l.f.Sync(); err != nil {
				return err
			}
			// The tables the list names must be in the directory for
			// good before the list is.
			if b.renamed.Swap(false) {
				if err := b.fsys.SyncDir(b.dir); err != nil {
					b.renamed.Store(true)
					return err
				}
			}
		}
		if !keepOpen {
			// Close before renaming: Windows cannot rename an open file.
			if err := l.f.Close(); err != nil {
				return err
			}
			l.f = nil
		} else {
			// The file, open in the reader cache, is about to be the
			// list: its advisory lock (see lockFile) must not go with it
			// (on SMB mounts such locks are mandatory, and would keep
			// other clients from reading the list).
			vfs.Unlock(l.f)
		}
		return l.check()
	}()
	if err != nil {
		c.Release()
		return fmt.Errorf("publish %s: %w", list, err)
	}
	if err := b.fsys.Rename(l.path, list); err != nil {
		l.closeFile()
		// A rename can fail after it happened (a lost reply on NFS):
		// tables.list names our file if and only if it did.
		if fi, serr := b.fsys.Stat(list); serr == nil {
			if sameInode(stat.Of(fi), l.id) {
				c.done = true
				l.published()
				return &CommittedError{Err: fmt.Errorf("publish %s: %w", list, err)}
			}
		}
		c.Release()
		return fmt.Errorf("publish %s: %w", list, err)
	}
	c.done = true
	l.published()
	if l.f != nil {
		b.mu.Lock()
		b.cache.Adopt(l.f, l.id, data)
		l.f = nil
		b.names, b.adopted = slices.Clone(names), true
		b.mu.Unlock()
	}
	if b.sync {
		if err := b.fsys.SyncDir(b.dir); err != nil {
			return &CommittedError{Err: fmt.Errorf("publish %s: %w", list, err)}
		}
	}
	return nil
}

func (c *dirCommit) Release() error {
	if c.done {
		return nil
	}
	c.done = true
	return c.lock.release()
}

func (b *dirBackend) CreateTable(ctx context.Context, write func(io.Writer) (min, max uint64, keep bool, err error)) (string, error) {
	t, err := b.stage(write)
	if t == nil || err != nil {
		return "", err
	}
	name, err := t.Place(ctx)
	if err != nil {
		t.Discard(ctx)
		return "", err
	}
	return name, nil
}

func (b *dirBackend) StageTable(_ context.Context, write func(io.Writer) (min, max uint64, keep bool, err error)) (storage.StagedTable, error) {
	t, err := b.stage(write)
	if t == nil {
		return nil, err // an untyped nil: no table
	}
	return t, err
}

// stage writes a table to a new temporary file and syncs it. It returns
// nil for a table discarded. The file stays open, holding its advisory
// lock (see lockFile), until the table is placed or discarded: Clean
// removes at once a temporary file nobody holds, the leftover of a
// writer that ended before it placed its table.
func (b *dirBackend) stage(write func(io.Writer) (min, max uint64, keep bool, err error)) (*dirStaged, error) {
	var f vfs.File
	var tmp string
	var err error
	for range 10 {
		tmp = b.path(fmt.Sprintf("tmp-%016x.temp", rand.Uint64()))
		f, err = b.fsys.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, b.perm)
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("write table in %s: %w", b.dir, err)
	}
	vfs.TryLock(f) // a new file: nobody else holds it
	t := &dirStaged{b: b, tmp: tmp, held: b.clean.hold(b.fsys, tmp, stat.Identity{})}
	keep, err := func() (bool, error) {
		if err := b.setMode(f); err != nil {
			return false, err
		}
		bw := tableWriters.Get().(*bufio.Writer)
		bw.Reset(f)
		defer func() {
			bw.Reset(nil)
			tableWriters.Put(bw)
		}()
		min, max, keep, err := write(bw)
		if err != nil || !keep {
			return false, err
		}
		t.min, t.max = min, max
		if err := bw.Flush(); err != nil {
			return false, err
		}
		if b.sync {
			if err := f.Sync(); err != nil {
				return false, err
			}
		}
		fi, err := f.Stat()
		if err != nil {
			return false, err
		}
		t.id = stat.Of(fi)
		t.f, f = f, nil
		return true, nil
	}()
	if f != nil {
		f.Close()
	}
	if err != nil || !keep {
		t.Discard(context.Background())
		if err != nil {
			return nil, fmt.Errorf("write table in %s: %w", b.dir, err)
		}
		return nil, nil
	}
	return t, nil
}

// dirStaged is a table written to a temporary file of the directory.
type dirStaged struct {
	b        *dirBackend
	tmp      string
	id       stat.Identity // of the file written
	min, max uint64
	name     string // the final name, once placed
	held     *heldFile
	f        vfs.File // the file written, open until placed or discarded
}

// closeFile closes the file written, which lets go of its advisory
// lock.
func (t *dirStaged) closeFile() error {
	if t.f == nil {
		return nil
	}
	err := t.f.Close()
	t.f = nil
	return err
}

// Place renames the temporary file to a name nobody has, after checking
// that the temporary name still names the file written (a cleanup may
// have removed it), and checks the result again. Table names are never
// reused, so the rename can never replace a published table.
func (t *dirStaged) Place(context.Context) (string, error) {
	b := t.b
	if t.name != "" {
		if err := t.check(b.path(t.name)); err != nil {
			return "", err
		}
		return t.name, nil
	}
	if err := t.check(t.tmp); err != nil {
		return "", err
	}
	// Close before renaming (Windows cannot rename an open file): Place
	// runs under the list lock, which Clean takes too.
	if err := t.closeFile(); err != nil {
		return "", fmt.Errorf("write table in %s: %w", b.dir, err)
	}
	for range 10 {
		name := storage.TableName(t.min, t.max)
		if _, err := b.fsys.Stat(b.path(name)); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := b.fsys.Rename(t.tmp, b.path(name)); err != nil {
			return "", fmt.Errorf("write table in %s: %w", b.dir, err)
		}
		t.name = name
		b.renamed.Store(true)
		t.held.drop()
		if err := t.check(b.path(name)); err != nil {
			return "", err
		}
		return name, nil
	}
	return "", fmt.Errorf("write table in %s: no unused table name for update indexes %d..%d", b.dir, t.min, t.max)
}

// check verifies that path names the file written, unchanged.
func (t *dirStaged) check(path string) error {
	fi, err := t.b.fsys.Stat(path)
	if err == nil && !sameStaged(stat.Of(fi), t.id) {
		err = &fs.PathError{Op: "check", Path: path, Err: fs.ErrNotExist}
	}
	if err != nil {
		return fmt.Errorf("table written as %s: replaced or removed before it was listed: %w", t.tmp, err)
	}
	return nil
}

// sameStaged reports whether a file is the one written: the same inode
// and size, or the same size and time where files have no inode numbers.
func sameStaged(a, b stat.Identity) bool {
	if a.HasInode() || b.HasInode() {
		return sameInode(a, b) && a.Size == b.Size
	}
	return a.Size == b.Size && a.ModTime.Equal(b.ModTime)
}

// Discard removes the table, under its final name once placed.
func (t *dirStaged) Discard(context.Context) error {
	defer t.held.drop()
	t.closeFile()
	path := t.tmp
	if t.name != "" {
		path = t.b.path(t.name)
	}
	err := t.b.fsys.Remove(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// tableWriters pools the buffers tables are written through.
var tableWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}

func (b *dirBackend) LockTables(ctx context.Context, names []string) (int, func(), error) {
	var locks []*lockFile
	release := func() {
		for _, l := range locks {
			l.release()
		}
	}
	for i := len(names) - 1; i >= 0; i-- {
		l, err := acquireLock(ctx, b.fsys, b.clean, b.path(names[i]+".lock"), b.perm, NoWait)
		if errors.Is(err, ErrLocked) {
			break
		}
		if err != nil {
			release()
			return 0, nil, err
		}
		// The descriptor stays open: it holds the advisory lock that
		// tells a live compaction's table locks from stale ones.
		locks = append(locks, l)
	}
	return len(locks), release, nil
}

// TableLocked reports whether a compaction holds the lock of table name.
func (b *dirBackend) TableLocked(name string) (bool, error) {
	_, err := b.fsys.Stat(b.path(name + ".lock"))
	if err == nil {
		return true, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return false, err
}

func (b *dirBackend) RemoveTable(_ context.Context, name string) error {
	err := b.fsys.Remove(b.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func (b *dirBackend) ListFiles(context.Context) ([]storage.FileInfo, error) {
	ents, err := b.fsys.ReadDir(b.dir)
	if err != nil {
		return nil, err
	}
	var out []storage.FileInfo
	for _, e := range ents {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue // NFS leaves .nfsXXXX files behind open deleted files
		}
		fi, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		out = append(out, storage.FileInfo{Name: e.Name(), Size: fi.Size(), ModTime: fi.ModTime()})
	}
	return out, nil
}

func (b *dirBackend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cache.Close()
}
