// Package storage is what a reftable stack needs of the storage beneath
// it: the Backend interface, the commits and tables a backend hands out,
// and the format of the list of tables. It is for those who write a
// backend; users of a stack need only package stack, whose Open uses a
// directory and whose OpenBackend takes any Backend (package objstore is
// one, on object stores with conditional writes).
//
// The commit, reload and compaction logic of package stack is written
// once against Backend; a directory of files (git's protocol) is one
// implementation, an object store another:
//
//	method        directory                         object store
//	ReadList      read tables.list, keep it open    GET tables.list, remember ETag
//	ListChanged   stat, compare device and inode    conditional GET (304)
//	Begin         create tables.list.lock (O_EXCL)  GET tables.list If-None-Match (304: the list known)
//	BeginFresh    (not implemented)                 the list read last, if recent and unused: no request
//	Publish       write lock, fsync, rename         PUT If-Match: ETag
//	  Adopt       (not implemented)                 the list published is the one loaded
//	CreateTable   temp file, fsync, rename          PUT If-None-Match: *
//	StageTable    temp file, fsync                  PUT If-None-Match: *
//	  Place       rename under the commit lock      HEAD: same ETag, young enough
//	LockTables    <table>.lock files (O_EXCL)       nothing (rebase on conflict)
//
// Table names are never reused, so a name identifies its bytes forever.
//
// Backends report what went wrong with the errors of package stack, which
// its callers match: stack.ErrConflict for a list another writer
// replaced first, stack.ErrCommitUncertain for a publication whose outcome
// is unknown, *stack.CommittedError for a failure after the commit point,
// stack.ErrCorrupt for a list that does not parse, stack.ErrClosed for a
// commit used after it ended, and errors matching fs.ErrNotExist for a
// table that is gone.
package storage

import (
	"context"
	"io"
	"time"
)

// Backend is the storage beneath a stack: where tables and the list of
// tables live, and how a new list is published. Every method that may
// reach the storage takes a context, which bounds that call only.
// Implementations serve one Stack at a time and must be safe for
// concurrent use by its goroutines (two transactions and a reload may
// call at once); different processes coordinate through the storage
// itself.
type Backend interface {
	// ReadList returns the current table names, oldest first, and
	// remembers the version read for ListChanged.
	ReadList(ctx context.Context) ([]string, error)

	// ListChanged reports whether the list may differ from the version
	// ReadList returned last. It must be cheap and must never report
	// false for a changed list.
	ListChanged(ctx context.Context) (bool, error)

	// OpenTable opens a listed table for reading. A table that does not
	// exist yields an error matching fs.ErrNotExist. The TableFile is
	// read through io.ReaderAt, which takes no context: ctx bounds the
	// opening only (see TableFile).
	OpenTable(ctx context.Context, name string) (TableFile, error)

	// Begin starts a commit, waiting up to timeout (negative: forever)
	// for other writers, and no longer than ctx allows. The Commit
	// carries the list as of that moment.
	Begin(ctx context.Context, timeout time.Duration) (Commit, error)

	// CreateTable stores a new table. write streams the table's bytes and
	// returns its update index range, or keep=false to discard it (an
	// empty table). The table gets a fresh, unique name (see TableName),
	// which is returned; it is not listed until a Commit publishes it.
	CreateTable(ctx context.Context, write func(w io.Writer) (min, max uint64, keep bool, err error)) (name string, err error)

	// StageTable stores a new table like CreateTable, but under a
	// temporary name that no reader and no cleanup takes for a table of
	// the stack (git removes unlisted tables under the commit lock, and
	// a compaction writes its table without holding it). The table gets
	// its final name from StagedTable.Place, under the commit that lists
	// it. It returns nil for a table discarded (keep=false).
	StageTable(ctx context.Context, write func(w io.Writer) (min, max uint64, keep bool, err error)) (StagedTable, error)

	// LockTables locks the named tables against concurrent compaction,
	// trying the newest (last) first and without waiting. It returns how
	// many of the newest tables it locked and a function releasing them.
	LockTables(ctx context.Context, names []string) (locked int, release func(), err error)

	// RemoveTable removes a table that is no longer listed, or a leftover
	// file found by ListFiles. Failure is reported but harmless: a later
	// cleanup retries.
	RemoveTable(ctx context.Context, name string) error

	// ListFiles lists every file of the stack's storage (tables, locks,
	// temporary files), for cleanup and verification.
	ListFiles(ctx context.Context) ([]FileInfo, error)

	// Close releases what the backend holds (the cached list file).
	Close() error
}

// Commit is a commit in progress: the right to publish one new list. It
// is used by one goroutine.
type Commit interface {
	// Names returns the table list current when the commit began.
	Names() []string
	// Publish makes names the stack's list: the commit point. It fails
	// with stack.ErrConflict when another writer published first
	// (object stores), and ends the commit either way.
	Publish(ctx context.Context, names []string) error
	// Release ends the commit without publishing. It is always safe to
	// call, also after Publish.
	Release() error
}

// StagedTable is a table stored under a temporary name (see
// Backend.StageTable). It is used by one goroutine.
type StagedTable interface {
	// Place gives the table its final, unique name and returns it,
	// after checking that the bytes stored are still there, unchanged.
	// It is called between Begin and Publish of the commit that lists
	// the table; called again under a later commit (after a conflict),
	// it checks again and returns the same name. When the table is gone
	// it fails with an error matching fs.ErrNotExist.
	Place(ctx context.Context) (string, error)
	// Discard removes the table under whichever name it has. It is
	// called when no commit listed it.
	Discard(ctx context.Context) error
}

// TableFile is an opened table's bytes. Its reads take no context (a
// table reader reads through io.ReaderAt): a backend on a network store
// bounds them itself, for instance with its client's timeouts and a
// context of its own that Close cancels. It must be safe for concurrent
// reads.
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

// NoTableLocks is implemented by a Backend whose LockTables locks
// nothing (an object store). The stack's Clean then cannot tell a table
// that a running compaction is about to publish from an orphan, so it
// judges unlisted tables by what can still publish them; and a table that
// vanishes between reading the list and reading the table is taken for a
// concurrent compaction (stack.ErrConflict, retried) rather than
// corruption.
type NoTableLocks interface {
	NoTableLocks()
}

// UnsafeStoreReporter is implemented by a Backend that wants to know when
// a commit found the store overwrote it (stack.ErrLostCommit): objstore
// then forgets that the store passed its probe.
type UnsafeStoreReporter interface {
	StoreUnsafe(err error)
}

// ListAdopter is implemented by a Commit that can hand the list it
// published to the stack without reading it back. After a successful
// Publish the stack calls Adopt, serialized with its reloads (no ReadList
// or ListChanged runs meanwhile), and when it reports true loads the
// names it published itself: from then on ListChanged compares with the
// published version. A backend whose reads of the list cost a request
// (an object store) saves one request a commit so. A commit whose outcome
// is not known to be a success (Publish failed, even with a
// *stack.CommittedError) is never adopted.
type ListAdopter interface {
	Adopt() bool
}

// FreshBeginner is implemented by a Backend that can begin a commit on
// the list its last ReadList or ListChanged read, when that read is
// recent and no commit began on it yet, without reading the list again.
// The stack begins its commits so (not its compactions or cleanups), as
// a program that opens a stack and commits at once reads the list at
// both: an object store saves a request a commit. The base may be older
// than a Begin's would be; Publish's condition still refuses a swap
// over a list the commit did not see (ErrConflict), and the retry
// begins with a read.
type FreshBeginner interface {
	BeginFresh(ctx context.Context, timeout time.Duration) (Commit, error)
}
