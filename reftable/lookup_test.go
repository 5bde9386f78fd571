package reftable

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
)

// TestLookupRef looks up every record of a multi-block table, with an
// index, into one reused record, and compares with what iteration
// returns; names between and around the records are not found and leave
// the record alone.
func TestLookupRef(t *testing.T) {
	var refs []RefRecord
	for i := range 2000 {
		name := fmt.Sprintf("refs/heads/b%05d", 2*i+1)
		r := RefRecord{Name: []byte(name), UpdateIndex: 1, Type: RefValueType(i % 4)}
		switch r.Type {
		case RefVal1:
			r.Value = utID(SHA1, i)
		case RefVal2:
			r.Value, r.Peeled = utID(SHA1, i), utID(SHA1, i+1)
		case RefSymref:
			r.Target = []byte(fmt.Sprintf("refs/heads/target-%d", i))
		}
		refs = append(refs, r)
	}
	for _, opts := range []WriterOptions{{}, {BlockSize: 256}, {BlockSize: 300, Unpadded: true, RestartInterval: 3}} {
		opts.MinUpdateIndex, opts.MaxUpdateIndex = 1, 1
		tab := utOpen(t, utWrite(t, opts, refs, nil))
		var got RefRecord
		for i, want := range refs {
			found, err := tab.LookupRef(want.Name, &got)
			if err != nil || !found {
				t.Fatalf("%+v: LookupRef(%s) = %v, %v", opts, want.Name, found, err)
			}
			if !sameRef(&want, &got) {
				t.Fatalf("%+v: LookupRef(%s) = %+v, want %+v", opts, want.Name, got, want)
			}
			kept := got.Clone()
			for _, miss := range []string{fmt.Sprintf("refs/heads/b%05d", 2*i), fmt.Sprintf("refs/heads/b%05d", 2*i+2), fmt.Sprintf("refs/heads/b%05dx", 2*i+1), "refs/heads/b", "refs/heads/c", "a"} {
				found, err := tab.LookupRef([]byte(miss), &got)
				if err != nil || found {
					t.Fatalf("%+v: LookupRef(%s) = %v, %v, want not found", opts, miss, found, err)
				}
				if !sameRef(&kept, &got) {
					t.Fatalf("%+v: LookupRef(%s) changed the record to %+v", opts, miss, got)
				}
			}
		}
	}
}

