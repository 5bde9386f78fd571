package stack

import (
	"errors"
	"fmt"
	"time"
)

// Errors returned by this package; match them with errors.Is.
var (
	// ErrLocked reports that the stack or a table is locked by another
	// writer and the lock timeout passed.
	ErrLocked = errors.New("stack is locked")

	// ErrLockLost reports that a lock file this process created was
	// deleted or replaced by someone else before it was used.
	ErrLockLost = errors.New("lock file deleted or replaced")

	// ErrOutdated reports that the stack changed under an operation that
	// cannot simply be retried (a compaction whose tables were replaced).
	ErrOutdated = errors.New("stack concurrently modified")

	// ErrCorrupt reports a tables.list or a listed table that cannot be
	// read. The reftable errors it wraps name the table and offset.
	ErrCorrupt = errors.New("corrupt stack")

	// ErrConflict reports a compare-and-swap of tables.list that another
	// writer won (object stores); the operation may be retried.
	ErrConflict = errors.New("tables.list changed concurrently")

	// ErrCommitUncertain reports a publish whose outcome is unknown (an
	// object store's reply was lost and the list could not be read
	// back): the new list may or may not be in place. The tables it
	// names are kept; Clean removes them later if they are unlisted.
	ErrCommitUncertain = errors.New("outcome of the commit unknown")

	// ErrLostCommit reports a commit that a store accepted and then let
	// another writer overwrite without seeing it (object stores): the
	// store does not honour conditional writes. The commit may be gone.
	ErrLostCommit = errors.New("commit overwritten by a writer that did not see it: the store does not honour conditional writes")

	// ErrClosed reports use of a closed stack, addition or transaction.
	ErrClosed = errors.New("use of closed stack object")

	// ErrRefConflict reports a ref whose current value differs from the
	// expected old value of a transaction (a lost compare-and-swap).
	ErrRefConflict = errors.New("ref changed concurrently")

	// ErrRefName reports an invalid reference name.
	ErrRefName = errors.New("invalid reference name")
)

// CommittedError reports a failure after the commit point: the new list
// is in place and visible, but making it durable (or confirming the
// rename) failed, so it may not survive a crash. Tables the commit added
// are kept.
type CommittedError struct {
	Err error
}

// Error implements error.
func (e *CommittedError) Error() string { return "committed, but: " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *CommittedError) Unwrap() error { return e.Err }

// LockError describes a lock held by someone else.
type LockError struct {
	Path   string        // the lock file
	Age    time.Duration // how long ago the lock file was created, if known
	Holder string        // who holds it, if recorded
	Err    error         // ErrLocked or ErrLockLost
}

// Error implements error.
func (e *LockError) Error() string {
	msg := fmt.Sprintf("%s: %v", e.Path, e.Err)
	if e.Age > 0 {
		msg += fmt.Sprintf(" (created %v ago", e.Age.Round(time.Millisecond))
		if e.Holder != "" {
			msg += " by " + e.Holder
		}
		msg += ")"
	}
	return msg
}

// Unwrap returns ErrLocked or ErrLockLost.
func (e *LockError) Unwrap() error { return e.Err }
