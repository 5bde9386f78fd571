package stack

import (
	"errors"
	"io/fs"
	"sync"
	"sync/atomic"

	"github.com/refstore/refstore/stat"
	"github.com/refstore/refstore/vfs"
)

// A heldFile is a lock or temporary file this process created and has
// not yet released, published or removed: what RemoveHeldFiles cleans up
// when the process is interrupted.
type heldFile struct {
	fsys vfs.FS
	path string
	id   stat.Identity // of the file created, when known
}

var held = struct {
	sync.Mutex
	files map[*heldFile]struct{}
}{files: map[*heldFile]struct{}{}}

// hold registers the file this process created at path, whose identity
// is id (zero for a temporary file: their random names are not reused).
func hold(fsys vfs.FS, path string, id stat.Identity) *heldFile {
	h := &heldFile{fsys: fsys, path: path, id: id}
	held.Lock()
	held.files[h] = struct{}{}
	held.Unlock()
	return h
}

// beforeHold is the function BeforeHold was given, if any.
var beforeHold atomic.Pointer[func()]

// BeforeHold makes this process call f before it creates any lock file or
// temporary table, each time (f must be cheap after its first call): a
// program that prepares for interrupts (whose handler calls
// RemoveHeldFiles) only once it is about to hold something passes the
// function that does so. BeforeHold(nil) removes it.
func BeforeHold(f func()) { beforeHold.Store(&f) }

// callBeforeHold calls the function given to BeforeHold, if any.
func callBeforeHold() {
	if f := beforeHold.Load(); f != nil && *f != nil {
		(*f)()
	}
}

// Hold registers the file this program is about to create at path, a
// name no other process uses (a temporary file of its own), so that
// RemoveHeldFiles removes it; it first calls the function given to
// BeforeHold, as the stack does before its own files. The returned
// function unregisters the file once it is published or removed.
func Hold(path string) (release func()) {
	callBeforeHold()
	return hold(vfs.OS, path, stat.Identity{}).drop
}

// drop unregisters h: the file was released, published or removed.
func (h *heldFile) drop() {
	if h == nil {
		return
	}
	held.Lock()
	delete(held.files, h)
	held.Unlock()
}

// RemoveHeldFiles removes the lock files and temporary tables this process
// holds in any stack, as git removes its lock files when interrupted: a
// program calls it from its signal handler before exiting. A file is
// removed only while its path still names the file this process created.
// Stacks must not be used afterwards; the files that have not been
// published are lost, the published state is intact.
func RemoveHeldFiles() {
	held.Lock()
	defer held.Unlock()
	for h := range held.files {
		cur, err := h.fsys.Stat(h.path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if id := stat.Of(cur); err == nil && h.id.HasInode() && (id.Dev != h.id.Dev || id.Ino != h.id.Ino) {
			continue // not ours any more
		}
		h.fsys.Remove(h.path)
	}
	clear(held.files)
}
