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

// holdAfter is the channel HoldAfter was given, if any.
var holdAfter atomic.Pointer[<-chan struct{}]

// HoldAfter makes this process create no lock file or temporary table
// before ready is closed. A program that installs its interrupt handler
// (which calls RemoveHeldFiles) in the background, so as not to wait for
// it (os/signal starts a thread), passes a channel it closes once the
// handler is in place: no file then exists that an interrupt would leave
// behind. HoldAfter(nil) lifts the condition.
func HoldAfter(ready <-chan struct{}) { holdAfter.Store(&ready) }

// waitToHold waits until this process may create files it holds (see
// HoldAfter).
func waitToHold() {
	if ready := holdAfter.Load(); ready != nil && *ready != nil {
		<-*ready
	}
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
