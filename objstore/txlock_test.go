package objstore

import (
	"errors"
	"testing"

	"github.com/refstore/refstore/stack"
)

// TestTransactionLockNoRetry: on an object store nothing is locked, so a
// transaction that read under Lock and lost the list to another writer
// fails with ErrConflict rather than being redone on what it did not read;
// without Lock the same commit is redone and succeeds.
func TestTransactionLockNoRetry(t *testing.T) {
	m := NewMem()
	a := openMem(t, m, stack.Options{})
	b := openMem(t, m, stack.Options{})
	who := stack.Identity{Name: "A", Email: "a@example.com"}
	commit := func(st *stack.Stack, name string, v int) error {
		tx := st.NewTransaction(who, stack.ReflogNormal)
		tx.Add(stack.Update{Ref: stack.Ref{Name: name, ID: oid(v)}})
		return tx.Commit(ctx)
	}
	if err := commit(a, "refs/heads/main", 1); err != nil {
		t.Fatal(err)
	}

	tx := a.NewTransaction(who, stack.ReflogNormal)
	if _, err := tx.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := commit(b, "refs/heads/other", 2); err != nil {
		t.Fatalf("another writer, nothing being locked: %v", err)
	}
	tx.Add(stack.Update{Ref: stack.Ref{Name: "refs/heads/main", ID: oid(3)}})
	if err := tx.Commit(ctx); !errors.Is(err, stack.ErrConflict) {
		t.Errorf("commit after Lock, beaten to the list: %v, want ErrConflict", err)
	}

	tx = a.NewTransaction(who, stack.ReflogNormal)
	tx.Add(stack.Update{Ref: stack.Ref{Name: "refs/heads/main", ID: oid(4)}})
	if err := tx.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	if err := commit(b, "refs/heads/other", 5); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Errorf("commit after Prepare, beaten to the list: %v, want it redone", err)
	}
	if r, err := b.Ref(ctx, "refs/heads/main"); err != nil || string(r.ID) != string(oid(4)) {
		t.Errorf("main = %x, %v; want %x", r.ID, err, oid(4))
	}
}
