package stack

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/cespare/xxhash/v2"

	"github.com/refstore/refstore/stat"
	"github.com/refstore/refstore/vfs"
)

// A listCache remembers the version of tables.list that was last loaded,
// and reports whether the path now names another version: cheaply, and
// without being fooled by recycled inode numbers.
//
// The identity of a file is its device and inode number (package stat).
// A reader that remembered only the numbers could be fooled: after the
// file is replaced twice, the file system may hand the freed inode number
// to the newest file, which may even have the old size. A listCache
// therefore keeps the file it parsed open, so that its inode stays
// allocated and no other file can get its number, and compares that open
// file's identity with the one the path names now: one stat call, no
// read.
//
// Where files have no usable identity (Windows reports zeros) or the file
// system is a network one (NFS, SMB/CIFS, Lustre, GPFS, FUSE), where
// numbers and caching are not to be trusted, it compares the file's
// content instead: it reads the file and compares an xxhash of the bytes.
//
// It keeps the loaded file open until the next Load or Close. A
// listCache is not safe for concurrent use.
type listCache struct {
	fsys        vfs.FS
	path        string
	contentOnly bool // compare contents even where identities exist
	loaded      bool
	exists      bool
	held        vfs.File // the file last loaded, kept open (identity mode)
	id          stat.Identity
	sum         uint64
	size        int
	content     bool // this version is compared by content
}

// newListCache returns a listCache for path on fsys, comparing contents
// instead of identities if contentOnly (for network file systems, and in
// tests to exercise the fallback). Nothing is read until Load.
func newListCache(fsys vfs.FS, path string, contentOnly bool) *listCache {
	return &listCache{fsys: fsys, path: path, contentOnly: contentOnly}
}

// Load reads the file and remembers its version. A missing file loads as
// empty with exists false.
func (c *listCache) Load() (data []byte, exists bool, err error) {
	f, err := c.fsys.OpenFile(c.path, os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		c.set(nil, stat.Identity{}, nil, false)
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	fi, err := f.Stat()
	if err == nil {
		data, err = io.ReadAll(f)
	}
	if err != nil {
		f.Close()
		return nil, false, fmt.Errorf("load %s: %w", c.path, err)
	}
	c.set(f, stat.Of(fi), data, true)
	return data, true, nil
}

// Adopt remembers f, whose contents are data and whose device and inode
// are those of id, as the version last loaded, as if Load had read it: a
// writer that has just renamed the file it wrote into place hands it over
// instead of reading it back. The listCache takes ownership of f and keeps it
// open until the next Load or Close, in content mode too (so that the
// file operations do not depend on the mode).
func (c *listCache) Adopt(f vfs.File, id stat.Identity, data []byte) {
	id.Size = int64(len(data))
	c.set(nil, id, data, true)
	c.held = f
}

// set replaces the remembered version, closing the previously held file.
func (c *listCache) set(f vfs.File, id stat.Identity, data []byte, exists bool) {
	if c.held != nil {
		c.held.Close()
	}
	c.loaded, c.exists, c.id = true, exists, id
	c.sum, c.size = xxhash.Sum64(data), len(data)
	c.content = c.contentOnly || !id.HasInode()
	c.held = f
	if f != nil && c.content {
		// Contents are compared, so the inode need not be pinned.
		f.Close()
		c.held = nil
	}
}

// Changed reports whether the path names a different version of the file
// than the last Load (true if nothing was loaded yet). In identity mode it
// costs one stat call; in content mode it reads the file.
func (c *listCache) Changed() (bool, error) {
	if !c.loaded {
		return true, nil
	}
	if c.content {
		data, err := c.read()
		if errors.Is(err, fs.ErrNotExist) {
			return c.exists, nil
		}
		if err != nil {
			return false, err
		}
		return !c.exists || len(data) != c.size || xxhash.Sum64(data) != c.sum, nil
	}
	id, err := c.statPath()
	if errors.Is(err, fs.ErrNotExist) {
		return c.exists, nil
	}
	if err != nil {
		return false, err
	}
	return !c.exists || !stat.SameFile(id, c.id), nil
}

// statPath returns the identity of the file the path names now, without
// allocating where the file system implements vfs.IDStater.
func (c *listCache) statPath() (stat.Identity, error) {
	id, err := vfs.StatID(c.fsys, c.path)
	if !errors.Is(err, errors.ErrUnsupported) {
		return id, err
	}
	fi, err := c.fsys.Stat(c.path)
	if err != nil {
		return stat.Identity{}, err
	}
	return stat.Of(fi), nil
}

func (c *listCache) read() ([]byte, error) {
	f, err := c.fsys.OpenFile(c.path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// Identity returns the identity of the version last loaded.
func (c *listCache) Identity() stat.Identity { return c.id }

// Close releases the held file. The listCache can be loaded again.
func (c *listCache) Close() error {
	var err error
	if c.held != nil {
		err = c.held.Close()
		c.held = nil
	}
	c.loaded = false
	return err
}
