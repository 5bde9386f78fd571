package s3store_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/refstore/refstore/objstore"
	"github.com/refstore/refstore/stack"
)

func TestProbe(t *testing.T) {
	srv, s := fake(t)
	if err := objstore.Probe(t.Context(), s, "scratch/"); err != nil {
		t.Fatal(err)
	}
	if keys := srv.Keys("bkt"); len(keys) != 0 {
		t.Errorf("the probe left %q behind", keys)
	}
}

// TestUnsafeStoreRefused: a server that ignores conditions (answers
// success to every conditional write) is refused at open, naming the
// check it failed, unless the caller allows an unsafe store.
func TestUnsafeStoreRefused(t *testing.T) {
	srv, s := fake(t)
	srv.IgnoreConditions = true
	_, err := objstore.NewBackend(t.Context(), s, objstore.Options{})
	if !errors.Is(err, objstore.ErrUnsafeStore) || !strings.Contains(err.Error(), "second create-only write of the same key succeeded") {
		t.Fatalf("NewBackend on a store that ignores conditions: %v", err)
	}
	if _, err := objstore.NewBackend(t.Context(), s, objstore.Options{AllowUnsafe: true}); err != nil {
		t.Errorf("NewBackend with AllowUnsafe: %v", err)
	}
}

// TestStackOnFake: refs committed through one stack are read by another
// one on the same bucket and prefix, and land as tables.list and tables
// under the prefix.
func TestStackOnFake(t *testing.T) {
	srv, s := fake(t)
	open := func() *stack.Stack {
		b, err := objstore.NewBackend(t.Context(), s, objstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		st, err := stack.OpenBackend(ctx, b, s.URL(), stack.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	a, b := open(), open()
	for i := range 5 {
		tx := a.NewTransaction(stack.Identity{Name: "T", Email: "t@example.com"}, stack.ReflogNormal)
		tx.Add(stack.Update{Ref: stack.Ref{Name: "refs/heads/main", ID: oid(i + 1)}, Message: "c"})
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	r, err := b.Ref(ctx, "refs/heads/main")
	if err != nil || string(r.ID) != string(oid(5)) {
		t.Fatalf("the second stack reads %v, %v", r, err)
	}
	keys := srv.Keys("bkt")
	if len(keys) < 3 || keys[len(keys)-2] != "pre/"+objstore.ProbeMarker || keys[len(keys)-1] != "pre/tables.list" {
		t.Fatalf("objects %q", keys)
	}
	for _, k := range keys[:len(keys)-2] {
		if !strings.HasPrefix(k, "pre/0x") || !strings.HasSuffix(k, ".ref") {
			t.Errorf("unexpected object %s", k)
		}
	}
	if n := len(keys) - 2; n > 2 {
		t.Errorf("%d tables after 5 commits with auto-compaction", n)
	}
}

func oid(i int) []byte {
	id := make([]byte, 20)
	id[0], id[1], id[19] = byte(i>>8), byte(i), 1
	return id
}
