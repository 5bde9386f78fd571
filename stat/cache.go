package stat

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/cespare/xxhash/v2"
	"github.com/refstore/refstore/vfs"
)

// Options configures a Cache.
type Options struct {
	// ContentOnly compares contents instead of identities even where
	// identities exist (set it for network file systems, and in tests to
	// exercise the fallback).
	ContentOnly bool
}

// Cache remembers the version of one file that was last loaded, and
// reports whether the path now names another version. It keeps the loaded
// file open until the next Load or Close. A Cache is not safe for
// concurrent use.
type Cache struct {
	fsys    vfs.FS
	path    string
	opts    Options
	loaded  bool
	exists  bool
	held    vfs.File // the file last loaded, kept open (identity mode)
	id      Identity
	sum     uint64
	size    int
	content bool // this version is compared by content
}

// NewCache returns a Cache for path on fsys. Nothing is read until Load.
func NewCache(fsys vfs.FS, path string, opts Options) *Cache {
	return &Cache{fsys: fsys, path: path, opts: opts}
}

// Load reads the file and remembers its version. A missing file loads as
// empty with exists false.
func (c *Cache) Load() (data []byte, exists bool, err error) {
	f, err := c.fsys.OpenFile(c.path, os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		c.set(nil, Identity{}, nil, false)
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
	c.set(f, Of(fi), data, true)
	return data, true, nil
}

// Adopt remembers f, whose contents are data and whose device and inode
// are those of id, as the version last loaded, as if Load had read it: a
// writer that has just renamed the file it wrote into place hands it over
// instead of reading it back. The Cache takes ownership of f and keeps it
// open until the next Load or Close, in content mode too (so that the
// file operations do not depend on the mode).
func (c *Cache) Adopt(f vfs.File, id Identity, data []byte) {
	id.Size = int64(len(data))
	c.set(nil, id, data, true)
	c.held = f
}

// set replaces the remembered version, closing the previously held file.
func (c *Cache) set(f vfs.File, id Identity, data []byte, exists bool) {
	if c.held != nil {
		c.held.Close()
	}
	c.loaded, c.exists, c.id = true, exists, id
	c.sum, c.size = xxhash.Sum64(data), len(data)
	c.content = c.opts.ContentOnly || !id.HasInode()
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
func (c *Cache) Changed() (bool, error) {
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
	id, err := c.stat()
	if errors.Is(err, fs.ErrNotExist) {
		return c.exists, nil
	}
	if err != nil {
		return false, err
	}
	return !c.exists || !SameFile(id, c.id), nil
}

// stat returns the identity of the file the path names now, without
// allocating where the file system implements vfs.IDStater.
func (c *Cache) stat() (Identity, error) {
	fid, err := vfs.StatID(c.fsys, c.path)
	if err == nil {
		return Identity(fid), nil
	}
	if !errors.Is(err, errors.ErrUnsupported) {
		return Identity{}, err
	}
	fi, err := c.fsys.Stat(c.path)
	if err != nil {
		return Identity{}, err
	}
	return Of(fi), nil
}

func (c *Cache) read() ([]byte, error) {
	f, err := c.fsys.OpenFile(c.path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// Identity returns the identity of the version last loaded.
func (c *Cache) Identity() Identity { return c.id }

// Close releases the held file. The Cache can be loaded again.
func (c *Cache) Close() error {
	var err error
	if c.held != nil {
		err = c.held.Close()
		c.held = nil
	}
	c.loaded = false
	return err
}
