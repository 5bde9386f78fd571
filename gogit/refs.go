package gogit

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage"
)

// maxSetTries bounds how often SetReference reads a ref again when it
// changed between its read and its commit (see SetReference).
const maxSetTries = 10

// SetReference stores ref, replacing what its name held, as git
// update-ref --no-deref does: a symbolic ref is itself replaced, never
// followed. The change is logged as git's reftable backend logs it (the
// ref's own reflog as core.logAllRefUpdates says, HEAD's when HEAD points
// at the ref), by the identity of the environment or config, with a
// message like git's for the operation go-git was doing (see package
// documentation). An annotated tag's ref records the id it peels to, as
// git records it.
//
// Storing the id a ref has already does nothing, not even a reflog entry
// (go-git's Checkout stores the branch it checked out again). Storing the
// zero id deletes the ref, as git update-ref does.
//
// The message depends on the old value, so the old value read is checked
// when the change commits; if another writer changed the ref in between,
// SetReference reads it again and retries, a bounded number of times,
// then stores ref whatever the ref holds.
func (s *Storage) SetReference(ref *plumbing.Reference) error {
	return s.set(ref, false)
}

// set stores ref as SetReference describes; cas says whether the caller
// is CheckAndSetReference, which go-git's fetch calls.
func (s *Storage) set(ref *plumbing.Reference, cas bool) error {
	if ref == nil {
		return errors.New("gogit: nil reference")
	}
	value, err := s.valueOf(ref)
	if err != nil {
		return err
	}
	for try := 1; ; try++ {
		cur, err := s.refs.read(value.Name)
		if err != nil {
			return err
		}
		if !cur.Symbolic() && !value.Symbolic() && bytes.Equal(cur.ID, value.ID) {
			// go-git stores refs as they are (its Checkout resets the
			// branch it just checked out): nothing to write or log.
			return nil
		}
		u := refUpdate{Ref: value, Old: &cur}
		u.Message, err = s.reflogMessage(cur, value, cas)
		if err != nil {
			return err
		}
		if try == maxSetTries {
			u.Old = nil
		}
		err = s.refs.commit(s.identity(), []refUpdate{u})
		if errors.Is(err, errRefChanged) && try < maxSetTries {
			continue
		}
		return err
	}
}

// CheckAndSetReference stores ref as SetReference does if old is nil;
// otherwise only if the ref old names holds old's value when the change
// commits (checked in the same transaction, under the stack's lock), and
// else it returns storage.ErrReferenceHasChanged and changes nothing. As
// git's update-ref, an old hash reference of the zero id requires that
// the ref does not exist. old usually names ref's name; if it names
// another ref, that one is checked and ref is stored, atomically.
func (s *Storage) CheckAndSetReference(ref, old *plumbing.Reference) error {
	if old == nil {
		return s.set(ref, true)
	}
	if ref == nil {
		return errors.New("gogit: nil reference")
	}
	value, err := s.valueOf(ref)
	if err != nil {
		return err
	}
	var expect refValue
	switch old.Type() {
	case plumbing.HashReference:
		if !old.Hash().IsZero() {
			expect.ID = idOf(old.Hash())
		}
	case plumbing.SymbolicReference:
		expect.Target = old.Target().String()
	default:
		return fmt.Errorf("gogit: old value of %s: %w", old.Name(), plumbing.ErrInvalidType)
	}
	cur, err := s.refs.read(value.Name)
	if err != nil {
		return err
	}
	u := refUpdate{Ref: value}
	u.Message, err = s.reflogMessage(cur, value, true)
	if err != nil {
		return err
	}
	updates := []refUpdate{u}
	if old.Name() == ref.Name() {
		updates[0].Old = &expect
	} else {
		expect.Name = old.Name().String()
		updates = append(updates, refUpdate{Ref: expect, Old: &expect, Verify: true})
	}
	err = s.refs.commit(s.identity(), updates)
	if errors.Is(err, errRefChanged) {
		// go-git's callers compare this error with ==.
		return storage.ErrReferenceHasChanged
	}
	return err
}

