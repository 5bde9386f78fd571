package stack

import (
	"errors"
	"io/fs"
	"sync"

	"github.com/refstore/refstore/stat"
	"github.com/refstore/refstore/vfs"
)

// Cleanup records the lock files and temporary tables that stacks hold,
// so that a program that is interrupted removes them before it exits, as
// git removes its lock files on a signal: the program makes one, gives it
// to the stacks it opens (Options.Cleanup), and calls Remove from its
// signal handler. A stack without one records nothing. A Cleanup is safe
// for concurrent use.
type Cleanup struct {
	mu    sync.Mutex
	files map[*heldFile]struct{}
}

// NewCleanup returns a Cleanup holding no files.
func NewCleanup() *Cleanup {
	return &Cleanup{files: map[*heldFile]struct{}{}}
}

// A heldFile is a lock or temporary file this process created and has
// not yet released, published or removed: what Cleanup.Remove removes.
type heldFile struct {
	c    *Cleanup
	fsys vfs.FS
	path string
	id   stat.Identity // of the file created, when known
}

// hold registers with c the file this process created at path, whose
// identity is id (zero for a temporary file: their random names are not
// reused). A nil c records nothing: the result is then nil, which drop
// accepts.
func (c *Cleanup) hold(fsys vfs.FS, path string, id stat.Identity) *heldFile {
	if c == nil {
		return nil
	}
	h := &heldFile{c: c, fsys: fsys, path: path, id: id}
	c.mu.Lock()
	c.files[h] = struct{}{}
	c.mu.Unlock()
	return h
}

// Hold registers a file the program is about to create at path in fsys
// (nil: the operating system's), under a name no other process uses (a
// temporary file of its own), so that Remove removes it. The returned
// function unregisters the file once it is published or removed.
func (c *Cleanup) Hold(fsys vfs.FS, path string) (release func()) {
	if fsys == nil {
		fsys = vfs.OS
	}
	return c.hold(fsys, path, stat.Identity{}).drop
}

// drop unregisters h: the file was released, published or removed.
func (h *heldFile) drop() {
	if h == nil {
		return
	}
	h.c.mu.Lock()
	delete(h.c.files, h)
	h.c.mu.Unlock()
}

// Remove removes the lock files and temporary tables held, as git
// removes its lock files when interrupted: a program calls it from its
// signal handler before exiting. A file is removed only while its path
// still names the file this process created. The stacks must not be used
// afterwards; what they had not published is lost, the published state
// is intact.
func (c *Cleanup) Remove() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for h := range c.files {
		cur, err := h.fsys.Stat(h.path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if id := stat.Of(cur); err == nil && h.id.HasInode() && (id.Dev != h.id.Dev || id.Ino != h.id.Ino) {
			continue // not ours any more
		}
		h.fsys.Remove(h.path)
	}
	clear(c.files)
}

// held returns how many files c holds.
func (c *Cleanup) held() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.files)
}
