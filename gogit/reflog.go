package gogit

import (
	"encoding/hex"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// go-git tells a storage only which ref gets which value, not why. The
// reflog message is inferred from the ref, its old and new values and
// the objects, in the words git uses for the commands go-git mirrors:
//
//	ref                           change                          message
//	HEAD or the branch HEAD is on a commit whose first parent is   commit: <subject>
//	                              the old id (merge: several)     (commit (merge): ...)
//	                              a root commit, no old id        commit (initial): <subject>
//	                              a commit with the old one's     commit (amend): <subject>
//	                              parents
//	the branch HEAD is on         any other id                    reset: moving to <id>
//	HEAD                          a branch or another id          checkout: moving from <old> to <new>
//	another refs/heads/ branch    created                         branch: Created from <HEAD's branch, HEAD or id>
//	                              moved                           branch: Reset to <id>
//	refs/remotes/<remote>/...     by CheckAndSetReference         fetch <remote>: storing head | fast-forward | forced-update
//	                              (go-git's fetch)
//	                              by SetReference (go-git's push) update by push
//	anything else                                                 (empty, as git update-ref without -m)
//
// git writes the revision as the user typed it where this writes the
// full id ("reset: moving to HEAD~1" here reads "reset: moving to
// <id>"), and a fast-forward merge or pull that go-git makes reads as a
// commit or a reset.

// maxAncestorWalk bounds the commits read to tell a fast-forward from a
// forced update.
const maxAncestorWalk = 10000

// reflogMessage returns the message of the change of the ref value.Name
// from cur (as stored, not followed) to value; cas tells
// CheckAndSetReference from SetReference.
func (s *Storage) reflogMessage(cur, value refValue, cas bool) (string, error) {
	if value.Missing() {
		return "", nil
	}
	name := value.Name
	head, err := s.refs.read("HEAD")
	if err != nil {
		return "", err
	}
	oldID, err := s.resolve(cur)
	if err != nil {
		return "", err
	}
	switch {
	case name == "HEAD":
		if !value.Symbolic() {
			if m := s.commitMessage(oldID, value.ID); m != "" {
				return m, nil
			}
			return "checkout: moving from " + describe(cur) + " to " + hex.EncodeToString(value.ID), nil
		}
		return "checkout: moving from " + describe(cur) + " to " + describe(value), nil
	case name == head.Target && !value.Symbolic():
		if m := s.commitMessage(oldID, value.ID); m != "" {
			return m, nil
		}
		return "reset: moving to " + hex.EncodeToString(value.ID), nil
	case strings.HasPrefix(name, "refs/heads/") && !value.Symbolic():
		if !cur.Missing() {
			return "branch: Reset to " + hex.EncodeToString(value.ID), nil
		}
		from := hex.EncodeToString(value.ID)
		if headID, err := s.resolve(head); err == nil && slices.Equal(headID, value.ID) {
			from = "HEAD"
			if head.Symbolic() {
				from = describe(head)
			}
		}
		return "branch: Created from " + from, nil
	case strings.HasPrefix(name, "refs/remotes/") && !value.Symbolic():
		if !cas {
			return "update by push", nil
		}
		remote, _, _ := strings.Cut(strings.TrimPrefix(name, "refs/remotes/"), "/")
		what := "forced-update"
		switch {
		case cur.Missing():
			what = "storing head"
		case oldID != nil && s.isAncestor(hashOf(oldID), hashOf(value.ID)):
			what = "fast-forward"
		}
		return "fetch " + remote + ": " + what, nil
	}
	return "", nil
}

// describe names a value as git's checkout messages do: a branch by its
// short name, another ref by its full name, an id in hex.
func describe(v refValue) string {
	if v.Symbolic() {
		return strings.TrimPrefix(v.Target, "refs/heads/")
	}
	return hex.EncodeToString(v.ID)
}

// maxSymrefDepth is how many refs git reads following symbolic refs.
const maxSymrefDepth = 5

// resolve follows symbolic refs from v to the id they end at; nil when
// they end at a missing ref, or pass more refs than git follows.
func (s *Storage) resolve(v refValue) ([]byte, error) {
	for range maxSymrefDepth {
		if !v.Symbolic() {
			return v.ID, nil
		}
		var err error
		if v, err = s.refs.read(v.Target); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// hashOf returns id as a go-git hash.
func hashOf(id []byte) plumbing.Hash {
	var h plumbing.Hash
	copy(h[:], id)
	return h
}

// commitMessage returns git's message for moving a branch (or detached
// HEAD) from oldID to the commit newID if that is a commit, a root commit,
// a merge or an amend; "" otherwise.
func (s *Storage) commitMessage(oldID, newID []byte) string {
	c, err := object.GetCommit(s.Storage, hashOf(newID))
	if err != nil {
		return ""
	}
	subject, _, _ := strings.Cut(c.Message, "\n")
	parents := c.ParentHashes
	switch {
	case len(parents) == 0 && oldID == nil:
		return "commit (initial): " + subject
	case len(parents) > 1 && oldID != nil && parents[0] == hashOf(oldID):
		return "commit (merge): " + subject
	case len(parents) == 1 && oldID != nil && parents[0] == hashOf(oldID):
		return "commit: " + subject
	case oldID != nil && !slices.Equal(oldID, newID):
		if old, err := object.GetCommit(s.Storage, hashOf(oldID)); err == nil && slices.Equal(old.ParentHashes, parents) {
			return "commit (amend): " + subject
		}
	}
	return ""
}

// isAncestor reports whether the commit old is reachable from the commit
// h, reading at most maxAncestorWalk commits.
func (s *Storage) isAncestor(old, h plumbing.Hash) bool {
	seen := map[plumbing.Hash]bool{}
	queue := []plumbing.Hash{h}
	for len(queue) > 0 && len(seen) < maxAncestorWalk {
		h, queue = queue[0], queue[1:]
		if h == old {
			return true
		}
		if seen[h] {
			continue
		}
		seen[h] = true
		if c, err := object.GetCommit(s.Storage, h); err == nil {
			queue = append(queue, c.ParentHashes...)
		}
	}
	return false
}

// idOf returns h as the bytes of an object id.
func idOf(h plumbing.Hash) []byte { return append([]byte(nil), h[:]...) }
