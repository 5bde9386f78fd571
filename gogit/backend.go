package gogit

import (
	"bytes"
	"errors"
	"time"
)

// The adapter reaches refstore only through refBackend and the two
// functions of refstore.go, locateRepo and openRefBackend: the rest of the
// package speaks go-git on one side and these small types on the other.
// When refstore's repository package lands, refstore.go becomes calls to
// it and nothing else here changes.

// repoInfo is where a repository lives and how it stores its refs.
type repoInfo struct {
	gitDir    string // its git directory; a linked worktree's own (.git/worktrees/<id>)
	commonDir string // the main git directory; gitDir unless a linked worktree
	workTree  string // its working tree; "" for a bare repository
	linked    bool   // a linked worktree
	// reftable is false for a repository whose refs are in git's files
	// backend, which go-git opens by itself.
	reftable bool
	// objectFormat is "sha1" or "sha256" (extensions.objectFormat).
	objectFormat string
}

// refValue is what a ref holds: an object id, a symbolic target, or, for
// a missing ref, neither.
type refValue struct {
	id     []byte // object id; nil for a symbolic or missing ref
	peeled []byte // the id an annotated tag peels to, when known
	target string // the ref a symbolic ref points at
}

// missing reports whether v is the value of a ref that does not exist.
func (v refValue) missing() bool { return v.id == nil && v.target == "" }

// equal reports whether v and w hold the same id or target (peeled ids
// are not compared: they follow from the id).
func (v refValue) equal(w refValue) bool {
	return bytes.Equal(v.id, w.id) && v.target == w.target
}

// namedRef is a ref and its value, as a listing returns it.
type namedRef struct {
	name string
	refValue
}

// refUpdate is one change of a transaction. As git, it does not follow
// symbolic refs: it changes the ref name names.
type refUpdate struct {
	name  string
	value refValue // the new value; a missing value deletes the ref
	// expect, when not nil, is the value the ref must have when the
	// transaction commits (a missing value: the ref must not exist);
	// otherwise the whole transaction fails with errRefChanged.
	expect *refValue
	// verify only checks expect and changes nothing.
	verify bool
	// message is the reflog message.
	message string
}

// identity is who makes a change and when, as reflog entries record it.
type identity struct {
	name, email string
	when        time.Time
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

// refBackend is what the adapter needs of a repository's refs. In a
// linked worktree it routes per-worktree refs (HEAD, refs/worktree/,
// refs/bisect/, refs/rewritten/) to the worktree's stack and the rest to
// the main one, as git does. Implementations are safe for concurrent use.
type refBackend interface {
	// read returns the value stored under name, without following
	// symbolic refs; a missing ref has the missing value.
	read(name string) (refValue, error)
	// list returns HEAD and the refs under refs/, in name order.
	list() ([]namedRef, error)
	// commit applies the updates atomically (per stack: in a linked
	// worktree every expected value is checked under the locks of both
	// stacks before either is written), with reflog entries by who as
	// git writes them; the ref HEAD points at also logs in HEAD's
	// reflog. An expected value that does not match fails with
	// errRefChanged and writes nothing.
	commit(who identity, updates []refUpdate) error
	// reflog returns the reflog of name, newest first, without git's
	// existence markers.
	reflog(name string) ([]logEntry, error)
	// compact merges each stack into one table.
	compact() error
	// close releases the stacks.
	close() error
}