// valueOf returns what ref stores: its id, with the id an annotated tag
// peels to when the object is here (as git records it), or its target;
// for the zero id, as git's update-ref takes it, nothing (a deletion).
func (s *Storage) valueOf(ref *plumbing.Reference) (refValue, error) {
	v := refValue{Name: ref.Name().String()}
	switch ref.Type() {
	case plumbing.HashReference:
		if h := ref.Hash(); !h.IsZero() { // as git: the zero id deletes
			v.ID, v.Peeled = idOf(h), s.peel(h)
		}
		return v, nil
	case plumbing.SymbolicReference:
		v.Target = ref.Target().String()
		return v, nil
	}
	return refValue{}, fmt.Errorf("gogit: reference %s: %w", ref.Name(), plumbing.ErrInvalidType)
}

// Reference returns the ref name, without following it if it is
// symbolic, or plumbing.ErrReferenceNotFound.
func (s *Storage) Reference(name plumbing.ReferenceName) (*plumbing.Reference, error) {
	v, err := s.refs.read(name.String())
	if err != nil {
		return nil, err
	}
	if v.Missing() {
		return nil, plumbing.ErrReferenceNotFound
	}
	return reference(name.String(), v)
}

// reference returns the go-git reference name of a value.
func reference(name string, v refValue) (*plumbing.Reference, error) {
	if v.Symbolic() {
		return plumbing.NewSymbolicReference(plumbing.ReferenceName(name), plumbing.ReferenceName(v.Target)), nil
	}
	var h plumbing.Hash
	if len(v.ID) != len(h) {
		return nil, fmt.Errorf("gogit: ref %s: object id of %d bytes, want %d", name, len(v.ID), len(h))
	}
	copy(h[:], v.ID)
	return plumbing.NewHashReference(plumbing.ReferenceName(name), h), nil
}

// IterReferences iterates HEAD and every ref under refs/, in name order,
// as one state of the repository (in a linked worktree, one state of
// each of its two stacks).
func (s *Storage) IterReferences() (storer.ReferenceIter, error) {
	refs, err := s.refs.list()
	if err != nil {
		return nil, err
	}
	out := make([]*plumbing.Reference, 0, len(refs))
	for _, r := range refs {
		ref, err := reference(r.Name, r)
		if err != nil {
			return nil, err
		}
		out = append(out, ref)
	}
	return storer.NewReferenceSliceIter(out), nil
}

// RemoveReference deletes the ref name, and its reflog as git does
// (unless it is symbolic: then, as git, its reflog logs the deletion);
// removing a missing ref does nothing.
func (s *Storage) RemoveReference(name plumbing.ReferenceName) error {
	return s.refs.commit(s.identity(), []refUpdate{{Ref: refValue{Name: name.String()}}})
}

// CountLooseRefs returns 0: a reftable repository has no loose refs.
func (s *Storage) CountLooseRefs() (int, error) { return 0, nil }

// PackRefs compacts the worktree's stack into one table, as git
// pack-refs --all does: in a linked worktree its own stack, which holds
// its per-worktree refs, and not the main one (git pack-refs there
// leaves it too).
func (s *Storage) PackRefs() error { return s.refs.compact() }

// peel returns the id the object h peels to if it is an annotated tag
// here (following tags of tags), else nil, as git records it.
func (s *Storage) peel(h plumbing.Hash) []byte {
	tag := false
	for range maxTagDepth {
		o, err := s.Storage.EncodedObject(plumbing.AnyObject, h)
		if err != nil {
			return nil
		}
		if o.Type() != plumbing.TagObject {
			if !tag {
				return nil
			}
			return idOf(h)
		}
		t, err := object.DecodeTag(s.Storage, o)
		if err != nil {
			return nil
		}
		h, tag = t.Target, true
	}
	return nil
}

// maxTagDepth bounds the chains of tags of tags peel follows.
const maxTagDepth = 16
