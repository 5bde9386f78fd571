package stack

import (
	"context"
	"fmt"
	"github.com/refstore/refstore/stack/storage"
	"sync/atomic"
	"testing"

	"github.com/refstore/refstore/reftable"
)

// countReads counts the reads of the tables a backend opens, by name.
type countReads struct {
	*dirBackend
	reads map[string]*atomic.Int64
}

type countedTable struct {
	storage.TableFile
	n *atomic.Int64
}

func (t countedTable) ReadAt(p []byte, off int64) (int, error) {
	t.n.Add(1)
	return t.TableFile.ReadAt(p, off)
}

func (c *countReads) OpenTable(ctx context.Context, name string) (storage.TableFile, error) {
	f, err := c.dirBackend.OpenTable(ctx, name)
	if err != nil {
		return nil, err
	}
	if c.reads[name] == nil {
		c.reads[name] = new(atomic.Int64)
	}
	return countedTable{f, c.reads[name]}, nil
}

// TestFiltersSurviveReload: the filter of ref names a table builds once
// merged lookups searched it in vain often enough stays with the table
// across the reload after a commit (the stack keeps the handles of tables
// still listed), so lookups of absent names still skip it without
// reading. A stack opened afresh reads it for the same lookups.
func TestFiltersSurviveReload(t *testing.T) {
	dir := t.TempDir()
	st := openStack(t, dir, noAutoCompaction())
	add := func(st *Stack, prefix string, n int) {
		t.Helper()
		err := st.AddTable(ctx, func(w *reftable.Writer) error {
			min, _ := w.Limits()
			for i := range n {
				r := reftable.RefRecord{Name: fmt.Appendf(nil, "%s%05d", prefix, i), UpdateIndex: min, Type: reftable.RefVal1, Value: oid(i)}
				if err := w.AddRef(&r); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	add(st, "refs/heads/a", 3000) // larger than a table read whole
	add(st, "refs/heads/b", 10)
	base := listFile(t, dir)[0]
	st.Close()

	// absentReads looks up names that are in no table, between the base
	// table's names, and returns how often the base table was read.
	absentReads := func(st *Stack, c *countReads) int64 {
		t.Helper()
		c.reads[base].Store(0)
		snap, err := st.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer snap.Close()
		var r reftable.RefRecord
		for i := range 300 {
			if found, err := snap.Merged().LookupRef(fmt.Appendf(nil, "refs/heads/a%05d-gone", i*7), &r); err != nil || found {
				t.Fatalf("lookup of an absent name: %v, %v", found, err)
			}
		}
		return c.reads[base].Load()
	}
	open := func() (*Stack, *countReads) {
		t.Helper()
		c := &countReads{dirBackend: newDirBackend(dir, noAutoCompaction().withDefaults()), reads: map[string]*atomic.Int64{}}
		st, err := OpenBackend(ctx, c, dir, noAutoCompaction())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st, c
	}

	st, c := open()
	cold := absentReads(st, c)     // the filter is built on the way
	filtered := absentReads(st, c) // only its false positives read
	if filtered*4 > cold {
		t.Fatalf("vain lookups read the base table %d times, then %d: no filter to test", cold, filtered)
	}
	add(st, "refs/heads/c", 10) // a commit: the stack reloads
	if n := absentReads(st, c); n > filtered {
		t.Errorf("after a reload, vain lookups read the base table %d times, %d before it: its filter was lost", n, filtered)
	}
	fresh, fc := open()
	if n := absentReads(fresh, fc); n*2 < cold {
		t.Errorf("a fresh stack's vain lookups read the base table %d times, %d the first time", n, cold)
	}
}
