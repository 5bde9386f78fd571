package tool

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/refstore/refstore/internal/odb"
	"github.com/refstore/refstore/reftable"
	"github.com/refstore/refstore/vfs"
)

// An objectCheck checks the object ids update writes as git does when it
// reads a command: the id must name an object of the repository (loose,
// packed, or in an alternate), and one written to a branch (HEAD or
// refs/heads/..., as the command names the ref) a commit.
type objectCheck struct {
	dir  string // the objects directory
	hash reftable.Hash
	db   *odb.DB // opened at the first check
	// seen are the ids looked up (at most maxSeen, then forgotten), so
	// that a bulk update of many refs to a few commits reads a few
	// objects.
	seen map[string]idInfo
}

// idInfo is what is known of an object id: whether it exists and, if
// looked up, its type.
type idInfo struct {
	exists bool
	typ    odb.Type // 0 until looked up
}

// maxSeen bounds the ids an objectCheck remembers.
const maxSeen = 1 << 12

// isBranch reports whether git requires a commit for name: HEAD and
// refs/heads/.
func isBranch(name string) bool {
	return name == "HEAD" || strings.HasPrefix(name, "refs/heads/")
}

// check checks that id may be written to the ref name, failing with git's
// message if not.
func (c *objectCheck) check(name string, id []byte) error {
	if c.db == nil {
		// As git, objects may also be in the directories the
		// environment adds (a pre-receive hook's quarantine, say).
		alts := odb.EnvAlternates(os.Getenv("GIT_ALTERNATE_OBJECT_DIRECTORIES"))
		db, err := odb.Open(vfs.OS, c.dir, c.hash.Size(), alts...)
		if err != nil {
			return err
		}
		c.db = db
	}
	info, ok := c.seen[string(id)]
	branch := isBranch(name)
	if !ok || branch && info.exists && info.typ == 0 {
		var err error
		if info, err = c.lookup(id, branch); err != nil {
			return err
		}
		if len(c.seen) >= maxSeen || c.seen == nil {
			c.seen = make(map[string]idInfo)
		}
		c.seen[string(id)] = info
	}
	switch {
	case !info.exists:
		return fmt.Errorf("trying to write ref '%s' with nonexistent object %x", clip(name), id)
	case branch && info.typ != odb.Commit:
		return fmt.Errorf("trying to write non-commit object %x to branch '%s'", id, clip(name))
	}
	return nil
}

// lookup finds out whether id exists and, if typ is set, its type.
func (c *objectCheck) lookup(id []byte, typ bool) (idInfo, error) {
	if !typ {
		has, err := c.db.Has(id)
		return idInfo{exists: has}, err
	}
	t, err := c.db.Type(id)
	if errors.Is(err, odb.ErrNotFound) {
		return idInfo{}, nil
	}
	return idInfo{exists: err == nil, typ: t}, err
}

// close closes the object database, if opened.
func (c *objectCheck) close() error {
	if c.db == nil {
		return nil
	}
	return c.db.Close()
}
