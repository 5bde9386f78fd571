package reftable

import (
	"bytes"
	"fmt"
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

// sameRef compares two records, treating nil and empty slices alike.
func sameRef(a, b *RefRecord) bool {
	return bytes.Equal(a.Name, b.Name) && a.UpdateIndex == b.UpdateIndex && a.Type == b.Type &&
		bytes.Equal(a.Value, b.Value) && bytes.Equal(a.Peeled, b.Peeled) && bytes.Equal(a.Target, b.Target)
}
