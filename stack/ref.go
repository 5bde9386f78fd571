package stack

import (
	"bytes"
	"encoding/hex"

	"github.com/refstore/refstore/reftable"
)

// Ref is a reference: a name and its value, as reads return it and
// transactions write it. The value is an object id (ID, with Peeled the
// id an annotated tag peels to, when recorded), a symbolic target (Target,
// the name of another ref), or neither: a ref that does not exist
// (Missing).
//
// RefOf and Ref.Record convert to and from the format's records; they are
// the only conversions between the two. A Ref is a plain value: reads
// return Refs that share no memory with the stack, and a transaction
// reads its Refs only until Commit or Close returns.
type Ref struct {
	Name   string
	ID     []byte // object id; nil for a symbolic or missing ref
	Peeled []byte // the id an annotated tag peels to, when recorded; else nil
	Target string // the ref a symbolic ref points at; "" otherwise

	// UpdateIndex is the update index of the record a read found; a
	// transaction ignores it (its table has its own).
	UpdateIndex uint64
}

// RefOf returns the ref a record holds, its bytes copied: a deletion
// (a tombstone) is a missing ref.
func RefOf(r *reftable.RefRecord) Ref {
	ref := Ref{Name: string(r.Name), UpdateIndex: r.UpdateIndex}
	ref.setValue(r, nil)
	return ref
}

// setValue sets ref's value to that of r, allocating the ids from slab
// when it has room (a slab that refs share saves an allocation each; see
// Snapshot.Refs); it returns what is left of slab.
func (ref *Ref) setValue(r *reftable.RefRecord, slab []byte) []byte {
	ref.ID, ref.Peeled, ref.Target = nil, nil, ""
	switch r.Type {
	case reftable.RefVal1:
		ref.ID, slab = cloneInto(slab, r.Value)
	case reftable.RefVal2:
		ref.ID, slab = cloneInto(slab, r.Value)
		ref.Peeled, slab = cloneInto(slab, r.Peeled)
	case reftable.RefSymref:
		ref.Target = string(r.Target)
	}
	return slab
}

// cloneInto copies b into the start of slab when it fits, else into new
// memory, and returns the copy and the rest of slab.
func cloneInto(slab, b []byte) ([]byte, []byte) {
	if len(b) > len(slab) {
		return bytes.Clone(b), slab
	}
	n := copy(slab, b)
	return slab[:n:n], slab[n:]
}

// Record returns the record of r at update index updateIndex: a RefVal1,
// RefVal2 or RefSymref record, or a deletion for a missing ref. It shares
// r's id slices.
func (r Ref) Record(updateIndex uint64) reftable.RefRecord {
	var rec reftable.RefRecord
	r.fill(&rec, []byte(r.Name), updateIndex)
	return rec
}

// fill sets rec to the record of r under name (r.Name, in a buffer the
// caller reuses) at update index index.
func (r *Ref) fill(rec *reftable.RefRecord, name []byte, index uint64) {
	*rec = reftable.RefRecord{Name: name, UpdateIndex: index}
	switch {
	case r.Target != "":
		rec.Type, rec.Target = reftable.RefSymref, []byte(r.Target)
	case r.ID != nil && r.Peeled != nil:
		rec.Type, rec.Value, rec.Peeled = reftable.RefVal2, r.ID, r.Peeled
	case r.ID != nil:
		rec.Type, rec.Value = reftable.RefVal1, r.ID
	default:
		rec.Type = reftable.RefDeletion
	}
}

// Missing reports whether r is a ref that does not exist: it has neither
// an object id nor a target.
func (r Ref) Missing() bool { return r.ID == nil && r.Target == "" }

// Symbolic reports whether r is a symbolic ref.
func (r Ref) Symbolic() bool { return r.Target != "" }

// String formats r as git lists refs: "<name> <id>", "<name> <id>
// <peeled>" for an annotated tag, "<name> ref: <target>" for a symbolic
// ref, and "<name> missing"; without the name and its space when Name is
// empty. Ids are lowercase hex.
func (r Ref) String() string {
	v := r.value()
	if r.Peeled != nil && r.Target == "" {
		v += " " + hex.EncodeToString(r.Peeled)
	}
	if r.Name == "" {
		return v
	}
	return r.Name + " " + v
}

// value formats what a compare-and-swap compares of r, as git names it:
// an id in hex, "ref: <target>", or "missing".
func (r Ref) value() string {
	switch {
	case r.Target != "":
		return "ref: " + r.Target
	case r.ID != nil:
		return hex.EncodeToString(r.ID)
	}
	return "missing"
}

// sameValue reports whether r and o hold the same object id or target,
// as a compare-and-swap compares them: names, peeled ids and update
// indexes aside.
func (r Ref) sameValue(o Ref) bool {
	return bytes.Equal(r.ID, o.ID) && r.Target == o.Target
}
