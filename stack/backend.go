package stack

import (
	"io"
	"time"
)

// Backend is the storage beneath a stack: where tables and the list of
// tables live, and how a new list is published. The commit, reload and
// compaction logic of Stack is written once against this interface; a
// directory of files (git's protocol) is one implementation, and an
// object store with conditional writes can be another:
//
//	method        directory                         object store
//	ReadList      read tables.list, keep it open    GET tables.list, remember ETag
//	ListChanged   stat, compare device and inode    conditional GET (304)
//	Begin         create tables.list.lock (O_EXCL)  GET tables.list and its ETag
//	Publish       write lock, fsync, rename         PUT If-Match: ETag
//	CreateTable   temp file, fsync, rename          PUT If-None-Match: *
//	StageTable    temp file, fsync                  PUT If-None-Match: *
//	  Place       rename under the commit lock      HEAD: same ETag, young enough
//	LockTables    <table>.lock files (O_EXCL)       nothing (rebase on conflict)
//
// Table names are never reused, so a name identifies its bytes forever.
// Implementations must be safe for use by one Stack at a time; different
// processes coordinate through the storage itself.
type Backend interface {
	// ReadList returns the current table names, oldest first, and
	// remembers the version read for ListChanged.
	ReadList() ([]string, error)

	// ListChanged reports whether the list may differ from the version
	// ReadList returned last. It must be cheap and must never report
	// false for a changed list.
	ListChanged() (bool, error)

	// OpenTable opens a listed table for reading. A table that does not
	// exist yields an error matching fs.ErrNotExist.
	OpenTable(name string) (TableFile, error)

	// Begin starts a commit, waiting up to timeout (negative: forever)
	// for other writers. The Commit carries the list as of that moment.
	Begin(timeout time.Duration) (Commit, error)

	// CreateTable stores a new table. write streams the table's bytes and
	// returns its update index range, or keep=false to discard it (an
	// empty table). The table gets a fresh, unique name, which is
	// returned; it is not listed until a Commit publishes it.
	CreateTable(write func(w io.Writer) (min, max uint64, keep bool, err error)) (name string, err error)

	// StageTable stores a new table like CreateTable, but under a
	// temporary name that no reader and no cleanup takes for a table of
	// the stack (git removes unlisted tables under the commit lock, and
	// a compaction writes its table without holding it). The table gets
	// its final name from StagedTable.Place, under the commit that lists
	// it. It returns nil for a table discarded (keep=false).
	StageTable(write func(w io.Writer) (min, max uint64, keep bool, err error)) (StagedTable, error)

	// LockTables locks the named tables against concurrent compaction,
	// trying the newest (last) first and without waiting. It returns how
	// many of the newest tables it locked and a function releasing them.
	LockTables(names []string) (locked int, release func(), err error)

	// RemoveTable removes a table that is no longer listed, or a leftover
	// file found by ListFiles. Failure is reported but harmless: a later
	// cleanup retries.
	RemoveTable(name string) error

	// ListFiles lists every file of the stack's storage (tables, locks,
	// temporary files), for cleanup and verification.
	ListFiles() ([]FileInfo, error)

	// Close releases what the backend holds (the cached list file).
	Close() error
}

// Commit is a commit in progress: the right to publish one new list.
type Commit interface {
	// Names returns the table list current when the commit began.
	Names() []string
	// Publish makes names the stack's list: the commit point. It fails
	// with ErrConflict when another writer published first (object
	// stores), and ends the commit either way.
	Publish(names []string) error
	// Release ends the commit without publishing. It is always safe to
	// call, also after Publish.
	Release() error
}

// StagedTable is a table stored under a temporary name (see
// Backend.StageTable).
type StagedTable interface {
	// Place gives the table its final, unique name and returns it,
	// after checking that the bytes stored are still there, unchanged.
	// It is called between Begin and Publish of the commit that lists
	// the table; called again under a later commit (after a conflict),
	// it checks again and returns the same name. When the table is gone
	// it fails with an error matching fs.ErrNotExist.
	Place() (string, error)
	// Discard removes the table under whichever name it has. It is
	// called when no commit listed it.
	Discard() error
}

// TableFile is an opened table's bytes.
type TableFile interface {
	io.ReaderAt
	Size() int64
	Close() error
}

// FileInfo describes a file of a stack's storage.
type FileInfo struct {
	Name    string
	Size    int64
	ModTime time.Time
}
