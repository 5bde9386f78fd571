package gogit

import (
	"errors"
	"time"

	"github.com/refstore/refstore/stack"
)

// The adapter reaches refstore only through refBackend and openRepo, which
// refstore.go implements with refstore's repository package (repo): the
// rest of the package speaks go-git on one side and these types on the
// other. The values are refstore's own (package stack), so that nothing
// converts them between the two sides.

// refValue is a ref as refstore reads and writes it (stack.Ref): Name
// and its value, an object id (ID, with Peeled the id an annotated tag
// peels to), a symbolic target (Target), or neither (Missing).
type refValue = stack.Ref

// refUpdate is one change of a transaction (stack.Update): the ref Name
// set to the embedded value, a missing value deleting it; Old, when not
// nil, the value the ref must have when the transaction commits; Verify
// only checks Old. As git update-ref --no-deref, the adapter never sets
// Deref: it changes the ref it names.
type refUpdate = stack.Update

// identity is who makes a change and when, as reflog entries record it
// (stack.Identity).
type identity = stack.Identity

// repoInfo is where a repository lives.
type repoInfo struct {
	gitDir    string // its git directory; a linked worktree's own (.git/worktrees/<id>)
	commonDir string // the main git directory; gitDir unless a linked worktree
	workTree  string // its working tree; "" for a bare repository
	linked    bool   // a linked worktree
	// objectFormat is "sha1" or "sha256" (extensions.objectFormat).
	objectFormat string
}

// logEntry is one reflog entry.
type logEntry struct {
	old, new    []byte // object ids before and after; zero ids when none
	name, email string
	when        time.Time
	message     string
}

// errNoRepository reports a path where no repository was found.
var errNoRepository = errors.New("no git repository")

// errRefChanged reports a transaction whose expected old value did not
// match: the ref changed since the caller read it.
var errRefChanged = errors.New("reference changed concurrently")

// refBackend is what the adapter needs of a repository's refs, read and
// written as git does in the worktree the repository was opened at: in a
// linked worktree the per-worktree refs (HEAD, refs/worktree/,
// refs/bisect/, refs/rewritten/) are its own and the rest shared, and
// git's names for other worktrees' refs (main-worktree/HEAD,
// worktrees/<id>/HEAD) reach them. Implementations are safe for
// concurrent use.
type refBackend interface {
	// read returns the ref name, without following it if it is
	// symbolic; a missing ref is a missing value.
	read(name string) (refValue, error)
	// list returns HEAD and the refs under refs/, in name order, as one
	// state of the repository.
	list() ([]refValue, error)
	// commit applies the updates atomically, with reflog entries by who
	// as git writes them: every expected value is checked under the
	// locks of every stack written, before any is written. An expected
	// value that does not match fails with errRefChanged and writes
	// nothing.
	commit(who identity, updates []refUpdate) error
	// reflog returns the reflog of name, newest first, without git's
	// existence markers.
	reflog(name string) ([]logEntry, error)
	// compact merges the worktree's stack into one table, as git
	// pack-refs does.
	compact() error
	// close releases the stacks.
	close() error
}
