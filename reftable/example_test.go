package reftable_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/refstore/refstore/reftable"
)

// Example writes a small table with refs and a reflog entry, then reads it
// back.
func Example() {
	id := bytes.Repeat([]byte{0xab}, 20)
	var buf bytes.Buffer
	w, err := reftable.NewWriter(&buf, reftable.WriterOptions{MinUpdateIndex: 1, MaxUpdateIndex: 1})
	if err != nil {
		log.Fatal(err)
	}
	refs := []reftable.RefRecord{
		{Name: []byte("HEAD"), UpdateIndex: 1, Type: reftable.RefSymref, Target: []byte("refs/heads/main")},
		{Name: []byte("refs/heads/main"), UpdateIndex: 1, Type: reftable.RefVal1, Value: id},
	}
	for i := range refs {
		if err := w.AddRef(&refs[i]); err != nil {
			log.Fatal(err)
		}
	}
	err = w.AddLog(&reftable.LogRecord{
		RefName: []byte("refs/heads/main"), UpdateIndex: 1, Type: reftable.LogUpdate,
		New: id, Name: []byte("A U Thor"), Email: []byte("author@example.com"),
		Time: 1700000000, TZOffset: 530, Message: []byte("commit (initial): hello"),
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}

	t, err := reftable.NewTable(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "example.ref")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("version %d, %v, update indexes %d..%d\n", t.Version(), t.Hash(), t.MinUpdateIndex(), t.MaxUpdateIndex())
	for r, err := range t.Refs(nil) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s %v %x%s\n", r.Name, r.Type, r.Value, r.Target)
	}
	for l, err := range t.LogsFor([]byte("refs/heads/main")) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s %s <%s> %d %+05d %q\n", l.RefName, l.Name, l.Email, l.Time, l.TZOffset, l.Message)
	}
	// Output:
	// version 1, sha1, update indexes 1..1
	// HEAD symref refs/heads/main
	// refs/heads/main val1 abababababababababababababababababababab
	// refs/heads/main A U Thor <author@example.com> 1700000000 +0530 "commit (initial): hello\n"
}
