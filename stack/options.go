package stack

import (
	"io/fs"
	"time"

	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/vfs"
)

// Options configures a Stack. The zero value means git's defaults.
type Options struct {
	// LockTimeout is how long a writer waits for tables.list.lock: 0 means
	// git's default of 100 ms, a negative value waits forever, and
	// NoWait tries once. Goroutines of one Stack take turns at the lock
	// within the process, woken in order, and the wait for one other
	// goroutine's turn counts against it too (not the whole queue's, as
	// long as it moves). On a backend without locks
	// (an object store) they take turns from the read of the list to its
	// swap, and a writer retries lost swaps, both for the longer of
	// LockTimeout and 10 seconds.
	LockTimeout time.Duration

	// DisableAutoCompaction turns off the geometric compaction that
	// follows every commit.
	DisableAutoCompaction bool

	// noFuse makes commits always publish their tables and auto-compact
	// after (tests of that path; see addition.fuse).
	noFuse bool
	// noFusedWrite makes transactions write their table before the
	// commit fuses it (tests comparing that with addFused).
	noFusedWrite bool
	// dirFileSplit, when positive, is the fewest changes whose
	// directory/file conflicts are checked in two halves at once
	// (tests of that path; see checkDirFile).
	dirFileSplit int

	// CompactionFactor is the geometric factor of auto-compaction; 0
	// means 2.
	CompactionFactor int

	// Hash is the object id hash of the repository (SHA1 by default).
	// Tables of another hash are rejected.
	Hash reftable.Hash

	// Write configures the tables the stack writes; its Hash and update
	// index limits are set by the stack. Its ExactLogMessage applies to
	// compaction too: by default compaction normalises reflog messages
	// as git's does (see logmsg.go).
	Write reftable.WriterOptions

	// NoSync skips fsync of tables, of tables.list and of the directory:
	// a crash may then lose commits. For tests and benchmarks, and for
	// repositories whose core.fsync leaves refs out (see package repo).
	NoSync bool

	// Perm is the mode of the files the stack creates, before the umask;
	// 0 means 0666 as git.
	Perm fs.FileMode

	// Chmod, when not nil, gives the mode of each table and tables.list
	// the stack writes from the mode it was created with (Perm less the
	// umask), and the stack sets that mode, as git does for
	// core.sharedRepository (package repo sets it so). File systems
	// without modes ignore it.
	Chmod func(created fs.FileMode) fs.FileMode

	// FS is the file system; nil means the operating system's.
	FS vfs.FS

	// ContentCompare makes readers detect a changed tables.list by its
	// content instead of its inode; it is chosen automatically on network
	// file systems and where files have no identity.
	ContentCompare bool

	// OnCompactionError receives errors of the auto-compaction that runs
	// after a commit; they never fail the commit itself.
	OnCompactionError func(error)

	// Cleanup, when not nil, records the lock files and temporary
	// tables the stack holds, for a signal handler to remove (see
	// Cleanup); several stacks may share one.
	Cleanup *Cleanup
}

// NoWait is a LockTimeout that tries to take the lock once.
const NoWait = time.Duration(1)

func (o Options) withDefaults() Options {
	if o.LockTimeout == 0 {
		o.LockTimeout = 100 * time.Millisecond
	}
	if o.CompactionFactor <= 0 {
		o.CompactionFactor = 2
	}
	if o.Hash == 0 {
		o.Hash = reftable.SHA1
	}
	if o.Perm == 0 {
		o.Perm = 0o666
	}
	if o.FS == nil {
		o.FS = vfs.OS
	}
	o.Write.Hash = o.Hash
	o.ContentCompare = o.ContentCompare || forceContentCompare
	return o
}

// forceContentCompare is set by the package's tests (REFSTORE_CONTENT_COMPARE=1)
// to run the whole suite with the content-comparing fallback.
var forceContentCompare bool
