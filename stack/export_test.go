package stack

import (
	"github.com/refstore/refstore/stack/storage"
	"time"

	"github.com/refstore/refstore/vfs"
)

// NewDirBackend exposes the directory backend to the external tests.
func NewDirBackend(dir string, opts Options) storage.Backend {
	return newDirBackend(dir, opts.withDefaults())
}

// WithoutFusedCompaction returns opts with commits that never fuse their
// auto-compaction (addition.fuse), to test the compaction after a commit.
func WithoutFusedCompaction(opts Options) Options {
	opts.noFuse = true
	return opts
}

// TakeForDead makes BreakStaleLock and Locks judge the holder pid gone
// (as if killed) until restore is called.
func TakeForDead(pid int) (restore func()) {
	saved := liveness
	liveness = func(p int, start int64, created time.Time) Liveness {
		if p == pid {
			return HolderGone
		}
		return saved(p, start, created)
	}
	return func() { liveness = saved }
}

// FS returns the file system the stack uses.
func (st *Stack) FS() vfs.FS { return st.opts.FS }
