package reftable

import (
	"bytes"
	"errors"
	"fmt"
	"iter"
)

// view returns a merged view of t alone that shows deletions, through
// which the Table's iteration methods run.
func (t *Table) view() *Merged {
	return &Merged{tables: []*Table{t}, hash: t.hash, show: true}
}

// Refs returns the table's ref records, deletions included, whose names
// start with prefix, in name order. Each record is valid until the next
// iteration step.
func (t *Table) Refs(prefix []byte) iter.Seq2[RefRecord, error] {
	return func(yield func(RefRecord, error) bool) { t.refs(prefix, yield) }
}

// refs runs one table's cursor directly: no merging, and nothing
// allocated beyond the pooled iterator.
func (t *Table) refs(prefix []byte, yield func(RefRecord, error) bool) {
	it := newTableIter(t, blockTypeRef)
	defer it.release()
	it.seek(prefix)
	for it.next() {
		if !bytes.HasPrefix(it.ref.Name, prefix) || !yield(it.ref, nil) {
			return
		}
	}
	if it.err != nil {
		yield(RefRecord{}, it.err)
	}
}

// Ref returns the table's record for name (possibly a deletion), or an
// error matching ErrNotFound. The record is a copy owned by the caller.
func (t *Table) Ref(name []byte) (RefRecord, error) {
	var r RefRecord
	found, err := t.LookupRef(name, &r)
	if err == nil && !found {
		err = notFound(name)
	}
	if err != nil {
		return RefRecord{}, err
	}
	return r, nil
}

// LookupRef looks up the table's record for name (possibly a deletion)
// and copies it into dst, reusing the memory of dst's slices: a caller
// that passes the same dst to every lookup allocates nothing. Fields the
// record does not hold are set to empty slices. It reports whether the
// table has a record for name; dst is unchanged when it has none.
//
// Once merged lookups have given the table a filter of its names, a
// lookup of a name the filter rules out does not search the table.
func (t *Table) LookupRef(name []byte, dst *RefRecord) (bool, error) {
	if f := t.filter(); f != nil && !f.mayContain(hashName(name)) {
		return false, nil
	}
	it := newTableIter(t, blockTypeRef)
	it.seekRef(name)
	found := it.next() && bytes.Equal(it.key, name)
	err := it.err
	if found {
		it.ref.copyTo(dst)
	}
	it.release()
	return found, err
}

// Logs returns the table's log records, deletions included, of refs whose
// names start with prefix.
func (t *Table) Logs(prefix []byte) iter.Seq2[LogRecord, error] {
	return func(yield func(LogRecord, error) bool) { t.logs(prefix, false, yield) }
}

// LogsFor returns the table's log records of the ref named name, newest
// first.
func (t *Table) LogsFor(name []byte) iter.Seq2[LogRecord, error] {
	prefix := append(name[:len(name):len(name)], 0)
	return func(yield func(LogRecord, error) bool) { t.logs(prefix, true, yield) }
}

// logs yields the table's log records in the range of Merged.logs, read
// directly rather than through a merge of one table.
func (t *Table) logs(prefix []byte, exact bool, yield func(LogRecord, error) bool) {
	it := newTableIter(t, blockTypeLog)
	defer it.release()
	it.seek(prefix)
	for it.next() {
		if !logKeyIn(it.key, prefix, exact) || !yield(it.log, nil) {
			return
		}
	}
	if it.err != nil {
		yield(LogRecord{}, it.err)
	}
}

// RefsFor returns the table's refs whose value or peeled value is id.
func (t *Table) RefsFor(id []byte) iter.Seq2[RefRecord, error] { return t.refsFor(id) }

// refsFor finds the refs of t that point at id, through the object index
// when the table has one and it lists the blocks, else by a full scan.
func (t *Table) refsFor(id []byte) iter.Seq2[RefRecord, error] {
	return func(yield func(RefRecord, error) bool) {
		if len(id) != t.hash.Size() {
			return
		}
		if t.objOffset == 0 {
			t.scanRefsFor(id, yield)
			return
		}
		oi := newTableIter(t, blockTypeObj)
		defer oi.release()
		prefix := id[:t.objIDLen]
		oi.seek(prefix)
		if !oi.next() {
			if oi.err != nil {
				yield(RefRecord{}, oi.err)
			}
			return
		}
		if !bytes.Equal(oi.key, prefix) {
			return
		}
		if len(oi.offsets) == 0 {
			t.scanRefsFor(id, yield)
			return
		}
		ri := newTableIter(t, blockTypeRef)
		defer ri.release()
		for i, off := range oi.offsets {
			if i > 0 && off == oi.offsets[i-1] {
				continue // offsets never decrease; a repeat names the same block
			}
			ok, err := ri.rd.load(&ri.blk, int64(off), blockTypeRef)
			if err == nil && !ok {
				err = t.corrupt(oi.blk.off, "obj record points to %d, not a ref block", off)
			}
			if err != nil {
				yield(RefRecord{}, err)
				return
			}
			ri.pos, ri.key, ri.done = ri.blk.headerOff+4, ri.key[:0], false
			for ri.pos < ri.blk.restartOff {
				if !ri.decode() {
					yield(RefRecord{}, ri.err)
					return
				}
				if pointsAt(&ri.ref, id) && !yield(ri.ref, nil) {
					return
				}
			}
		}
	}
}

func (t *Table) scanRefsFor(id []byte, yield func(RefRecord, error) bool) {
	for r, err := range t.Refs(nil) {
		if err != nil {
			yield(RefRecord{}, err)
			return
		}
		if pointsAt(&r, id) && !yield(r, nil) {
			return
		}
	}
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

func notFound(name []byte) error { return fmt.Errorf("ref %q: %w", name, ErrNotFound) }