// TestLookupRefAllocs: looking up into a reused record allocates
// nothing, for a table and for a merged view, and Ref returns records
// that do not share memory with later lookups.
func TestLookupRefAllocs(t *testing.T) {
	refs := benchRefs(5000, SHA1)
	for i := range refs[2500:] {
		refs[2500+i].UpdateIndex = 2
	}
	tabs := utStack(t, SHA1, utTableSpec{refs: refs[:2500]}, utTableSpec{refs: refs[2500:]})
	m := utMerged(t, false, tabs...)
	var r RefRecord
	i := 0
	allocs := testing.AllocsPerRun(200, func() {
		name := refs[i%len(refs)].Name
		i += 37
		if found, err := tabs[0].LookupRef(name, &r); err != nil || found != (bytes.Compare(name, refs[2500].Name) < 0) {
			t.Fatalf("table LookupRef(%s) = %v, %v", name, found, err)
		}
		if found, err := m.LookupRef(name, &r); err != nil || !found || !bytes.Equal(r.Name, name) {
			t.Fatalf("merged LookupRef(%s) = %v, %v", name, found, err)
		}
	})
	if allocs != 0 && !raceEnabled {
		t.Errorf("LookupRef allocates %v times a run, want 0", allocs)
	}
	a, err := m.Ref(refs[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Ref(refs[1].Name); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Name, refs[0].Name) || !bytes.Equal(a.Value, refs[0].Value) {
		t.Errorf("Ref record changed by a later lookup: %s %x", a.Name, a.Value)
	}
}

// TestIndexCachedAtSecondRead: a table decodes an index block into its
// cache only when a seek reads it a second time, so that one lookup (a
// CLI process) allocates nothing for the index; later lookups find the
// blocks decoded and allocate nothing either.
func TestIndexCachedAtSecondRead(t *testing.T) {
	refs := benchRefs(20000, SHA1)
	tab := utOpen(t, writeBenchTable(t, refs, WriterOptions{}))
	decoded := func() int {
		n := 0
		if m := tab.index.blocks.Load(); m != nil {
			for _, b := range *m {
				if b.idx != nil {
					n++
				}
			}
		}
		return n
	}
	var r RefRecord
	lookup := func(i int) {
		if found, err := tab.LookupRef(refs[i].Name, &r); err != nil || !found {
			t.Fatalf("LookupRef(%s) = %v, %v", refs[i].Name, found, err)
		}
	}
	lookup(12345)
	if n := decoded(); n != 0 {
		t.Fatalf("one lookup decoded %d index blocks, want 0", n)
	}
	lookup(12345)
	if n := decoded(); n == 0 {
		t.Fatal("a second lookup by the same path decoded no index block")
	}
	if allocs := testing.AllocsPerRun(50, func() { lookup(12345) }); allocs != 0 && !raceEnabled {
		t.Errorf("a lookup through cached index blocks allocates %v times, want 0", allocs)
	}
}

// sameRef compares two records, treating nil and empty slices alike.
func sameRef(a, b *RefRecord) bool {
	return bytes.Equal(a.Name, b.Name) && a.UpdateIndex == b.UpdateIndex && a.Type == b.Type &&
		bytes.Equal(a.Value, b.Value) && bytes.Equal(a.Peeled, b.Peeled) && bytes.Equal(a.Target, b.Target)
}

// TestCachedIndexSeeks: once a table has cached and decoded its index
// blocks, seeks binary-search the decoded keys; they must land where the
// checked path (restart points, then a scan) lands, for names in the
// table, between its names, and around the prefix the keys of an index
// block share (a key equal to that prefix, shorter and longer probes).
func TestCachedIndexSeeks(t *testing.T) {
	var names []string
	for i := range 600 {
		base := fmt.Sprintf("refs/heads/topic/%03d", i/3)
		names = append(names, []string{base, base + "/x", base + "\x01"}[i%3])
	}
	slices.Sort(names)
	var refs []RefRecord
	for i, n := range names {
		refs = append(refs, RefRecord{Name: []byte(n), UpdateIndex: 1, Type: RefVal1, Value: utID(SHA1, i)})
	}
	data := utWrite(t, WriterOptions{BlockSize: 128, MinUpdateIndex: 1, MaxUpdateIndex: 1}, refs, nil)
	warm := utOpen(t, data)
	var r RefRecord
	for _, n := range names {
		warm.LookupRef([]byte(n), &r)
	}
	probes := []string{"", "refs", "refs/heads/topic/", "refs/heads/topic/0", "refs/heads/topic/2", "zzz"}
	for _, n := range names {
		probes = append(probes, n, n+"\x00", n[:len(n)-1], n[:len(n)-1]+"\xff")
	}
	for _, p := range probes {
		cold := utOpen(t, data)
		var a, b RefRecord
		fa, errA := cold.LookupRef([]byte(p), &a)
		fb, errB := warm.LookupRef([]byte(p), &b)
		if fa != fb || errA != nil || errB != nil || fa && !sameRef(&a, &b) {
			t.Fatalf("LookupRef(%q): cold %v %v %s, cached %v %v %s", p, fa, errA, a.Name, fb, errB, b.Name)
		}
		if ca, cb := firstRef(t, cold, p), firstRef(t, warm, p); ca != cb {
			t.Fatalf("first ref >= %q: cold %q, cached %q", p, ca, cb)
		}
	}
}

// firstRef returns the name of the first ref of tab at or after name.
func firstRef(t *testing.T, tab *Table, name string) string {
	it := newTableIter(tab, blockTypeRef)
	defer it.release()
	it.seek([]byte(name))
	if !it.next() {
		if it.err != nil {
			t.Fatal(it.err)
		}
		return "<end>"
	}
	return string(it.key)
}
